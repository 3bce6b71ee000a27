//! The subnet map on a network's page: address by address for a /24, block by block for a
//! larger network with drilling down, an IPv6 network from the block that holds its
//! addresses; each cell's state as the rows say.

use app::model::{AddressStatus, MapCell, Role, SubnetMap};
use app::server::config::Config;
use serde_json::{json, Value};

use crate::helpers::{script, TestApp};

async fn map(
    app: &TestApp,
    client: &reqwest::Client,
    net: &str,
    block: Option<&str>,
) -> (u16, Value) {
    let mut form = vec![("network_id", net)];
    if let Some(b) = block {
        form.push(("block", b));
    }
    app.call_fn(client, "/api/networks/map", &form).await
}

/// Allocates `ip` of network `net` to `owner` through the page's server function.
pub(crate) async fn allocate(
    app: &TestApp,
    client: &reqwest::Client,
    net: &str,
    ip: &str,
    owner: &str,
) {
    let (status, body) = app
        .call_fn(
            client,
            "/api/addresses/allocate",
            &[
                ("network_id", net),
                ("address", ip),
                ("owner", owner),
                ("hostname", ""),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The map's cells as the page draws them, worked out from the compact data it is sent.
fn cells(m: &Value) -> Vec<MapCell> {
    serde_json::from_value::<SubnetMap>(m.clone())
        .expect("a subnet map")
        .cells()
}

fn of_addresses(m: &Value) -> bool {
    m["cells"].get("addresses").is_some()
}

#[tokio::test]
async fn a_map_draws_addresses_blocks_and_problems_as_the_rows_say() {
    // 198.18.20.1 answers in the network; everything else is silent.
    let checker =
        script("case \"$1\" in 198.18.20.1) echo \"reply from $1\" ;; *) echo OK ;; esac");
    let path = checker.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    let viewer = app.signed_in("viewer", Role::Viewer).await;

    // A /24, address by address.
    let small = app.new_network(&admin, "198.18.0.0/24").await;
    allocate(&app, &admin, &small, "198.18.0.7", "Acme").await;
    allocate(&app, &admin, &small, "198.18.0.9", "").await;
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/reserve",
            &[("address", "198.18.0.8"), ("note", "")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/release",
            &[("address", "198.18.0.9")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, m) = map(&app, &viewer, &small, None).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(
        (&m["block"], &m["up"]),
        (&json!("198.18.0.0/24"), &Value::Null)
    );
    assert!(of_addresses(&m), "{m}");
    // Sent as a letter a cell: the whole map's data is a few hundred bytes.
    assert!(m.to_string().len() < 400, "{m}");
    let c = cells(&m);
    assert_eq!(c.len(), 256);
    assert_eq!(c[0].status, None);
    assert_eq!(c[0].title, "198.18.0.0 · never handed out");
    assert_eq!(c[7].title, "198.18.0.7 · Allocated · Acme");
    assert_eq!(c[7].short, "7");
    let statuses: Vec<Option<AddressStatus>> = (6..=10).map(|i| c[i].status).collect();
    assert_eq!(
        statuses,
        [
            Some(AddressStatus::Free),
            Some(AddressStatus::Allocated),
            Some(AddressStatus::Reserved),
            Some(AddressStatus::BeingChecked),
            Some(AddressStatus::Free)
        ]
    );
    assert_eq!(c[255].status, None);

    // A /20 as its sixteen /24s, shaded by use and marked where problems are.
    let wide = app.new_network(&admin, "198.18.16.0/20").await;
    for ip in ["198.18.17.5", "198.18.17.6", "198.18.20.1"] {
        allocate(&app, &admin, &wide, ip, "").await;
    }
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/release",
            &[("address", "198.18.20.1")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.run_cycle(&admin).await;
    let (status, m) = map(&app, &viewer, &wide, None).await;
    assert_eq!(status, 200, "{m}");
    assert!(!of_addresses(&m), "{m}");
    let c = cells(&m);
    assert_eq!(c.len(), 16);
    assert_eq!(
        (
            c[1].label.as_str(),
            c[1].short.as_str(),
            c[1].used,
            c[1].fill
        ),
        ("198.18.17.0/24", "17", 2, 1)
    );
    assert_eq!(c[1].title, "198.18.17.0/24 · 2 of 256 in use");
    assert_eq!((c[4].used, c[4].problems), (1, 1));
    assert_eq!(c[4].title, "198.18.20.0/24 · 1 of 256 in use · 1 problem");
    assert_eq!((c[0].used, c[0].fill), (0, 0));

    // Opening a block draws its addresses, with the way back up.
    let (status, m) = map(&app, &viewer, &wide, Some("198.18.20.0/24")).await;
    assert_eq!(status, 200, "{m}");
    assert!(of_addresses(&m), "{m}");
    assert_eq!(m["up"], "198.18.16.0/20");
    let c = cells(&m);
    assert_eq!(c[1].status, Some(AddressStatus::UsedInNetwork));
    assert_eq!(c[0].status, Some(AddressStatus::Free));
    for (block, message) in [
        (
            "198.18.64.0/24",
            "198.18.64.0/24 is not a block of 198.18.16.0/20.",
        ),
        (
            "2001:2::/64",
            "2001:2::/64 is not a block of 198.18.16.0/20.",
        ),
        (
            "198.18.20.1/24",
            "198.18.20.1/24 has host bits set; did you mean 198.18.20.0/24?",
        ),
    ] {
        assert_eq!(
            map(&app, &viewer, &wide, Some(block)).await,
            (400, json!({ "BadRequest": message }))
        );
    }
}

/// An IPv6 network is a speck of use in a vast range: its map starts at the deepest block
/// that still holds every address on record, and says so.
#[tokio::test]
async fn an_ipv6_map_starts_where_its_addresses_are() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "2001:2::/64").await;
    let (status, m) = map(&app, &admin, &net, None).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(
        (&m["block"], &m["skipped"]),
        (&json!("2001:2::/64"), &Value::Null)
    );
    let c = cells(&m);
    assert_eq!(c.len(), 256);
    assert_eq!(c[0].title, "2001:2::/72 · 0 of 2^56 in use");

    allocate(&app, &admin, &net, "2001:2::5", "").await;
    allocate(&app, &admin, &net, "2001:2::9", "").await;
    let (status, m) = map(&app, &admin, &net, None).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(
        (&m["block"], &m["up"]),
        (&json!("2001:2::/120"), &json!("2001:2::/112"))
    );
    assert!(of_addresses(&m), "{m}");
    assert_eq!(
        m["skipped"],
        "Only 2001:2::/120 holds addresses on record; the rest of 2001:2::/64 is free."
    );
    let c = cells(&m);
    assert_eq!(
        (c[5].status, c[5].short.as_str()),
        (Some(AddressStatus::Allocated), "5")
    );
    assert_eq!(c[6].status, Some(AddressStatus::Free));
    // One step up: the /112 as 256 blocks of 256, the first in use.
    let (status, m) = map(&app, &admin, &net, Some("2001:2::/112")).await;
    assert_eq!(status, 200, "{m}");
    assert!(!of_addresses(&m), "{m}");
    assert_eq!(m["up"], "2001:2::/104");
    let c = cells(&m);
    assert_eq!((c[0].used, c[0].label.as_str()), (2, "2001:2::/120"));
}
