//! Web benchmark (`make bench`): the pages of an inventory of 2^20 (1,048,576) addresses
//! under 32 concurrent clients (the address list at its first, middle and last page and
//! with a status filter, the dashboard, Problem IPs, an address page) beside the sign-in
//! page of the same run, on SQLite and (when `IPVET_TEST_POSTGRES` names a server)
//! PostgreSQL; and the bytes a first and a repeat visit transfer, in Chromium, with the
//! release site (`make build-release`: hashed, precompressed) that the server is pointed at.
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
            .env("IPVET_DISABLE_IP_ALLOCATION_CHECKING", "on")
            // The release site `make build-release` made: named by content, precompressed.
            .env(
                "LEPTOS_SITE_ROOT",
                concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site"),
            );
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

/// Loads `path` (signed in when `cookie`; accepting brotli or gzip, as browsers do, when
/// `brotli`), after checking once that it answers 200 with
/// `marker` in the page (the list itself, not a sign-in page or an error).
async fn load(server: &Server, path: &str, cookie: bool, brotli: bool, marker: &str) -> Load {
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
    if brotli {
        wrk.args(["-H", "Accept-Encoding: br, gzip"]);
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

/// A page's HTML as sent plainly and as sent to a client that accepts brotli, in bytes.
async fn page_bytes(server: &Server, path: &str) -> (usize, usize) {
    let mut sizes = [0usize; 2];
    for (i, encoding) in ["identity", "br"].into_iter().enumerate() {
        let res = server
            .client
            .get(format!("{}{path}", server.base))
            .header("Cookie", &server.cookie)
            .header("Accept-Encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
        sizes[i] = res.bytes().await.unwrap().len();
    }
    (sizes[0], sizes[1])
}

/// What a first and a repeat visit to `path` transfer in Chromium, every file included
/// (`end2end/bench/wire.mjs`); `None` where the browser tooling is not installed.
async fn wire(server: &Server, path: &str) -> Option<(u64, u64)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end");
    if !root.join("node_modules/@playwright/test").exists() {
        return None;
    }
    let out = Command::new("node")
        .arg("bench/wire.mjs")
        .arg(&server.base)
        .arg(path)
        .arg(&server.cookie)
        .current_dir(&root)
        .output()
        .await
        .ok()?;
    if !out.status.success() {
        eprintln!("wire.mjs: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    eprintln!("{path}: {v}");
    Some((
        v["first"]["bytes"].as_u64()?,
        v["repeat"]["bytes"].as_u64()?,
    ))
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
    let held = std::net::Ipv6Addr::from(0x2001_0002_u128 << 96 | 7919).to_string();
    let cases = [
        ("first page", format!("/networks/{id}"), true, false, list),
        (
            "middle page (row 524,288)",
            format!("/networks/{id}?after=2001:2::7:ffff"),
            true,
            false,
            list,
        ),
        (
            "last page",
            format!("/networks/{id}?last=1"),
            true,
            false,
            list,
        ),
        // As a browser asks for it: compressed as it is sent.
        (
            "first page, brotli",
            format!("/networks/{id}"),
            true,
            true,
            list,
        ),
        (
            "status filter (allocated)",
            format!("/networks/{id}?status=allocated"),
            true,
            false,
            list,
        ),
        ("dashboard", "/".to_string(), true, false, "Nearest to full"),
        (
            "Problem IPs",
            "/problems".to_string(),
            true,
            false,
            "<h1>Problem IPs",
        ),
        (
            "address page",
            format!("/address?ip={held}"),
            true,
            false,
            "<h2>History",
        ),
        // The peer: the same server's sign-in page, rendered without the database: the
        // floor that HTTP and server rendering alone set under this load.
        (
            "peer: sign-in page (no database)",
            "/login".to_string(),
            false,
            false,
            "Sign in",
        ),
    ];
    let mut measured = Vec::new();
    for (label, path, cookie, brotli, marker) in cases {
        let l = load(&server, &path, cookie, brotli, marker).await;
        measured.push((label, l));
    }
    // Each page beside the sign-in page of the same run (the target: at least 1/12).
    let floor = measured.last().map_or(1.0, |(_, l)| l.per_second.max(1.0));
    for (label, l) in &measured {
        println!(
            "| {backend} | {label} | {:.1} | {:.1} | {:.0} | 1/{:.1} | {} |",
            l.p50_ms,
            l.p99_ms,
            l.per_second,
            floor / l.per_second.max(1.0),
            if l.errors { "errors!" } else { "none" }
        );
    }
    for (label, path) in [
        ("dashboard", "/".to_string()),
        ("network page", format!("/networks/{id}")),
    ] {
        let (raw, compressed) = page_bytes(&server, &path).await;
        println!("| {backend} | {label}: HTML | {raw} bytes, {compressed} with brotli |");
        match wire(&server, &path).await {
            Some((first, repeat)) => println!(
                "| {backend} | {label}: on the wire in Chromium | first visit {first} bytes, repeat visit {repeat} bytes |"
            ),
            None => println!("| {backend} | {label}: on the wire | not measured (no end2end/node_modules or site build) |"),
        }
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
    println!("| backend | page, 32 clients, {SECONDS} s | p50 ms | p99 ms | requests/s | of the sign-in page's | failed requests |");
    println!("|---|---|---|---|---|---|---|");
    run("SQLite", None).await;
    if let Some(pg) = std::env::var("IPVET_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
    {
        run("PostgreSQL", Some(&pg)).await;
    }
}
