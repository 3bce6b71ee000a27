//! The check engine against real processes (checker scripts), a real DNS server on
//! loopback and real ICMP in network namespaces the tests make, on SQLite and PostgreSQL.
//! Nothing here sends traffic anywhere else: DNS goes to the test server, and pings only
//! to the test namespaces.

use std::net::Ipv4Addr;
use std::time::Duration;

use app::model::{Role, Trigger, ZoneHealth};
use app::server::check::probe::script::ScriptChecker;
use app::server::check::probe::{Availability, Prober, Probes};
use app::server::config::{Config, ConfigValue, ProbeMethods};
use app::server::entities::{check_run, dnsbl_zone};
use hickory_proto::rr::RecordType;
use sea_orm::EntityTrait;
use serde_json::{json, Value};

use crate::helpers::dns::{self, DnsServer, Reply, Zones};
use crate::helpers::netns::TestNet;
use crate::helpers::{fixture_program, poll, processes_running, script, TestApp};

/// Allocates the lowest free address of network `id`.
async fn allocate_lowest(app: &TestApp, client: &reqwest::Client, id: &str) -> (u16, Value) {
    let form = [
        ("network_id", id),
        ("owner", "o"),
        ("hostname", ""),
        ("note", ""),
    ];
    app.call_fn(client, "/api/addresses/allocate", &form).await
}

#[tokio::test]
async fn a_cycle_frees_flags_and_keeps_by_what_the_checks_find() {
    let bl = "bl.ipvet.test";
    let dns = DnsServer::start(
        Zones::default()
            .healthy(bl)
            .listed(
                bl,
                Ipv4Addr::new(198, 18, 0, 3),
                Ipv4Addr::new(127, 0, 0, 4),
                "spam source, see bl.ipvet.test",
            )
            .failing(bl, Ipv4Addr::new(198, 18, 0, 4), Reply::ServFail)
            .failing(bl, Ipv4Addr::new(198, 18, 0, 6), Reply::Silence)
            .set("2.0.0.127.broken.ipvet.test", RecordType::A, Reply::Refused),
    )
    .await;
    // .2 answers in the network; .5 hangs (and leaves a sleeper behind) past the timeout.
    let checker = script(
        "case \"$1\" in\n\
         198.18.0.2) echo \"reply from $1\" ;;\n\
         198.18.0.5) sleep 37.25 & sleep 37.25 ;;\n\
         *) echo OK ;;\n\
         esac",
    );
    let path = checker.path.clone();
    let dns_addr = dns.addr;
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.dns_resolver = Some(dns_addr);
        c.check_timeout = Duration::from_secs(2);
        // The addresses are set up by allocation; this test is about the cycle.
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("olga", Role::Operator).await;
    app.add_zone(bl).await;
    app.add_zone("broken.ipvet.test").await;
    let ips = [
        "198.18.0.1",
        "198.18.0.2",
        "198.18.0.3",
        "198.18.0.4",
        "198.18.0.5",
        "198.18.0.6",
    ];
    app.network_with_released(&admin, "198.18.0.0/24", &ips)
        .await;

    let run = app.run_cycle(&op).await;
    assert_eq!(run.error, None);
    assert_eq!(run.trigger, Trigger::Manual);
    assert_eq!(
        (
            run.total,
            run.done,
            run.freed,
            run.still_used,
            run.blocked,
            run.unknown,
            run.zones_unhealthy
        ),
        (6, 6, 1, 1, 1, 3, 1)
    );
    for free in ["198.18.0.1"] {
        let d = app.detail(&op, free).await;
        assert_eq!(d["address"]["status"], "free", "{d}");
        assert_eq!(d["history"][0]["actor"], "checker");
        assert_eq!(d["history"][0]["reason"], "passed both checks");
        // Freed by a check, the address used to keep its last holder (a search for the
        // old owner still found it): the row is cleared, the history keeps who had it,
        // as it keeps whom the allocation gave it to.
        assert_eq!(
            d["address"]["owner"].as_str().unwrap_or_default(),
            "",
            "{d}"
        );
        assert_eq!(d["history"][0]["holder"], "o", "{d}");
        assert_eq!(d["history"][1]["to"], "being_checked", "{d}");
        assert_eq!(d["history"][1]["holder"], Value::Null, "{d}");
        assert_eq!(d["history"][2]["to"], "allocated", "{d}");
        assert_eq!(d["history"][2]["holder"], "o", "{d}");
    }
    // An address a check did not free keeps its holder.
    assert_eq!(app.detail(&op, "198.18.0.2").await["address"]["owner"], "o");
    let used = app.detail(&op, "198.18.0.2").await;
    assert_eq!(used["address"]["status"], "used_in_network");
    assert_eq!(
        used["address"]["problem"],
        "checker script: reply from 198.18.0.2"
    );
    let since = used["address"]["problem_since"].clone();
    assert!(since.is_string());
    let blocked = app.detail(&op, "198.18.0.3").await;
    assert_eq!(blocked["address"]["status"], "blocked_by_dnsbl");
    assert_eq!(
        blocked["address"]["problem"],
        "listed by bl.ipvet.test (127.0.0.4): spam source, see bl.ipvet.test"
    );
    // Inconclusive checks keep the status and record why.
    let servfail = app.detail(&op, "198.18.0.4").await;
    assert_eq!(servfail["address"]["status"], "being_checked");
    let why = servfail["history"][0]["evidence"].as_str().unwrap();
    assert!(
        why.contains("bl.ipvet.test") && why.contains("Server Failure"),
        "{why}"
    );
    let hung = app.detail(&op, "198.18.0.5").await;
    assert_eq!(hung["address"]["status"], "being_checked");
    assert_eq!(
        hung["history"][0]["evidence"],
        "the checker script took longer than 2s and was killed"
    );
    assert_eq!(
        processes_running("sleep 37.25"),
        0,
        "the script's group was killed whole"
    );

    // The zones' self-tests are on record.
    let zones = dnsbl_zone::Entity::find().all(&app.state.db).await.unwrap();
    let health: Vec<(String, ZoneHealth)> =
        zones.iter().map(|z| (z.zone.clone(), z.health)).collect();
    assert!(
        health.contains(&(bl.into(), ZoneHealth::Healthy)),
        "{health:?}"
    );
    assert!(
        health.contains(&("broken.ipvet.test".into(), ZoneHealth::Failing)),
        "{health:?}"
    );
    let broken = zones
        .iter()
        .find(|z| z.zone == "broken.ipvet.test")
        .unwrap();
    assert!(
        broken.last_error.as_deref().unwrap().contains("127.0.0.2"),
        "{broken:?}"
    );

    // Problem addresses are checked again; their first failure's time stays.
    let again = app.run_cycle(&op).await;
    assert_eq!(again.total, 5, "two problems and three inconclusive");
    let used = app.detail(&op, "198.18.0.2").await;
    assert_eq!(used["address"]["problem_since"], since);
    assert_eq!(
        used["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["actor"] == "checker")
            .count(),
        2
    );
    // A force-freed problem address is free without checks.
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/force_free",
            &[("address", "198.18.0.3"), ("reason", "delisted by hand")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["problem"], Value::Null);
}

#[tokio::test]
async fn a_verdict_for_an_address_changed_meanwhile_is_dropped() {
    let checker = script("sleep 2\necho \"reply from $1\"");
    let path = checker.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.check_timeout = Duration::from_secs(10);
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    app.network_with_released(&admin, "198.18.0.0/24", &["198.18.0.7"])
        .await;
    let (status, id) = app.call_fn(&admin, "/api/checks/run_now", &[]).await;
    assert_eq!(status, 200, "{id}");
    // While the check runs, a second cycle is refused and an admin frees the address.
    let (status, body) = app.call_fn(&admin, "/api/checks/run_now", &[]).await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"Conflict": "A check cycle is running already; wait for it to finish."})
        )
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/force_free",
            &[("address", "198.18.0.7"), ("reason", "needed now")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let run = app
        .wait_for_run_within(id.as_i64().unwrap(), Duration::from_secs(20))
        .await;
    assert_eq!((run.done, run.still_used), (1, 0), "{run:?}");
    let d = app.detail(&admin, "198.18.0.7").await;
    assert_eq!(
        d["address"]["status"], "free",
        "the late verdict was dropped"
    );
    assert_ne!(d["history"][0]["actor"], "checker");
}

#[tokio::test]
async fn allocation_checks_each_candidate_and_skips_the_failing_ones() {
    let checker = script(
        "case \"$1\" in 198.18.0.1|198.18.0.2) echo \"reply from $1\" ;; *) echo OK ;; esac",
    );
    let path = checker.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| c.ip_checker_script = Some(path)).await;
    let admin = app.signed_in("root", Role::Admin).await;
    let id = app.new_network(&admin, "198.18.0.0/24").await;
    let (status, got) = allocate_lowest(&app, &admin, &id).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["address"], "198.18.0.3");
    for ip in ["198.18.0.1", "198.18.0.2"] {
        let d = app.detail(&admin, ip).await;
        assert_eq!(d["address"]["status"], "used_in_network", "{d}");
        assert_eq!(
            d["address"]["problem"],
            format!("checker script: reply from {ip}")
        );
    }
    // A requested address that fails is refused with the evidence.
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/force_free",
            &[("address", "198.18.0.1"), ("reason", "try again")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let form = [
        ("network_id", id.as_str()),
        ("address", "198.18.0.1"),
        ("owner", "o"),
        ("hostname", ""),
        ("note", ""),
    ];
    let (status, body) = app.call_fn(&admin, "/api/addresses/allocate", &form).await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"CheckFailed": "198.18.0.1 did not pass the check before allocation: checker script: reply from 198.18.0.1"})
        )
    );
}

#[tokio::test]
async fn released_ipv6_addresses_are_freed_without_checks_when_ipv6_checking_is_off() {
    // A checker that would find everything in use: with IPv6 checking off it is never asked.
    let checker = script("echo \"reply from $1\"");
    let path = checker.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.disable_ipv6_checking = true;
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    app.network_with_released(&admin, "2001:2::/64", &["2001:2::5"])
        .await;
    let run = app.run_cycle(&admin).await;
    assert_eq!((run.done, run.freed), (1, 1));
    let d = app.detail(&admin, "2001:2::5").await;
    assert_eq!(d["address"]["status"], "free");
    assert!(
        d["history"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("IPv6 checking is disabled"),
        "{d}"
    );
}

#[tokio::test]
async fn ipvet_check_runs_one_cycle_and_exits_for_cron() {
    let app = TestApp::spawn_with(|c: &mut Config| c.disable_ip_allocation_checking = true).await;
    let admin = app.signed_in("root", Role::Admin).await;
    app.network_with_released(&admin, "198.18.0.0/24", &["198.18.0.8", "198.18.0.9"])
        .await;
    let free = fixture_program("always-free.sh");
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ipvet"))
        .arg("check")
        .current_dir(dir.path())
        .env("IPVET_DATABASE", app.state.config().database.as_str())
        .env("IPVET_IP_CHECKER_SCRIPT", &free.0)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "2 addresses checked: 2 freed, 0 used in network, 0 blocked by DNSBL, 0 inconclusive."
        ),
        "{stdout}"
    );
    let run = check_run::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((run.trigger, run.freed), (Trigger::Command, 2));
    assert_eq!(
        app.detail(&admin, "198.18.0.9").await["address"]["status"],
        "free"
    );

    // A configuration it cannot use fails the run.
    let bad = tokio::process::Command::new(env!("CARGO_BIN_EXE_ipvet"))
        .arg("check")
        .current_dir(dir.path())
        .env("IPVET_DATABASE", app.state.config().database.as_str())
        .env("IPVET_IP_CHECKER_SCRIPT", "relative/checker.sh")
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an absolute path"));
}

#[tokio::test]
async fn the_built_in_prober_finds_what_answers_in_a_test_network() {
    let net = TestNet::create();
    let app = TestApp::spawn_with(|c: &mut Config| c.disable_ip_allocation_checking = true).await;
    let admin = app.signed_in("root", Role::Admin).await;
    app.network_with_released(&admin, "198.18.0.0/24", &["198.18.0.2", "198.18.0.9"])
        .await;
    app.network_with_released(&admin, "2001:2::/64", &["2001:2::2", "2001:2::9"])
        .await;

    // The prober's sockets are opened inside the test network; the cycle runs here, on
    // the test's database. No zone is enabled, so DNS is never asked.
    let runtime = tokio::runtime::Handle::current();
    let prober = Prober::built_in(net.in_prober(move || {
        let _entered = runtime.enter();
        let config = Config {
            ping_count: 2,
            ping_timeout: Duration::from_millis(800),
            ..Config::default()
        };
        Probes::open(&ProbeMethods::parse_value("icmp").unwrap(), &config)
    }));
    assert_eq!(prober.problem(), None, "root opens raw ICMP sockets");
    let ended = app.run_cycle_with(prober).await;
    let counts = ended.counts;
    assert_eq!(
        (counts.done, counts.freed, counts.still_used, counts.unknown),
        (4, 2, 2, 0),
        "{ended:?}"
    );
    for used in ["198.18.0.2", "2001:2::2"] {
        let d = app.detail(&admin, used).await;
        assert_eq!(d["address"]["status"], "used_in_network", "{d}");
        let problem = d["address"]["problem"].as_str().unwrap();
        assert!(problem.starts_with("icmp echo reply in "), "{problem}");
    }
    for silent in ["198.18.0.9", "2001:2::9"] {
        let d = app.detail(&admin, silent).await;
        assert_eq!(d["address"]["status"], "free", "{d}");
        assert_eq!(d["history"][0]["reason"], "passed both checks");
    }
    drop(net);
}

#[tokio::test]
async fn checker_scripts_are_judged_by_their_output_whatever_they_do() {
    let addr: std::net::IpAddr = "198.18.0.1".parse().unwrap();
    async fn judge(body: &str) -> Availability {
        let s = script(body);
        ScriptChecker::new(&s.path.0, Duration::from_secs(5))
            .check("198.18.0.1".parse().unwrap())
            .await
    }
    // A megabyte on stdout is read to the end and capped; the first line decides.
    assert_eq!(
        judge("yes \"in use: $1\" | head -c 1000000").await,
        Availability::InUse("checker script: in use: 198.18.0.1".into())
    );
    // A megabyte on stderr does not block the script before it prints OK.
    assert_eq!(
        judge("head -c 1000000 /dev/zero >&2\necho OK").await,
        Availability::Free
    );
    // A script that exits before looking at its argument checked nothing.
    assert_eq!(
        judge("exit 3").await,
        Availability::Unknown(
            "the checker script failed (exit status: 3) and printed nothing".into()
        )
    );
    assert_eq!(
        judge("echo 'not OK'").await,
        Availability::InUse("checker script: not OK".into())
    );
    // It sees only the environment it is given, and nothing on stdin.
    assert_eq!(
        judge("if [ -z \"$HOME$USER\" ] && [ \"$LANG\" = C ] && ! read -r line; then echo OK; else echo \"leaked: $HOME $USER\"; fi").await,
        Availability::Free
    );
    let missing = ScriptChecker::new(
        std::path::Path::new("/nonexistent/checker"),
        Duration::from_secs(1),
    )
    .check(addr)
    .await;
    assert!(
        matches!(&missing, Availability::Unknown(e) if e.contains("cannot run the checker script")),
        "{missing:?}"
    );
}

#[tokio::test]
async fn a_cycle_runs_at_most_check_concurrency_scripts_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    // Each run marks itself running, notes how many are, and unmarks itself.
    let checker = script(&format!(
        "touch {d}/run.$1\nls {d} | grep -c '^run\\.' >> {d}/seen\nsleep 0.3\nrm {d}/run.$1\necho OK"
    ));
    let path = checker.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.check_concurrency = 3;
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    let ips: Vec<String> = (1..=12).map(|i| format!("198.18.0.{i}")).collect();
    let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
    app.network_with_released(&admin, "198.18.0.0/24", &ips)
        .await;
    let run = app.run_cycle(&admin).await;
    assert_eq!((run.done, run.freed), (12, 12), "{run:?}");
    let seen: Vec<u32> = std::fs::read_to_string(dir.path().join("seen"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(seen.len(), 12);
    let most = *seen.iter().max().unwrap();
    assert!(most <= 3, "{most} scripts ran at once: {seen:?}");
    assert!(most >= 2, "the checks ran one at a time: {seen:?}");
}

#[tokio::test]
async fn ipv6_addresses_are_judged_only_by_zones_that_pass_the_ipv6_self_test() {
    let (v6, v4only) = ("six.ipvet.test", "four.ipvet.test");
    let listed: std::net::Ipv6Addr = "2001:2::3".parse().unwrap();
    let dns = DnsServer::start(
        Zones::default()
            .healthy(v6)
            .healthy_v6(v6)
            .listed_v6(v6, listed, Ipv4Addr::new(127, 0, 0, 3), "listed for tests")
            .healthy(v4only)
            // Spamhaus' "error" answer: not a listing.
            .listed(
                v4only,
                Ipv4Addr::new(198, 18, 0, 10),
                Ipv4Addr::new(127, 255, 255, 254),
                "query refused",
            ),
    )
    .await;
    let dns_addr = dns.addr;
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.dns_resolver = Some(dns_addr);
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    app.add_zone(v6).await;
    app.add_zone(v4only).await;
    app.network_with_released(&admin, "2001:2::/64", &["2001:2::3", "2001:2::4"])
        .await;
    app.network_with_released(&admin, "198.18.0.0/24", &["198.18.0.10"])
        .await;
    let run = app.run_cycle(&admin).await;
    assert_eq!(
        (
            run.done,
            run.freed,
            run.blocked,
            run.unknown,
            run.zones_unhealthy
        ),
        (3, 1, 1, 1, 0),
        "{run:?}"
    );
    let blocked = app.detail(&admin, "2001:2::3").await;
    assert_eq!(blocked["address"]["status"], "blocked_by_dnsbl");
    assert_eq!(
        blocked["address"]["problem"],
        "listed by six.ipvet.test (127.0.0.3): listed for tests"
    );
    assert_eq!(
        app.detail(&admin, "2001:2::4").await["address"]["status"],
        "free"
    );
    let refused = app.detail(&admin, "198.18.0.10").await;
    assert_eq!(refused["address"]["status"], "being_checked");
    let why = refused["history"][0]["evidence"].as_str().unwrap();
    assert!(
        why.contains("127.255.255.254") && why.contains("error code"),
        "{why}"
    );

    // Only the zone that passed the IPv6 self-test was asked about IPv6 addresses.
    let zones = dnsbl_zone::Entity::find().all(&app.state.db).await.unwrap();
    let ipv6: Vec<(String, bool)> = zones.iter().map(|z| (z.zone.clone(), z.ipv6)).collect();
    assert!(
        ipv6.contains(&(v6.into(), true)) && ipv6.contains(&(v4only.into(), false)),
        "{ipv6:?}"
    );
    let asked = dns.asked.lock().unwrap().clone();
    let four_nibbles = dns::nibbles("2001:2::4".parse().unwrap(), v4only);
    assert!(!asked.contains(&format!("{four_nibbles}.")), "{asked:?}");
    let six_nibbles = dns::nibbles("2001:2::4".parse().unwrap(), v6);
    assert!(asked.contains(&format!("{six_nibbles}.")), "{asked:?}");
}

#[tokio::test]
async fn the_periodic_job_runs_cycles_by_itself() {
    let app = TestApp::spawn_with(|c: &mut Config| {
        c.check_period = Duration::from_secs(1);
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    app.network_with_released(&admin, "198.18.0.0/24", &["198.18.0.4"])
        .await;
    let freed = poll(
        Duration::from_secs(10),
        Duration::from_millis(100),
        async || {
            let d = app.detail(&admin, "198.18.0.4").await;
            (d["address"]["status"] == "free").then_some(d)
        },
    )
    .await
    .expect("no scheduled cycle freed the address within 10 s");
    assert_eq!(freed["history"][0]["actor"], "checker");
    let runs = check_run::Entity::find().all(&app.state.db).await.unwrap();
    assert!(!runs.is_empty());
    assert!(
        runs.iter().all(|r| r.trigger == Trigger::Schedule),
        "{runs:?}"
    );
}

#[tokio::test]
async fn with_allocation_checking_off_the_lowest_free_address_is_handed_out_unchecked() {
    let asked = tempfile::tempdir().unwrap();
    // A checker that finds everything in use, and notes that it was asked.
    let checker = script(&format!(
        "touch {}/asked\necho \"reply from $1\"",
        asked.path().display()
    ));
    let path = checker.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    let id = app.new_network(&admin, "198.18.0.0/24").await;
    let (status, got) = allocate_lowest(&app, &admin, &id).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["address"], "198.18.0.1");
    assert!(
        !asked.path().join("asked").exists(),
        "the checker was not run"
    );
}

/// An app whose checker script finds every address free and whose DNSBL queries go to
/// `dns`; the script lives as long as the second value.
async fn app_asking(dns: &DnsServer) -> (TestApp, crate::helpers::Script) {
    let ok = script("echo OK");
    let (path, dns_addr) = (ok.path.clone(), dns.addr);
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.dns_resolver = Some(dns_addr);
        c.disable_ip_allocation_checking = true;
    })
    .await;
    (app, ok)
}

/// The cycle's history reason for an address, newest first.
async fn last_reason(app: &TestApp, client: &reqwest::Client, ip: &str) -> String {
    let d = app.detail(client, ip).await;
    assert_eq!(d["address"]["status"], "free", "{d}");
    d["history"][0]["reason"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn ipv4_only_zones_leave_ipv6_to_the_availability_check() {
    let bl = "v4only.ipvet.test";
    // Healthy for IPv4; nothing answers the IPv6 self-test (the zone lists no IPv6).
    let dns = DnsServer::start(Zones::default().healthy(bl)).await;
    let (app, _ok) = app_asking(&dns).await;
    let admin = app.signed_in("root", Role::Admin).await;
    app.add_zone(bl).await;
    app.network_with_released(&admin, "198.18.0.0/24", &["198.18.0.7"])
        .await;
    app.network_with_released(&admin, "2001:2::/64", &["2001:2::7"])
        .await;
    let run = app.run_cycle(&admin).await;
    assert_eq!((run.done, run.freed, run.unknown), (2, 2, 0), "{run:?}");
    assert_eq!(
        last_reason(&app, &admin, "198.18.0.7").await,
        "passed both checks"
    );
    assert_eq!(
        last_reason(&app, &admin, "2001:2::7").await,
        app::server::check::dnsbl::NO_IPV6_ZONE
    );
    // The zone was asked about the IPv4 address, and about no IPv6 one beyond its test.
    let asked = dns.asked.lock().unwrap().clone();
    assert!(
        asked.iter().any(|n| n.starts_with("7.0.18.198.")),
        "{asked:?}"
    );
    let about_it = dns::nibbles("2001:2::7".parse().unwrap(), bl);
    let ipv6_names: Vec<&String> = asked.iter().filter(|n| n.starts_with(&about_it)).collect();
    assert!(ipv6_names.is_empty(), "{ipv6_names:?}");
    // The dashboard and the DNSBL page say so.
    let (status, summary) = app.call_fn(&admin, "/api/dashboard/summary", &[]).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["checks"]["ipv6_uncovered"], true, "{summary}");
}

#[tokio::test]
async fn private_networks_never_ask_the_blacklists() {
    let bl = "bl.ipvet.test";
    let dns = DnsServer::start(Zones::default().healthy(bl)).await;
    // A script decides availability: no packet goes to the private network.
    let (app, _ok) = app_asking(&dns).await;
    let admin = app.signed_in("root", Role::Admin).await;
    app.add_zone(bl).await;
    let private = app
        .network_with_released(&admin, "10.20.0.0/24", &["10.20.0.5"])
        .await;
    app.network_with_released(&admin, "198.18.5.0/24", &["198.18.5.5"])
        .await;
    let (status, net) = app
        .call_fn(&admin, "/api/networks/get", &[("network_id", &private)])
        .await;
    assert_eq!(status, 200, "{net}");
    assert_eq!(
        net["dnsbl"], false,
        "a new private network starts with DNSBL off"
    );
    let run = app.run_cycle(&admin).await;
    assert_eq!((run.done, run.freed), (2, 2), "{run:?}");
    assert_eq!(
        last_reason(&app, &admin, "10.20.0.5").await,
        app::server::check::DNSBL_OFF
    );
    let asked = dns.asked.lock().unwrap().clone();
    assert!(
        asked.iter().any(|n| n.starts_with("5.5.18.198.")),
        "{asked:?}"
    );
    assert!(
        !asked.iter().any(|n| n.contains("0.20.10")),
        "the private address was asked about: {asked:?}"
    );
}

#[tokio::test]
async fn an_allocation_checks_its_candidates_at_once_and_takes_the_lowest_that_passes() {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("checks.log");
    // The six lowest addresses answer in the network; each check takes half a second.
    let checker = script(&format!(
        "echo \"start $1\" >> {log}\n\
         sleep 0.5\n\
         echo \"end $1\" >> {log}\n\
         case \"$1\" in 198.18.0.[1-6]) echo \"reply from $1\" ;; *) echo OK ;; esac",
        log = log.display()
    ));
    let path = checker.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| c.ip_checker_script = Some(path)).await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "198.18.0.0/24").await;
    let (status, body) = allocate_lowest(&app, &admin, &net).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["address"], "198.18.0.7", "{body}");
    // All eight candidates were checked at once: every check started before any ended.
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let first_end = lines.iter().position(|l| l.starts_with("end ")).unwrap();
    assert_eq!(first_end, 8, "{lines:#?}");
    for n in 1..=8 {
        assert!(
            lines[..8].contains(&format!("start 198.18.0.{n}")),
            "{lines:#?}"
        );
    }
    // The failing six carry their evidence; the eighth passed and stays free.
    let d = app.detail(&admin, "198.18.0.3").await;
    assert_eq!(d["address"]["status"], "used_in_network", "{d}");
    let (status, page) = app
        .call_fn(
            &admin,
            "/api/addresses/page",
            &[("network_id", &net), ("status", "free")],
        )
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["rows"][0]["address"], "198.18.0.8", "{page}");
}

#[tokio::test]
async fn an_allocation_whose_checks_take_too_long_allocates_nothing() {
    let checker = script("sleep 31.5 & sleep 31.5; echo OK");
    let path = checker.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.check_timeout = Duration::from_secs(60);
        c.allocation_timeout = Duration::from_secs(1);
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    let net = app.new_network(&admin, "198.18.0.0/29").await;
    let (status, body) = allocate_lowest(&app, &admin, &net).await;
    assert_eq!(status, 503, "{body}");
    let message = body["CheckTimedOut"].as_str().unwrap_or_default();
    assert!(message.contains("AllocationTimeout"), "{body}");
    // The scripts and what they started went with the allocation.
    app.assert_cut_off_cleanly(&admin, &net, "6", "sleep 31.5", Duration::from_secs(5))
        .await;
}
