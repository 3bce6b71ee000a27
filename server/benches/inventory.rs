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
use app::server::config::{Config, ConfigValue, DatabaseUrl};
use app::server::admin::users;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use server::startup::Application;

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

struct Bench {
    base: String,
    client: reqwest::Client,
    db: DatabaseConnection,
    _dir: Option<tempfile::TempDir>,
    drop_pg: Option<(String, String)>,
}

impl Bench {
    async fn start(postgres: Option<&str>) -> Bench {
        let (url, dir, drop_pg) = match postgres {
            Some(server) => {
                let server = server.trim_end_matches('/').to_string();
                let name = format!("ipvet_bench_{}", std::process::id());
                let admin = Database::connect(format!("{server}/postgres"))
                    .await
                    .expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                    .await
                    .unwrap();
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                (format!("{server}/{name}"), None, Some((server, name)))
            }
            None => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("bench.db").display());
                (url, Some(dir), None)
            }
        };
        let config = Config {
            database: DatabaseUrl::parse_value(&url).unwrap(),
            listen: "127.0.0.1:0".parse().unwrap(),
            secure_cookies: false,
            // The benchmark measures finding the next free address, not checking it, and
            // sends nothing into the network.
            disable_ip_allocation_checking: true,
            ..Default::default()
        };
        let app = Application::build(config).await.expect("server starts");
        let base = format!("http://{}", app.addr);
        let db = app.state.db.clone();
        tokio::spawn(async move { app.serve(std::future::pending()).await });
        users::create(&db, "bench", Role::Admin, "bench pass phrase 123".into())
            .await
            .unwrap();
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let bench = Bench {
            base,
            client,
            db,
            _dir: dir,
            drop_pg,
        };
        let res = bench
            .call(
                "/api/auth/login",
                &[("name", "bench"), ("password", "bench pass phrase 123")],
            )
            .await;
        assert_eq!(res["name"], "bench", "signed in");
        bench
    }

    async fn call(&self, path: &str, form: &[(&str, &str)]) -> serde_json::Value {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
    }

    async fn get_page(&self, path: &str) {
        let res = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let body = res.text().await.unwrap();
        assert!(body.contains("<table class=\"addresses\""), "{path}");
    }

    async fn sql_rows(&self, sql: String) -> usize {
        self.db
            .query_all(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap()
            .len()
    }

    async fn finish(self) {
        drop(self.db);
        if let Some((server, name)) = self.drop_pg {
            if let Ok(admin) = Database::connect(format!("{server}/postgres")).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
            }
        }
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
    let scan = time(|| async {
        let rows = bench
            .db
            .query_all(Statement::from_string(
                bench.db.get_database_backend(),
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
    bench.finish().await;
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
