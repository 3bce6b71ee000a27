//! Web benchmark (`make bench`): the address list page of a network of 2^20 (1,048,576)
//! addresses under 32 concurrent clients, at its first, middle and last page and with a
//! status filter, on SQLite and (when `IPVET_TEST_POSTGRES` names a server) PostgreSQL.
//! The server is the release `ipvet` binary in a process of its own, so its peak resident
//! memory (VmHWM) is its own; the load comes from `wrk` (installed by `make bench`), and
//! every request is a signed-in, server-rendered page.
//!
//! Prints a Markdown table; `docs/benchmarks.md` keeps the numbers.

use std::time::Instant;

use app::model::Role;
use app::server::config::DatabaseUrl;
use app::server::db;
use tokio::process::{Child, Command};

#[path = "../tests/it/helpers/mod.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::process::{ipvet, start_server};
use helpers::TestDb;

const BIG: &str = "2001:2::/108";
const CLIENTS: u32 = 32;
const SECONDS: u32 = 10;

struct Server {
    child: Child,
    base: String,
    cookie: String,
    client: reqwest::Client,
}

impl Server {
    /// `ipvet serve` on the database at `url`, signed in as "bench" with `password`.
    async fn start(url: &DatabaseUrl, password: &str) -> Server {
        let mut cmd = ipvet(url);
        // Nothing is checked while the pages are measured: no cycle runs.
        cmd.env("IPVET_CHECK_PERIOD", "100h")
            .env("IPVET_DISABLE_IP_ALLOCATION_CHECKING", "on");
        let (child, base, _) = start_server(&mut cmd).await;
        // The Origin a browser on the server's pages sends; without it a state change
        // (the sign-in included) is refused as cross-site.
        let mut origin = reqwest::header::HeaderMap::new();
        origin.insert(reqwest::header::ORIGIN, base.parse().unwrap());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .default_headers(origin)
            .build()
            .unwrap();
        let res = client
            .post(format!("{base}/api/auth/login"))
            .header("Accept", "application/json")
            .form(&[("name", "bench"), ("password", password)])
            .send()
            .await
            .unwrap();
        let cookie = res
            .headers()
            .get("set-cookie")
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string();
        Server {
            child,
            base,
            cookie,
            client,
        }
    }

    async fn call(&self, path: &str, form: &[(&str, &str)]) -> serde_json::Value {
        let res = self
            .client
            .post(format!("{}{path}", self.base))
            .header("Accept", "application/json")
            .header("Cookie", &self.cookie)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body = res.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Peak resident memory so far, in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc");
        kib / 1024.0
    }
}

/// What wrk measured.
struct Load {
    p50_ms: f64,
    p99_ms: f64,
    per_second: f64,
    errors: bool,
}

fn millis(s: &str) -> f64 {
    let s = s.trim();
    for (unit, factor) in [("us", 0.001), ("ms", 1.0), ("s", 1000.0)] {
        if let Some(n) = s.strip_suffix(unit) {
            return n.parse::<f64>().unwrap() * factor;
        }
    }
    panic!("a wrk latency: {s}");
}

/// Loads `path` (signed in when `cookie`), after checking once that it answers 200 with
/// `marker` in the page (the list itself, not a sign-in page or an error).
async fn load(server: &Server, path: &str, cookie: bool, marker: &str) -> Load {
    let mut req = server.client.get(format!("{}{path}", server.base));
    if cookie {
        req = req.header("Cookie", &server.cookie);
    }
    let page = req.send().await.unwrap();
    assert_eq!(page.status(), 200, "{path}");
    assert!(page.text().await.unwrap().contains(marker), "{path}");
    let mut wrk = Command::new("wrk");
    wrk.args([
        "-t2",
        &format!("-c{CLIENTS}"),
        &format!("-d{SECONDS}s"),
        "--latency",
    ]);
    if cookie {
        wrk.args(["-H", &format!("Cookie: {}", server.cookie)]);
    }
    let out = wrk
        .arg(format!("{}{path}", server.base))
        .output()
        .await
        .expect("wrk runs (make bench installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "wrk failed: {text}");
    let pct = |p: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p))
            .map(millis)
            .unwrap_or_else(|| panic!("no {p} in wrk's output:\n{text}"))
    };
    let per_second = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    Load {
        p50_ms: pct("50%"),
        p99_ms: pct("99%"),
        per_second,
        errors: text.contains("Non-2xx") || text.contains("Socket errors"),
    }
}

async fn run(backend: &str, postgres: Option<&str>) {
    // Removed, PostgreSQL's included, when the run ends.
    let (_db, url) = TestDb::on(postgres).await;
    let password = {
        let db = db::open(&url).await.unwrap();
        helpers::add_user(&db, "bench", Role::Admin).await
    };
    let server = Server::start(&url, &password).await;
    let started = Instant::now();
    let net = server
        .call(
            "/api/networks/create",
            &[("cidr", BIG), ("name", "big"), ("description", "")],
        )
        .await;
    let id = net["id"].to_string();
    println!(
        "{backend}: network of 2^20 addresses made in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for n in 0..100u128 {
        let a = std::net::Ipv6Addr::from(0x2001_0002_u128 << 96 | (n * 7919)).to_string();
        server
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
    let rss_before = server.peak_rss_mib();
    let list = "<table class=\"addresses\"";
    let cases = [
        ("first page", format!("/networks/{id}"), true, list),
        (
            "middle page (row 524,288)",
            format!("/networks/{id}?after=2001:2::7:ffff"),
            true,
            list,
        ),
        ("last page", format!("/networks/{id}?last=1"), true, list),
        (
            "status filter (allocated)",
            format!("/networks/{id}?status=allocated"),
            true,
            list,
        ),
        // The peer: the same server's sign-in page, rendered without the database: the
        // floor that HTTP and server rendering alone set under this load.
        (
            "peer: sign-in page (no database)",
            "/login".to_string(),
            false,
            "Sign in",
        ),
    ];
    for (label, path, cookie, marker) in cases {
        let l = load(&server, &path, cookie, marker).await;
        println!(
            "| {backend} | {label} | {:.1} | {:.1} | {:.0} | {} |",
            l.p50_ms,
            l.p99_ms,
            l.per_second,
            if l.errors { "errors!" } else { "none" }
        );
    }
    println!(
        "| {backend} | server peak RSS | {:.0} MiB after setup, {:.0} MiB after the load |",
        rss_before,
        server.peak_rss_mib()
    );
    drop(server);
}

#[tokio::main]
async fn main() {
    println!("| backend | address list, 32 clients, {SECONDS} s | p50 ms | p99 ms | requests/s | failed requests |");
    println!("|---|---|---|---|---|---|");
    run("SQLite", None).await;
    if let Some(pg) = std::env::var("IPVET_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    {
        run("PostgreSQL", Some(&pg)).await;
    }
}
