//! The alerts' outbox: each change into or out of a problem, each change of a zone's
//! health and each failed or interrupted cycle writes one event, with the change, and a
//! problem that stays a problem writes none.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::model::Role;
use app::server::check::cycle;
use app::server::check::jobs::overdue;
use app::server::check::probe::{Prober, Probes};
use app::server::check::prober_watch;
use app::server::config::Config;
use app::server::entities::{alert_event, check_run};
use hickory_proto::rr::RecordType;
use sea_orm::{ActiveModelTrait, EntityTrait, QueryOrder, Set};
use time::OffsetDateTime;

use crate::helpers::dns::{DnsServer, Reply, ZoneSource, Zones};
use crate::helpers::{script, TestApp};

/// Every event so far, oldest first, as (kind, address, status, detail, run).
async fn events(
    app: &TestApp,
) -> Vec<(String, Option<String>, Option<String>, String, Option<i64>)> {
    alert_event::Entity::find()
        .order_by_asc(alert_event::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.address, e.status, e.detail, e.run_id))
        .collect()
}

#[tokio::test]
async fn an_address_entering_or_leaving_a_problem_writes_one_event_with_its_change() {
    // The checker finds in use the addresses listed in a file the test rewrites.
    let dir = tempfile::tempdir().unwrap();
    let in_use = dir.path().join("in-use");
    std::fs::write(&in_use, "198.18.52.1\n198.18.52.2\n").unwrap();
    let checker = script(&format!(
        "if grep -qx \"$1\" {}; then echo \"reply from $1\"; else echo OK; fi",
        in_use.display()
    ));
    let path = checker.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = app.signed_in("alerts-admin", Role::Admin).await;
    let net: i64 = app
        .network_with_released(
            &admin,
            "198.18.52.0/28",
            &["198.18.52.1", "198.18.52.2", "198.18.52.3"],
        )
        .await
        .parse()
        .unwrap();
    assert_eq!(
        events(&app).await,
        vec![],
        "allocating and releasing tells nothing"
    );

    let first = app.run_cycle(&admin).await;
    let problem = |ip: &str, run: i64| {
        (
            "problem".to_string(),
            Some(ip.to_string()),
            Some("used_in_network".to_string()),
            format!("checker script: reply from {ip}"),
            Some(run),
        )
    };
    // One cycle's verdicts are written in the order their checks end.
    let mut told = events(&app).await;
    told.sort();
    assert_eq!(
        told,
        vec![
            problem("198.18.52.1", first.id),
            problem("198.18.52.2", first.id)
        ]
    );
    let networks: Vec<Option<i64>> = alert_event::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.network_id)
        .collect();
    assert_eq!(networks, vec![Some(net); 2]);

    // Checked again and still in use: no news.
    let second = app.run_cycle(&admin).await;
    assert_eq!(second.still_used, 2);
    assert_eq!(events(&app).await.len(), 2);

    // One goes quiet and the next cycle frees it; an admin force-frees the other.
    std::fs::write(&in_use, "198.18.52.1\n").unwrap();
    let third = app.run_cycle(&admin).await;
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/force_free",
            &[
                ("address", "198.18.52.1"),
                ("reason", "moved to the new rack"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let told = events(&app).await;
    assert_eq!(
        told[2..],
        [
            (
                "cleared".to_string(),
                Some("198.18.52.2".to_string()),
                Some("free".to_string()),
                "passed both checks".to_string(),
                Some(third.id),
            ),
            (
                "cleared".to_string(),
                Some("198.18.52.1".to_string()),
                Some("free".to_string()),
                "force-freed by alerts-admin: moved to the new rack".to_string(),
                None,
            ),
        ]
    );
}

/// Zones a test can change while its DNS server runs.
struct Switchable(Mutex<Arc<Zones>>);

impl ZoneSource for Switchable {
    fn zones(&self) -> Arc<Zones> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn a_zone_that_starts_or_stops_failing_its_self_test_is_told_once_each_time() {
    const ZONE: &str = "bl.alerts.test";
    let source = Arc::new(Switchable(Mutex::new(Arc::new(
        Zones::default().healthy(ZONE),
    ))));
    let dns = DnsServer::serve("127.0.0.1:0", source.clone(), false).await;
    let resolver = dns.addr;
    let app = TestApp::spawn_with(move |c: &mut Config| c.dns_resolver = Some(resolver)).await;
    let admin = app.signed_in("zones-admin", Role::Admin).await;
    let (status, zone) = app
        .call_fn(&admin, "/api/dnsbl/add", &[("zone", ZONE)])
        .await;
    assert_eq!(status, 200, "{zone}");
    let id = zone["id"].as_i64().unwrap().to_string();
    let self_test = async || {
        let (status, zone) = app
            .call_fn(&admin, "/api/dnsbl/self_test", &[("zone_id", id.as_str())])
            .await;
        assert_eq!(status, 200, "{zone}");
        zone["health"].as_str().unwrap().to_string()
    };
    // A new zone that passes is no news.
    assert_eq!(self_test().await, "healthy");
    assert_eq!(events(&app).await, vec![]);

    // The test address stops being listed: the zone fails, once however often tested.
    *source.0.lock().unwrap() =
        Arc::new(Zones::default().set("2.0.0.127.bl.alerts.test", RecordType::A, Reply::ServFail));
    assert_eq!(self_test().await, "failing");
    assert_eq!(self_test().await, "failing");
    let told = events(&app).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, "zone_failing");
    assert!(told[0].3.starts_with("bl.alerts.test: "), "{told:?}");

    *source.0.lock().unwrap() = Arc::new(Zones::default().healthy(ZONE));
    assert_eq!(self_test().await, "healthy");
    let told = events(&app).await;
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(
        (told[1].0.as_str(), told[1].3.as_str()),
        ("zone_healthy", "bl.alerts.test: passed its self-test again")
    );
}

/// A cycle of the past, started at `started` and ended at `ended` (running if `None`).
async fn past_cycle(
    app: &TestApp,
    started: OffsetDateTime,
    ended: Option<OffsetDateTime>,
) -> check_run::Model {
    check_run::ActiveModel {
        trigger: Set(app::model::Trigger::Manual),
        started_at: Set(started),
        finished_at: Set(ended),
        heartbeat_at: Set(Some(ended.unwrap_or(started))),
        total: Set(0),
        done: Set(0),
        freed: Set(0),
        still_used: Set(0),
        blocked: Set(0),
        unknown: Set(0),
        zones_unhealthy: Set(0),
        ..Default::default()
    }
    .insert(&app.state.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn a_cycle_found_interrupted_is_told_once() {
    let app = TestApp::spawn().await;
    let long_ago = OffsetDateTime::now_utc() - Duration::from_secs(3600);
    let run = past_cycle(&app, long_ago, None).await;
    let silent_for = Duration::from_secs(60);
    assert_eq!(
        cycle::close_interrupted(&app.state.db, silent_for)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        cycle::close_interrupted(&app.state.db, silent_for)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        events(&app).await,
        vec![(
            "cycle_interrupted".to_string(),
            None,
            None,
            cycle::INTERRUPTED.to_string(),
            Some(run.id),
        )]
    );
}

#[tokio::test]
async fn cycles_that_stopped_ending_are_told_once_until_one_ends_again() {
    let app = TestApp::spawn().await;
    let db = &app.state.db;
    let hour = Duration::from_secs(3600);
    let now = OffsetDateTime::now_utc();
    // Ended 90 minutes ago with a period of an hour: not overdue yet.
    past_cycle(&app, now - hour * 2, Some(now - hour * 3 / 2)).await;
    assert!(!overdue::tell_if_overdue(db, hour).await.unwrap());
    // With a period of 30 minutes it is, once.
    let half = hour / 2;
    assert!(overdue::tell_if_overdue(db, half).await.unwrap());
    assert!(!overdue::tell_if_overdue(db, half).await.unwrap());
    let told = events(&app).await;
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, "cycle_overdue");
    assert!(
        told[0].3.starts_with("no check cycle has ended since "),
        "{told:?}"
    );
    assert!(told[0].3.ends_with("(CheckPeriod 30m)"), "{told:?}");
    // A cycle ends: no longer overdue, and the next time it is, it is told again.
    let ended = OffsetDateTime::now_utc();
    past_cycle(&app, ended - Duration::from_secs(60), Some(ended)).await;
    assert!(!overdue::tell_if_overdue(db, half).await.unwrap());
    assert!(overdue::tell_if_overdue(db, Duration::ZERO).await.unwrap());
    assert_eq!(events(&app).await.len(), 2);
}

#[tokio::test]
async fn a_prober_that_stops_or_starts_working_is_told_once_each_time_for_its_host() {
    // Started as root, the server's probes work: nothing to tell.
    let app = TestApp::spawn().await;
    assert_eq!(events(&app).await, vec![]);
    // Probes opened by a thread without CAP_NET_RAW, as an unprivileged ipvet opens them.
    let runtime = tokio::runtime::Handle::current();
    let unprivileged = std::thread::spawn(move || {
        crate::probes::drop_net_raw();
        let _entered = runtime.enter();
        Probes::open(&crate::probes::methods("icmp tcp arp"), &Config::default())
    })
    .join()
    .unwrap();
    let problem = Prober::built_in(unprivileged)
        .problem()
        .expect("the probes say they cannot work");
    let db = &app.state.db;
    assert!(prober_watch::tell_for(db, "edge-7", Some(&problem))
        .await
        .unwrap());
    assert!(!prober_watch::tell_for(db, "edge-7", Some(&problem))
        .await
        .unwrap());
    // Each host has its own state: another host whose probes work has nothing to tell.
    assert!(!prober_watch::tell_for(db, "core-1", None).await.unwrap());
    assert!(prober_watch::tell_for(db, "edge-7", None).await.unwrap());
    let told = events(&app).await;
    assert_eq!(told.len(), 2, "{told:?}");
    assert_eq!(told[0].0, "prober_unusable");
    assert!(told[0].3.starts_with("edge-7: "), "{told:?}");
    assert!(told[0].3.contains("CAP_NET_RAW"), "{told:?}");
    assert_eq!(
        (told[1].0.as_str(), told[1].3.as_str()),
        ("prober_usable", "edge-7: the probes work again")
    );
}
