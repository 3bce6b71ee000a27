//! The schema behaves the same on SQLite and PostgreSQL: addresses order and range-scan
//! numerically, and statuses and roles outside their sets are refused by the database.

use std::net::{IpAddr, Ipv4Addr};

use app::server::entities::{address, network};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    Statement,
};
use time::OffsetDateTime;

use crate::helpers::TestApp;

/// The stored form: 16 bytes, IPv4 as IPv4-mapped IPv6.
fn bytes(ip: &str) -> Vec<u8> {
    match ip.parse::<IpAddr>().unwrap() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn show(b: &[u8]) -> String {
    let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(b).unwrap());
    v6.to_ipv4_mapped()
        .map(|v4: Ipv4Addr| v4.to_string())
        .unwrap_or_else(|| v6.to_string())
}

async fn net(db: &impl ConnectionTrait, cidr: &str, first: &str, last: &str) -> i64 {
    network::ActiveModel {
        cidr: Set(cidr.into()),
        family: Set(if cidr.contains(':') { 6 } else { 4 }),
        prefix_len: Set(cidr.split('/').nth(1).unwrap().parse().unwrap()),
        first_ip: Set(bytes(first)),
        last_ip: Set(bytes(last)),
        name: Set(cidr.into()),
        description: Set(String::new()),
        created_at: Set(OffsetDateTime::now_utc()),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

/// Inserts a row for `ip`; the result tells whether the database accepted it.
async fn insert_addr(
    db: &impl ConnectionTrait,
    network_id: i64,
    ip: &str,
    status: app::model::AddressStatus,
) -> Result<address::Model, sea_orm::DbErr> {
    address::ActiveModel {
        network_id: Set(network_id),
        ip: Set(bytes(ip)),
        status: Set(status),
        owner: Set(String::new()),
        hostname: Set(String::new()),
        note: Set(String::new()),
        status_changed_at: Set(OffsetDateTime::now_utc()),
        ..Default::default()
    }
    .insert(db)
    .await
}

async fn addr(db: &impl ConnectionTrait, network_id: i64, ip: &str) {
    insert_addr(db, network_id, ip, app::model::AddressStatus::Allocated)
        .await
        .unwrap();
}

#[tokio::test]
async fn addresses_sort_and_range_scan_numerically() {
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let v4 = net(db, "198.18.0.0/15", "198.18.0.0", "198.19.255.255").await;
    let v6 = net(
        db,
        "2001:2::/48",
        "2001:2::",
        "2001:2:0:ffff:ffff:ffff:ffff:ffff",
    )
    .await;
    for ip in [
        "198.19.0.1",
        "198.18.0.10",
        "198.18.0.9",
        "198.18.1.0",
        "198.18.0.255",
    ] {
        addr(db, v4, ip).await;
    }
    for ip in ["2001:2::10", "2001:2::9", "2001:2:0:1::", "2001:2::a"] {
        addr(db, v6, ip).await;
    }
    let ordered: Vec<String> = address::Entity::find()
        .order_by_asc(address::Column::Ip)
        .all(db)
        .await
        .unwrap()
        .iter()
        .map(|a| show(&a.ip))
        .collect();
    assert_eq!(
        ordered,
        [
            "198.18.0.9",
            "198.18.0.10",
            "198.18.0.255",
            "198.18.1.0",
            "198.19.0.1",
            "2001:2::9",
            "2001:2::a",
            "2001:2::10",
            "2001:2:0:1::"
        ]
    );
    // A range scan by bytes is a numeric range: 198.18.0.10 ..= 198.18.1.0.
    let in_range: Vec<String> = address::Entity::find()
        .filter(address::Column::Ip.gte(bytes("198.18.0.10")))
        .filter(address::Column::Ip.lte(bytes("198.18.1.0")))
        .order_by_asc(address::Column::Ip)
        .all(db)
        .await
        .unwrap()
        .iter()
        .map(|a| show(&a.ip))
        .collect();
    assert_eq!(in_range, ["198.18.0.10", "198.18.0.255", "198.18.1.0"]);
}

#[tokio::test]
async fn statuses_and_roles_outside_their_sets_are_refused() {
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let v4 = net(db, "198.18.0.0/24", "198.18.0.0", "198.18.0.255").await;
    addr(db, v4, "198.18.0.1").await;
    let bad_status = address::Entity::update_many()
        .col_expr(address::Column::Status, Expr::value("stolen"))
        .filter(address::Column::NetworkId.eq(v4))
        .exec(db)
        .await;
    assert!(bad_status.is_err(), "the schema accepted an unknown status");

    app.add_user("alice", app::model::Role::Viewer).await;
    let backend = db.get_database_backend();
    let bad_role = db
        .execute(Statement::from_string(
            backend,
            "UPDATE users SET role = 'superuser' WHERE name = 'alice'",
        ))
        .await;
    assert!(bad_role.is_err(), "the schema accepted an unknown role");

    // Two rows for one address cannot exist.
    let dup = insert_addr(db, v4, "198.18.0.1", app::model::AddressStatus::Reserved).await;
    assert!(dup.is_err());
}
