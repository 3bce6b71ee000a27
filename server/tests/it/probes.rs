//! The built-in probes against real packets: hosts in a network namespace the test makes,
//! each with nftables rules that make it hard to find, as firewalled hosts are. The
//! prober's namespace is joined to the host's by a veth pair (198.18.0.0/24 and
//! 2001:2::/64 on-link) and reaches 198.18.1.0/24 and 2001:2:1::/64 through the host's
//! namespace as a router. Nothing leaves the two namespaces.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use app::model::Role;
use app::server::check::probe::{Availability, Prober, Probes};
use app::server::config::{Config, ConfigValue, ProbeMethods};

use crate::helpers::netns::TestNet;
use crate::helpers::TestApp;

/// Routed hosts (through the host namespace) and their disguises.
const ROUTED_PING_BLOCKED: &str = "198.18.1.10"; // drops ICMP echo; closed ports answer RST
const ROUTED_ONLY_443: &str = "198.18.1.11"; // drops everything but TCP 443, where it listens
const ROUTED_PINGS: &str = "198.18.1.12"; // answers ping, every port filtered
const ROUTED_SILENT: [&str; 3] = ["198.18.1.20", "198.18.1.21", "198.18.1.22"];
const ROUTED6_PING_BLOCKED: &str = "2001:2:1::10";
const ROUTED6_SILENT: &str = "2001:2:1::20";
/// On-link hosts that drop every IP packet.
const ONLINK_DROP_ALL: &str = "198.18.0.30";
const ONLINK6_DROP_ALL: &str = "2001:2::30";
const ONLINK_SILENT: [&str; 2] = ["198.18.0.40", "198.18.0.41"];
const ONLINK6_SILENT: &str = "2001:2::40";

fn hosts() -> TestNet {
    let net = TestNet::create();
    // The far hosts are addresses of the host namespace's loopback; the rest of their
    // networks is a blackhole route, which drops silently (with forwarding on, as on a
    // router), so silent addresses stay silent.
    net.host_sh(&[
        "sysctl -qw net.ipv4.ip_forward=1",
        "sysctl -qw net.ipv6.conf.all.forwarding=1",
        "ip route add blackhole 198.18.1.0/24",
        "ip -6 route add blackhole 2001:2:1::/64",
    ]);
    for a in [ROUTED_PING_BLOCKED, ROUTED_ONLY_443, ROUTED_PINGS] {
        net.host_sh(&[&format!("ip addr add {a}/32 dev lo")]);
    }
    net.host_sh(&[&format!("ip -6 addr add {ROUTED6_PING_BLOCKED}/128 dev lo")]);
    net.host_sh(&[
        &format!("ip addr add {ONLINK_DROP_ALL}/24 dev vhost"),
        &format!("ip -6 addr add {ONLINK6_DROP_ALL}/64 dev vhost nodad"),
    ]);
    net.prober_sh(&[
        "ip route add 198.18.1.0/24 via 198.18.0.2",
        "ip -6 route add 2001:2:1::/64 via 2001:2::2",
    ]);
    net.host_nft(&format!(
        "table inet disguise {{
            chain input {{
                type filter hook input priority 0; policy accept;
                ip daddr {ROUTED_PING_BLOCKED} icmp type echo-request drop
                ip6 daddr {ROUTED6_PING_BLOCKED} icmpv6 type echo-request drop
                ip daddr {ROUTED_ONLY_443} tcp dport 443 accept
                ip daddr {ROUTED_ONLY_443} drop
                ip daddr {ROUTED_PINGS} icmp type echo-request accept
                ip daddr {ROUTED_PINGS} drop
                ip daddr {ONLINK_DROP_ALL} drop
                ip6 daddr {ONLINK6_DROP_ALL} drop
            }}
        }}"
    ));
    net
}

pub(crate) fn methods(words: &str) -> ProbeMethods {
    ProbeMethods::parse_value(words).unwrap()
}

/// Probes opened inside the prober's namespace.
fn probes_in(
    net: &TestNet,
    words: &str,
    tweak: impl FnOnce(&mut Config) + Send + 'static,
) -> Probes {
    let runtime = tokio::runtime::Handle::current();
    let methods = methods(words);
    net.in_prober(move || {
        let _entered = runtime.enter();
        let mut config = Config {
            ping_count: 2,
            ping_timeout: Duration::from_millis(600),
            probe_timeout: Duration::from_millis(600),
            ..Config::default()
        };
        tweak(&mut config);
        Probes::open(&methods, &config)
    })
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[tokio::test]
async fn hosts_that_drop_ping_are_found_by_tcp_and_arp_and_silence_is_free() {
    let net = hosts();
    let _listener = net.host_listen(ROUTED_ONLY_443, 443);
    let prober = Prober::built_in(probes_in(&net, "icmp tcp arp", |_| {}));
    assert_eq!(prober.problem(), None, "root opens every probe's sockets");
    let check = |a: &'static str| {
        let prober = &prober;
        async move { (a, prober.check(ip(a), None).await) }
    };
    let all = [
        ROUTED_PING_BLOCKED,
        ROUTED_ONLY_443,
        ROUTED_PINGS,
        ROUTED6_PING_BLOCKED,
        ONLINK_DROP_ALL,
        ONLINK6_DROP_ALL,
        ROUTED_SILENT[0],
        ROUTED_SILENT[1],
        ROUTED_SILENT[2],
        ROUTED6_SILENT,
        ONLINK_SILENT[0],
        ONLINK_SILENT[1],
        ONLINK6_SILENT,
    ];
    let found: Vec<(&str, Availability)> =
        futures::future::join_all(all.into_iter().map(check)).await;
    let of = |a: &str| found.iter().find(|(x, _)| *x == a).unwrap().1.clone();
    let evidence = |a: &str| match of(a) {
        Availability::InUse(e) => e,
        other => panic!("{a}: {other:?}"),
    };
    // Closed ports answer RST: a host is there, whichever port's answer came first.
    for a in [ROUTED_PING_BLOCKED, ROUTED6_PING_BLOCKED] {
        let e = evidence(a);
        assert!(e.starts_with("tcp ") && e.ends_with(": RST"), "{a}: {e}");
    }
    assert_eq!(evidence(ROUTED_ONLY_443), "tcp 443: SYN-ACK");
    assert!(
        evidence(ROUTED_PINGS).starts_with("icmp echo reply"),
        "{}",
        evidence(ROUTED_PINGS)
    );
    assert!(
        evidence(ONLINK_DROP_ALL).starts_with("arp reply from "),
        "{}",
        evidence(ONLINK_DROP_ALL)
    );
    assert!(
        evidence(ONLINK6_DROP_ALL).starts_with("ndp neighbour advertisement from "),
        "{}",
        evidence(ONLINK6_DROP_ALL)
    );
    for silent in ROUTED_SILENT
        .iter()
        .chain(&ONLINK_SILENT)
        .chain([&ROUTED6_SILENT, &ONLINK6_SILENT])
    {
        assert_eq!(of(silent), Availability::Free, "{silent}");
    }
    drop(net);
}

/// Drops CAP_NET_RAW from the calling thread's capabilities (threads hold their own), as
/// an unprivileged ipvet would run.
pub(crate) fn drop_net_raw() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const VERSION_3: u32 = 0x2008_0522;
    const CAP_NET_RAW: u32 = 13;
    let mut header = Header {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset with a version-3 header and room for two data words.
    unsafe {
        assert_eq!(
            libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()),
            0
        );
        data[0].effective &= !(1 << CAP_NET_RAW);
        data[0].permitted &= !(1 << CAP_NET_RAW);
        assert_eq!(
            libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()),
            0
        );
    }
}

#[tokio::test]
async fn a_probe_that_cannot_run_is_inconclusive_never_free() {
    let net = hosts();
    let runtime = tokio::runtime::Handle::current();
    let path = format!("/run/netns/{}", net.prober);
    // Opened in the prober's namespace by a thread without CAP_NET_RAW.
    let probes = std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let ns = std::fs::File::open(&path).unwrap();
        // SAFETY: setns on a valid namespace fd changes only this thread's namespace.
        assert_eq!(
            unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        drop_net_raw();
        let _entered = runtime.enter();
        let config = Config {
            ping_timeout: Duration::from_millis(300),
            probe_timeout: Duration::from_millis(300),
            ..Config::default()
        };
        Probes::open(&methods("icmp tcp arp"), &config)
    })
    .join()
    .unwrap();
    let prober = Prober::built_in(probes);
    let problem = prober.problem().expect("the probes say they cannot work");
    assert!(problem.contains("CAP_NET_RAW"), "{problem}");
    for a in [ROUTED_SILENT[0], ONLINK_SILENT[0], ROUTED6_SILENT] {
        match prober.check(ip(a), None).await {
            Availability::Unknown(why) => assert!(why.contains("CAP_NET_RAW"), "{a}: {why}"),
            other => panic!("{a}: {other:?}"),
        }
    }
    drop(net);
}

#[tokio::test]
async fn arp_alone_cannot_judge_a_routed_address() {
    let net = hosts();
    let prober = Prober::built_in(probes_in(&net, "arp", |_| {}));
    match prober.check(ip(ROUTED_SILENT[0]), None).await {
        Availability::Unknown(why) => {
            assert!(why.contains("not on a directly connected network"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        prober.check(ip(ONLINK_DROP_ALL), None).await,
        Availability::InUse(_)
    ));
    drop(net);
}

#[tokio::test]
async fn the_probe_rate_cap_holds() {
    const RATE: u32 = 400;
    let net = hosts();
    net.host_nft(
        "table inet count {
            counter syns {}
            chain input {
                type filter hook prerouting priority -10; policy accept;
                ip daddr 198.18.1.0/24 tcp flags syn counter name syns
            }
        }",
    );
    let prober = Prober::built_in(probes_in(&net, "tcp", |c| c.probe_rate = RATE));
    // 60 silent routed addresses, 5 ports each: 300 SYNs, which the cap spreads over
    // about three quarters of a second.
    let targets: Vec<IpAddr> = (100..160).map(|n| ip(&format!("198.18.1.{n}"))).collect();
    let started = Instant::now();
    let checks = futures::future::join_all(targets.iter().map(|a| prober.check(*a, None)));
    let watcher = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        (net.host_counter("count", "syns"), started.elapsed())
    };
    let (answers, (seen, at)) = tokio::join!(checks, watcher);
    assert!(
        answers.iter().all(|a| *a == Availability::Free),
        "{answers:?}"
    );
    // However slow this machine is, no more than the rate allows can have arrived by
    // then (plus the pacer's 2 ms of burst and one packet in flight).
    let allowed = (f64::from(RATE) * at.as_secs_f64()).ceil() as u64 + 2;
    assert!(
        seen <= allowed,
        "{seen} SYNs within {at:?}, at most {allowed} allowed"
    );
    // And every probe went out in the end.
    assert_eq!(net.host_counter("count", "syns"), 300);
    drop(net);
}

#[tokio::test]
async fn each_network_is_checked_with_its_own_methods() {
    let net = hosts();
    let app = TestApp::spawn_with(|c: &mut Config| c.disable_ip_allocation_checking = true).await;
    let admin = app.signed_in("root", Role::Admin).await;
    // The same kind of host, ping-blocking with closed ports, in two networks: one
    // checked with ICMP alone, as its admin chose, the other with every method.
    let ping_only = app
        .network_with_released(&admin, "198.18.1.0/24", &[ROUTED_PING_BLOCKED])
        .await;
    app.network_with_released(&admin, "2001:2:1::/64", &[ROUTED6_PING_BLOCKED])
        .await;
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/networks/set_policy",
            &[
                ("network_id", &ping_only),
                ("methods", "chosen"),
                ("icmp", "on"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["probes"].as_str(), body["dnsbl"].as_bool()),
        (Some("icmp"), Some(false))
    );
    let ended = app
        .run_cycle_with(Prober::built_in(probes_in(&net, "icmp tcp arp", |_| {})))
        .await;
    assert_eq!(
        (
            ended.counts.done,
            ended.counts.freed,
            ended.counts.still_used
        ),
        (2, 1, 1),
        "{ended:?}"
    );
    let d = app.detail(&admin, ROUTED_PING_BLOCKED).await;
    assert_eq!(d["address"]["status"], "free", "{d}");
    let d = app.detail(&admin, ROUTED6_PING_BLOCKED).await;
    assert_eq!(d["address"]["status"], "used_in_network", "{d}");
    let problem = d["address"]["problem"].as_str().unwrap();
    assert!(
        problem.starts_with("tcp ") && problem.ends_with(": RST"),
        "{problem}"
    );
    drop(net);
}
