//! Check-engine benchmark (`make bench`; needs root). It builds its own test network of
//! three namespaces: the prober's, a routed side and an on-link side.
//!
//! - The routed side (a veth pair; the prober routes 198.18.0.0/16 to it): 1 % of the /16
//!   answers ping, another 1 % drops ICMP echo (nftables) and answers TCP only (RST from
//!   the kernel on closed ports), the rest is silent.
//! - The on-link side (a second veth pair; the prober has 198.19.0.1/20 on it): 1 % of the
//!   /20 answers ARP and drops every IPv4 and IPv6 packet (nftables).
//!
//! The prober's namespace has no other route, so nothing measured here can reach any other
//! network. Inside it run a DNS server on 127.0.0.1:53 with three DNSBL zones that each
//! list a different 1 % of the /16, and everything measured, in the same run:
//!
//! - full ipvet cycles over the /16 and the /20 with **default settings**: every probe
//!   method, three zones, writes included;
//! - host discovery: ipvet's prober (defaults) beside `nmap -sn -n -PE -PS<the same
//!   ports>` on the same addresses;
//! - ICMP alone: ipvet's prober with one echo beside `fping -r0 -t<the same timeout> -g`;
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

use app::model::{AddressStatus, ProbeMethod, Role, Trigger};
use app::server::check::cycle;
use app::server::check::probe::script::ScriptChecker;
use app::server::check::probe::{Availability, Prober};
use app::server::check::Engine;
use app::server::config::{Config, ProbeMethods};
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
const ROUTED_NS: &str = "ipvet-bench-h";
const LINK_NS: &str = "ipvet-bench-l";
const ROUTED: &str = "198.18.0.0/16";
const ROUTED_BASE: u32 = 0xC612_0000; // 198.18.0.0
const LINK: &str = "198.19.0.0/20";
const LINK_BASE: u32 = 0xC613_0000; // 198.19.0.0
/// The prober's own address on the /20: allocated, as a server's own address is.
const LINK_OWN: u32 = 1;
const ZONES: [&str; 3] = ["one.bench.test", "two.bench.test", "three.bench.test"];
const CYCLES: usize = 3;
const SCRIPT_CONCURRENCY: usize = 64;

/// An address of the test network: `n` within the /16 or the /20.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Host {
    Routed(u32),
    Link(u32),
}

impl Host {
    fn addr(self) -> Ipv4Addr {
        match self {
            Host::Routed(n) => Ipv4Addr::from(ROUTED_BASE + n),
            Host::Link(n) => Ipv4Addr::from(LINK_BASE + n),
        }
    }

    fn of(addr: Ipv4Addr) -> Option<Host> {
        let a = u32::from(addr);
        match a.checked_sub(ROUTED_BASE) {
            Some(n) if n < 1 << 16 => Some(Host::Routed(n)),
            _ => match a.checked_sub(LINK_BASE) {
                Some(n) if n < 1 << 12 => Some(Host::Link(n)),
                _ => None,
            },
        }
    }

    /// What answers there, if anything.
    fn answer(self) -> Option<Answer> {
        match self {
            Host::Routed(n) if n % 100 == 50 => Some(Answer::Ping),
            Host::Routed(n) if n % 100 == 60 => Some(Answer::TcpOnly),
            Host::Link(n) if n % 100 == 70 => Some(Answer::ArpOnly),
            _ => None,
        }
    }

    /// Each zone lists a different 1 % of the /16, none of it answering anything.
    fn listed_by(self) -> Option<usize> {
        match self {
            Host::Routed(n) => match n % 100 {
                10 => Some(0),
                20 => Some(1),
                30 => Some(2),
                _ => None,
            },
            Host::Link(_) => None,
        }
    }

    fn expected(self) -> AddressStatus {
        if self == Host::Link(LINK_OWN) {
            AddressStatus::Allocated
        } else if self.answer().is_some() {
            AddressStatus::UsedInNetwork
        } else if self.listed_by().is_some() {
            AddressStatus::BlockedByDnsbl
        } else {
            AddressStatus::Free
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ping,
    TcpOnly,
    ArpOnly,
}

/// The /16's allocatable addresses (not its own address, not its broadcast).
fn routed() -> impl Iterator<Item = Host> {
    (1..65535).map(Host::Routed)
}

/// The /20's, less the prober's own.
fn link() -> impl Iterator<Item = Host> {
    (1..4095).filter(|n| *n != LINK_OWN).map(Host::Link)
}

fn hosts() -> impl Iterator<Item = Host> {
    routed().chain(link())
}

fn answering(hosts: &[Host]) -> BTreeSet<Host> {
    hosts
        .iter()
        .copied()
        .filter(|h| h.answer().is_some())
        .collect()
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

/// Loads an nftables ruleset into namespace `ns`.
fn nft(ns: &str, ruleset: &str) {
    let file = std::env::temp_dir().join(format!("ipvet-bench-{ns}.nft"));
    std::fs::write(&file, ruleset).unwrap();
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f"])
        .arg(&file)
        .output()
        .expect("nft(8), from nftables");
    std::fs::remove_file(&file).ok();
    assert!(
        out.status.success(),
        "nft in {ns}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Adds each of `hosts` to `dev` in `ns`, in one batch.
fn add_addresses(ns: &str, dev: &str, hosts: impl Iterator<Item = Host>) {
    let batch: String = hosts
        .map(|h| format!("addr add {}/32 dev {dev}\n", h.addr()))
        .collect();
    let file = std::env::temp_dir().join(format!("ipvet-bench-{ns}-addrs"));
    std::fs::write(&file, batch).unwrap();
    netns::ip(&["-n", ns, "-batch", file.to_str().unwrap()]);
    std::fs::remove_file(&file).ok();
}

/// The three namespaces; removed on drop, panics included.
struct TestNetwork;

impl TestNetwork {
    fn create() -> TestNetwork {
        // A run that was killed may have left them behind.
        drop(TestNetwork);
        let net = TestNetwork;
        for ns in [PROBER_NS, ROUTED_NS, LINK_NS] {
            netns::ip(&["netns", "add", ns]);
            netns::ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        for (dev, far) in [("vbench", ROUTED_NS), ("vlink", LINK_NS)] {
            netns::ip(&[
                "link", "add", dev, "netns", PROBER_NS, "type", "veth", "peer", "name", dev,
                "netns", far,
            ]);
        }
        for (ns, dev, own) in [
            (PROBER_NS, "vbench", "198.19.255.1/30"),
            (ROUTED_NS, "vbench", "198.19.255.2/30"),
            (PROBER_NS, "vlink", "198.19.0.1/20"),
        ] {
            netns::ip(&["-n", ns, "addr", "add", own, "dev", dev]);
        }
        for (ns, dev) in [
            (PROBER_NS, "vbench"),
            (ROUTED_NS, "vbench"),
            (PROBER_NS, "vlink"),
            (LINK_NS, "vlink"),
        ] {
            netns::ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        netns::ip(&[
            "-n",
            PROBER_NS,
            "route",
            "add",
            ROUTED,
            "via",
            "198.19.255.2",
        ]);
        // The answering hosts of the /16 are the routed side's own addresses; it forwards
        // nothing, so the rest of the /16 is silent. The TCP-only ones drop echo requests.
        add_addresses(ROUTED_NS, "lo", routed().filter(|h| h.answer().is_some()));
        let tcp_only: Vec<String> = routed()
            .filter(|h| h.answer() == Some(Answer::TcpOnly))
            .map(|h| h.addr().to_string())
            .collect();
        nft(
            ROUTED_NS,
            &format!(
                "table inet bench {{\n set tcp_only {{ type ipv4_addr; elements = {{ {} }}; }}\n \
                 chain input {{ type filter hook input priority 0;\n \
                 ip daddr @tcp_only icmp type echo-request drop;\n }}\n}}\n",
                tcp_only.join(", ")
            ),
        );
        // The on-link hosts hold their addresses on the link itself and drop every IP
        // packet, in and out; ARP is not IP and still gets its answer.
        add_addresses(LINK_NS, "vlink", link().filter(|h| h.answer().is_some()));
        nft(
            LINK_NS,
            "table inet bench {\n \
             chain input { type filter hook input priority 0; policy drop; }\n \
             chain output { type filter hook output priority 0; policy drop; }\n}\n",
        );
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
        for ns in [PROBER_NS, ROUTED_NS, LINK_NS] {
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
        println!("{what:70} {ours:>24} {peer:>24}");
        self.0.push((what.to_string(), ours, peer));
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn ratio(peer: Duration, ours: Duration) -> String {
    format!("{:.2}×", peer.as_secs_f64() / ours.as_secs_f64())
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
    for h in hosts() {
        if let Some(z) = h.listed_by() {
            zones = zones.listed(
                ZONES[z],
                h.addr(),
                Ipv4Addr::new(127, 0, 0, 2),
                "listed by the benchmark",
            );
        }
    }
    let _dns = dns::DnsServer::start_on("127.0.0.1:53", zones, false).await;

    // SQLite, whatever the environment says: PostgreSQL's server is outside this
    // namespace. Default settings but for what a test app changes: the built-in probes
    // instead of a script, and the DNS server above.
    let app = TestApp::spawn_on(TestDb::on(None).await, |c| {
        c.ip_checker_script = None;
        c.dns_resolver = Some("127.0.0.1:53".parse().unwrap());
    })
    .await;
    let state = app.state.clone();
    let config = state.config();
    assert_eq!(config.probe_methods(), Some(ProbeMethods::all()));
    // The two networks, made through the server as an admin would.
    let admin = app.signed_in("bench", Role::Admin).await;
    let mut networks = Vec::new();
    for cidr in [ROUTED, LINK] {
        networks.push(app.new_network(&admin, cidr).await.parse::<i64>().unwrap());
    }
    for zone in ZONES {
        app.add_zone(zone).await;
    }
    let all: Vec<Host> = hosts().collect();
    let mut table = Table(Vec::new());
    let ports = config
        .tcp_probe_ports
        .0
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");

    // 1. Full cycles, each over both networks released anew.
    let mut times = Vec::new();
    for _ in 0..CYCLES {
        for id in &networks {
            release_all(&state.db, *id).await;
        }
        let engine = Engine::new(&config);
        assert_eq!(engine.checker().prober.problem(), None);
        let started = cycle::start(&state, &engine, Trigger::Command)
            .await
            .unwrap();
        let t = Instant::now();
        let cpu = Cpu::now();
        let counts = cycle::run(&state, &engine, started, |_| {})
            .await
            .unwrap()
            .counts;
        times.push(t.elapsed());
        eprintln!("cycle: {:.2} s, {}", t.elapsed().as_secs_f64(), cpu.since());
        assert_eq!(counts.done as usize, all.len(), "{counts:?}");
        if counts.unknown > 0 {
            panic!(
                "inconclusive checks: {counts:?}: {:?}",
                inconclusive_samples(&state.db).await
            );
        }
        assert_exact(&state.db).await;
    }
    times.sort();
    table.row(
        &format!(
            "full cycle, {} addresses (a /16 routed, a /20 on-link), every method \
             (ICMP ×{}, TCP {ports}, ARP), 3 zones, writes; default settings (median of {CYCLES})",
            all.len(),
            config.ping_count
        ),
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

    // 1b. The same cycle with both networks at a site of their own, checked through one
    // `ipvet agent` over loopback HTTP (default settings, in this namespace), the server
    // adding the DNSBL half.
    let local_median = times[CYCLES / 2];
    let agent_time = cycle_through_agent(&app, &networks).await;
    table.row(
        &format!(
            "the same full cycle through one agent (`ipvet agent` over loopback HTTP, defaults), {} addresses",
            all.len()
        ),
        secs(agent_time),
        format!(
            "local cycle (median above): {}; ratio agent / local: {}",
            secs(local_median),
            ratio(agent_time, local_median)
        ),
    );

    if std::env::var("IPVET_BENCH_ONLY").as_deref() == Ok("cycle") {
        table.print_and_save();
        return;
    }

    // 2. Host discovery with the same probes, beside nmap.
    let prober = Prober::from_config(&config);
    let t = Instant::now();
    let found = availability(&prober, &all, config.probe_concurrency as usize).await;
    let ours = t.elapsed();
    assert_eq!(found, answering(&all), "ipvet's prober");
    let (nmap_time, nmap_found) = nmap(&ports, config.probe_rate);
    let missed: Vec<&Host> = nmap_found.difference(&found).collect();
    assert!(
        missed.is_empty(),
        "nmap found what ipvet did not: {missed:?}"
    );
    table.row(
        &format!(
            "host discovery, {} addresses, defaults: ICMP ×{} + TCP SYN {ports} + ARP on-link",
            all.len(),
            config.ping_count
        ),
        format!("{} (found {} of {})", secs(ours), found.len(), found.len()),
        format!(
            "nmap -sn -n -PE -PS{ports} --min-rate {}: {} (found {} of {})",
            config.probe_rate,
            secs(nmap_time),
            nmap_found.len(),
            found.len()
        ),
    );
    table.row(
        "  ratio nmap / ipvet prober",
        ratio(nmap_time, ours),
        String::new(),
    );

    // 3. ICMP alone with one echo over the /16, beside fping.
    let slash16: Vec<Host> = routed().collect();
    let one_echo = Config {
        probes: ProbeMethods::of([ProbeMethod::Icmp]),
        ping_count: 1,
        ..config.as_ref().clone()
    };
    let prober = Prober::from_config(&one_echo);
    let t = Instant::now();
    let in_use = availability(&prober, &slash16, config.probe_concurrency as usize).await;
    let icmp = t.elapsed();
    let pinged: BTreeSet<Host> = slash16
        .iter()
        .copied()
        .filter(|h| h.answer() == Some(Answer::Ping))
        .collect();
    assert_eq!(in_use, pinged, "ICMP alone");
    let fping = fping_alive(config.ping_timeout, &pinged);
    table.row(
        &format!(
            "ICMP alone, {} addresses, one echo, {}s timeout",
            slash16.len(),
            config.ping_timeout.as_secs()
        ),
        secs(icmp),
        format!(
            "fping -r0 -t{} -i0 -g: {}",
            config.ping_timeout.as_millis(),
            secs(fping)
        ),
    );
    table.row(
        "  ratio fping / ipvet prober",
        ratio(fping, icmp),
        String::new(),
    );

    // 4. The DNSBL half alone, beside pydnsbl on the same zones and addresses.
    let engine = Engine::new(&config);
    let zones = engine.refresh_zones(&state.db).await.unwrap();
    let t = Instant::now();
    // Each address on a task of its own, as a cycle checks them.
    let judged: Vec<(Host, Finding)> = stream::iter(slash16.iter().copied())
        .map(|h| {
            let (engine, zones) = (engine.clone(), zones.clone());
            async move {
                let judged = tokio::spawn(async move {
                    let checker = engine.checker();
                    zones
                        .judge(&checker.dnsbl, IpAddr::V4(h.addr()), &checker.counters)
                        .await
                });
                (h, judged.await.unwrap())
            }
        })
        .buffer_unordered(4096)
        .collect()
        .await;
    let dnsbl = t.elapsed();
    for (h, finding) in &judged {
        let listed = matches!(finding, Finding::Listed { .. });
        assert!(
            !matches!(finding, Finding::Inconclusive(_)),
            "{}: {finding:?}",
            h.addr()
        );
        assert_eq!(listed, h.listed_by().is_some(), "{}: {finding:?}", h.addr());
    }
    let theirs = pydnsbl(&slash16);
    let queries = slash16.len() * ZONES.len();
    table.row(
        &format!(
            "DNSBL only, {} addresses × 3 zones ({queries} queries)",
            slash16.len()
        ),
        format!(
            "{} ({:.0} q/s per zone)",
            secs(dnsbl),
            slash16.len() as f64 / dnsbl.as_secs_f64()
        ),
        format!(
            "pydnsbl: {} ({:.0} q/s per zone)",
            secs(theirs),
            slash16.len() as f64 / theirs.as_secs_f64()
        ),
    );
    table.row(
        "  ratio pydnsbl / ipvet DNSBL",
        ratio(theirs, dnsbl),
        String::new(),
    );

    // 5. Availability by script on a /24, beside the built-in prober with one echo.
    let slash24: Vec<Host> = (1..255).map(Host::Routed).collect();
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/ipchecker.sh");
    let one_ping = script(
        "# One echo, one second: as the built-in prober is configured here.\n\
         if ping -c1 -W1 -q \"$1\" >/dev/null 2>&1; then echo \"answers ping\"; else echo OK; fi",
    );
    let seeds_time = scripts(&seeds, &slash24).await;
    let one_time = scripts(&one_ping.path.0, &slash24).await;
    let prober = Prober::from_config(&one_echo);
    let t = Instant::now();
    let in_use = availability(&prober, &slash24, config.probe_concurrency as usize).await;
    let prober_time = t.elapsed();
    assert_eq!(in_use, pinged_in(&slash24));
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
        "  the same with the built-in prober (Probes icmp, PingCount 1)",
        secs(prober_time),
        format!(
            "{:.1}× faster",
            seeds_time.as_secs_f64() / prober_time.as_secs_f64()
        ),
    );

    table.row(
        "peak resident memory of the whole benchmark process (server, DNS server, harness)",
        format!("{} MiB", peak_rss_kib() / 1024),
        String::new(),
    );

    table.print_and_save();
}

impl Table {
    /// Prints the table in Markdown and writes it to target/bench/checks.md.
    fn print_and_save(&self) {
        let mut md = String::from("| What | ipvet | Peer |\n|---|---:|---:|\n");
        for (what, ours, peer) in &self.0 {
            md.push_str(&format!("| {what} | {ours} | {peer} |\n"));
        }
        let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("checks.md"), &md).unwrap();
        println!("\n{md}");
    }
}

/// CPU time this process and the whole machine spent, to tell a cycle that waits from one
/// that has no core left.
struct Cpu {
    process: Duration,
    machine: (u64, u64),
}

impl Cpu {
    fn now() -> Cpu {
        // SAFETY: getrusage fills the struct it is given.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
        };
        // /proc/stat's first line: busy and idle jiffies of every core together.
        let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let fields: Vec<u64> = stat
            .lines()
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
        Cpu {
            process: tv(usage.ru_utime) + tv(usage.ru_stime),
            machine: (fields.iter().sum::<u64>() - idle, idle),
        }
    }

    /// What was spent since `self`.
    fn since(&self) -> String {
        let now = Cpu::now();
        let busy = now.machine.0 - self.machine.0;
        let idle = now.machine.1 - self.machine.1;
        format!(
            "process CPU {:.2} s, machine busy {:.0} %",
            (now.process - self.process).as_secs_f64(),
            100.0 * busy as f64 / (busy + idle).max(1) as f64
        )
    }
}

/// Moves `networks` to a site of their own, runs one `ipvet agent` for it in this
/// namespace, releases every address and times a cycle to its end; checks the result is
/// exact, then moves the networks back. Answers the cycle's time.
async fn cycle_through_agent(app: &TestApp, networks: &[i64]) -> Duration {
    use app::server::agents::registry;
    use app::server::auth::guard::Caller;
    use app::server::inventory::sites;

    let state = &app.state;
    let admin = Caller {
        user: app::server::admin::users::find_by_name(&state.db, "bench")
            .await
            .unwrap(),
        state: state.clone(),
        client_addr: "bench".into(),
    };
    let site = sites::create(&admin, "bench-agent", "").await.unwrap();
    for id in networks {
        sites::move_network(&admin, *id, Some(site.id))
            .await
            .unwrap();
        release_all(&state.db, *id).await;
    }
    let token = registry::create(&state.db, &site, "bench", "bench")
        .await
        .unwrap()
        .secret;
    let mut agent = tokio::process::Command::new(helpers::process::BIN)
        .args(["agent", "--server", &app.base])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("IPVET_AGENT_TOKEN", token)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("ipvet agent starts");
    let live = helpers::poll(
        Duration::from_secs(30),
        Duration::from_millis(50),
        async || {
            registry::site_is_live(&state.db, site.id)
                .await
                .unwrap()
                .then_some(())
        },
    )
    .await;
    assert!(live.is_some(), "the agent connects");
    let t = Instant::now();
    let cpu = Cpu::now();
    let run_id = cycle::start_in_background(state, Trigger::Command)
        .await
        .unwrap();
    let run = app
        .wait_for_run_within(run_id, Duration::from_secs(600))
        .await;
    let took = t.elapsed();
    eprintln!(
        "cycle through an agent: {:.2} s, {}",
        took.as_secs_f64(),
        cpu.since()
    );
    assert_eq!(run.error, None);
    assert_eq!(run.done as usize, hosts().count(), "{run:?}");
    if run.unknown > 0 {
        panic!(
            "inconclusive checks through the agent: {run:?}: {:?}",
            inconclusive_samples(&state.db).await
        );
    }
    assert_exact(&state.db).await;
    agent.kill().await.unwrap();
    for id in networks {
        sites::move_network(&admin, *id, None).await.unwrap();
    }
    took
}

/// Why a few checks were inconclusive, from the addresses they left.
async fn inconclusive_samples(db: &DatabaseConnection) -> Vec<String> {
    let errors = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT last_check_error AS e FROM addresses \
             WHERE last_check_error IS NOT NULL LIMIT 5"
                .to_string(),
        ))
        .await
        .unwrap();
    errors.iter().map(|r| r.try_get("", "e").unwrap()).collect()
}

/// The most memory this process has held, in KiB.
fn peak_rss_kib() -> i64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    usage.ru_maxrss
}

/// The hosts among `hosts` that answer ping (in the /24 of the script runs, only those:
/// it has no TCP-only host below .60).
fn pinged_in(hosts: &[Host]) -> BTreeSet<Host> {
    hosts
        .iter()
        .copied()
        .filter(|h| h.answer() == Some(Answer::Ping))
        .collect()
}

async fn sql(db: &DatabaseConnection, sql: String) {
    db.execute(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
}

/// Set-up, not measured: every address of network `network_id` back to being checked
/// (the prober's own allocated), with the network's counts to match.
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
    let own: String = ip::to_bytes(Host::Link(LINK_OWN).addr().into())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    sql(
        db,
        format!(
            "UPDATE addresses SET status = 'allocated' \
             WHERE network_id = {network_id} AND ip = X'{own}'"
        ),
    )
    .await;
    sql(
        db,
        format!(
            "UPDATE network_counts SET n = (SELECT COUNT(*) FROM addresses a \
             WHERE a.network_id = network_counts.network_id AND a.status = network_counts.status) \
             WHERE network_id = {network_id}"
        ),
    )
    .await;
}

/// Every address got the status the test network calls for.
async fn assert_exact(db: &DatabaseConnection) {
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT ip, status FROM addresses".to_string(),
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), hosts().count() + 1);
    for row in rows {
        let bytes: Vec<u8> = row.try_get("", "ip").unwrap();
        let status: String = row.try_get("", "status").unwrap();
        let host = match ip::from_bytes(&bytes) {
            Some(IpAddr::V4(v4)) => Host::of(v4),
            _ => None,
        }
        .unwrap_or_else(|| panic!("not in the test network: {bytes:?}"));
        assert_eq!(status, host.expected().as_str(), "{}", host.addr());
    }
}

/// Parses the hosts that nmap's grepable output (`-oG -`) reports up.
fn nmap_up(output: &str) -> BTreeSet<Host> {
    output
        .lines()
        .filter(|l| l.starts_with("Host: ") && l.contains("Status: Up"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .filter_map(Host::of)
        .filter(|h| *h != Host::Link(LINK_OWN))
        .collect()
}

/// nmap's host discovery with ipvet's probes on both networks: an echo request, a SYN to
/// each port, and ARP on the link (nmap uses ARP for on-link targets whatever else it is
/// asked). Its time and the hosts it found up.
fn nmap(ports: &str, rate: u32) -> (Duration, BTreeSet<Host>) {
    let t = Instant::now();
    let out = Command::new("nmap")
        .args(["-sn", "-n", "-PE"])
        .arg(format!("-PS{ports}"))
        .args(["--min-rate", &rate.to_string(), "-oG", "-", ROUTED, LINK])
        .output()
        .expect("nmap (Debian package nmap; `make bench` installs it)");
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "nmap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (elapsed, nmap_up(&String::from_utf8_lossy(&out.stdout)))
}

/// fping over the /16, as its manual suggests for a sweep; returns its time after checking
/// that it found exactly the hosts that answer ping.
fn fping_alive(timeout: Duration, want: &BTreeSet<Host>) -> Duration {
    let timeout = timeout.as_millis().to_string();
    let t = Instant::now();
    let out = Command::new("fping")
        .args(["-r0", "-t", &timeout, "-i", "0", "-q", "-a", "-g", ROUTED])
        .output()
        .expect("fping (Debian package fping; `make bench` installs it)");
    let elapsed = t.elapsed();
    let alive: BTreeSet<Host> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| Host::of(l.trim().parse().ok()?))
        .collect();
    assert_eq!(&alive, want, "fping found other addresses");
    elapsed
}

/// pydnsbl on the same zones and addresses, through the resolver in this namespace's
/// resolv.conf (the benchmark's server); returns its time after checking its findings.
fn pydnsbl(all: &[Host]) -> Duration {
    let python = std::env::var("IPVET_BENCH_PYTHON")
        .expect("IPVET_BENCH_PYTHON: a Python with pydnsbl (`make bench` sets it)");
    let list = std::env::temp_dir().join("ipvet-bench-ips");
    let text: String = all.iter().map(|h| format!("{}\n", h.addr())).collect();
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
        .filter(|h| h.listed_by().is_some())
        .map(|h| h.addr().to_string())
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
async fn scripts(program: &Path, hosts: &[Host]) -> Duration {
    let prober = Prober::script(ScriptChecker::new(program, Duration::from_secs(30)));
    let t = Instant::now();
    let in_use = availability(&prober, hosts, SCRIPT_CONCURRENCY).await;
    let elapsed = t.elapsed();
    assert_eq!(in_use, pinged_in(hosts), "{}", program.display());
    elapsed
}

/// The hosts `prober` finds in use; any inconclusive check fails the benchmark.
async fn availability(prober: &Prober, hosts: &[Host], at_once: usize) -> BTreeSet<Host> {
    stream::iter(hosts.iter().copied())
        .map(|h| async move { (h, prober.check(IpAddr::V4(h.addr()), None).await) })
        .buffer_unordered(at_once)
        .filter_map(|(h, a)| async move {
            match a {
                Availability::InUse(_) => Some(h),
                Availability::Free => None,
                Availability::Unknown(e) => panic!("{}: {e}", h.addr()),
            }
        })
        .collect()
        .await
}
