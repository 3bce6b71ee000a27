//! Check-engine benchmark (`make bench`; needs root). It builds its own test network: two
//! network namespaces joined by a veth pair, the prober's side routing 198.18.0.0/16 to the
//! other, where 1 % of the /16 answers ping. The prober's namespace has no other route, so
//! nothing measured here can reach any other network. Inside it run a DNS server on
//! 127.0.0.1:53 with three DNSBL zones that each list 1 % of the /16, and everything
//! measured, in the same run:
//!
//! - a full ipvet cycle over the /16 (built-in prober, three zones, writes included);
//! - `fping -r0 -t<the same timeout> -g` on the /16;
//! - ipvet's DNSBL half alone and `pydnsbl` on the same zones and addresses;
//! - script mode on a /24: the seeds' ping script, a one-ping script, the built-in prober.
//!
//! Every run's results are compared with what the test network really holds.
//! Prints a Markdown table and writes it to target/bench/checks.md.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use app::model::{AddressStatus, Role, Trigger};
use app::server::check::cycle;
use app::server::check::probe::script::ScriptChecker;
use app::server::check::probe::{Availability, Prober};
use app::server::check::Engine;
use app::server::inventory::ip;
use app::server::inventory::lifecycle::Finding;
use futures::stream::{self, StreamExt};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

#[path = "../tests/it/helpers/mod.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::{dns, netns, script, TestApp, TestDb};

/// Set in the copy of this program that runs inside the prober's namespace.
const INSIDE: &str = "IPVET_BENCH_INSIDE_NETNS";
const PROBER_NS: &str = "ipvet-bench-p";
const HOST_NS: &str = "ipvet-bench-h";
const NETWORK: &str = "198.18.0.0/16";
const BASE: u32 = 0xC612_0000; // 198.18.0.0
/// Per-echo timeout, for ipvet (`PingTimeout`) and fping (`-t`) alike.
const TIMEOUT: Duration = Duration::from_secs(1);
const ZONES: [&str; 3] = ["one.bench.test", "two.bench.test", "three.bench.test"];
const CYCLES: usize = 3;
const SCRIPT_CONCURRENCY: usize = 64;

fn addr(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(BASE + n)
}

/// 1 % of the /16 answers ping.
fn answers(n: u32) -> bool {
    n % 100 == 50
}

/// Each zone lists a different 1 % of the /16, none of it answering ping.
fn listed_by(n: u32) -> Option<usize> {
    match n % 100 {
        10 => Some(0),
        20 => Some(1),
        30 => Some(2),
        _ => None,
    }
}

/// The /16's allocatable addresses (not its own address, not its broadcast).
fn hosts() -> impl Iterator<Item = u32> {
    1..65535
}

fn expected(n: u32) -> AddressStatus {
    if answers(n) {
        AddressStatus::UsedInNetwork
    } else if listed_by(n).is_some() {
        AddressStatus::BlockedByDnsbl
    } else {
        AddressStatus::Free
    }
}

fn main() {
    if std::env::var_os(INSIDE).is_some() {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(inside());
    } else {
        outside();
    }
}

/// The two namespaces; removed on drop, panics included.
struct TestNetwork;

impl TestNetwork {
    fn create() -> TestNetwork {
        // A run that was killed may have left them behind.
        drop(TestNetwork);
        let net = TestNetwork;
        netns::ip(&["netns", "add", PROBER_NS]);
        netns::ip(&["netns", "add", HOST_NS]);
        netns::ip(&[
            "link", "add", "vbench", "netns", PROBER_NS, "type", "veth", "peer", "name", "vbench",
            "netns", HOST_NS,
        ]);
        for (ns, own) in [(PROBER_NS, "198.19.255.1/30"), (HOST_NS, "198.19.255.2/30")] {
            netns::ip(&["-n", ns, "link", "set", "lo", "up"]);
            netns::ip(&["-n", ns, "addr", "add", own, "dev", "vbench"]);
            netns::ip(&["-n", ns, "link", "set", "vbench", "up"]);
        }
        netns::ip(&[
            "-n",
            PROBER_NS,
            "route",
            "add",
            NETWORK,
            "via",
            "198.19.255.2",
        ]);
        // The answering 1 % are the host side's own addresses; it forwards nothing, so
        // the rest of the /16 is silent.
        let batch: String = hosts()
            .filter(|n| answers(*n))
            .map(|n| format!("addr add {}/32 dev lo\n", addr(n)))
            .collect();
        let file = std::env::temp_dir().join("ipvet-bench-addrs");
        std::fs::write(&file, batch).unwrap();
        netns::ip(&["-n", HOST_NS, "-batch", file.to_str().unwrap()]);
        std::fs::remove_file(&file).ok();
        // `ip netns exec` shows this file as /etc/resolv.conf inside: pydnsbl (c-ares)
        // asks the benchmark's DNS server there.
        let etc = Path::new("/etc/netns").join(PROBER_NS);
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("resolv.conf"), "nameserver 127.0.0.1\n").unwrap();
        net
    }
}

impl Drop for TestNetwork {
    fn drop(&mut self) {
        for ns in [PROBER_NS, HOST_NS] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(PROBER_NS));
    }
}

fn outside() {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(
        unsafe { libc::geteuid() },
        0,
        "the check benchmark makes network namespaces and needs root"
    );
    let _net = TestNetwork::create();
    let me = std::env::current_exe().unwrap();
    let status = Command::new("ip")
        .args(["netns", "exec", PROBER_NS])
        .arg(me)
        .env(INSIDE, "1")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the benchmark inside the namespace failed"
    );
}

struct Table(Vec<(String, String, String)>);

impl Table {
    fn row(&mut self, what: &str, ours: String, peer: String) {
        println!("{what:60} {ours:>24} {peer:>24}");
        self.0.push((what.to_string(), ours, peer));
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

async fn inside() {
    // A failed cycle logs its cause; without a subscriber the benchmark would only say
    // "internal error".
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut zones = dns::Zones::default();
    for zone in ZONES {
        zones = zones.healthy(zone);
    }
    for n in hosts() {
        if let Some(z) = listed_by(n) {
            zones = zones.listed(
                ZONES[z],
                addr(n),
                Ipv4Addr::new(127, 0, 0, 2),
                "listed by the benchmark",
            );
        }
    }
    let _dns = dns::DnsServer::start_on("127.0.0.1:53", zones, false).await;

    // SQLite, whatever the environment says: PostgreSQL's server is outside this
    // namespace.
    let app = TestApp::spawn_on(TestDb::on(None).await, |c| {
        // The built-in prober, and the DNS server above.
        c.ip_checker_script = None;
        c.dns_resolver = Some("127.0.0.1:53".parse().unwrap());
        c.check_timeout = Duration::from_secs(5);
        c.check_concurrency = 65_536;
        c.ping_count = 1;
        c.ping_timeout = TIMEOUT;
    })
    .await;
    let state = app.state.clone();
    let config = state.config();
    // The /16, made through the server as an admin would.
    let admin = app.signed_in("bench", Role::Admin).await;
    let network_id: i64 = app.new_network(&admin, NETWORK).await.parse().unwrap();
    for zone in ZONES {
        app.add_zone(zone).await;
    }
    let checked = hosts().count();
    let mut table = Table(Vec::new());

    // 1. Full cycles, each over the whole /16 released anew.
    let mut times = Vec::new();
    for _ in 0..CYCLES {
        release_all(&state.db, network_id).await;
        let engine = Engine::new(&config);
        assert_eq!(engine.checker().prober.problem(), None);
        let started = cycle::start(&state, &engine, Trigger::Command)
            .await
            .unwrap();
        let t = Instant::now();
        let counts = cycle::run(&state, &engine, started, |_| {})
            .await
            .unwrap()
            .counts;
        times.push(t.elapsed());
        assert_eq!(counts.done as usize, checked, "{counts:?}");
        if counts.unknown > 0 {
            let errors = state
                .db
                .query_all(Statement::from_string(
                    state.db.get_database_backend(),
                    "SELECT last_check_error AS e FROM addresses \
                     WHERE last_check_error IS NOT NULL LIMIT 5"
                        .to_string(),
                ))
                .await
                .unwrap();
            let errors: Vec<String> = errors.iter().map(|r| r.try_get("", "e").unwrap()).collect();
            panic!("inconclusive checks: {counts:?}: {errors:?}");
        }
        assert_exact(&state.db, network_id).await;
    }
    times.sort();
    let all: Vec<u32> = hosts().collect();
    let prober = Prober::from_config(&config);
    let t = Instant::now();
    let in_use = availability(&prober, &all, 65_536).await;
    let icmp = t.elapsed();
    assert_eq!(
        in_use,
        all.iter().copied().filter(|n| answers(*n)).collect()
    );
    let fping = fping_alive();
    table.row(
        &format!("full cycle, {checked} addresses, ICMP + 3 zones + writes (median of {CYCLES})"),
        secs(times[CYCLES / 2]),
        format!(
            "runs: {}",
            times
                .iter()
                .map(|t| secs(*t))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    table.row(
        &format!(
            "availability only, {checked} addresses, one echo, {}s timeout",
            TIMEOUT.as_secs()
        ),
        secs(icmp),
        format!("fping -r0 -t1000 -i0 -g: {}", secs(fping)),
    );
    table.row(
        "  ratio fping / ipvet prober",
        format!("{:.2}×", fping.as_secs_f64() / icmp.as_secs_f64()),
        String::new(),
    );

    // 2. The DNSBL half alone, beside pydnsbl on the same zones and addresses.
    let engine = Engine::new(&config);
    let zones = engine.refresh_zones(&state.db).await.unwrap();
    let t = Instant::now();
    // Each address on a task of its own, as a cycle checks them.
    let found: Vec<(u32, Finding)> = stream::iter(all.iter().copied())
        .map(|n| {
            let (engine, zones) = (engine.clone(), zones.clone());
            async move {
                let judged = tokio::spawn(async move {
                    zones
                        .judge(&engine.checker().dnsbl, IpAddr::V4(addr(n)))
                        .await
                });
                (n, judged.await.unwrap())
            }
        })
        .buffer_unordered(4096)
        .collect()
        .await;
    let ours = t.elapsed();
    for (n, finding) in &found {
        let listed = matches!(finding, Finding::Listed { .. });
        assert!(
            !matches!(finding, Finding::Inconclusive(_)),
            "{}: {finding:?}",
            addr(*n)
        );
        assert_eq!(listed, listed_by(*n).is_some(), "{}: {finding:?}", addr(*n));
    }
    let theirs = pydnsbl(&all);
    let queries = all.len() * ZONES.len();
    table.row(
        &format!(
            "DNSBL only, {} addresses × 3 zones ({queries} queries)",
            all.len()
        ),
        format!(
            "{} ({:.0} q/s per zone)",
            secs(ours),
            all.len() as f64 / ours.as_secs_f64()
        ),
        format!(
            "pydnsbl: {} ({:.0} q/s per zone)",
            secs(theirs),
            all.len() as f64 / theirs.as_secs_f64()
        ),
    );
    table.row(
        "  ratio pydnsbl / ipvet DNSBL",
        format!("{:.2}×", theirs.as_secs_f64() / ours.as_secs_f64()),
        String::new(),
    );

    // 3. Availability by script on a /24, beside the built-in prober.
    let slash24: Vec<u32> = (1..255).collect();
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ipchecker.sh");
    let one_ping = script(
        "# One echo, one second: as the built-in prober is configured here.\n\
         if ping -c1 -W1 -q \"$1\" >/dev/null 2>&1; then echo \"answers ping\"; else echo OK; fi",
    );
    let seeds_time = scripts(&seeds, &slash24).await;
    let one_time = scripts(&one_ping.path.0, &slash24).await;
    let prober = Prober::from_config(&config);
    let t = Instant::now();
    let in_use = availability(&prober, &slash24, 65_536).await;
    let prober_time = t.elapsed();
    assert_eq!(
        in_use,
        slash24.iter().copied().filter(|n| answers(*n)).collect()
    );
    table.row(
        &format!(
            "availability by script, 254 addresses, {SCRIPT_CONCURRENCY} at once: seeds' ping -c3"
        ),
        secs(seeds_time),
        String::new(),
    );
    table.row(
        "  the same with a one-ping script (ping -c1 -W1)",
        secs(one_time),
        format!(
            "{:.1}× faster",
            seeds_time.as_secs_f64() / one_time.as_secs_f64()
        ),
    );
    table.row(
        "  the same with the built-in prober (PingCount 1, PingTimeout 1s)",
        secs(prober_time),
        format!(
            "{:.1}× faster",
            seeds_time.as_secs_f64() / prober_time.as_secs_f64()
        ),
    );

    let mut md = String::from("| What | ipvet | Peer |\n|---|---:|---:|\n");
    for (what, ours, peer) in &table.0 {
        md.push_str(&format!("| {what} | {ours} | {peer} |\n"));
    }
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("checks.md"), &md).unwrap();
    println!("\n{md}");
}

async fn sql(db: &DatabaseConnection, sql: String) {
    db.execute(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
}

/// Set-up, not measured: every address of the /16 back to being checked, with the
/// network's counts to match.
async fn release_all(db: &DatabaseConnection, network_id: i64) {
    sql(
        db,
        format!(
            "UPDATE addresses SET status = 'being_checked', problem = NULL, \
             problem_since = NULL, failed_checks = 0, last_check_error = NULL \
             WHERE network_id = {network_id}"
        ),
    )
    .await;
    sql(
        db,
        format!("UPDATE network_counts SET n = 0 WHERE network_id = {network_id}"),
    )
    .await;
    sql(
        db,
        format!(
            "UPDATE network_counts SET n = (SELECT COUNT(*) FROM addresses \
             WHERE network_id = {network_id}) \
             WHERE network_id = {network_id} AND status = 'being_checked'"
        ),
    )
    .await;
}

/// Every address got the status the test network calls for.
async fn assert_exact(db: &DatabaseConnection, network_id: i64) {
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT ip, status FROM addresses WHERE network_id = {network_id}"),
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), hosts().count());
    for row in rows {
        let bytes: Vec<u8> = row.try_get("", "ip").unwrap();
        let status: String = row.try_get("", "status").unwrap();
        let n = match ip::from_bytes(&bytes) {
            Some(IpAddr::V4(v4)) => u32::from(v4) - BASE,
            other => panic!("not in the /16: {other:?}"),
        };
        assert_eq!(status, expected(n).as_str(), "{}", addr(n));
    }
}

/// fping over the /16, as its manual suggests for a sweep; returns its time after checking
/// that it found exactly the answering addresses.
fn fping_alive() -> Duration {
    let timeout = TIMEOUT.as_millis().to_string();
    let t = Instant::now();
    let out = Command::new("fping")
        .args(["-r0", "-t", &timeout, "-i", "0", "-q", "-a", "-g", NETWORK])
        .output()
        .expect("fping (Debian package fping; `make bench` installs it)");
    let elapsed = t.elapsed();
    let alive: BTreeSet<Ipv4Addr> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let want: BTreeSet<Ipv4Addr> = hosts().filter(|n| answers(*n)).map(addr).collect();
    assert_eq!(alive, want, "fping found other addresses");
    elapsed
}

/// pydnsbl on the same zones and addresses, through the resolver in this namespace's
/// resolv.conf (the benchmark's server); returns its time after checking its findings.
fn pydnsbl(all: &[u32]) -> Duration {
    let python = std::env::var("IPVET_BENCH_PYTHON")
        .expect("IPVET_BENCH_PYTHON: a Python with pydnsbl (`make bench` sets it)");
    let list = std::env::temp_dir().join("ipvet-bench-ips");
    let text: String = all.iter().map(|n| format!("{}\n", addr(*n))).collect();
    std::fs::write(&list, text).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pydnsbl_peer.py");
    let out = Command::new(python)
        .arg(script)
        .arg(ZONES.join(","))
        .arg(&list)
        .output()
        .unwrap();
    std::fs::remove_file(&list).ok();
    assert!(
        out.status.success(),
        "pydnsbl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let want: BTreeSet<String> = all
        .iter()
        .filter(|n| listed_by(**n).is_some())
        .map(|n| addr(*n).to_string())
        .collect();
    let listed: BTreeSet<String> = report["listed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(report["failed"], 0, "pydnsbl had failed queries");
    assert_eq!(listed, want, "pydnsbl found other listings");
    Duration::from_secs_f64(report["seconds"].as_f64().unwrap())
}

/// Times a checker script over `hosts` after checking what it found.
async fn scripts(program: &Path, hosts: &[u32]) -> Duration {
    let prober = Prober::script(ScriptChecker::new(program, Duration::from_secs(30)));
    let t = Instant::now();
    let in_use = availability(&prober, hosts, SCRIPT_CONCURRENCY).await;
    let elapsed = t.elapsed();
    assert_eq!(
        in_use,
        hosts.iter().copied().filter(|n| answers(*n)).collect(),
        "{}",
        program.display()
    );
    elapsed
}

/// The addresses `prober` finds in use; any inconclusive check fails the benchmark.
async fn availability(prober: &Prober, hosts: &[u32], at_once: usize) -> BTreeSet<u32> {
    stream::iter(hosts.iter().copied())
        .map(|n| async move { (n, prober.check(IpAddr::V4(addr(n)), None).await) })
        .buffer_unordered(at_once)
        .filter_map(|(n, a)| async move {
            match a {
                Availability::InUse(_) => Some(n),
                Availability::Free => None,
                Availability::Unknown(e) => panic!("{}: {e}", addr(n)),
            }
        })
        .collect()
        .await
}
