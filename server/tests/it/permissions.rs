//! The permission matrix: every registered server function, called anonymously, by each
//! role below its requirement and by the role it requires. A new function that is missing
//! here, or that forgets its role check, fails this test.

use std::collections::BTreeSet;

use app::model::Role;

use crate::helpers::TestApp;

enum Access {
    /// Open to anonymous callers (signing in, signing out, asking who is signed in, taking
    /// the notice a form post left in one's own session).
    Anyone,
    AtLeast(Role),
}
use Access::*;

/// Path, who may call it, and valid arguments. `{target}` stands for the id of a user the
/// calls may act on, `{net}` for a network with 198.18.0.10 and .11 allocated, `{spare}`
/// for an empty network that may be deleted, `{zone}` and `{spare_zone}` for disabled
/// DNSBL zones, `{run}` for a finished check cycle, `{token}` for an admin's API token.
type Args = &'static [(&'static str, &'static str)];

const MATRIX: &[(&str, Access, Args)] = &[
    (
        "/api/auth/login",
        Anyone,
        &[("name", "nobody"), ("password", "not a real password")],
    ),
    ("/api/auth/logout", Anyone, &[]),
    ("/api/auth/me", Anyone, &[]),
    ("/api/auth/notice", Anyone, &[]),
    ("/api/auth/draft", Anyone, &[]),
    (
        "/api/auth/change_password",
        AtLeast(Role::Viewer),
        &[
            ("current_password", "not the password"),
            ("new_password", "matrix password 3"),
            ("repeat_password", "matrix password 3"),
        ],
    ),
    ("/api/dashboard/summary", AtLeast(Role::Viewer), &[]),
    ("/api/users/list", AtLeast(Role::Admin), &[]),
    (
        "/api/users/create",
        AtLeast(Role::Admin),
        &[
            ("name", "made-by-matrix"),
            ("role", "viewer"),
            ("password", "matrix password 1"),
        ],
    ),
    (
        "/api/users/set_role",
        AtLeast(Role::Admin),
        &[("user_id", "{target}"), ("role", "operator")],
    ),
    (
        "/api/users/set_disabled",
        AtLeast(Role::Admin),
        &[("user_id", "{target}"), ("disabled", "false")],
    ),
    (
        "/api/users/reset_password",
        AtLeast(Role::Admin),
        &[("user_id", "{target}"), ("password", "matrix password 2")],
    ),
    ("/api/networks/list", AtLeast(Role::Viewer), &[]),
    (
        "/api/addresses/bulk_release",
        AtLeast(Role::Operator),
        &[("addresses[]", "198.18.0.12")],
    ),
    (
        "/api/addresses/bulk_force_free",
        AtLeast(Role::Admin),
        &[("addresses[]", "198.18.0.12"), ("reason", "matrix")],
    ),
    (
        "/api/networks/get",
        AtLeast(Role::Viewer),
        &[("network_id", "{net}")],
    ),
    (
        "/api/addresses/page",
        AtLeast(Role::Viewer),
        &[("network_id", "{net}"), ("status", "allocated")],
    ),
    (
        "/api/addresses/detail",
        AtLeast(Role::Viewer),
        &[("address", "198.18.0.10")],
    ),
    (
        "/api/addresses/edit",
        AtLeast(Role::Operator),
        &[
            ("address", "198.18.0.10"),
            ("owner", "matrix"),
            ("hostname", "matrix.example"),
            ("note", ""),
        ],
    ),
    (
        "/api/search/everywhere",
        AtLeast(Role::Viewer),
        &[("q", "matrix")],
    ),
    ("/api/checks/latest_id", AtLeast(Role::Viewer), &[]),
    (
        "/api/networks/map",
        AtLeast(Role::Viewer),
        &[("network_id", "{net}")],
    ),
    (
        "/api/networks/page",
        AtLeast(Role::Viewer),
        &[("network_id", "{net}")],
    ),
    (
        "/api/networks/create",
        AtLeast(Role::Admin),
        &[
            ("cidr", "198.18.8.0/24"),
            ("name", "matrix"),
            ("description", ""),
        ],
    ),
    (
        "/api/networks/edit",
        AtLeast(Role::Admin),
        &[
            ("network_id", "{net}"),
            ("name", "renamed"),
            ("description", ""),
        ],
    ),
    (
        "/api/networks/set_policy",
        AtLeast(Role::Admin),
        &[
            ("network_id", "{net}"),
            ("methods", "chosen"),
            ("icmp", "on"),
            ("dnsbl", "on"),
        ],
    ),
    (
        "/api/networks/delete",
        AtLeast(Role::Admin),
        &[("network_id", "{spare}")],
    ),
    (
        "/api/addresses/allocate",
        AtLeast(Role::Operator),
        &[
            ("network_id", "{net}"),
            ("owner", "m"),
            ("hostname", ""),
            ("note", ""),
        ],
    ),
    (
        "/api/addresses/release",
        AtLeast(Role::Operator),
        &[("address", "198.18.0.10")],
    ),
    (
        "/api/addresses/reserve",
        AtLeast(Role::Operator),
        &[("address", "198.18.0.200"), ("note", "matrix")],
    ),
    (
        "/api/addresses/unreserve",
        AtLeast(Role::Operator),
        &[("address", "198.18.0.200")],
    ),
    ("/api/checks/run_now", AtLeast(Role::Operator), &[]),
    (
        "/api/addresses/import",
        AtLeast(Role::Operator),
        &[
            ("network_id", "{net}"),
            ("csv", "198.18.0.250,reserved,,,matrix"),
        ],
    ),
    (
        "/api/addresses/force_free",
        AtLeast(Role::Admin),
        &[("address", "198.18.0.11"), ("reason", "matrix")],
    ),
    ("/api/problems/page", AtLeast(Role::Viewer), &[]),
    (
        "/api/problems/recheck",
        AtLeast(Role::Operator),
        &[("addresses[]", "198.18.0.10")],
    ),
    ("/api/dnsbl/list", AtLeast(Role::Viewer), &[]),
    (
        "/api/dnsbl/add",
        AtLeast(Role::Admin),
        &[("zone", "added.matrix.test"), ("disabled", "true")],
    ),
    (
        "/api/dnsbl/rename",
        AtLeast(Role::Admin),
        &[("zone_id", "{zone}"), ("zone", "renamed.matrix.test")],
    ),
    (
        "/api/dnsbl/set_enabled",
        AtLeast(Role::Admin),
        &[("zone_id", "{zone}"), ("enabled", "false")],
    ),
    (
        "/api/dnsbl/self_test",
        AtLeast(Role::Operator),
        &[("zone_id", "{zone}")],
    ),
    (
        "/api/dnsbl/ask",
        AtLeast(Role::Operator),
        &[("address", "198.18.0.10"), ("zone", "matrix.test")],
    ),
    (
        "/api/dnsbl/delete",
        AtLeast(Role::Admin),
        &[("zone_id", "{spare_zone}")],
    ),
    ("/api/checks/list", AtLeast(Role::Viewer), &[]),
    (
        "/api/checks/get",
        AtLeast(Role::Viewer),
        &[("run_id", "{run}")],
    ),
    (
        "/api/checks/detail",
        AtLeast(Role::Viewer),
        &[("run_id", "{run}")],
    ),
    (
        "/api/checks/cancel",
        AtLeast(Role::Admin),
        &[("run_id", "{run}")],
    ),
    ("/api/audit/list", AtLeast(Role::Admin), &[]),
    ("/api/tokens/list", AtLeast(Role::Viewer), &[]),
    (
        "/api/tokens/create",
        AtLeast(Role::Viewer),
        &[("name", "matrix")],
    ),
    (
        "/api/tokens/revoke",
        AtLeast(Role::Viewer),
        &[("token_id", "{token}")],
    ),
    ("/api/api_reference", AtLeast(Role::Viewer), &[]),
    ("/api/alerts/list", AtLeast(Role::Admin), &[]),
    (
        "/api/alerts/add",
        AtLeast(Role::Admin),
        &[
            ("target[name]", "matrix hook"),
            ("target[kind]", "webhook"),
            ("target[url]", "http://127.0.0.1:9/hook"),
        ],
    ),
    (
        "/api/alerts/set_enabled",
        AtLeast(Role::Admin),
        &[("target_id", "{alert}"), ("enabled", "false")],
    ),
    (
        "/api/alerts/test",
        AtLeast(Role::Admin),
        &[("target_id", "{alert}")],
    ),
    (
        "/api/alerts/delete",
        AtLeast(Role::Admin),
        &[("target_id", "{spare_alert}")],
    ),
    ("/api/sites/list", AtLeast(Role::Viewer), &[]),
    (
        "/api/sites/add",
        AtLeast(Role::Admin),
        &[("name", "made-by-matrix"), ("description", "")],
    ),
    (
        "/api/sites/delete",
        AtLeast(Role::Admin),
        &[("site_id", "{spare_site}")],
    ),
    (
        "/api/sites/move_network",
        AtLeast(Role::Admin),
        &[("network_id", "{spare}"), ("site", "matrix")],
    ),
    (
        "/api/sites/add_agent",
        AtLeast(Role::Admin),
        &[("site_id", "{site}"), ("name", "matrix-agent")],
    ),
    (
        "/api/sites/revoke_agent",
        AtLeast(Role::Admin),
        &[("agent_id", "{agent}")],
    ),
    ("/api/settings/list", AtLeast(Role::Admin), &[]),
    (
        "/api/settings/save",
        AtLeast(Role::Admin),
        &[("key", "CheckConcurrency"), ("value", "8")],
    ),
    (
        "/api/settings/reset",
        AtLeast(Role::Admin),
        &[("key", "CheckConcurrency")],
    ),
];

#[test]
fn every_registered_server_function_is_in_the_matrix() {
    // Touch the app so its server functions are linked in.
    let _ = app::App;
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .collect();
    let listed: BTreeSet<String> = MATRIX.iter().map(|(p, _, _)| p.to_string()).collect();
    assert!(!registered.is_empty(), "no server functions registered");
    assert_eq!(
        registered, listed,
        "the matrix and the registered server functions differ"
    );
}

#[tokio::test]
async fn each_function_checks_the_role_first() {
    let app = TestApp::spawn().await;
    let target = app.add_user("target", Role::Viewer).await;
    let _ = target;
    let target_id = app::server::admin::users::find_by_name(&app.state.db, "target")
        .await
        .unwrap()
        .id
        .to_string();
    let mut clients = Vec::new();
    for role in Role::ALL {
        clients.push((role, app.signed_in(&format!("matrix-{role}"), role).await));
    }
    let anonymous = app.client();
    let admin = &clients[2].1;
    let net = app.new_network(admin, "198.18.0.0/24").await;
    let spare = app.new_network(admin, "198.18.1.0/24").await;
    for ip in ["198.18.0.10", "198.18.0.11"] {
        let res = app
            .call(
                admin,
                "/api/addresses/allocate",
                &[
                    ("network_id", &net),
                    ("address", ip),
                    ("owner", ""),
                    ("hostname", ""),
                    ("note", ""),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }

    let zone = disabled_zone(&app, admin, "matrix.test").await;
    let spare_zone = disabled_zone(&app, admin, "spare.matrix.test").await;
    let (status, run) = app.call_fn(admin, "/api/checks/run_now", &[]).await;
    assert_eq!(status, 200, "{run}");
    let run = run.to_string();
    // A token of the admin's: lower roles may not see it (404), the admin revokes it.
    let owner = app::server::admin::users::find_by_name(&app.state.db, "matrix-admin")
        .await
        .unwrap();
    let token = app::server::auth::tokens::create(&app.state.db, &owner, "matrix")
        .await
        .unwrap()
        .token
        .id
        .to_string();
    app.wait_for_run(run.parse().unwrap()).await;
    let alert = alert_target(&app, admin, "matrix alert").await;
    let spare_alert = alert_target(&app, admin, "spare matrix alert").await;
    let (site, spare_site, agent) = matrix_sites(&app, admin).await;

    for (path, access, args) in MATRIX {
        let args: Vec<(&str, String)> = args
            .iter()
            .map(|(k, v)| {
                (
                    *k,
                    v.replace("{target}", &target_id)
                        .replace("{spare_site}", &spare_site)
                        .replace("{site}", &site)
                        .replace("{agent}", &agent)
                        .replace("{spare_alert}", &spare_alert)
                        .replace("{alert}", &alert)
                        .replace("{net}", &net)
                        .replace("{spare_zone}", &spare_zone)
                        .replace("{spare}", &spare)
                        .replace("{zone}", &zone)
                        .replace("{run}", &run)
                        .replace("{token}", &token),
                )
            })
            .collect();
        let form: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        match access {
            Anyone => {
                let status = app.call(&anonymous, path, &form).await.status().as_u16();
                assert!(status != 403 && status != 500, "{path} anonymous: {status}");
            }
            AtLeast(min) => {
                let status = app.call(&anonymous, path, &form).await.status().as_u16();
                assert_eq!(status, 401, "{path} anonymous");
                for (role, client) in &clients {
                    let status = app.call(client, path, &form).await.status().as_u16();
                    if role < min {
                        assert_eq!(status, 403, "{path} as {role}");
                    } else {
                        // Allowed through the role check: success, or a domain answer such
                        // as 409 when an earlier role's call already changed the address.
                        assert!(
                            !matches!(status, 401 | 403 | 500),
                            "{path} as {role}: {status}"
                        );
                    }
                }
            }
        }
    }
}

/// The sites `matrix` (with an agent) and `spare-matrix`, made through the server
/// function; their ids and the agent's.
async fn matrix_sites(app: &TestApp, admin: &reqwest::Client) -> (String, String, String) {
    use app::server::{agents::registry, inventory::sites};
    for name in ["matrix", "spare-matrix"] {
        let (status, body) = app
            .call_fn(
                admin,
                "/api/sites/add",
                &[("name", name), ("description", "")],
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let site = sites::by_name(&app.state.db, "matrix")
        .await
        .unwrap()
        .unwrap();
    let spare = sites::by_name(&app.state.db, "spare-matrix")
        .await
        .unwrap()
        .unwrap();
    let agent = registry::create(&app.state.db, &site, "matrix-1", "tests")
        .await
        .unwrap();
    (
        site.id.to_string(),
        spare.id.to_string(),
        agent.agent.id.to_string(),
    )
}

/// Adds the DNSBL zone `zone`, disabled, through the server function; returns its id.
async fn disabled_zone(app: &TestApp, admin: &reqwest::Client, zone: &str) -> String {
    let (status, body) = app
        .call_fn(
            admin,
            "/api/dnsbl/add",
            &[("zone", zone), ("disabled", "true")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["id"].to_string()
}

/// Adds a webhook alert target named `name` through the server function; returns its id.
async fn alert_target(app: &TestApp, admin: &reqwest::Client, name: &str) -> String {
    let (status, body) = app
        .call_fn(
            admin,
            "/api/alerts/add",
            &[
                ("target[name]", name),
                ("target[kind]", "webhook"),
                ("target[url]", "http://127.0.0.1:9/hook"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["target"]["id"].to_string()
}
