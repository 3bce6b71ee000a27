//! The header's search across every network: what each kind of query finds, where it
//! jumps without JavaScript, and that text searches read an index rather than every
//! address.

use app::model::Role;
use app::server::inventory::search::{prefix_select, TextColumn};
use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Statement, TransactionTrait};
use serde_json::{json, Value};

use crate::helpers::TestApp;

async fn search(app: &TestApp, client: &reqwest::Client, q: &str) -> Value {
    let (status, body) = app
        .call_fn(client, "/api/search/everywhere", &[("q", q)])
        .await;
    assert_eq!(status, 200, "{q}: {body}");
    body
}

fn found(r: &Value) -> Vec<String> {
    r["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"]["address"].as_str().unwrap().to_string())
        .collect()
}

fn networks(r: &Value) -> Vec<String> {
    r["networks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["cidr"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn search_finds_addresses_networks_hosts_and_owners_across_networks() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let viewer = app.signed_in("viewer", Role::Viewer).await;
    let mut ids = Vec::new();
    for (cidr, name) in [
        ("198.18.0.0/24", "edge routers"),
        ("198.18.1.0/24", "Customers"),
        ("2001:2::/64", "v6 lab"),
    ] {
        let (status, net) = app
            .call_fn(
                &admin,
                "/api/networks/create",
                &[("cidr", cidr), ("name", name), ("description", "")],
            )
            .await;
        assert_eq!(status, 200, "{net}");
        ids.push(net["id"].to_string());
    }
    for (net, ip, owner, host) in [
        (&ids[0], "198.18.0.7", "Acme Corp", "web1.acme.example"),
        (&ids[1], "198.18.1.9", "acme-2", "db.example"),
        (&ids[2], "2001:2::5", "lab", "WEB9.lab"),
        (&ids[1], "198.18.1.10", "Other", "mail.example"),
    ] {
        let (status, body) = app
            .call_fn(
                &admin,
                "/api/addresses/allocate",
                &[
                    ("network_id", net),
                    ("address", ip),
                    ("owner", owner),
                    ("hostname", host),
                    ("note", ""),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    let r = search(&app, &viewer, "198.18.1.9").await;
    assert_eq!(r["jump"], "/address?ip=198.18.1.9");
    // A free address of a network jumps too: its page shows it free.
    let r = search(&app, &viewer, "2001:2::ffff").await;
    assert_eq!(r["jump"], "/address?ip=2001:2::ffff");
    let r = search(&app, &viewer, "198.19.9.9").await;
    assert_eq!(
        (&r["jump"], &r["message"]),
        (&Value::Null, &json!("198.19.9.9 is in no network."))
    );
    let r = search(&app, &viewer, "198.18.1.0/24").await;
    assert_eq!(r["jump"], format!("/networks/{}", ids[1]));
    let r = search(&app, &viewer, "198.18.0.0/23").await;
    assert_eq!(r["jump"], Value::Null);
    assert_eq!(networks(&r), ["198.18.0.0/24", "198.18.1.0/24"]);
    let r = search(&app, &viewer, "198.18.0.5/24").await;
    assert_eq!(
        r["message"],
        "198.18.0.5/24 has host bits set; did you mean 198.18.0.0/24?"
    );
    let r = search(&app, &viewer, "10.0.0.0/8").await;
    assert_eq!(r["message"], "No network overlaps 10.0.0.0/8.");

    // Owners and host names by their start, any case, in address order, with networks.
    let r = search(&app, &viewer, "ACME").await;
    assert_eq!(found(&r), ["198.18.0.7", "198.18.1.9"]);
    assert_eq!(r["addresses"][1]["network"]["cidr"], "198.18.1.0/24");
    assert_eq!(r["addresses"][1]["network"]["name"], "Customers");
    let r = search(&app, &viewer, "web").await;
    assert_eq!(found(&r), ["198.18.0.7", "2001:2::5"]);
    assert!(networks(&r).is_empty());
    // Not in the middle of a host name: "example" starts none.
    assert!(found(&search(&app, &viewer, "example").await).is_empty());
    // Network names anywhere in the name.
    let r = search(&app, &viewer, "router").await;
    assert_eq!(networks(&r), ["198.18.0.0/24"]);
    assert!(found(&r).is_empty());
    // Leading octets: the addresses held in that range (not its free rows), and its networks.
    let r = search(&app, &viewer, "198.18.1").await;
    assert_eq!(found(&r), ["198.18.1.9", "198.18.1.10"]);
    assert_eq!(networks(&r), ["198.18.1.0/24"]);
    // LIKE's wildcards are text.
    assert!(found(&search(&app, &viewer, "%").await).is_empty());
    assert!(found(&search(&app, &viewer, "_").await).is_empty());
    assert_eq!(
        search(&app, &viewer, "  ").await,
        json!({
            "jump": null, "message": null, "networks": [], "addresses": [], "more_addresses": false
        })
    );
    let (status, body) = app
        .call_fn(
            &viewer,
            "/api/search/everywhere",
            &[("q", &"w".repeat(5000))],
        )
        .await;
    assert_eq!(status, 400, "{body}");

    // The page itself, as a browser without JavaScript gets it: an address redirects to
    // its page, text lists what it found.
    let res = viewer
        .get(format!("{}/search?q=198.18.1.9", app.base))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(res.headers()["location"], "/address?ip=198.18.1.9");
    let res = viewer
        .get(format!("{}/search?q=acme", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("web1.acme.example"), "{html}");
    assert!(html.contains("db.example"), "{html}");
}

/// The search listed 198.18.0.1 to .50 and said more matched.
fn assert_first_fifty_of_more(r: &Value) {
    let list = found(r);
    assert_eq!(list.len(), 50);
    assert_eq!(
        (list[0].as_str(), list[49].as_str()),
        ("198.18.0.1", "198.18.0.50")
    );
    assert_eq!(r["more_addresses"], true);
}

/// More matches than a search lists: the first fifty by the text matched, then by
/// address (here all owners are alike), and the answer says there were more.
#[tokio::test]
async fn a_search_lists_at_most_fifty_addresses() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "198.18.0.0/24").await;
    for i in 1..=60 {
        let ip = format!("198.18.0.{i}");
        let host = format!("node{i}.example");
        let (status, body) = app
            .call_fn(
                &admin,
                "/api/addresses/allocate",
                &[
                    ("network_id", &net),
                    ("address", &ip),
                    ("owner", "bulk"),
                    ("hostname", &host),
                    ("note", ""),
                ],
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let r = search(&app, &admin, "bulk").await;
    assert_first_fifty_of_more(&r);
    // Leading octets: the first fifty held addresses of the range, in address order.
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/reserve",
            &[("address", "198.18.0.200"), ("note", "")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let r = search(&app, &admin, "198.18.0").await;
    assert_first_fifty_of_more(&r);
    let r = search(&app, &admin, "198.18.0.2").await;
    assert_eq!(r["jump"], "/address?ip=198.18.0.2");
    let r = search(&app, &admin, "node5").await;
    assert_eq!(
        found(&r),
        [
            "198.18.0.5",
            "198.18.0.50",
            "198.18.0.51",
            "198.18.0.52",
            "198.18.0.53",
            "198.18.0.54",
            "198.18.0.55",
            "198.18.0.56",
            "198.18.0.57",
            "198.18.0.58",
            "198.18.0.59"
        ]
    );
    assert_eq!(r["more_addresses"], false);
}

/// A host name or owner search reads its column's index, on both backends: without it a
/// search read every address of every network, which at a million addresses is slow.
#[tokio::test]
async fn text_searches_read_an_index() {
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let backend = db.get_database_backend();
    for (column, index) in [
        (TextColumn::Hostname, "addresses_hostname_lower"),
        (TextColumn::Owner, "addresses_owner_lower"),
    ] {
        let built = prefix_select(backend, column, "web").build(backend);
        let txn = db.begin().await.unwrap();
        // The query itself first: a pooled SQLite connection opened before the migration
        // made the index plans an EXPLAIN from the schema it read then; a statement that
        // reads the table makes it read the schema again.
        txn.query_all(Statement::from_sql_and_values(
            backend,
            built.sql.clone(),
            built.values.clone().unwrap(),
        ))
        .await
        .unwrap();
        let plan: Vec<String> = match backend {
            DbBackend::Postgres => {
                // An empty table is cheaper to read whole; the question is whether the
                // index can serve the query at all.
                txn.execute_unprepared("SET LOCAL enable_seqscan = off")
                    .await
                    .unwrap();
                let explain = Statement::from_sql_and_values(
                    backend,
                    format!("EXPLAIN {}", built.sql),
                    built.values.clone().unwrap(),
                );
                txn.query_all(explain)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.try_get::<String>("", "QUERY PLAN").unwrap())
                    .collect()
            }
            _ => {
                let explain = Statement::from_sql_and_values(
                    backend,
                    format!("EXPLAIN QUERY PLAN {}", built.sql),
                    built.values.clone().unwrap(),
                );
                txn.query_all(explain)
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.try_get::<String>("", "detail").unwrap())
                    .collect()
            }
        };
        txn.rollback().await.unwrap();
        assert!(
            plan.iter().any(|line| line.contains(index)),
            "{index} not used: {plan:?}"
        );
        assert!(
            !plan
                .iter()
                .any(|line| line.contains("SCAN addresses ") || line.ends_with("SCAN addresses")),
            "a full scan: {plan:?}"
        );
        // Read in the index's order, the text and then the address: no sort of the matches.
        assert!(
            !plan
                .iter()
                .any(|line| line.contains("TEMP B-TREE") || line.contains("Sort")),
            "a sort: {plan:?}"
        );
    }
}
