//! Networks and the address lifecycle over HTTP, on SQLite and PostgreSQL.

use std::collections::BTreeSet;

use app::model::Role;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

use crate::helpers::{row_addresses as addresses, TestApp};

async fn allocate(
    app: &TestApp,
    client: &reqwest::Client,
    net: &str,
    address: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![
        ("network_id", net),
        ("owner", "cust-1"),
        ("hostname", "web1.example"),
        ("note", ""),
    ];
    if let Some(a) = address {
        form.push(("address", a));
    }
    app.call_fn(client, "/api/addresses/allocate", &form).await
}

async fn act(
    app: &TestApp,
    client: &reqwest::Client,
    what: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    app.call_fn(client, &format!("/api/addresses/{what}"), form)
        .await
}

#[tokio::test]
async fn network_input_errors_are_clear() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let bad = |msg: &str| json!({ "BadRequest": msg });
    assert_eq!(
        app.create_network(&admin, "198.51.100.7/24").await,
        (
            400,
            bad("198.51.100.7/24 has host bits set; did you mean 198.51.100.0/24?")
        )
    );
    assert_eq!(
        app.create_network(&admin, "198.051.100.0/24").await,
        (400, bad("`198.051.100.0` has an octet with a leading zero, which some tools read as octal; write 198.51.100.0."))
    );
    assert_eq!(
        app.create_network(&admin, "198.51.100.0/40").await,
        (
            400,
            bad("The prefix /40 is out of range for IPv4 (0 to 32).")
        )
    );
    app.new_network(&admin, "198.18.0.0/16").await;
    assert_eq!(
        app.create_network(&admin, "198.18.4.0/24").await,
        (
            409,
            json!({"Conflict": "198.18.4.0/24 overlaps the existing network 198.18.0.0/16 (test net)."})
        )
    );
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/networks/create",
            &[
                ("cidr", "198.19.0.0/24"),
                ("name", " "),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(
        (status, body),
        (400, bad("A network needs a name of 1 to 200 characters."))
    );
}

#[tokio::test]
async fn allocation_takes_the_lowest_free_address_and_never_the_network_or_broadcast() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("olga", Role::Operator).await;
    let net = app.new_network(&admin, "198.18.0.0/29").await;
    let (status, first) = allocate(&app, &op, &net, None).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["address"], "198.18.0.1");
    assert_eq!(first["status"], "allocated");
    assert_eq!(first["owner"], "cust-1");
    assert_eq!(
        allocate(&app, &op, &net, Some("198.18.0.5")).await.1["address"],
        "198.18.0.5"
    );
    assert_eq!(
        allocate(&app, &op, &net, None).await.1["address"],
        "198.18.0.2"
    );
    // Well-formed addresses the network does not hand out conflict with the network.
    assert_eq!(
        allocate(&app, &op, &net, Some("198.18.0.7")).await,
        (
            409,
            json!({"Conflict": "198.18.0.7 is the network's broadcast address and is never allocated."})
        )
    );
    assert_eq!(allocate(&app, &op, &net, Some("198.18.0.0")).await.0, 409);
    assert_eq!(
        allocate(&app, &op, &net, Some("198.18.1.1")).await,
        (
            409,
            json!({"Conflict": "198.18.1.1 is not in the network 198.18.0.0/29."})
        )
    );
    let (status, body) = allocate(&app, &op, &net, Some("198.18.0.5")).await;
    assert_eq!(status, 409);
    assert_eq!(
        body["Conflict"],
        "198.18.0.5: Cannot allocate an address that is Allocated; only one that is Free."
    );
    for expected in ["198.18.0.3", "198.18.0.4", "198.18.0.6"] {
        assert_eq!(allocate(&app, &op, &net, None).await.1["address"], expected);
    }
    // The broadcast address has a page that says why nobody gets it.
    assert_eq!(
        app.call_fn(&op, "/api/addresses/detail", &[("address", "198.18.0.7")])
            .await,
        (
            404,
            json!({"NotFound": "198.18.0.7 is the broadcast address of 198.18.0.0/29 and is never allocated or reserved."})
        )
    );
    assert_eq!(
        allocate(&app, &op, &net, None).await,
        (
            409,
            json!({"NetworkFull": "The network 198.18.0.0/29 has no free address."})
        )
    );
    // A /31 point-to-point link uses both addresses.
    let p2p = app.new_network(&admin, "198.18.1.0/31").await;
    assert_eq!(
        allocate(&app, &op, &p2p, None).await.1["address"],
        "198.18.1.0"
    );
    assert_eq!(
        allocate(&app, &op, &p2p, None).await.1["address"],
        "198.18.1.1"
    );
}

#[tokio::test]
async fn released_addresses_are_never_free_at_once_and_only_admins_free_them_without_checks() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("olga", Role::Operator).await;
    let net = app.new_network(&admin, "2001:2::/64").await;
    for expected in ["2001:2::", "2001:2::1", "2001:2::2"] {
        assert_eq!(allocate(&app, &op, &net, None).await.1["address"], expected);
    }
    let (status, released) = act(&app, &op, "release", &[("address", "2001:2::1")]).await;
    assert_eq!(status, 200, "{released}");
    assert_eq!(released["status"], "being_checked");
    assert_eq!(
        released["owner"], "cust-1",
        "the last holder stays visible while it is checked"
    );
    // Being checked is not free: the next allocation skips it.
    assert_eq!(
        allocate(&app, &op, &net, None).await.1["address"],
        "2001:2::3"
    );

    assert_eq!(
        act(
            &app,
            &op,
            "force_free",
            &[("address", "2001:2::1"), ("reason", "x")]
        )
        .await
        .0,
        403
    );
    assert_eq!(
        act(
            &app,
            &admin,
            "force_free",
            &[("address", "2001:2::1"), ("reason", "  ")]
        )
        .await,
        (
            400,
            json!({"BadRequest": "Say why the address is freed without checks."})
        )
    );
    let (status, freed) = act(
        &app,
        &admin,
        "force_free",
        &[("address", "2001:2::1"), ("reason", "customer moved")],
    )
    .await;
    assert_eq!(status, 200, "{freed}");
    assert_eq!(freed["status"], "free");
    assert_eq!(freed["owner"].as_str().unwrap_or_default(), "");
    assert_eq!(
        allocate(&app, &op, &net, None).await.1["address"],
        "2001:2::1"
    );

    // Reserve and unreserve.
    assert_eq!(
        act(
            &app,
            &op,
            "reserve",
            &[("address", "2001:2::ff"), ("note", "router")]
        )
        .await
        .1["status"],
        "reserved"
    );
    let (status, body) = act(&app, &op, "release", &[("address", "2001:2::ff")]).await;
    assert_eq!(status, 409);
    assert_eq!(
        body["Conflict"],
        "2001:2::ff: Cannot release an address that is Reserved; only one that is Allocated."
    );
    assert_eq!(
        act(&app, &op, "unreserve", &[("address", "2001:2::ff")])
            .await
            .1["status"],
        "free"
    );
    assert_eq!(
        act(&app, &op, "release", &[("address", "198.18.0.1")]).await,
        (404, json!({"NotFound": "198.18.0.1 is in no network."}))
    );
    // Every address of a network has a page: one nobody has held is free, in its network.
    let (status, never) = app
        .call_fn(&op, "/api/addresses/detail", &[("address", "2001:2::abcd")])
        .await;
    assert_eq!(status, 200, "{never}");
    assert_eq!(never["address"]["address"], "2001:2::abcd");
    assert_eq!(never["address"]["status"], "free");
    assert_eq!(never["address"]["network_id"].to_string(), net);
    assert_eq!(never["network_cidr"], "2001:2::/64");
    assert_eq!(never["history"], json!([]));
    let (status, outside) = app
        .call_fn(&op, "/api/addresses/detail", &[("address", "198.18.0.1")])
        .await;
    assert_eq!(
        (status, outside),
        (404, json!({"NotFound": "198.18.0.1 is in no network."}))
    );

    // History: every change, with who and why; force-free also in the audit log.
    use app::server::entities::{address, address_event, audit_log};
    let row = address::Entity::find_by_ip("2001:2::1".parse().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let events = address_event::Entity::find()
        .filter(address_event::Column::AddressId.eq(row.id))
        .order_by_asc(address_event::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap();
    let seen: Vec<(String, String, String, String)> = events
        .iter()
        .map(|e| {
            (
                e.actor_name.clone(),
                e.from_status.as_str().into(),
                e.to_status.as_str().into(),
                e.reason.clone(),
            )
        })
        .collect();
    let row = |a: &str, f: &str, t: &str, r: &str| {
        (a.to_string(), f.to_string(), t.to_string(), r.to_string())
    };
    assert_eq!(
        seen,
        [
            row("olga", "free", "allocated", ""),
            row("olga", "allocated", "being_checked", ""),
            row("root", "being_checked", "free", "customer moved"),
            row("olga", "free", "allocated", ""),
        ]
    );
    // Whom the allocations gave it to and whose holding the force-free ended.
    let holders: Vec<&str> = events.iter().map(|e| e.owner.as_str()).collect();
    assert_eq!(holders, ["cust-1", "", "cust-1", "cust-1"]);
    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("address.force_free"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].target.as_str(), audit[0].before.as_deref()),
        ("2001:2::1", Some("being_checked"))
    );
}

#[tokio::test]
async fn networks_count_by_status_and_refuse_deletion_while_in_use() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "198.18.0.0/24").await;
    allocate(&app, &admin, &net, Some("198.18.0.1")).await;
    allocate(&app, &admin, &net, Some("198.18.0.2")).await;
    act(&app, &admin, "release", &[("address", "198.18.0.2")]).await;
    act(
        &app,
        &admin,
        "reserve",
        &[("address", "198.18.0.3"), ("note", "gw")],
    )
    .await;
    let list: Value = app
        .call(&admin, "/api/networks/list", &[])
        .await
        .json()
        .await
        .unwrap();
    let n = &list[0];
    assert_eq!(n["allocatable"], "254");
    assert_eq!(n["free"], "251");
    assert_eq!(
        n["in_use"],
        json!([
            ["allocated", 1],
            ["reserved", 1],
            ["being_checked", 1],
            ["used_in_network", 0],
            ["blocked_by_dnsbl", 0]
        ])
    );

    let (status, body) = app
        .call_fn(&admin, "/api/networks/delete", &[("network_id", &net)])
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        body["Conflict"],
        "198.18.0.0/24 still has addresses in use: 1 allocated, 1 reserved, 1 being checked. Release or force-free them first."
    );
    for ip in ["198.18.0.1", "198.18.0.2", "198.18.0.3"] {
        assert_eq!(
            act(
                &app,
                &admin,
                "force_free",
                &[("address", ip), ("reason", "decommissioned")]
            )
            .await
            .0,
            200
        );
    }
    assert_eq!(
        app.call(&admin, "/api/networks/delete", &[("network_id", &net)])
            .await
            .status(),
        200
    );
    let list: Value = app
        .call(&admin, "/api/networks/list", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn fifty_concurrent_allocations_get_fifty_different_addresses() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("olga", Role::Operator).await;
    let mut handles = Vec::new();
    let nets = [
        app.new_network(&admin, "198.18.0.0/24").await,
        app.new_network(&admin, "2001:2::/64").await,
    ];
    for net in &nets {
        for _ in 0..50 {
            let (client, base, net) = (op.clone(), app.base.clone(), net.clone());
            handles.push(tokio::spawn(async move {
                let res = client
                    .post(format!("{base}/api/addresses/allocate"))
                    .header("Accept", "application/json")
                    .form(&[
                        ("network_id", net.as_str()),
                        ("owner", "c"),
                        ("hostname", ""),
                        ("note", ""),
                    ])
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let body: Value = res.json().await.unwrap();
                assert_eq!(status, 200, "{body}");
                body["address"].as_str().unwrap().to_string()
            }));
        }
    }
    let mut got = BTreeSet::new();
    for h in handles {
        got.insert(h.await.unwrap());
    }
    assert_eq!(got.len(), 100, "every allocation got its own address");
    let v4: BTreeSet<String> = (1..=50).map(|i| format!("198.18.0.{i}")).collect();
    assert!(
        v4.is_subset(&got),
        "the lowest fifty IPv4 addresses, no gaps"
    );
    let list: Value = app
        .call(&admin, "/api/networks/list", &[])
        .await
        .json()
        .await
        .unwrap();
    for n in list.as_array().unwrap() {
        assert_eq!(n["in_use"][0], json!(["allocated", 50]), "{n}");
    }
}

async fn page(app: &TestApp, client: &reqwest::Client, form: &[(&str, &str)]) -> Value {
    let res = app.call(client, "/api/addresses/page", form).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn address_lists_page_by_key_in_numeric_order() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    // A /23: 510 allocatable rows, more than five pages of 100.
    let net = app.new_network(&admin, "198.18.0.0/23").await;
    let first = page(&app, &admin, &[("network_id", &net)]).await;
    let rows = addresses(&first);
    assert_eq!(rows.len(), 100);
    assert_eq!(
        (rows[0].as_str(), rows[99].as_str()),
        ("198.18.0.1", "198.18.0.100")
    );
    assert_eq!(first["prev_before"], Value::Null);
    assert_eq!(
        (&first["total"], &first["first_position"]),
        (&json!(510), &json!(1))
    );
    let next = first["next_after"].as_str().unwrap();
    let second = page(&app, &admin, &[("network_id", &net), ("after", next)]).await;
    assert_eq!(addresses(&second)[0], "198.18.0.101");
    assert_eq!(
        (&second["total"], &second["first_position"]),
        (&json!(510), &json!(101))
    );
    // Numeric, not textual, order across the octet boundary.
    let third = page(
        &app,
        &admin,
        &[("network_id", &net), ("after", "198.18.0.250")],
    )
    .await;
    assert_eq!(
        &addresses(&third)[..7],
        [
            "198.18.0.251",
            "198.18.0.252",
            "198.18.0.253",
            "198.18.0.254",
            "198.18.0.255",
            "198.18.1.0",
            "198.18.1.1"
        ]
    );
    let back = page(
        &app,
        &admin,
        &[
            ("network_id", &net),
            ("before", second["rows"][0]["address"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(addresses(&back), rows);
    let last = page(&app, &admin, &[("network_id", &net), ("last", "true")]).await;
    let last_rows = addresses(&last);
    assert_eq!(last_rows.len(), 100);
    assert_eq!(last_rows.last().unwrap(), "198.18.1.254");
    // The network's own and broadcast addresses have no row: 510 rows, the last 100 from 411.
    assert_eq!(
        (&last["total"], &last["first_position"]),
        (&json!(510), &json!(411))
    );
    assert_eq!(last["next_after"], Value::Null);
    assert!(last["prev_before"].is_string());

    // Filtered by status: only matching rows, still in order.
    for ip in ["198.18.1.200", "198.18.0.3", "198.18.0.30"] {
        assert_eq!(allocate(&app, &admin, &net, Some(ip)).await.0, 200);
    }
    let allocated = page(
        &app,
        &admin,
        &[("network_id", &net), ("status", "allocated")],
    )
    .await;
    assert_eq!(
        addresses(&allocated),
        ["198.18.0.3", "198.18.0.30", "198.18.1.200"]
    );
    assert_eq!(
        (&allocated["total"], &allocated["first_position"]),
        (&json!(3), &json!(1))
    );
    // Filtered, positions are counted: the second of three allocated addresses onwards.
    let later = page(
        &app,
        &admin,
        &[
            ("network_id", &net),
            ("status", "allocated"),
            ("after", "198.18.0.3"),
        ],
    )
    .await;
    assert_eq!(
        (&later["total"], &later["first_position"]),
        (&json!(3), &json!(2))
    );
    // More than a page of them: the first page starts at 1, the last ends at the total
    // (510 rows, 3 allocated: 507 free, the last 100 from 408).
    let free_first = page(&app, &admin, &[("network_id", &net), ("status", "free")]).await;
    assert_eq!(
        (&free_first["total"], &free_first["first_position"]),
        (&json!(507), &json!(1))
    );
    assert_eq!(addresses(&free_first).len(), 100);
    let free_last = page(
        &app,
        &admin,
        &[("network_id", &net), ("status", "free"), ("last", "true")],
    )
    .await;
    assert_eq!(
        (&free_last["total"], &free_last["first_position"]),
        (&json!(507), &json!(408))
    );
    assert_eq!(addresses(&free_last).last().unwrap(), "198.18.1.254");
    let none = page(
        &app,
        &admin,
        &[("network_id", &net), ("status", "reserved")],
    )
    .await;
    assert_eq!(
        (&none["total"], &none["first_position"]),
        (&json!(0), &json!(0))
    );
    let detail: Value = app
        .call(
            &admin,
            "/api/addresses/detail",
            &[("address", "198.18.0.30")],
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["address"]["status"], "allocated");
    assert_eq!(detail["network_cidr"], "198.18.0.0/23");
    assert_eq!(detail["history"][0]["actor"], "root");
}

#[tokio::test]
async fn the_dashboard_totals_networks_and_lists_the_fullest() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let small = app.new_network(&admin, "198.18.0.0/30").await;
    app.new_network(&admin, "198.18.1.0/24").await;
    allocate(&app, &admin, &small, None).await;
    act(
        &app,
        &admin,
        "reserve",
        &[("address", "198.18.0.2"), ("note", "")],
    )
    .await;
    let s: Value = app
        .call(&admin, "/api/dashboard/summary", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(s["networks"], 2);
    assert_eq!(s["free"], "254", "0 of the /30's 2 plus 254 of the /24's");
    assert_eq!(s["in_use"][0], json!(["allocated", 1]));
    assert_eq!(s["in_use"][1], json!(["reserved", 1]));
    assert_eq!(s["nearest_full"][0]["cidr"], "198.18.0.0/30");
    assert_eq!(s["nearest_full"][0]["used_percent"], 100.0);
}

#[tokio::test]
async fn a_network_of_a_million_addresses_pages_correctly_from_first_to_last() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    // 2^20 = 1,048,576 addresses, each with a row.
    let net = app.new_network(&admin, "2001:2::/108").await;
    let list: Value = app
        .call(&admin, "/api/networks/list", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["allocatable"], "1048576");

    let first = page(&app, &admin, &[("network_id", &net)]).await;
    assert_eq!(addresses(&first)[0], "2001:2::");
    assert_eq!(addresses(&first)[99], "2001:2::63");
    // The middle: 2^19 = 0x8_0000.
    let middle = page(
        &app,
        &admin,
        &[("network_id", &net), ("after", "2001:2::7:ffff")],
    )
    .await;
    assert_eq!(addresses(&middle)[0], "2001:2::8:0");
    assert_eq!(addresses(&middle).len(), 100);
    let last = page(&app, &admin, &[("network_id", &net), ("last", "true")]).await;
    let rows = addresses(&last);
    assert_eq!(
        (rows[0].as_str(), rows[99].as_str()),
        ("2001:2::f:ff9c", "2001:2::f:ffff")
    );
    assert_eq!(
        (&last["total"], &last["first_position"]),
        (&json!(1_048_576), &json!(1_048_477))
    );

    // The lowest free address is found at once, even with the start of the network taken.
    for _ in 0..3 {
        allocate(&app, &admin, &net, None).await;
    }
    assert_eq!(
        allocate(&app, &admin, &net, None).await.1["address"],
        "2001:2::3"
    );
    let allocated = page(
        &app,
        &admin,
        &[
            ("network_id", &net),
            ("status", "allocated"),
            ("last", "true"),
        ],
    )
    .await;
    assert_eq!(
        addresses(&allocated),
        ["2001:2::", "2001:2::1", "2001:2::2", "2001:2::3"]
    );
    // Its map: 256 blocks of 4,096 addresses, counted in one grouped read.
    let (status, map) = app
        .call_fn(&admin, "/api/networks/map", &[("network_id", &net)])
        .await;
    assert_eq!(status, 200, "{map}");
    let cells = serde_json::from_value::<app::model::SubnetMap>(map)
        .unwrap()
        .cells();
    assert_eq!(cells.len(), 256);
    assert_eq!(
        (cells[0].used, cells[1].used, cells[255].label.as_str()),
        (4, 0, "2001:2::f:f000/116")
    );
    // Its grouped read finds the few addresses in use by a status index; it once read
    // every one of the million rows, on every view of the page.
    let plan = map_plan(&app, net.parse().unwrap(), "2001:2::/108").await;
    assert!(
        !plan.iter().any(|line| line.contains("addresses_network_ip")
            || line.contains("Seq Scan")
            || line.starts_with("SCAN addresses")),
        "the map reads the network's every row: {plan:?}"
    );
    assert!(
        plan.iter().any(|line| line.contains("status")),
        "no status index: {plan:?}"
    );
}

/// How the database reads a map of `block` of network `network_id`: PostgreSQL's EXPLAIN
/// or SQLite's EXPLAIN QUERY PLAN, a line a step.
async fn map_plan(app: &TestApp, network_id: i64, block: &str) -> Vec<String> {
    use app::server::inventory::{ip::Cidr, map};
    use sea_orm::{ConnectionTrait, DbBackend, QueryTrait, Statement};
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let built = map::block_groups(network_id, Cidr::parse(block).unwrap()).build(backend);
    let (prefix, column) = match backend {
        DbBackend::Postgres => ("EXPLAIN", "QUERY PLAN"),
        _ => ("EXPLAIN QUERY PLAN", "detail"),
    };
    let explain = Statement::from_sql_and_values(
        backend,
        format!("{prefix} {}", built.sql),
        built.values.unwrap(),
    );
    db.query_all(explain)
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get::<String>("", column).unwrap())
        .collect()
}

#[tokio::test]
async fn address_lists_search_by_address_prefix_host_name_or_owner() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "198.18.0.0/22").await;
    for (ip, owner, host) in [
        ("198.18.1.5", "Acme Corp", "db1.acme.example"),
        ("198.18.2.9", "acme-labs", "web_2.example"),
        ("198.18.3.1", "Globex", "mail.globex.example"),
    ] {
        let res = app
            .call(
                &admin,
                "/api/addresses/allocate",
                &[
                    ("network_id", &net),
                    ("address", ip),
                    ("owner", owner),
                    ("hostname", host),
                    ("note", ""),
                ],
            )
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
    let search = |q: &'static str| {
        let (app, admin, net) = (&app, &admin, net.clone());
        async move { addresses(&page(app, admin, &[("network_id", &net), ("q", q)]).await) }
    };
    assert_eq!(
        search("acme").await,
        ["198.18.1.5", "198.18.2.9"],
        "owner, case-insensitive"
    );
    assert_eq!(search("MAIL.").await, ["198.18.3.1"], "host name prefix");
    assert_eq!(
        search("web_").await,
        ["198.18.2.9"],
        "`_` is literal, not a wildcard"
    );
    assert!(search("%").await.is_empty(), "`%` is literal too");
    let in_octet = search("198.18.2").await;
    assert_eq!((in_octet.len(), in_octet[0].as_str()), (100, "198.18.2.0"));
    let last = page(
        &app,
        &admin,
        &[("network_id", &net), ("q", "198.18.2"), ("last", "true")],
    )
    .await;
    assert_eq!(addresses(&last).last().unwrap(), "198.18.2.255");
    // From an address to the end; the broadcast address 198.18.3.255 has no row.
    assert_eq!(
        search("198.18.3.250").await,
        [
            "198.18.3.250",
            "198.18.3.251",
            "198.18.3.252",
            "198.18.3.253",
            "198.18.3.254"
        ]
    );
}

#[tokio::test]
async fn networks_export_as_csv_whole_or_filtered() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let viewer = app.signed_in("vera", Role::Viewer).await;
    // 510 rows: the export streams several pages.
    let net = app.new_network(&admin, "198.18.0.0/23").await;
    let form = [
        ("network_id", net.as_str()),
        ("address", "198.18.1.7"),
        ("owner", "Acme, Inc."),
        ("hostname", "db1.example"),
        ("note", "say \"hi\""),
    ];
    assert_eq!(
        app.call(&admin, "/api/addresses/allocate", &form)
            .await
            .status(),
        200
    );
    let url = format!("{}/networks/{net}/addresses.csv", app.base);

    assert_eq!(reqwest::get(&url).await.unwrap().status(), 401);
    let res = viewer.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let body = res.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 1 + 510);
    assert_eq!(
        lines[0],
        "address,status,owner,hostname,note,status_changed_at"
    );
    assert!(lines[1].starts_with("198.18.0.1,free,,,,"), "{}", lines[1]);
    assert!(
        lines[510].starts_with("198.18.1.254,free,"),
        "{}",
        lines[510]
    );
    let held = lines.iter().find(|l| l.starts_with("198.18.1.7,")).unwrap();
    assert!(
        held.starts_with(r#"198.18.1.7,allocated,"Acme, Inc.",db1.example,"say ""hi""","#),
        "{held}"
    );

    let only = viewer
        .get(format!("{url}?status=allocated"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(only.lines().count(), 2);
    let searched = viewer
        .get(format!("{url}?q=acme"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(searched.lines().nth(1).unwrap(), *held);
    let bad = viewer
        .get(format!("{url}?status=stolen"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(
        bad.text().await.unwrap(),
        "`stolen` is not an address status."
    );
    let missing = viewer
        .get(format!("{}/networks/999999/addresses.csv", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn bulk_changes_are_all_or_nothing() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("olga", Role::Operator).await;
    let net = app.new_network(&admin, "198.18.0.0/24").await;
    let v6 = app.new_network(&admin, "2001:2::/64").await;
    for ip in ["198.18.0.1", "198.18.0.2", "198.18.0.3"] {
        assert_eq!(allocate(&app, &op, &net, Some(ip)).await.0, 200);
    }
    assert_eq!(allocate(&app, &op, &v6, Some("2001:2::5")).await.0, 200);

    // One address that cannot be released spoils the batch, and says which.
    let form = [
        ("addresses[]", "198.18.0.1"),
        ("addresses[]", "198.18.0.9"),
        ("addresses[]", "198.18.0.2"),
    ];
    let (status, body) = app.call_fn(&op, "/api/addresses/bulk_release", &form).await;
    assert_eq!(status, 409);
    assert_eq!(
        body["Conflict"],
        "198.18.0.9: Cannot release an address that is Free; only one that is Allocated."
    );
    let allocated = page(&app, &op, &[("network_id", &net), ("status", "allocated")]).await;
    assert_eq!(
        addresses(&allocated),
        ["198.18.0.1", "198.18.0.2", "198.18.0.3"],
        "nothing half-done"
    );

    // Across networks, duplicates folded.
    let form = [
        ("addresses[]", "2001:2::5"),
        ("addresses[]", "198.18.0.2"),
        ("addresses[]", "198.18.0.1"),
        ("addresses[]", "198.18.0.1"),
    ];
    let (status, body) = app.call_fn(&op, "/api/addresses/bulk_release", &form).await;
    assert_eq!(status, 200, "{body}");
    let got: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["address"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["198.18.0.1", "198.18.0.2", "2001:2::5"]);
    assert!(body
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["status"] == "being_checked"));

    assert_eq!(
        app.call_fn(&op, "/api/addresses/bulk_release", &[]).await,
        (400, json!({"BadRequest": "Select at least one address."}))
    );
    let form = [
        ("addresses[]", "198.18.0.1"),
        ("addresses[]", "198.18.0.2"),
        ("reason", ""),
    ];
    assert_eq!(
        app.call_fn(&admin, "/api/addresses/bulk_force_free", &form)
            .await
            .0,
        400
    );
    assert_eq!(
        app.call_fn(&op, "/api/addresses/bulk_force_free", &form)
            .await
            .0,
        403
    );
    let form = [
        ("addresses[]", "198.18.0.1"),
        ("addresses[]", "198.18.0.2"),
        ("reason", "rack emptied"),
    ];
    let (status, body) = app
        .call_fn(&admin, "/api/addresses/bulk_force_free", &form)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["status"] == "free"));
}

async fn import(app: &TestApp, client: &reqwest::Client, net: &str, csv: &str) -> (u16, Value) {
    act(app, client, "import", &[("network_id", net), ("csv", csv)]).await
}

#[tokio::test]
async fn csv_import_is_all_or_nothing_with_a_report_per_line() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("olga", Role::Operator).await;
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let net = app.new_network(&admin, "198.18.0.0/24").await;
    assert_eq!(allocate(&app, &op, &net, Some("198.18.0.9")).await.0, 200);

    // Every bad line is named, whatever its fault (a line that is not free here used to go
    // unreported beside faults of the file itself), and nothing of the good lines is
    // written.
    let bad = "ip,status,owner,hostname,note\n\
               198.18.0.10,allocated,Acme,web1.example,\n\
               198.18.0.9,reserved,,,\n\
               198.18.5.1,,,,\n\
               198.18.0.11,stolen,,,\n";
    let (status, report) = import(&app, &op, &net, bad).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["imported"], 0);
    assert_eq!(report["error_count"], 3, "{report}");
    let lines: Vec<&Value> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["line"])
        .collect();
    assert_eq!(lines, [3, 4, 5], "{report}");
    assert_eq!(
        report["errors"][0]["message"],
        "198.18.0.9 is Allocated here already; only free addresses are imported."
    );
    assert_eq!(
        report["errors"][1]["message"],
        "198.18.5.1 is not in the network 198.18.0.0/24."
    );
    let (_, report) = import(
        &app,
        &op,
        &net,
        &bad.replace("198.18.5.1", "198.18.0.12")
            .replace("stolen", ""),
    )
    .await;
    assert_eq!(report["error_count"], 1, "{report}");
    assert_eq!(report["errors"][0]["line"], 3);
    let allocated = page(
        &app,
        &admin,
        &[("network_id", &net), ("status", "allocated")],
    )
    .await;
    assert_eq!(
        addresses(&allocated),
        ["198.18.0.9"],
        "nothing half-imported"
    );

    // A good file lands whole: statuses, holders, counts and history.
    let good = "198.18.0.10,allocated,Acme,web1.example,first\n\
                198.18.0.11,reserved,,,kept for Acme\n\
                198.18.0.12,used_in_network,,,\n\
                198.18.0.13,free,,,\n";
    let (status, report) = import(&app, &op, &net, good).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report,
        json!({"imported": 3, "unchanged": 1, "error_count": 0, "errors": []})
    );
    let (_, detail) = act(&app, &viewer, "detail", &[("address", "198.18.0.10")]).await;
    assert_eq!(detail["address"]["status"], "allocated");
    assert_eq!(detail["address"]["owner"], "Acme");
    assert_eq!(detail["history"][0]["reason"], "imported from CSV");
    assert_eq!(detail["history"][0]["actor"], "olga");
    assert_eq!(
        detail["history"][0]["holder"],
        "Acme · web1.example · first"
    );
    let (_, problem) = act(&app, &viewer, "detail", &[("address", "198.18.0.12")]).await;
    assert_eq!(problem["address"]["status"], "used_in_network");
    assert!(problem["address"]["problem_since"].is_string(), "{problem}");
    let (_, got) = app
        .call_fn(&viewer, "/api/networks/get", &[("network_id", &net)])
        .await;
    assert_eq!(got["free"], "250", "{got}");
    let in_use = got["in_use"].as_array().unwrap();
    assert!(in_use.contains(&json!(["allocated", 2])), "{got}");
    assert!(in_use.contains(&json!(["used_in_network", 1])), "{got}");

    // An export imports back into an empty network as it was.
    let export = app.export_csv(&viewer, &net).await;
    let copy = app.new_network(&admin, "198.18.1.0/24").await;
    let moved = export.replace("198.18.0.", "198.18.1.");
    let (_, report) = import(&app, &op, &copy, &moved).await;
    assert_eq!(report["imported"], 4, "{report}");
    assert_eq!(report["unchanged"], 250, "{report}");
    let (_, detail) = act(&app, &viewer, "detail", &[("address", "198.18.1.11")]).await;
    assert_eq!(detail["address"]["status"], "reserved");
    assert_eq!(detail["address"]["note"], "kept for Acme");

    // Sparse networks take imports too; viewers may not import.
    let v6 = app.new_network(&admin, "2001:2::/64").await;
    let (_, report) = import(&app, &op, &v6, "2001:2::5,reserved\n").await;
    assert_eq!(report["imported"], 1, "{report}");
    assert_eq!(import(&app, &viewer, &v6, "2001:2::6\n").await.0, 403);
    let (status, body) = import(&app, &op, &v6, "\n\n").await;
    assert_eq!(
        (status, body),
        (400, json!({"BadRequest": "The file holds no addresses."}))
    );
}

#[tokio::test]
async fn large_imports_pass_and_oversized_bodies_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "198.18.0.0/16").await;
    // 60,000 lines: well past axum's default 2 MB body once form-encoded.
    let csv: String = (1..=60_000u32)
        .map(|n| {
            format!(
                "198.18.{}.{},allocated,bulk owner,host-{n}.example,\n",
                n / 256,
                n % 256
            )
        })
        .collect();
    let (status, report) = import(&app, &admin, &net, &csv).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["imported"], 60_000);
    let (_, next) = allocate(&app, &admin, &net, None).await;
    assert_eq!(
        next["address"], "198.18.234.97",
        "the lowest free after 60,000"
    );

    let huge = "x".repeat(server::startup::MAX_REQUEST_BODY + 1);
    let res = app
        .call(
            &admin,
            "/api/addresses/import",
            &[("network_id", &net), ("csv", &huge)],
        )
        .await;
    assert_eq!(res.status(), 413);
}

/// ipvet before the holder history left a holder on addresses a check freed. The migration
/// that clears them moves each into the address's history first, dated when it became
/// free: nothing is lost.
#[tokio::test]
async fn the_holder_migration_moves_free_addresses_holders_into_their_history() {
    use app::model::AddressStatus;
    use app::server::entities::address;
    use app::server::inventory::addresses::{self, History, Holder};
    use app::server::inventory::{ip, networks};
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::sea_query::Expr;
    let (_guard, url) = crate::helpers::TestDb::new().await;
    let db = app::server::db::connect(&url).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    crate::helpers::add_user(&db, "admin", Role::Admin).await;
    let caller = crate::helpers::admin_caller(&url).await;
    let net = networks::create(&caller, "198.18.0.0/24", "old", "")
        .await
        .unwrap();
    let holder = Holder {
        owner: "cust-1".into(),
        hostname: "web1.example".into(),
        note: "rack 4".into(),
    };
    for ip in ["198.18.0.7", "198.18.0.8"] {
        addresses::allocate(&caller, net.id, Some(ip), holder.clone(), None)
            .await
            .unwrap();
    }
    // What a check freeing .7 left behind before this migration: free, holder kept.
    let freed = address::Entity::update_many()
        .col_expr(address::Column::Status, Expr::value(AddressStatus::Free))
        .filter(address::Column::Ip.eq(ip::to_bytes("198.18.0.7".parse().unwrap())))
        .exec(&db)
        .await
        .unwrap();
    assert_eq!(freed.rows_affected, 1);
    // Back to before the holder migration, however many came after it.
    let since_holder = Migrator::migrations()
        .iter()
        .rev()
        .position(|m| m.name() == "m20261206_000011_event_holder")
        .expect("the holder migration is known")
        + 1;
    Migrator::down(&db, Some(since_holder as u32))
        .await
        .unwrap();
    Migrator::up(&db, None).await.unwrap();

    let record = |ip: &'static str| {
        let db = &db;
        async move {
            addresses::record(db, ip.parse().unwrap(), History::Everything)
                .await
                .unwrap()
        }
    };
    let seven = record("198.18.0.7").await;
    let row = seven.row.unwrap();
    assert_eq!(
        (row.owner.as_str(), row.hostname.as_str(), row.note.as_str()),
        ("", "", "")
    );
    let last = &seven.events[0];
    assert_eq!(
        (
            last.owner.as_str(),
            last.hostname.as_str(),
            last.note.as_str(),
            last.reason.as_str()
        ),
        (
            "cust-1",
            "web1.example",
            "rack 4",
            "holder cleared: a free address keeps no holder"
        )
    );
    assert_eq!(last.at, row.status_changed_at);
    assert_eq!(seven.events.len(), 2, "{:?}", seven.events);
    // An allocated address keeps its holder and gets no such row.
    let eight = record("198.18.0.8").await;
    assert_eq!(eight.row.unwrap().owner, "cust-1");
    assert_eq!(eight.events.len(), 1);
}

/// An allocated address's owner, host name and note change in place, from the page's form
/// and from the API: kept in its history and the audit log, validated as an allocation's
/// are, refused for any address that is not allocated, and a no-op when nothing changes.
#[tokio::test]
async fn an_allocated_address_holder_is_edited_in_place() {
    use app::server::entities::audit_log;
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("op", Role::Operator).await;
    let viewer = app.signed_in("viewer", Role::Viewer).await;
    let net = app.new_network(&admin, "198.18.0.0/29").await;
    assert_eq!(allocate(&app, &op, &net, Some("198.18.0.2")).await.0, 200);
    let edit =
        |client: &reqwest::Client, ip: &'static str, owner: &'static str, host: &'static str| {
            let (app, client) = (&app, client.clone());
            async move {
                act(
                    app,
                    &client,
                    "edit",
                    &[
                        ("address", ip),
                        ("owner", owner),
                        ("hostname", host),
                        ("note", "rack 4"),
                    ],
                )
                .await
            }
        };
    assert_eq!(
        edit(&viewer, "198.18.0.2", "Acme", "web2.example").await.0,
        403
    );
    let (status, done) = edit(&op, "198.18.0.2", " Acme ", "web2.example").await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        (
            &done["owner"],
            &done["hostname"],
            &done["note"],
            &done["status"]
        ),
        (
            &json!("Acme"),
            &json!("web2.example"),
            &json!("rack 4"),
            &json!("allocated")
        )
    );
    let detail = app.detail(&op, "198.18.0.2").await;
    let newest = &detail["history"][0];
    assert_eq!(newest["reason"], "holder edited", "{detail}");
    assert_eq!(newest["holder"], "Acme · web2.example · rack 4", "{detail}");
    assert_eq!(
        (&newest["from"], &newest["to"]),
        (&json!("allocated"), &json!("allocated"))
    );
    let events = detail["history"].as_array().unwrap().len();

    // The same values again change nothing and write nothing.
    assert_eq!(edit(&op, "198.18.0.2", "Acme", "web2.example").await.0, 200);
    let again = app.detail(&op, "198.18.0.2").await;
    assert_eq!(again["history"].as_array().unwrap().len(), events);

    assert_eq!(
        edit(&op, "198.18.0.2", "Acme", "bad host").await,
        (400, json!({"BadRequest": "`bad host` is not a host name."}))
    );
    assert_eq!(
        edit(&op, "198.18.0.3", "Acme", "").await,
        (
            409,
            json!({"Conflict": "198.18.0.3 is free; only an allocated address has a holder to edit."})
        )
    );
    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("address.edit"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].target, "198.18.0.2");
    assert_eq!(
        (audited[0].before.as_deref(), audited[0].after.as_deref()),
        (
            Some("owner=cust-1 hostname=web1.example note="),
            Some("owner=Acme hostname=web2.example note=rack 4")
        )
    );

    // The API changes only the fields it is given.
    let token = app.token_of("op").await;
    let patch = |ip: &'static str, body: Value| {
        let (app, token) = (&app, token.clone());
        async move {
            let res = crate::helpers::http_client(&app.base)
                .build()
                .unwrap()
                .patch(format!("{}/api/v1/addresses/{ip}", app.base))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = patch("198.18.0.2", json!({"note": "rack 5"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["owner"], &body["hostname"], &body["note"]),
        (&json!("Acme"), &json!("web2.example"), &json!("rack 5"))
    );
    let (status, body) = patch("198.18.0.2", json!({"hostname": "a..b"})).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"]["message"], "hostname: `a..b` is not a host name.",
        "{body}"
    );
    let (status, body) = patch("198.18.0.2", json!({"owner": "x", "colour": "red"})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = patch("198.18.0.4", json!({"owner": "x"})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{body}"
    );
}
