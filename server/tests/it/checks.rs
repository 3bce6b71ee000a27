//! The check engine against real processes (checker scripts) and a real DNS server on
//! loopback, on SQLite and PostgreSQL. Nothing here sends traffic anywhere else: the
//! availability checks are scripts, and DNS goes to the test server.

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use app::model::Role;
use app::server::config::{Config, ProgramPath};
use app::server::entities::{check_run, dnsbl_zone};
use hickory_proto::rr::RecordType;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{json, Value};

use crate::dns::{DnsServer, Reply, Zones};
use crate::helpers::{error_of, TestApp};

/// A checker script written for one test.
struct Script {
    _dir: tempfile::TempDir,
    path: ProgramPath,
}

fn script(body: &str) -> Script {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checker.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    Script {
        _dir: dir,
        path: ProgramPath(path),
    }
}

async fn add_zone(app: &TestApp, zone: &str) {
    dnsbl_zone::ActiveModel {
        zone: Set(zone.into()),
        enabled: Set(true),
        health: Set("never_tested".into()),
        created_at: Set(time::OffsetDateTime::now_utc()),
        ipv6: Set(false),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap();
}

async fn call(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    error_of(app.call(client, path, form).await).await
}

/// Starts a cycle through the server function and waits (bounded) for it to finish.
async fn run_cycle(app: &TestApp, client: &reqwest::Client) -> check_run::Model {
    let (status, id) = call(app, client, "/api/checks/run_now", &[]).await;
    assert_eq!(status, 200, "{id}");
    let id = id.as_i64().unwrap();
    for _ in 0..240 {
        let run = check_run::Entity::find_by_id(id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        if run.finished_at.is_some() {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("check cycle {id} did not finish in 60 s");
}

async fn detail(app: &TestApp, client: &reqwest::Client, ip: &str) -> Value {
    let (status, body) = call(app, client, "/api/addresses/detail", &[("address", ip)]).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn network_with_released(
    app: &TestApp,
    admin: &reqwest::Client,
    cidr: &str,
    ips: &[&str],
) -> String {
    let (status, net) = call(
        app,
        admin,
        "/api/networks/create",
        &[("cidr", cidr), ("name", "checked"), ("description", "")],
    )
    .await;
    assert_eq!(status, 200, "{net}");
    let id = net["id"].to_string();
    for ip in ips {
        let form = [
            ("network_id", id.as_str()),
            ("address", ip),
            ("owner", "o"),
            ("hostname", ""),
            ("note", ""),
        ];
        let (status, body) = call(app, admin, "/api/addresses/allocate", &form).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = call(app, admin, "/api/addresses/release", &[("address", ip)]).await;
        assert_eq!(status, 200, "{body}");
    }
    id
}

fn processes_running(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| {
            String::from_utf8_lossy(c)
                .replace('\0', " ")
                .contains(marker)
        })
        .count()
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
    add_zone(&app, bl).await;
    add_zone(&app, "broken.ipvet.test").await;
    let ips = [
        "198.18.0.1",
        "198.18.0.2",
        "198.18.0.3",
        "198.18.0.4",
        "198.18.0.5",
        "198.18.0.6",
    ];
    network_with_released(&app, &admin, "198.18.0.0/24", &ips).await;

    let run = run_cycle(&app, &op).await;
    assert_eq!(run.error, None);
    assert_eq!(run.trigger, "manual");
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
        let d = detail(&app, &op, free).await;
        assert_eq!(d["address"]["status"], "free", "{d}");
        assert_eq!(d["history"][0]["actor"], "checker");
        assert_eq!(d["history"][0]["reason"], "passed both checks");
    }
    let used = detail(&app, &op, "198.18.0.2").await;
    assert_eq!(used["address"]["status"], "used_in_network");
    assert_eq!(
        used["address"]["problem"],
        "checker script: reply from 198.18.0.2"
    );
    let since = used["address"]["problem_since"].clone();
    assert!(since.is_string());
    let blocked = detail(&app, &op, "198.18.0.3").await;
    assert_eq!(blocked["address"]["status"], "blocked_by_dnsbl");
    assert_eq!(
        blocked["address"]["problem"],
        "listed by bl.ipvet.test (127.0.0.4): spam source, see bl.ipvet.test"
    );
    // Inconclusive checks keep the status and record why.
    let servfail = detail(&app, &op, "198.18.0.4").await;
    assert_eq!(servfail["address"]["status"], "being_checked");
    let why = servfail["history"][0]["evidence"].as_str().unwrap();
    assert!(
        why.contains("bl.ipvet.test") && why.contains("Server Failure"),
        "{why}"
    );
    let hung = detail(&app, &op, "198.18.0.5").await;
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
    let health: Vec<(String, String)> = zones
        .iter()
        .map(|z| (z.zone.clone(), z.health.clone()))
        .collect();
    assert!(
        health.contains(&(bl.into(), "healthy".into())),
        "{health:?}"
    );
    assert!(
        health.contains(&("broken.ipvet.test".into(), "failing".into())),
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
    let again = run_cycle(&app, &op).await;
    assert_eq!(again.total, 5, "two problems and three inconclusive");
    let used = detail(&app, &op, "198.18.0.2").await;
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
    let (status, body) = call(
        &app,
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
    network_with_released(&app, &admin, "198.18.0.0/24", &["198.18.0.7"]).await;
    let (status, id) = call(&app, &admin, "/api/checks/run_now", &[]).await;
    assert_eq!(status, 200, "{id}");
    // While the check runs, a second cycle is refused and an admin frees the address.
    let (status, body) = call(&app, &admin, "/api/checks/run_now", &[]).await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"Conflict": "A check cycle is running already; wait for it to finish."})
        )
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, body) = call(
        &app,
        &admin,
        "/api/addresses/force_free",
        &[("address", "198.18.0.7"), ("reason", "needed now")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let id = id.as_i64().unwrap();
    let mut run = None;
    for _ in 0..80 {
        let r = check_run::Entity::find_by_id(id)
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        if r.finished_at.is_some() {
            run = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let run = run.expect("the cycle finished");
    assert_eq!((run.done, run.still_used), (1, 0), "{run:?}");
    let d = detail(&app, &admin, "198.18.0.7").await;
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
    let (_, net) = call(
        &app,
        &admin,
        "/api/networks/create",
        &[
            ("cidr", "198.18.0.0/24"),
            ("name", "n"),
            ("description", ""),
        ],
    )
    .await;
    let id = net["id"].to_string();
    let form = [
        ("network_id", id.as_str()),
        ("owner", "o"),
        ("hostname", ""),
        ("note", ""),
    ];
    let (status, got) = call(&app, &admin, "/api/addresses/allocate", &form).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["address"], "198.18.0.3");
    for ip in ["198.18.0.1", "198.18.0.2"] {
        let d = detail(&app, &admin, ip).await;
        assert_eq!(d["address"]["status"], "used_in_network", "{d}");
        assert_eq!(
            d["address"]["problem"],
            format!("checker script: reply from {ip}")
        );
    }
    // A requested address that fails is refused with the evidence.
    let (status, body) = call(
        &app,
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
    let (status, body) = call(&app, &admin, "/api/addresses/allocate", &form).await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"Conflict": "198.18.0.1 did not pass the check before allocation: checker script: reply from 198.18.0.1"})
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
    network_with_released(&app, &admin, "2001:2::/64", &["2001:2::5"]).await;
    let run = run_cycle(&app, &admin).await;
    assert_eq!((run.done, run.freed), (1, 1));
    let d = detail(&app, &admin, "2001:2::5").await;
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
    network_with_released(&app, &admin, "198.18.0.0/24", &["198.18.0.8", "198.18.0.9"]).await;
    let free = crate::helpers::fixture_program("always-free.sh");
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ipvet"))
        .arg("check")
        .current_dir(dir.path())
        .env("IPVET_DATABASE", app.state.config.database.as_str())
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
    assert_eq!((run.trigger.as_str(), run.freed), ("command", 2));
    assert_eq!(
        detail(&app, &admin, "198.18.0.9").await["address"]["status"],
        "free"
    );

    // A configuration it cannot use fails the run.
    let bad = tokio::process::Command::new(env!("CARGO_BIN_EXE_ipvet"))
        .arg("check")
        .current_dir(dir.path())
        .env("IPVET_DATABASE", app.state.config.database.as_str())
        .env("IPVET_IP_CHECKER_SCRIPT", "relative/checker.sh")
        .output()
        .await
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an absolute path"));
}
