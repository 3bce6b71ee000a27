//! The admin pages' functions: Problem IPs, the DNSBL blacklists module, check runs with
//! cancel, the config page and the audit log, against a real DNS server on loopback and
//! real checker scripts, on SQLite and PostgreSQL.

use std::net::Ipv4Addr;
use std::time::Duration;

use app::model::Role;
use app::server::config::{Config, Source};
use app::server::entities::check_run;
use sea_orm::EntityTrait;
use serde_json::Value;

use crate::helpers::dns::{DnsServer, Zones};
use crate::helpers::{poll, row_addresses as rows, script, Script, TestApp};

const BL: &str = "bl.ipvet.test";

/// A DNS server with `BL` healthy and listing 198.18.0.3 and .4.
async fn blacklist() -> DnsServer {
    DnsServer::start(
        Zones::default()
            .healthy(BL)
            .listed(
                BL,
                Ipv4Addr::new(198, 18, 0, 3),
                Ipv4Addr::new(127, 0, 0, 4),
                "spam source",
            )
            .listed(
                BL,
                Ipv4Addr::new(198, 18, 0, 4),
                Ipv4Addr::new(127, 0, 0, 2),
                "open proxy",
            ),
    )
    .await
}

/// .2 answers in the network; every other address is silent.
fn checker() -> Script {
    script("case \"$1\" in 198.18.0.2) echo \"reply from $1\" ;; *) echo OK ;; esac")
}

async fn spawn(dns: &DnsServer, checker: &Script) -> TestApp {
    let (path, dns_addr) = (checker.path.clone(), dns.addr);
    TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.dns_resolver = Some(dns_addr);
        c.check_timeout = Duration::from_secs(2);
        c.disable_ip_allocation_checking = true;
    })
    .await
}

#[tokio::test]
async fn problem_ips_list_filter_recheck_and_release() {
    let dns = blacklist().await;
    let checker = checker();
    let app = spawn(&dns, &checker).await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("olga", Role::Operator).await;
    let viewer = app.signed_in("vic", Role::Viewer).await;
    let (status, zone) = app.call_fn(&admin, "/api/dnsbl/add", &[("zone", BL)]).await;
    assert_eq!(status, 200, "{zone}");
    let ips = ["198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4"];
    let net = app
        .network_with_released(&admin, "198.18.0.0/24", &ips)
        .await;

    // Empty before any cycle: the page says no cycle ran.
    let (status, empty) = app.call_fn(&viewer, "/api/problems/page", &[]).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(
        (empty["matching"].as_u64(), empty["last_run"].clone()),
        (Some(0), Value::Null)
    );

    app.run_cycle(&op).await;
    let (_, all) = app.call_fn(&viewer, "/api/problems/page", &[]).await;
    assert_eq!(
        rows(&all),
        ["198.18.0.2", "198.18.0.3", "198.18.0.4"],
        "{all}"
    );
    assert_eq!(all["matching"], 3);
    let used = &all["rows"][0];
    assert_eq!(used["status"], "used_in_network");
    assert_eq!(used["problem"], "checker script: reply from 198.18.0.2");
    assert_eq!(used["network_cidr"], "198.18.0.0/24");
    assert_eq!(used["failed_checks"], 1);
    assert!(used["problem_since"].as_str().unwrap().ends_with("UTC"));
    let blocked = &all["rows"][1];
    assert_eq!(blocked["zone"], BL);
    assert_eq!(
        blocked["problem"],
        "listed by bl.ipvet.test (127.0.0.4): spam source"
    );

    // Filters: status, zone, network, search.
    let (_, by_status) = app
        .call_fn(
            &viewer,
            "/api/problems/page",
            &[("status", "blocked_by_dnsbl")],
        )
        .await;
    assert_eq!(rows(&by_status), ["198.18.0.3", "198.18.0.4"]);
    let (_, by_zone) = app
        .call_fn(&viewer, "/api/problems/page", &[("zone", BL)])
        .await;
    assert_eq!(rows(&by_zone), ["198.18.0.3", "198.18.0.4"]);
    let (_, other_zone) = app
        .call_fn(&viewer, "/api/problems/page", &[("zone", "other.test")])
        .await;
    assert_eq!(other_zone["matching"], 0);
    let (_, by_net) = app
        .call_fn(&viewer, "/api/problems/page", &[("network_id", &net)])
        .await;
    assert_eq!(by_net["matching"], 3);
    let (_, searched) = app
        .call_fn(&viewer, "/api/problems/page", &[("q", "198.18.0.4")])
        .await;
    assert_eq!(rows(&searched), ["198.18.0.4"]);
    let (status, bad) = app
        .call_fn(&viewer, "/api/problems/page", &[("status", "allocated")])
        .await;
    assert_eq!(status, 400, "{bad}");

    // A second cycle keeps the time of occurrence and counts the failures.
    app.run_cycle(&op).await;
    let (_, again) = app.call_fn(&viewer, "/api/problems/page", &[]).await;
    assert_eq!(again["rows"][0]["failed_checks"], 2);
    assert_eq!(again["rows"][0]["problem_since"], used["problem_since"]);
    assert_eq!(again["last_run"]["id"], 2);

    // Re-check now: whatever answered on .2 has gone.
    std::fs::write(&checker.path.0, "#!/bin/sh\necho OK\n").unwrap();
    let (status, refused) = app
        .call_fn(
            &viewer,
            "/api/problems/recheck",
            &[("addresses[]", "198.18.0.2")],
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    let (status, outcome) = app
        .call_fn(
            &op,
            "/api/problems/recheck",
            &[("addresses[]", "198.18.0.2"), ("addresses[]", "198.18.0.3")],
        )
        .await;
    assert_eq!(status, 200, "{outcome}");
    assert_eq!(outcome[0]["address"], "198.18.0.2");
    assert_eq!(
        (outcome[0]["from"].as_str(), outcome[0]["to"].as_str()),
        (Some("used_in_network"), Some("free"))
    );
    assert_eq!(outcome[1]["to"], "blocked_by_dnsbl");
    assert_eq!(
        outcome[1]["detail"],
        "listed by bl.ipvet.test (127.0.0.4): spam source"
    );
    let d = app.detail(&op, "198.18.0.2").await;
    assert_eq!(d["address"]["status"], "free");
    assert_eq!(d["address"]["problem"], Value::Null);
    // Only addresses being checked or with a problem are re-checked; nothing is checked
    // when one is not.
    let (status, refused) = app
        .call_fn(
            &op,
            "/api/problems/recheck",
            &[("addresses[]", "198.18.0.3"), ("addresses[]", "198.18.0.1")],
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused.to_string().contains("198.18.0.1 is free"),
        "{refused}"
    );

    // Release (force-free without checks): admin only, with a reason, audited.
    let (status, _) = app
        .call_fn(
            &op,
            "/api/addresses/force_free",
            &[("address", "198.18.0.4"), ("reason", "delisted")],
        )
        .await;
    assert_eq!(status, 403);
    let (status, freed) = app
        .call_fn(
            &admin,
            "/api/addresses/force_free",
            &[("address", "198.18.0.4"), ("reason", "delisted by hand")],
        )
        .await;
    assert_eq!(status, 200, "{freed}");
    let d = app.detail(&admin, "198.18.0.4").await;
    assert_eq!(d["address"]["status"], "free");
    let (_, left) = app.call_fn(&viewer, "/api/problems/page", &[]).await;
    assert_eq!(rows(&left), ["198.18.0.3"]);
    let (_, audit) = app
        .call_fn(&admin, "/api/audit/list", &[("action", "address.recheck")])
        .await;
    assert_eq!(audit["entries"][0]["actor"], "olga", "{audit}");
    assert_eq!(audit["entries"][0]["target"], "198.18.0.2 198.18.0.3");
}

#[tokio::test]
async fn problem_ips_page_by_key() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let (status, net) = app
        .call_fn(
            &admin,
            "/api/networks/create",
            &[
                ("cidr", "198.18.4.0/24"),
                ("name", "n"),
                ("description", ""),
            ],
        )
        .await;
    assert_eq!(status, 200, "{net}");
    let csv: String = (1..=150)
        .map(|i| format!("198.18.4.{i},used_in_network,,,\n"))
        .collect();
    let id = net["id"].to_string();
    app.import_csv(&admin, &id, &csv).await;
    let (_, first) = app.call_fn(&admin, "/api/problems/page", &[]).await;
    assert_eq!(first["rows"].as_array().unwrap().len(), 100);
    assert_eq!(first["matching"], 150);
    assert_eq!(first["next_after"], "198.18.4.100");
    assert_eq!(first["prev_before"], Value::Null);
    assert_eq!(first["first_position"], 1);
    let (_, second) = app
        .call_fn(&admin, "/api/problems/page", &[("after", "198.18.4.100")])
        .await;
    assert_eq!(
        rows(&second).first().map(String::as_str),
        Some("198.18.4.101")
    );
    assert_eq!(rows(&second).len(), 50);
    assert_eq!(second["next_after"], Value::Null);
    assert_eq!(second["first_position"], 101);
    // The last page is the last full page, as in the address lists.
    let (_, last) = app
        .call_fn(&admin, "/api/problems/page", &[("last", "true")])
        .await;
    assert_eq!(rows(&last).len(), 100);
    assert_eq!(rows(&last).last().map(String::as_str), Some("198.18.4.150"));
    assert_eq!(
        (last["prev_before"].as_str(), last["next_after"].as_str()),
        (Some("198.18.4.51"), None)
    );
    // The last 100 of 150 start at the 51st.
    assert_eq!(last["first_position"], 51);
    let (_, back) = app
        .call_fn(&admin, "/api/problems/page", &[("before", "198.18.4.101")])
        .await;
    assert_eq!(rows(&back), rows(&first));
}

async fn zone_row(app: &TestApp, client: &reqwest::Client, zone: &str) -> Value {
    let (status, list) = app.call_fn(client, "/api/dnsbl/list", &[]).await;
    assert_eq!(status, 200, "{list}");
    list.as_array()
        .unwrap()
        .iter()
        .find(|z| z["zone"] == zone)
        .cloned()
        .unwrap_or_else(|| panic!("{zone} not in {list}"))
}

#[tokio::test]
async fn dnsbl_zones_are_managed_tested_and_asked() {
    let dns = blacklist().await;
    let checker = checker();
    let app = spawn(&dns, &checker).await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("olga", Role::Operator).await;

    // Validated names; duplicates refused.
    for (bad, status) in [
        ("", 400),
        ("localhost", 400),
        ("bl..test", 400),
        ("198.18.0.1", 400),
    ] {
        let (got, body) = app
            .call_fn(&admin, "/api/dnsbl/add", &[("zone", bad)])
            .await;
        assert_eq!(got, status, "{bad}: {body}");
    }
    let (status, _) = app.call_fn(&op, "/api/dnsbl/add", &[("zone", BL)]).await;
    assert_eq!(status, 403);
    // Added enabled, it is self-tested at once: healthy.
    let (status, added) = app
        .call_fn(&admin, "/api/dnsbl/add", &[("zone", "BL.ipvet.test.")])
        .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(
        (
            added["zone"].as_str(),
            added["health"].as_str(),
            added["enabled"].as_bool()
        ),
        (Some(BL), Some("healthy"), Some(true))
    );
    let (status, dup) = app.call_fn(&admin, "/api/dnsbl/add", &[("zone", BL)]).await;
    assert_eq!(status, 409, "{dup}");
    // A zone this server does not serve fails its self-test, with the reason.
    let (_, broken) = app
        .call_fn(&admin, "/api/dnsbl/add", &[("zone", "missing.ipvet.test")])
        .await;
    assert_eq!(broken["health"], "failing", "{broken}");
    assert!(
        broken["last_error"]
            .as_str()
            .unwrap()
            .contains("127.0.0.2 is not listed"),
        "{broken}"
    );
    // A suggested zone is added disabled, and so never asked.
    let (_, off) = app
        .call_fn(
            &admin,
            "/api/dnsbl/add",
            &[("zone", "zen.spamhaus.org"), ("disabled", "true")],
        )
        .await;
    assert_eq!(
        (off["enabled"].as_bool(), off["health"].as_str()),
        (Some(false), Some("never_tested"))
    );
    assert!(!dns
        .asked
        .lock()
        .unwrap()
        .iter()
        .any(|n| n.contains("spamhaus")));

    // The dashboard warns about the failing zone.
    let (_, dash) = app.call_fn(&op, "/api/dashboard/summary", &[]).await;
    assert_eq!(
        dash["checks"]["unhealthy_zones"][0][0], "missing.ipvet.test",
        "{dash}"
    );

    // Asking about an address: listed with answer and TXT, not listed, or an error.
    let (status, answers) = app
        .call_fn(&op, "/api/dnsbl/ask", &[("address", "198.18.0.3")])
        .await;
    assert_eq!(status, 200, "{answers}");
    let by_zone = |z: &str| {
        answers
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["zone"] == z)
            .cloned()
            .unwrap()
    };
    let listed = by_zone(BL);
    assert_eq!(
        (
            listed["outcome"].as_str(),
            listed["answer"].as_str(),
            listed["detail"].as_str()
        ),
        (Some("listed"), Some("127.0.0.4"), Some("spam source"))
    );
    assert_eq!(listed["query"], "3.0.18.198.bl.ipvet.test.");
    assert_eq!(by_zone("missing.ipvet.test")["outcome"], "not_listed");
    let (_, clean) = app
        .call_fn(
            &op,
            "/api/dnsbl/ask",
            &[("address", "198.18.0.9"), ("zone", BL)],
        )
        .await;
    assert_eq!(clean[0]["outcome"], "not_listed", "{clean}");
    // Only configured zones are asked: the server resolves no name an operator chose.
    let (status, refused) = app
        .call_fn(
            &op,
            "/api/dnsbl/ask",
            &[
                ("address", "198.18.0.9"),
                ("zone", "anything.elsewhere.test"),
            ],
        )
        .await;
    assert_eq!(status, 404, "{refused}");
    assert!(refused.to_string().contains("not configured"), "{refused}");
    assert!(!dns
        .asked
        .lock()
        .unwrap()
        .iter()
        .any(|n| n.contains("elsewhere")));
    let (status, bad) = app
        .call_fn(&op, "/api/dnsbl/ask", &[("address", "198.18.0.300")])
        .await;
    assert_eq!(status, 400, "{bad}");

    // The count of addresses a zone blocks.
    app.network_with_released(
        &admin,
        "198.18.0.0/24",
        &["198.18.0.3", "198.18.0.4", "198.18.0.5"],
    )
    .await;
    app.run_cycle(&op).await;
    assert_eq!(zone_row(&app, &op, BL).await["blocking"], 2);

    // Disable, rename, delete: each audited.
    let id = added["id"].to_string();
    let (status, disabled) = app
        .call_fn(
            &admin,
            "/api/dnsbl/set_enabled",
            &[("zone_id", &id), ("enabled", "false")],
        )
        .await;
    assert_eq!(status, 200, "{disabled}");
    assert_eq!(disabled["enabled"], false);
    let broken_id = broken["id"].to_string();
    let (status, renamed) = app
        .call_fn(
            &admin,
            "/api/dnsbl/rename",
            &[("zone_id", &broken_id), ("zone", BL)],
        )
        .await;
    assert_eq!(status, 409, "{renamed}");
    let (status, renamed) = app
        .call_fn(
            &admin,
            "/api/dnsbl/rename",
            &[("zone_id", &broken_id), ("zone", "other.ipvet.test")],
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["zone"], "other.ipvet.test");
    let (status, _) = app
        .call_fn(&admin, "/api/dnsbl/delete", &[("zone_id", &broken_id)])
        .await;
    assert_eq!(status, 200);
    let (status, gone) = app
        .call_fn(&admin, "/api/dnsbl/delete", &[("zone_id", &broken_id)])
        .await;
    assert_eq!(status, 404, "{gone}");
    let (_, audit) = app
        .call_fn(&admin, "/api/audit/list", &[("actor", "root")])
        .await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "dnsbl.add",
        "dnsbl.set_enabled",
        "dnsbl.rename",
        "dnsbl.delete",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

#[tokio::test]
async fn check_runs_list_their_verdicts_and_a_running_one_can_be_cancelled() {
    // Each check takes a while, one at a time: the cycle is still running when cancelled.
    let slow = script("sleep 0.3; echo OK");
    let path = slow.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.check_concurrency = 1;
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("olga", Role::Operator).await;
    let ips: Vec<String> = (1..=40).map(|i| format!("198.18.0.{i}")).collect();
    let ips: Vec<&str> = ips.iter().map(String::as_str).collect();
    app.network_with_released(&admin, "198.18.0.0/24", &ips)
        .await;

    let (status, id) = app.call_fn(&op, "/api/checks/run_now", &[]).await;
    assert_eq!(status, 200, "{id}");
    let id = id.to_string();
    // Live counts while it runs (bounded wait for the first verdicts).
    let running = poll(
        Duration::from_secs(10),
        Duration::from_millis(100),
        async || {
            let (_, run) = app
                .call_fn(&op, "/api/checks/get", &[("run_id", &id)])
                .await;
            (run["counts"]["done"].as_i64().unwrap_or(0) > 0).then_some(run)
        },
    )
    .await
    .expect("the cycle reports progress while it runs");
    assert_eq!(running["finished_at"], Value::Null, "{running}");
    assert_eq!(running["counts"]["total"], 40);
    let (status, _) = app
        .call_fn(&op, "/api/checks/cancel", &[("run_id", &id)])
        .await;
    assert_eq!(status, 403);
    let (status, body) = app
        .call_fn(&admin, "/api/checks/cancel", &[("run_id", &id)])
        .await;
    assert_eq!(status, 200, "{body}");
    // A cancelled cycle ends within seconds.
    let run = app
        .wait_for_run_within(id.parse().unwrap(), Duration::from_secs(10))
        .await;
    assert_eq!(run.error, None);
    assert_eq!(run.cancelled_by.as_deref(), Some("root"));
    assert!(run.done > 0 && run.done < 40, "{run:?}");
    assert_eq!(run.freed, run.done);
    let (status, again) = app
        .call_fn(&admin, "/api/checks/cancel", &[("run_id", &id)])
        .await;
    assert_eq!(status, 409, "{again}");

    // The list and the cycle's verdicts, each naming its address.
    let (_, list) = app.call_fn(&op, "/api/checks/list", &[]).await;
    assert_eq!(list["runs"][0]["id"].to_string(), id);
    assert_eq!(list["runs"][0]["cancelled_by"], "root");
    assert!(list["next_run_at"].as_str().unwrap().ends_with("UTC"));
    let (_, detail) = app
        .call_fn(&op, "/api/checks/detail", &[("run_id", &id)])
        .await;
    let verdicts = detail["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len() as i64, run.done, "{detail}");
    assert_eq!(verdicts[0]["address"], "198.18.0.1");
    assert_eq!(
        (verdicts[0]["from"].as_str(), verdicts[0]["to"].as_str()),
        (Some("being_checked"), Some("free"))
    );
    // The rest are still being checked, and the next cycle takes them.
    let rest = app.run_cycle(&op).await;
    assert_eq!(rest.done, 40 - run.done);
    let (status, missing) = app
        .call_fn(&op, "/api/checks/detail", &[("run_id", "9999")])
        .await;
    assert_eq!(status, 404, "{missing}");
}

fn setting<'a>(list: &'a Value, key: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == key)
        .unwrap()
}

#[tokio::test]
async fn settings_show_their_source_and_saved_ones_take_effect_at_once() {
    let app = TestApp::spawn_with(|c: &mut Config| {
        c.disable_ip_allocation_checking = true;
        // As if the config file set it.
        c.sources.insert(
            "CheckTimeout",
            Source::File {
                path: "/etc/ipvet.conf".into(),
                line: 7,
            },
        );
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    let op = app.signed_in("olga", Role::Operator).await;
    let (status, _) = app.call_fn(&op, "/api/settings/list", &[]).await;
    assert_eq!(status, 403);
    let (status, list) = app.call_fn(&admin, "/api/settings/list", &[]).await;
    assert_eq!(status, 200, "{list}");
    let period = setting(&list, "CheckPeriod");
    assert_eq!(
        (
            period["value"].as_str(),
            period["source"].as_str(),
            period["editable"].as_bool()
        ),
        (Some("1h"), Some("default"), Some(true))
    );
    let timeout = setting(&list, "CheckTimeout");
    assert_eq!(timeout["editable"], false);
    assert_eq!(timeout["source"], "/etc/ipvet.conf:7");
    assert!(timeout["read_only_because"]
        .as_str()
        .unwrap()
        .contains("/etc/ipvet.conf:7"));
    let script = setting(&list, "IpCheckerScript");
    assert_eq!(script["editable"], false);
    assert!(script["read_only_because"]
        .as_str()
        .unwrap()
        .contains("a web form must never choose"));

    // Refused: a program to run, a file-set value, a bad value.
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/settings/save",
            &[("key", "IpCheckerScript"), ("value", "/bin/true")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/settings/save",
            &[("key", "CheckTimeout"), ("value", "5s")],
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/settings/save",
            &[("key", "CheckPeriod"), ("value", "soon")],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("not a duration"), "{body}");
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/settings/save",
            &[("key", "CheckConcurrency"), ("value", "0")],
        )
        .await;
    assert_eq!(status, 400, "{body}");

    // A released address waits for the hourly cycle; a period of one second, saved here,
    // takes effect without a restart and the job frees it.
    app.network_with_released(&admin, "198.18.0.0/24", &["198.18.0.7"])
        .await;
    let (status, saved) = app
        .call_fn(
            &admin,
            "/api/settings/save",
            &[("key", "CheckPeriod"), ("value", "1s")],
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let period = setting(&saved, "CheckPeriod");
    assert_eq!(period["value"], "1s");
    assert!(
        period["source"]
            .as_str()
            .unwrap()
            .starts_with("saved here by root at "),
        "{period}"
    );
    assert_eq!(app.state.config().check_period, Duration::from_secs(1));
    let freed = poll(
        Duration::from_secs(15),
        Duration::from_millis(250),
        async || {
            (app.detail(&admin, "198.18.0.7").await["address"]["status"] == "free").then_some(())
        },
    )
    .await;
    assert!(freed.is_some(), "the job ran on the new period");
    let (status, flag) = app
        .call_fn(
            &admin,
            "/api/settings/save",
            &[("key", "DisableIPv6Checking"), ("value", "on")],
        )
        .await;
    assert_eq!(status, 200, "{flag}");
    assert!(app.state.config().disable_ipv6_checking);

    // Audited, and back to the default.
    let (_, audit) = app
        .call_fn(&admin, "/api/audit/list", &[("action", "setting.save")])
        .await;
    let entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["target"] == "CheckPeriod")
        .unwrap();
    assert_eq!(
        (entry["before"].as_str(), entry["after"].as_str()),
        (Some("1h"), Some("1s"))
    );
    let (status, reset) = app
        .call_fn(&admin, "/api/settings/reset", &[("key", "CheckPeriod")])
        .await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(setting(&reset, "CheckPeriod")["source"], "default");
    assert_eq!(app.state.config().check_period, Duration::from_secs(3600));
    let (status, body) = app
        .call_fn(&admin, "/api/settings/reset", &[("key", "CheckPeriod")])
        .await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn the_audit_log_filters_by_actor_action_and_day() {
    let app = TestApp::spawn().await;
    let admin = app.signed_in("root", Role::Admin).await;
    let other = app.signed_in("ada", Role::Admin).await;
    for (client, cidr) in [(&admin, "198.18.0.0/24"), (&other, "198.18.1.0/24")] {
        let (status, _) = app
            .call_fn(
                client,
                "/api/networks/create",
                &[("cidr", cidr), ("name", "n"), ("description", "")],
            )
            .await;
        assert_eq!(status, 200);
    }
    let (status, _) = app
        .call_fn(
            &app.signed_in("olga", Role::Operator).await,
            "/api/audit/list",
            &[],
        )
        .await;
    assert_eq!(status, 403);
    let (_, by_actor) = app
        .call_fn(&admin, "/api/audit/list", &[("actor", "ada")])
        .await;
    let entries = by_actor["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(entries.iter().all(|e| e["actor"] == "ada"), "{by_actor}");
    assert_eq!(entries[0]["target"], "198.18.1.0/24");
    assert_eq!(entries[0]["client_addr"], "127.0.0.1");
    let (_, by_action) = app
        .call_fn(&admin, "/api/audit/list", &[("action", "network.create")])
        .await;
    assert_eq!(by_action["entries"].as_array().unwrap().len(), 2);
    assert!(by_action["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "network.create"));
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let (_, today_only) = app
        .call_fn(
            &admin,
            "/api/audit/list",
            &[
                ("action", "network.create"),
                ("from", &today),
                ("to", &today),
            ],
        )
        .await;
    assert_eq!(today_only["entries"].as_array().unwrap().len(), 2);
    let (_, long_ago) = app
        .call_fn(&admin, "/api/audit/list", &[("to", "2000-01-01")])
        .await;
    assert_eq!(long_ago["entries"].as_array().unwrap().len(), 0);
    let (status, bad) = app
        .call_fn(&admin, "/api/audit/list", &[("from", "yesterday")])
        .await;
    assert_eq!(status, 400, "{bad}");
}

#[tokio::test]
async fn the_dashboard_charts_problem_ips_by_day_and_names_the_next_cycle() {
    let dns = blacklist().await;
    let checker = checker();
    let app = spawn(&dns, &checker).await;
    let admin = app.signed_in("root", Role::Admin).await;
    let (status, _) = app.call_fn(&admin, "/api/dnsbl/add", &[("zone", BL)]).await;
    assert_eq!(status, 200);
    app.network_with_released(
        &admin,
        "198.18.0.0/24",
        &["198.18.0.1", "198.18.0.2", "198.18.0.3"],
    )
    .await;
    let (_, before) = app.call_fn(&admin, "/api/dashboard/summary", &[]).await;
    let days = before["problem_days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert!(days.iter().all(|d| d["counts"].is_null()), "{before}");
    app.run_cycle(&admin).await;
    let (_, after) = app.call_fn(&admin, "/api/dashboard/summary", &[]).await;
    let today = &after["problem_days"][29];
    assert_eq!(
        today["day"],
        time::OffsetDateTime::now_utc().date().to_string()
    );
    assert_eq!(today["counts"], serde_json::json!([1, 1]), "{after}");
    assert!(after["checks"]["next_run_at"]
        .as_str()
        .unwrap()
        .ends_with("UTC"));
}

#[tokio::test]
async fn a_cycle_whose_server_stopped_shows_as_interrupted_and_is_closed_by_the_next() {
    use app::model::Trigger;
    use sea_orm::{ActiveModelTrait, Set};
    let app = TestApp::spawn().await;
    let op = app.signed_in("olga", Role::Operator).await;
    // As a server that died mid-cycle left it: unfinished, its heartbeat long silent.
    let long_ago = time::OffsetDateTime::now_utc() - time::Duration::minutes(10);
    let dead = check_run::ActiveModel {
        trigger: Set(Trigger::Schedule),
        started_at: Set(long_ago),
        heartbeat_at: Set(Some(long_ago + time::Duration::seconds(30))),
        total: Set(500),
        done: Set(120),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    let id = dead.id.to_string();
    let (status, shown) = app
        .call_fn(&op, "/api/checks/get", &[("run_id", &id)])
        .await;
    assert_eq!(status, 200, "{shown}");
    assert!(shown["finished_at"].is_string(), "{shown}");
    assert!(
        shown["error"].as_str().unwrap().starts_with("interrupted"),
        "{shown}"
    );
    assert_eq!(shown["seconds"], 30);

    // The next cycle closes it for good, at its last heartbeat, and runs.
    let next = app.run_cycle(&op).await;
    assert_eq!(next.error, None);
    let closed = check_run::Entity::find_by_id(dead.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(closed.finished_at, dead.heartbeat_at);
    assert!(closed.error.unwrap().starts_with("interrupted"));
    // A running cycle's own heartbeat keeps it running.
    assert!(next.heartbeat_at.is_some());
}

#[tokio::test]
async fn the_next_scheduled_cycle_before_the_first_is_the_real_one() {
    use app::server::entities::lease;
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    let app = TestApp::spawn_with(|c| c.check_period = Duration::from_secs(3600)).await;
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let scheduler = app::server::lease::SCHEDULER;
    let taken = poll(
        Duration::from_secs(30),
        Duration::from_millis(50),
        async || {
            lease::Entity::find_by_id(scheduler.to_string())
                .one(&app.state.db)
                .await
                .unwrap()
                .and_then(|l| l.taken_at)
        },
    )
    .await
    .expect("the scheduler takes its lease");
    assert!(taken <= time::OffsetDateTime::now_utc());
    // As if the server had started 20 minutes ago: the first cycle is 40 minutes away,
    // however often the page is drawn.
    let started = time::OffsetDateTime::now_utc() - time::Duration::minutes(20);
    lease::Entity::update_many()
        .col_expr(lease::Column::TakenAt, Expr::value(Some(started)))
        .filter(lease::Column::Name.eq(scheduler))
        .exec(&app.state.db)
        .await
        .unwrap();
    let due = app::server::time_fmt::show(started + time::Duration::hours(1));
    for _ in 0..2 {
        let (_, list) = app.call_fn(&viewer, "/api/checks/list", &[]).await;
        assert_eq!(list["next_run_at"], due.as_str(), "{list}");
        let (_, dashboard) = app.call_fn(&viewer, "/api/dashboard/summary", &[]).await;
        assert_eq!(
            dashboard["checks"]["next_run_at"],
            due.as_str(),
            "{dashboard}"
        );
    }
    let runs = check_run::Entity::find().all(&app.state.db).await.unwrap();
    assert!(runs.is_empty(), "no cycle is due yet: {runs:?}");
}

/// A cycle's verdicts read in address order, page by page with the address as the key,
/// whatever order the checks finished in (here the first address is the slowest).
#[tokio::test]
async fn a_cycles_verdicts_are_listed_in_address_order() {
    let slow_first = script("case \"$1\" in 198.18.0.1) sleep 1 ;; esac\necho OK");
    let path = slow_first.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = app.signed_in("root", Role::Admin).await;
    let ips: Vec<String> = (1..=120).rev().map(|i| format!("198.18.0.{i}")).collect();
    let refs: Vec<&str> = ips.iter().map(String::as_str).collect();
    app.network_with_released(&admin, "198.18.0.0/24", &refs)
        .await;
    let run = app.run_cycle(&admin).await;
    assert_eq!(run.done, 120);
    let id = run.id.to_string();
    let (status, first) = app
        .call_fn(&admin, "/api/checks/detail", &[("run_id", &id)])
        .await;
    assert_eq!(status, 200, "{first}");
    let listed = |page: &Value| -> Vec<String> {
        page["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["address"].as_str().unwrap().to_string())
            .collect()
    };
    let expected: Vec<String> = (1..=100).map(|i| format!("198.18.0.{i}")).collect();
    assert_eq!(listed(&first), expected);
    assert_eq!(first["more_after"], "198.18.0.100");
    let (status, second) = app
        .call_fn(
            &admin,
            "/api/checks/detail",
            &[("run_id", &id), ("after", "198.18.0.100")],
        )
        .await;
    assert_eq!(status, 200, "{second}");
    let expected: Vec<String> = (101..=120).map(|i| format!("198.18.0.{i}")).collect();
    assert_eq!(listed(&second), expected);
    assert_eq!(second["more_after"], Value::Null);
    let (status, bad) = app
        .call_fn(
            &admin,
            "/api/checks/detail",
            &[("run_id", &id), ("after", "not an address")],
        )
        .await;
    assert_eq!(status, 400, "{bad}");
}
