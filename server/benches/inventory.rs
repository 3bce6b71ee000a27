//! Inventory benchmark (`make bench`): the address list of a network of 2^20 addresses at
//! its first, middle and last page and with a status filter, and the next free address of
//! a /16 with 60,000 addresses allocated. Measured through the real server over loopback
//! HTTP, on SQLite and (when `IPVET_TEST_POSTGRES` names a server) PostgreSQL, beside the
//! obvious peers measured in the same run on the same data: OFFSET paging, and finding the
//! lowest free address by reading the network's rows in order.
//!
//! Prints a Markdown table; `docs/benchmarks.md` keeps the numbers.

use std::time::{Duration, Instant};

use app::model::Role;
use sea_orm::{ConnectionTrait, Statement};

#[path = "../tests/it/helpers/mod.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::{TestApp, TestDb};

const REPEAT: usize = 30;
const BIG: &str = "2001:2::/108";
const SLASH16: &str = "198.18.0.0/16";
const ALLOCATED_IN_16: u32 = 60_000;

struct Timings(Vec<Duration>);

/// A list page to time: label, server function arguments, page query, and the OFFSET of
/// the same rows for the peer.
type ListCase = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
    Option<u64>,
);

impl Timings {
    fn quantile(&self, q: f64) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        v[((v.len() as f64 - 1.0) * q).round() as usize]
    }
    fn cell(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        format!(
            "{:.2} / {:.2}",
            ms(self.quantile(0.5)),
            ms(self.quantile(0.99))
        )
    }
}

async fn time<F, Fut>(mut f: F) -> Timings
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // One untimed run warms caches the way a server that has been up a while has them.
    f().await;
    let mut out = Vec::with_capacity(REPEAT);
    for _ in 0..REPEAT {
        let start = Instant::now();
        f().await;
        out.push(start.elapsed());
    }
    Timings(out)
}

/// The real server on a database of its own, and an admin signed in to it.
struct Bench {
    app: TestApp,
    client: reqwest::Client,
}

impl Bench {
    async fn start(postgres: Option<&str>) -> Bench {
        let app = TestApp::spawn_on(TestDb::on(postgres).await, |c| {
            // The benchmark measures finding the next free address, not checking it; and,
            // as in the tests, it sends nothing into the network.
            c.disable_ip_allocation_checking = true;
        })
        .await;
        let client = app.signed_in("bench", Role::Admin).await;
        Bench { app, client }
    }

    /// A server function's answer, which must be a success.
    async fn call(&self, path: &str, form: &[(&str, &str)]) -> serde_json::Value {
        let (status, body) = self.app.call_fn(&self.client, path, form).await;
        assert!((200..300).contains(&status), "{path}: {status} {body}");
        body
    }

    async fn get_page(&self, path: &str) {
        let res = self
            .client
            .get(format!("{}{path}", self.app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let body = res.text().await.unwrap();
        assert!(body.contains("<table class=\"addresses\""), "{path}");
    }

    async fn sql_rows(&self, sql: String) -> usize {
        let db = &self.app.state.db;
        db.query_all(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .len()
    }
}

async fn run(backend: &str, postgres: Option<&str>) -> Vec<(String, String, String)> {
    let bench = Bench::start(postgres).await;
    let mut rows = Vec::new();
    let mut row = |what: &str, ours: String, peer: String| {
        println!("{backend:10} {what:45} {ours:>18} {peer:>18}");
        rows.push((format!("{backend}: {what}"), ours, peer));
    };

    let started = Instant::now();
    let net = bench
        .call(
            "/api/networks/create",
            &[("cidr", BIG), ("name", "big"), ("description", "")],
        )
        .await;
    let id = net["id"].to_string();
    row(
        "create a network of 2^20 addresses (once)",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
        "–".into(),
    );
    for n in 0..100 {
        let a = std::net::Ipv6Addr::from(0x2001_0002_u128 << 96 | (n * 7919)).to_string();
        bench
            .call(
                "/api/addresses/allocate",
                &[
                    ("network_id", id.as_str()),
                    ("address", a.as_str()),
                    ("owner", "bench"),
                    ("hostname", ""),
                    ("note", ""),
                ],
            )
            .await;
    }

    let middle_offset = 1u64 << 19;
    let last_offset = (1u64 << 20) - 100;
    let cases: [ListCase; 4] = [
        ("list: first page", vec![], "", Some(0)),
        (
            "list: middle page (row 524,288)",
            vec![("after", "2001:2::7:ffff")],
            "?after=2001:2::7:ffff",
            Some(middle_offset),
        ),
        (
            "list: last page",
            vec![("last", "true")],
            "?last=1",
            Some(last_offset),
        ),
        (
            "list: status filter (allocated)",
            vec![("status", "allocated")],
            "?status=allocated",
            None,
        ),
    ];
    for (label, args, query, offset) in cases {
        let mut form = vec![("network_id", id.as_str())];
        form.extend(args);
        let fun = time(|| async {
            let page = bench.call("/api/addresses/page", &form).await;
            assert!(!page["rows"].as_array().unwrap().is_empty());
        })
        .await;
        let path = format!("/networks/{id}{query}");
        let html = time(|| bench.get_page(&path)).await;
        let peer = match offset {
            Some(off) => {
                let sql = format!(
                    "SELECT id, ip, status, owner, hostname, note FROM addresses \
                     WHERE network_id = {id} ORDER BY ip LIMIT 100 OFFSET {off}"
                );
                time(|| async {
                    assert_eq!(bench.sql_rows(sql.clone()).await, 100);
                })
                .await
                .cell()
            }
            None => "–".into(),
        };
        row(
            &format!("{label}, server function"),
            fun.cell(),
            peer.clone(),
        );
        row(&format!("{label}, whole page (SSR)"), html.cell(), peer);
    }

    // The next free address of a /16 whose lowest 60,000 addresses are allocated.
    let net = bench
        .call(
            "/api/networks/create",
            &[("cidr", SLASH16), ("name", "slash16"), ("description", "")],
        )
        .await;
    let id16 = net["id"].to_string();
    let mut csv = String::new();
    for n in 1..=ALLOCATED_IN_16 {
        csv.push_str(&format!(
            "198.18.{}.{},allocated,bench,,\n",
            n / 256,
            n % 256
        ));
    }
    let started = Instant::now();
    let report = bench
        .call(
            "/api/addresses/import",
            &[("network_id", id16.as_str()), ("csv", csv.as_str())],
        )
        .await;
    assert_eq!(report["imported"], ALLOCATED_IN_16, "{report}");
    row(
        "CSV import of 60,000 addresses (once)",
        format!("{:.1} s", started.elapsed().as_secs_f64()),
        "–".into(),
    );
    let form = [
        ("network_id", id16.as_str()),
        ("owner", "bench"),
        ("hostname", ""),
        ("note", ""),
    ];
    let alloc = time(|| async {
        let got = bench.call("/api/addresses/allocate", &form).await;
        assert!(got["address"].as_str().unwrap().starts_with("198.18."));
    })
    .await;
    // The peer reads the network's rows in order until the first free one, as a tool
    // without a status index must.
    let scan_sql =
        format!("SELECT ip, status FROM addresses WHERE network_id = {id16} ORDER BY ip");
    let db = &bench.app.state.db;
    let scan = time(|| async {
        let rows = db
            .query_all(Statement::from_string(
                db.get_database_backend(),
                scan_sql.clone(),
            ))
            .await
            .unwrap();
        let free = rows
            .iter()
            .position(|r| r.try_get::<String>("", "status").unwrap() == "free");
        assert!(free.unwrap() >= ALLOCATED_IN_16 as usize);
    })
    .await;
    row(
        "next free in a /16 with 60,000 allocated (allocate)",
        alloc.cell(),
        scan.cell(),
    );
    // The server stops and its database goes.
    drop(bench);
    rows
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    println!(
        "{:10} {:45} {:>18} {:>18}",
        "backend", "what", "ipvet p50 / p99 ms", "peer p50 / p99 ms"
    );
    let mut all = run("SQLite", None).await;
    if let Some(pg) = std::env::var("IPVET_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    {
        all.extend(run("PostgreSQL", Some(&pg)).await);
    }
    let mut md =
        String::from("| What | ipvet p50 / p99 (ms) | Peer p50 / p99 (ms) |\n|---|---:|---:|\n");
    for (what, ours, peer) in all {
        md.push_str(&format!("| {what} | {ours} | {peer} |\n"));
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("inventory.md"), &md).unwrap();
    println!("\n{md}");
}
