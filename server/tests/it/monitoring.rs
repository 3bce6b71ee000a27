//! Health and metrics as a monitor reads them: `/healthz` and `/readyz` without signing
//! in, `/metrics` with a token, read by Prometheus' own Python parser and held against
//! the database.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;

use app::model::{AddressStatus, Role};
use app::server::entities::{address, alert_event, check_run};
use app::server::lease;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Statement};
use serde_json::{json, Value};

use crate::api::{create_network, send, token, wait_until_finished};
use crate::helpers::dns::{DnsServer, Reply, Zones};
use crate::helpers::{script, TestApp};

/// One sample as the parser read it.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses `text` with the `prometheus_client` Python package (installed by
/// `.ci/install-tools.sh test`; `IPVET_PROMETHEUS_PYTHON` names its interpreter). A
/// text it cannot read fails the test.
fn parse(text: &str) -> Vec<Sample> {
    use std::io::Write;
    let python = std::env::var("IPVET_PROMETHEUS_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let program = r#"
import json, sys
from prometheus_client.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        samples.append({"name": s.name, "labels": s.labels, "value": s.value})
print(json.dumps(samples))
"#;
    let mut child = std::process::Command::new(&python)
        .args(["-c", program])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run {python} ({e}); `.ci/install-tools.sh test` installs it")
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Prometheus' parser refused the metrics:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let samples: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    samples
        .into_iter()
        .map(|s| Sample {
            name: s["name"].as_str().unwrap().to_string(),
            labels: s["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect(),
            value: s["value"].as_f64().unwrap(),
        })
        .collect()
}

/// The value of the sample `name` with exactly `labels`; fails the test if there is none.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|s| s.name == name && s.labels == wanted)
        .map(|s| s.value)
        .unwrap_or_else(|| panic!("no sample {name}{labels:?}"))
}

/// Statements a scrape may run: the token, the networks and their counts, the cycles, the
/// zones, the alert events, the alert deliveries, the scheduler lease, the sessions.
const SCRAPE_STATEMENTS: u64 = 10;

async fn scrape(app: &TestApp, token: &str) -> Vec<Sample> {
    let before = app.state.statements.load(Ordering::Relaxed);
    let res = crate::helpers::http_client(&app.base)
        .build()
        .unwrap()
        .get(format!("{}/metrics", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = res.text().await.unwrap();
    let ran = app.state.statements.load(Ordering::Relaxed) - before;
    if let Ok(path) = std::env::var("IPVET_DUMP_METRICS") {
        std::fs::write(path, format!("# {ran} statements\n{text}")).unwrap();
    }
    assert!(ran <= SCRAPE_STATEMENTS, "{ran} statements");
    parse(&text)
}

#[tokio::test]
async fn health_answers_anyone_and_readiness_says_what_is_missing_and_nothing_more() {
    let app = TestApp::spawn().await;
    let http = crate::helpers::http_client(&app.base).build().unwrap();
    let res = http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "ok\n");

    let ready = |http: reqwest::Client| {
        let url = format!("{}/readyz", app.base);
        async move {
            let res = http.get(url).send().await.unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            (status, text)
        }
    };
    let (status, text) = ready(http.clone()).await;
    assert_eq!(status, 200, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["ready"], true);
    assert_eq!(body["database"], "reachable");
    assert_eq!(body["migrations"], "current");
    let scheduler = body["scheduler"].as_str().unwrap();
    assert!(
        ["this_instance", "another_instance", "none"].contains(&scheduler),
        "{body}"
    );
    // No instance, host or version is named.
    let me = lease::instance_id();
    assert!(!text.contains(me), "{text}");
    assert!(!text.contains(env!("CARGO_PKG_VERSION")), "{text}");

    // A schema older than the binary: one migration not applied.
    let db = &app.state.db;
    let newest = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<String>("", "version")
        .unwrap();
    db.execute(Statement::from_sql_and_values(
        db.get_database_backend(),
        match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => "DELETE FROM seaql_migrations WHERE version = $1",
            _ => "DELETE FROM seaql_migrations WHERE version = ?",
        },
        [newest.clone().into()],
    ))
    .await
    .unwrap();
    let (status, text) = ready(http.clone()).await;
    assert_eq!(status, 503, "{text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["ready"], false);
    assert_eq!(body["migrations"], "pending");
    assert_eq!(body["database"], "reachable");
    assert!(!text.contains(&newest), "{text}");
}

#[tokio::test]
async fn metrics_are_read_by_prometheus_and_match_the_database() {
    let zones = Zones::default()
        .healthy("ok.metrics.test")
        .listed(
            "ok.metrics.test",
            Ipv4Addr::new(198, 18, 44, 3),
            Ipv4Addr::new(127, 0, 0, 2),
            "spam",
        )
        .healthy("flaky.metrics.test")
        .failing(
            "flaky.metrics.test",
            Ipv4Addr::new(198, 18, 44, 4),
            Reply::ServFail,
        );
    let dns = DnsServer::start(zones).await;
    let resolver = dns.addr;
    // The checker notes each address it is run for.
    let runs = tempfile::NamedTempFile::new().unwrap();
    let checker = script(&format!(
        "echo \"$1\" >> {}\necho OK",
        runs.path().display()
    ));
    let checker_path = checker.path.clone();
    let app = TestApp::spawn_with(move |c| {
        c.dns_resolver = Some(resolver);
        c.ip_checker_script = Some(checker_path);
        // Allocation here is bookkeeping; the cycle does the checking counted below.
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = token(&app, "metrics-admin", Role::Admin).await;
    let viewer = token(&app, "metrics-viewer", Role::Viewer).await;

    // Only with a live token.
    let anonymous = crate::helpers::http_client(&app.base).build().unwrap();
    let res = anonymous
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    let browser = app.signed_in("metrics-browser", Role::Admin).await;
    let res = browser
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "a session cookie is no token");

    for zone in ["ok.metrics.test", "flaky.metrics.test"] {
        let r = send(
            &app,
            "POST",
            "/api/v1/dnsbl/zones",
            Some(&admin),
            Some(json!({ "zone": zone })),
            &[],
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let cidr = "198.18.44.0/28";
    let net = create_network(&app, &admin, cidr).await;
    for last in 1..=4 {
        let r = send(
            &app,
            "POST",
            &format!("/api/v1/networks/{net}/allocations"),
            Some(&admin),
            Some(json!({ "address": format!("198.18.44.{last}") })),
            &[],
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    for last in 2..=4 {
        let r = send(
            &app,
            "POST",
            &format!("/api/v1/addresses/198.18.44.{last}/release"),
            Some(&admin),
            None,
            &[],
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = send(
        &app,
        "POST",
        "/api/v1/addresses/198.18.44.5/reserve",
        Some(&admin),
        Some(json!({"note": "router"})),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(&app, "POST", "/api/v1/checks", Some(&admin), None, &[]).await;
    assert_eq!(r.status, 202, "{}", r.body);
    wait_until_finished(&app, &admin, r.body["id"].as_i64().unwrap()).await;
    // Exactly two reads of one network, and one path no route knows.
    for _ in 0..2 {
        let r = send(
            &app,
            "GET",
            &format!("/api/v1/networks/{net}"),
            Some(&viewer),
            None,
            &[],
        )
        .await;
        assert_eq!(r.status, 200);
    }
    let res = anonymous
        .get(format!("{}/no-such-page-7f3", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let samples = scrape(&app, &viewer).await;
    let db = &app.state.db;

    // Addresses by status: the rows the database holds.
    let mut not_free = 0.0;
    for status in AddressStatus::ALL {
        if status == AddressStatus::Free {
            continue;
        }
        let rows = address::Entity::find()
            .filter(address::Column::NetworkId.eq(net))
            .filter(address::Column::Status.eq(status))
            .count(db)
            .await
            .unwrap() as f64;
        not_free += rows;
        let labels = [("network", cidr), ("status", status.as_str())];
        assert_eq!(
            value(&samples, "ipvet_network_addresses", &labels),
            rows,
            "{status:?}"
        );
        assert_eq!(
            value(&samples, "ipvet_addresses", &[("status", status.as_str())]),
            rows,
            "{status:?}"
        );
    }
    // 198.18.44.1 allocated, .3 blocked, .4 still being checked (a zone failed), .5
    // reserved; .2 freed.
    assert_eq!(not_free, 4.0);
    assert_eq!(
        value(
            &samples,
            "ipvet_network_addresses",
            &[("network", cidr), ("status", "free")]
        ),
        14.0 - not_free
    );
    assert_eq!(value(&samples, "ipvet_networks", &[]), 1.0);

    // Cycles: the runs the database holds.
    let ended = check_run::Entity::find()
        .filter(check_run::Column::FinishedAt.is_not_null())
        .filter(check_run::Column::Error.is_null())
        .count(db)
        .await
        .unwrap() as f64;
    assert_eq!(ended, 1.0);
    assert_eq!(
        value(&samples, "ipvet_cycles_total", &[("outcome", "completed")]),
        ended
    );
    assert_eq!(
        value(&samples, "ipvet_cycles_total", &[("outcome", "failed")]),
        0.0
    );
    assert_eq!(
        value(&samples, "ipvet_cycle_duration_seconds_count", &[]),
        ended
    );
    assert_eq!(value(&samples, "ipvet_cycles_running", &[]), 0.0);
    let finished = check_run::Entity::find()
        .one(db)
        .await
        .unwrap()
        .unwrap()
        .finished_at
        .unwrap();
    let at = value(&samples, "ipvet_last_cycle_end_timestamp_seconds", &[]);
    assert!(
        (at - finished.unix_timestamp_nanos() as f64 / 1e9).abs() < 0.001,
        "{at}"
    );

    // Checks by method: the script ran once per address checked, as its own log says.
    let script_runs = std::fs::read_to_string(runs.path())
        .unwrap()
        .lines()
        .count() as f64;
    assert_eq!(script_runs, 3.0);
    assert_eq!(
        value(
            &samples,
            "ipvet_checks_total",
            &[("method", "script"), ("outcome", "free")]
        ),
        script_runs
    );
    // Two zones asked about three addresses: one listing, one failure.
    for (outcome, n) in [("not_listed", 4.0), ("listed", 1.0), ("error", 1.0)] {
        assert_eq!(
            value(
                &samples,
                "ipvet_checks_total",
                &[("method", "dnsbl"), ("outcome", outcome)]
            ),
            n,
            "{outcome}"
        );
    }
    assert_eq!(
        value(
            &samples,
            "ipvet_dns_query_errors_total",
            &[("zone", "flaky.metrics.test")]
        ),
        1.0
    );
    for zone in ["ok.metrics.test", "flaky.metrics.test"] {
        assert_eq!(
            value(&samples, "ipvet_dnsbl_zone_healthy", &[("zone", zone)]),
            1.0
        );
    }
    assert_eq!(value(&samples, "ipvet_prober_ready", &[]), 1.0);
    // The alerts' outbox: .3 became a problem (and .4 did not: inconclusive), none cleared.
    for (kind, n) in [("problem", 1.0), ("cleared", 0.0), ("zone_failing", 0.0)] {
        let recorded = alert_event::Entity::find()
            .filter(alert_event::Column::Kind.eq(kind))
            .count(db)
            .await
            .unwrap() as f64;
        assert_eq!(recorded, n, "{kind}");
        assert_eq!(
            value(&samples, "ipvet_alert_events_total", &[("kind", kind)]),
            recorded,
            "{kind}"
        );
    }

    // Requests by route template, never by the path asked for.
    assert_eq!(
        value(
            &samples,
            "ipvet_http_requests_total",
            &[("route", "/api/v1/networks/{id}"), ("status", "200")]
        ),
        2.0
    );
    assert!(
        value(
            &samples,
            "ipvet_http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ) >= 1.0
    );
    let raw = format!("/api/v1/networks/{net}");
    for s in &samples {
        for v in s.labels.values() {
            assert!(!v.contains("no-such-page") && *v != raw, "{s:?}");
        }
    }
    assert!(
        value(
            &samples,
            "ipvet_http_request_duration_seconds_count",
            &[("route", "/api/v1/networks/{id}")]
        ) >= 2.0
    );

    // Sessions: the one browser signed in.
    let sessions = db
        .query_one(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM sessions",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap() as f64;
    assert_eq!(sessions, 1.0);
    assert_eq!(value(&samples, "ipvet_sessions", &[]), sessions);
    assert_eq!(
        value(
            &samples,
            "ipvet_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    drop(dns);
}
