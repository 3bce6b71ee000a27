//! Probe agents against real processes and packets: `ipvet agent` in a network namespace
//! of its own checks a far network that the server's namespace has no route to
//! ([`SiteNet`]), over the REST API with an agent token; and what an agent token may and
//! may not do.

use std::time::Duration;

use app::model::{AddressStatus, Role, Trigger};
use app::server::agents::registry;
use app::server::auth::guard::Caller;
use app::server::check::cycle;
use app::server::entities::{address, address_event, check_run, check_worker};
use app::server::inventory::addresses::{allocate, change, Holder};
use app::server::inventory::lifecycle::Action;
use app::server::inventory::{ip, networks, sites};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

use crate::helpers::netns::SiteNet;
use crate::helpers::{add_user, poll, TestApp};
use app::server::admin::users;

/// Answer on the far side: the far end's own address and one more.
const ANSWERING: [&str; 2] = ["198.18.70.2", "198.18.70.3"];
const SILENT: [&str; 3] = ["198.18.70.9", "198.18.70.10", "198.18.70.11"];

async fn admin_of(app: &TestApp) -> Caller {
    add_user(&app.state.db, "admin", Role::Admin).await;
    Caller {
        user: users::find_by_name(&app.state.db, "admin").await.unwrap(),
        state: app.state.clone(),
        client_addr: "test".into(),
    }
}

/// The network `cidr` with each of `ips` allocated and released (being checked), while
/// it is still checked locally (the test's always-free script); answers its id.
async fn released(admin: &Caller, cidr: &str, ips: &[&str]) -> i64 {
    let net = networks::create(admin, cidr, "far", "").await.unwrap();
    for ip in ips {
        allocate(admin, net.id, Some(ip), Holder::default(), None)
            .await
            .unwrap();
        change(admin, ip, Action::Release, "").await.unwrap();
    }
    net.id
}

async fn status_of(app: &TestApp, ip: &str) -> (AddressStatus, Option<String>) {
    let row = address::Entity::find_by_ip(ip.parse().unwrap())
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    (row.status, row.last_check_error)
}

/// Starts a cycle on the app's engine and waits (bounded) for its end.
async fn cycle_of(app: &TestApp) -> check_run::Model {
    let id = cycle::start_in_background(&app.state, Trigger::Manual)
        .await
        .unwrap();
    app.wait_for_run(id).await
}

async fn wait_live(app: &TestApp, site_id: i64) {
    let live = poll(
        Duration::from_secs(30),
        Duration::from_millis(100),
        async || {
            registry::site_is_live(&app.state.db, site_id)
                .await
                .unwrap()
                .then_some(())
        },
    )
    .await;
    assert!(live.is_some(), "the agent did not connect within 30 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_far_network_is_judged_only_through_its_agent() {
    let net = SiteNet::create();
    net.far_answers(&ANSWERING[1..]);
    let app = TestApp::spawn_on_listener(net.listen_in_server(), |_| {}).await;
    let admin = admin_of(&app).await;
    let all: Vec<&str> = ANSWERING.iter().chain(&SILENT).copied().collect();
    let network = released(&admin, "198.18.70.0/28", &all).await;
    let far = sites::create(&admin, "far", "beyond the server's reach")
        .await
        .unwrap();
    sites::move_network(&admin, network, Some(far.id))
        .await
        .unwrap();

    // Nobody can look: every address stays being checked, with the reason recorded.
    let blind = cycle_of(&app).await;
    assert_eq!(blind.error, None);
    assert_eq!(
        (blind.done, blind.unknown, blind.freed),
        (5, 5, 0),
        "{blind:?}"
    );
    for ip in &all {
        let (status, error) = status_of(&app, ip).await;
        assert_eq!(status, AddressStatus::BeingChecked, "{ip}");
        let error = error.unwrap_or_default();
        assert!(
            error.contains("site far has no live agent (none has ever connected)"),
            "{ip}: {error}"
        );
    }

    let made = registry::create(&app.state.db, &far, "probe-1", "tests")
        .await
        .unwrap();
    let mut agent = net.agent(app.addr.port(), &made.secret).spawn().unwrap();
    wait_live(&app, far.id).await;
    let seen = registry::of_site(&app.state.db, far.id).await.unwrap();
    assert_eq!(seen[0].methods.as_deref(), Some("icmp tcp arp"));
    assert_eq!(seen[0].raw_sockets, Some(true));
    assert_eq!(seen[0].address.as_deref(), Some("198.19.255.2"));

    let run = cycle_of(&app).await;
    assert_eq!(run.error, None);
    assert_eq!(
        (run.done, run.still_used, run.freed, run.unknown),
        (5, 2, 3, 0),
        "{run:?}"
    );
    for ip in ANSWERING {
        assert_eq!(
            status_of(&app, ip).await.0,
            AddressStatus::UsedInNetwork,
            "{ip}"
        );
    }
    for ip in SILENT {
        assert_eq!(status_of(&app, ip).await.0, AddressStatus::Free, "{ip}");
    }
    // Each address judged once in the cycle, by the agent's worker.
    let events = address_event::Entity::find()
        .filter(address_event::Column::RunId.eq(run.id))
        .all(&app.state.db)
        .await
        .unwrap();
    let mut judged: Vec<i64> = events.iter().map(|e| e.address_id).collect();
    judged.sort();
    judged.dedup();
    assert_eq!((events.len(), judged.len()), (5, 5));
    let evidence = events
        .iter()
        .filter_map(|e| e.evidence.clone())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(evidence.contains("(agent probe-1)"), "{evidence}");
    let workers = check_worker::Entity::find()
        .filter(check_worker::Column::RunId.eq(run.id))
        .order_by_asc(check_worker::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap();
    let by_agent: Vec<_> = workers.iter().filter(|w| w.agent_id.is_some()).collect();
    assert_eq!(
        by_agent.iter().map(|w| w.done).sum::<i64>(),
        5,
        "{workers:?}"
    );
    assert!(by_agent[0].runner.contains("agent probe-1 of site far"));

    agent.kill().await.unwrap();
}

/// A REST call with a bearer token; the status and JSON body.
async fn bearer(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = crate::helpers::http_client(&app.base).build().unwrap();
    let mut req = client
        .request(method, format!("{}/api/v1{path}", app.base))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Asks for work with the agent token `token` (at most 10 addresses, waiting up to 5 s):
/// the answer, and the addresses it hands out.
async fn ask_work(app: &TestApp, token: &str) -> (Value, Vec<String>) {
    let (status, work) = bearer(
        app,
        reqwest::Method::POST,
        "/agent/work",
        token,
        Some(json!({"max": 10, "wait_ms": 5000})),
    )
    .await;
    assert_eq!(status, 200, "{work}");
    let ips = work["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["ip"].as_str().unwrap().to_string())
        .collect();
    (work, ips)
}

/// The network 198.18.70.0/26 with its sixty addresses .2 to .61 released (being
/// checked), moved to a new site `far`: the site and the network's id.
async fn sixty_at_far(admin: &Caller) -> (app::server::entities::site::Model, i64) {
    let ips: Vec<String> = (2..=61).map(|n| format!("198.18.70.{n}")).collect();
    let ip_refs: Vec<&str> = ips.iter().map(String::as_str).collect();
    let network = released(admin, "198.18.70.0/26", &ip_refs).await;
    let far = sites::create(admin, "far", "").await.unwrap();
    sites::move_network(admin, network, Some(far.id))
        .await
        .unwrap();
    (far, network)
}

/// The workers that stood for agents in the cycle `run_id`.
async fn agent_workers(app: &TestApp, run_id: i64) -> Vec<check_worker::Model> {
    check_worker::Entity::find()
        .filter(check_worker::Column::RunId.eq(run_id))
        .filter(check_worker::Column::AgentId.is_not_null())
        .order_by_asc(check_worker::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_token_opens_only_its_own_sites_work() {
    // Claims of a worker that stops asking lapse within three seconds.
    let app = TestApp::spawn_with(|c| c.scheduler_lease = Duration::from_secs(3)).await;
    let admin = admin_of(&app).await;
    let a_net = released(&admin, "198.18.71.0/29", &["198.18.71.2", "198.18.71.3"]).await;
    let b_net = released(&admin, "198.18.72.0/29", &["198.18.72.2"]).await;
    let a = sites::create(&admin, "site-a", "").await.unwrap();
    let b = sites::create(&admin, "site-b", "").await.unwrap();
    sites::move_network(&admin, a_net, Some(a.id))
        .await
        .unwrap();
    sites::move_network(&admin, b_net, Some(b.id))
        .await
        .unwrap();
    let agent_a = registry::create(&app.state.db, &a, "a1", "tests")
        .await
        .unwrap()
        .secret;
    let agent_b = registry::create(&app.state.db, &b, "b1", "tests")
        .await
        .unwrap()
        .secret;
    let user_token = app.token_of("admin").await;

    // Nowhere but the agent endpoints.
    for (method, path) in [
        (reqwest::Method::GET, "/networks"),
        (reqwest::Method::GET, "/sites"),
        (reqwest::Method::POST, "/checks"),
    ] {
        let (status, body) = bearer(&app, method, path, &agent_a, None).await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("agent endpoints"));
    }
    let (status, _) = bearer(
        &app,
        reqwest::Method::POST,
        "/agent/work",
        &user_token,
        Some(json!({"max": 10, "wait_ms": 0})),
    )
    .await;
    assert_eq!(status, 403, "a user's token on an agent endpoint");
    let (status, sites_seen) =
        bearer(&app, reqwest::Method::GET, "/sites", &user_token, None).await;
    assert_eq!(status, 200);
    assert_eq!(sites_seen.as_array().unwrap().len(), 3, "{sites_seen}");
    assert_eq!(sites_seen[0]["name"], "local");
    assert!(
        sites_seen[0].get("id").is_none(),
        "local has no id: {sites_seen}"
    );
    assert_eq!(sites_seen[1]["network_ids"], json!([a_net]));
    // No agent has connected yet: since the site was made, in RFC 3339.
    let since = sites_seen[1]["no_live_agent_since"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(since, &time::format_description::well_known::Rfc3339).is_ok(),
        "{since}"
    );
    // A knock on another door does not make an agent live.
    assert_eq!(
        sites_seen[1]["agents"][0]["last_seen_at"],
        Value::Null,
        "{sites_seen}"
    );

    let hello =
        json!({"version": "test", "methods": ["icmp"], "raw_sockets": false, "script": false});
    let (status, welcome) = bearer(
        &app,
        reqwest::Method::POST,
        "/agent/hello",
        &agent_a,
        Some(hello.clone()),
    )
    .await;
    assert_eq!(status, 200, "{welcome}");
    assert_eq!(
        (welcome["agent"].as_str(), welcome["site"].as_str()),
        (Some("a1"), Some("site-a"))
    );
    let (status, _) = bearer(
        &app,
        reqwest::Method::POST,
        "/agent/hello",
        &agent_b,
        Some(hello.clone()),
    )
    .await;
    assert_eq!(status, 200);

    // A cycle: each agent is handed its own site's addresses and no other.
    let run = cycle::start_in_background(&app.state, Trigger::Manual)
        .await
        .unwrap();
    let (work_a, ips_a) = ask_work(&app, &agent_a).await;
    assert_eq!(ips_a, ["198.18.71.2", "198.18.71.3"]);
    assert_eq!(work_a["run_id"], run);
    let (_, ips_b) = ask_work(&app, &agent_b).await;
    assert_eq!(ips_b, ["198.18.72.2"]);

    // B cannot post under A's claim.
    let claim_a = work_a["claim"].as_i64().unwrap();
    let id_a = work_a["addresses"][0]["id"].as_i64().unwrap();
    let silent = json!([{"method": "icmp", "outcome": "free"}]);
    let (status, _) = bearer(
        &app,
        reqwest::Method::POST,
        "/agent/results",
        &agent_b,
        Some(json!({"claim": claim_a, "results": [{"id": id_a, "answers": silent}]})),
    )
    .await;
    assert_eq!(status, 403);
    // A malformed result writes nothing at all.
    let (status, body) = bearer(&app, reqwest::Method::POST, "/agent/results", &agent_a, Some(json!({"claim": claim_a, "results": [
        {"id": id_a, "answers": silent},
        {"id": work_a["addresses"][1]["id"], "answers": [{"method": "telepathy", "outcome": "free"}]},
    ]}))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        status_of(&app, "198.18.71.2").await.0,
        AddressStatus::BeingChecked
    );
    // A's own result is written under its claim.
    let post = |claim: i64, id: &Value| {
        let body = json!({"claim": claim, "results": [{"id": id, "answers": silent}]});
        bearer(
            &app,
            reqwest::Method::POST,
            "/agent/results",
            &agent_a,
            Some(body),
        )
    };
    let (status, written) = post(claim_a, &work_a["addresses"][0]["id"]).await;
    assert_eq!(status, 200, "{written}");
    assert_eq!(
        (written["written"].as_i64(), written["dropped"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(status_of(&app, "198.18.71.2").await.0, AddressStatus::Free);
    // Silent past its claim's life (one SchedulerLease), its late result is refused whole,
    // and nothing is written; asking again, it gets the address back under a new claim.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let (status, refused) = post(claim_a, &work_a["addresses"][1]["id"]).await;
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has lapsed"),
        "{refused}"
    );
    assert_eq!(
        status_of(&app, "198.18.71.3").await.0,
        AddressStatus::BeingChecked
    );
    let (again, ips) = ask_work(&app, &agent_a).await;
    assert_eq!(ips, ["198.18.71.3"]);
    let claim = again["claim"].as_i64().unwrap();
    assert_ne!(claim, claim_a);
    let (status, written) = post(claim, &again["addresses"][0]["id"]).await;
    assert_eq!(status, 200, "{written}");
    assert_eq!(status_of(&app, "198.18.71.3").await.0, AddressStatus::Free);

    // Revoked: refused at once, everywhere.
    let b_row = registry::of_site(&app.state.db, b.id)
        .await
        .unwrap()
        .remove(0);
    registry::revoke_by(&admin, b_row.id).await.unwrap();
    let (status, _) = bearer(
        &app,
        reqwest::Method::POST,
        "/agent/hello",
        &agent_b,
        Some(hello),
    )
    .await;
    assert_eq!(status, 401);
    // B's claim lapses; with no live agent left at B, the cycle records B's address as
    // not checkable and ends.
    let ended = app.wait_for_run_within(run, Duration::from_secs(30)).await;
    assert_eq!(ended.error, None);
    let (status, error) = status_of(&app, "198.18.72.2").await;
    assert_eq!(status, AddressStatus::BeingChecked);
    assert!(error
        .unwrap_or_default()
        .contains("site site-b has no live agent"));
}

#[tokio::test(flavor = "multi_thread")]
async fn allocation_in_a_far_network_is_checked_by_its_agent() {
    use app::error::AppError;
    let net = SiteNet::create();
    net.far_answers(&ANSWERING[1..]);
    // An agent that does not answer is waited for two seconds (half of this).
    let app = TestApp::spawn_on_listener(net.listen_in_server(), |c| {
        c.allocation_timeout = Duration::from_secs(4)
    })
    .await;
    let admin = admin_of(&app).await;
    let network = networks::create(&admin, "198.18.70.0/28", "far", "")
        .await
        .unwrap()
        .id;
    let far = sites::create(&admin, "far", "").await.unwrap();
    sites::move_network(&admin, network, Some(far.id))
        .await
        .unwrap();
    let allocated = async || {
        address::Entity::find()
            .filter(address::Column::Status.eq(AddressStatus::Allocated))
            .all(&app.state.db)
            .await
            .unwrap()
            .len()
    };

    // No agent: refused at once, nothing handed out unchecked.
    let refused = allocate(&admin, network, None, Holder::default(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, AppError::CheckFailed(m) if m.contains("site far has no live agent")),
        "{refused:?}"
    );
    assert_eq!(allocated().await, 0);

    let made = registry::create(&app.state.db, &far, "probe-1", "tests")
        .await
        .unwrap();
    let mut agent = net.agent(app.addr.port(), &made.secret).spawn().unwrap();
    wait_live(&app, far.id).await;

    // A requested address that answers out there fails its check, and is flagged.
    let refused = allocate(
        &admin,
        network,
        Some("198.18.70.2"),
        Holder::default(),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&refused, AppError::CheckFailed(m) if m.contains("icmp echo reply") && m.contains("(agent probe-1)")),
        "{refused:?}"
    );
    assert_eq!(
        status_of(&app, "198.18.70.2").await.0,
        AddressStatus::UsedInNetwork
    );
    // The lowest free address that is silent there: .1 is the agent's own, .3 answers.
    let got = allocate(&admin, network, None, Holder::default(), None)
        .await
        .unwrap();
    assert_eq!(ip::show(&got.ip), "198.18.70.4");
    for ip in ["198.18.70.1", "198.18.70.3"] {
        assert_eq!(
            status_of(&app, ip).await.0,
            AddressStatus::UsedInNetwork,
            "{ip}"
        );
    }

    // An agent that stopped answering but was seen a moment ago is waited for, a bounded
    // time, and nothing is allocated. (An address none of the checks above passed: a pass
    // of the last two seconds would stand for the check.)
    agent.kill().await.unwrap();
    let refused = allocate(
        &admin,
        network,
        Some("198.18.70.12"),
        Holder::default(),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&refused, AppError::CheckFailed(m) if m.contains("did not answer within 2s")),
        "{refused:?}"
    );
    assert_eq!(allocated().await, 1);
}

/// Events of the cycle `run_id`, by address: each address judged how many times.
async fn judged_in(app: &TestApp, run_id: i64) -> std::collections::BTreeMap<i64, usize> {
    let mut judged = std::collections::BTreeMap::new();
    for e in address_event::Entity::find()
        .filter(address_event::Column::RunId.eq(run_id))
        .all(&app.state.db)
        .await
        .unwrap()
    {
        *judged.entry(e.address_id).or_insert(0) += 1;
    }
    judged
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_killed_mid_cycle_loses_nothing_and_rides_out_a_server_restart() {
    let net = SiteNet::create();
    net.far_answers(&ANSWERING[1..]);
    // A dead worker's claims lapse within three seconds.
    let tweak = |c: &mut app::server::config::Config| c.scheduler_lease = Duration::from_secs(3);
    let app = TestApp::spawn_on_listener(net.listen_in_server(), tweak).await;
    let port = app.addr.port();
    let admin = admin_of(&app).await;
    let (far, network) = sixty_at_far(&admin).await;
    let token = registry::create(&app.state.db, &far, "probe-1", "tests")
        .await
        .unwrap()
        .secret;
    // Four probes at a time: the cycle lasts several seconds, long enough to kill it in.
    let slow = |cmd: &mut tokio::process::Command| {
        cmd.env("IPVET_PROBE_CONCURRENCY", "4");
    };
    let mut first = net.agent(port, &token);
    slow(&mut first);
    let mut first = first.spawn().unwrap();
    wait_live(&app, far.id).await;

    let run_id = cycle::start_in_background(&app.state, Trigger::Manual)
        .await
        .unwrap();
    let under_way = poll(
        Duration::from_secs(30),
        Duration::from_millis(50),
        async || {
            let run = check_run::Entity::find_by_id(run_id)
                .one(&app.state.db)
                .await
                .unwrap()
                .unwrap();
            (run.done >= 8).then_some(run.done)
        },
    )
    .await
    .expect("the agent judges addresses");
    first.kill().await.unwrap();
    assert!(
        under_way < 60,
        "killed mid-cycle ({under_way} of 60 judged)"
    );
    // Restarted at once: it works under a claim of its own, and takes over what the dead
    // one held once that lapses.
    let mut second = net.agent(port, &token);
    slow(&mut second);
    let mut second = second.spawn().unwrap();
    let run = app
        .wait_for_run_within(run_id, Duration::from_secs(90))
        .await;
    assert_eq!(run.error, None);
    assert_eq!(
        (run.done, run.still_used, run.freed, run.unknown),
        (60, 2, 58, 0),
        "{run:?}"
    );
    let judged = judged_in(&app, run_id).await;
    assert_eq!(judged.len(), 60, "every address judged");
    assert!(
        judged.values().all(|&n| n == 1),
        "none judged twice: {judged:?}"
    );
    let workers = agent_workers(&app, run_id).await;
    assert!(
        workers.len() >= 2,
        "the dead agent's worker and the new one's: {workers:?}"
    );
    assert_eq!(workers.iter().map(|w| w.done).sum::<i64>(), 60);
    for ip in ANSWERING {
        assert_eq!(
            status_of(&app, ip).await.0,
            AddressStatus::UsedInNetwork,
            "{ip}"
        );
    }

    // The server restarts under the agent: it reconnects by itself, and an allocation in
    // the far network is checked by it again.
    let app = app
        .restart_on(|| net.listen_in_server_on(port), tweak)
        .await;
    let admin = Caller {
        state: app.state.clone(),
        ..admin
    };
    let got = poll(
        Duration::from_secs(60),
        Duration::from_millis(250),
        async || {
            allocate(
                &admin,
                network,
                Some("198.18.70.10"),
                Holder::default(),
                None,
            )
            .await
            .ok()
        },
    )
    .await
    .expect("the agent is back within a minute and checks the allocation");
    assert_eq!(got.status, AddressStatus::Allocated);
    change(&admin, "198.18.70.10", Action::Release, "")
        .await
        .unwrap();
    let run = cycle_of(&app).await;
    assert_eq!((run.done, run.freed), (3, 1), "{run:?}");
    assert_eq!(status_of(&app, "198.18.70.10").await.0, AddressStatus::Free);
    second.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn over_https_the_agent_trusts_only_a_certificate_it_can_verify() {
    use std::process::Stdio;
    use tokio::io::AsyncBufReadExt;

    let app = TestApp::spawn().await;
    let admin = admin_of(&app).await;
    let site = sites::create(&admin, "tls", "").await.unwrap();
    let token = registry::create(&app.state.db, &site, "probe-1", "tests")
        .await
        .unwrap()
        .secret;
    let front = crate::helpers::tls::TlsFront::start(app.addr).await;
    let agent = |ca_file: Option<&std::path::Path>| {
        let mut cmd = tokio::process::Command::new(crate::helpers::process::BIN);
        cmd.args(["agent", "--server", &front.url])
            .env("IPVET_AGENT_TOKEN", &token)
            .env(
                "IPVET_IP_CHECKER_SCRIPT",
                crate::helpers::fixture_program("always-free.sh").0,
            )
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(ca) = ca_file {
            cmd.arg("--ca-file").arg(ca);
        }
        cmd.spawn().unwrap()
    };

    // The system's roots do not know the test CA: refused, and said why.
    let mut untrusting = agent(None);
    let mut log = tokio::io::BufReader::new(untrusting.stderr.take().unwrap()).lines();
    let refused = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = log.next_line().await.unwrap() {
            if line.contains("certificate") {
                return line;
            }
        }
        panic!("the agent ended without saying why it could not connect");
    })
    .await
    .expect("the agent reports the refused certificate");
    assert!(refused.contains("UnknownIssuer"), "{refused}");
    untrusting.kill().await.unwrap();
    let seen = registry::of_site(&app.state.db, site.id).await.unwrap();
    assert_eq!(seen[0].last_seen_at, None, "it never got through");

    // Given the CA, it connects.
    let mut trusting = agent(Some(&front.ca_file));
    wait_live(&app, site.id).await;
    trusting.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_agents_of_a_site_share_a_cycle() {
    let net = SiteNet::create();
    net.far_answers(&ANSWERING[1..]);
    let app = TestApp::spawn_on_listener(net.listen_in_server(), |_| {}).await;
    let admin = admin_of(&app).await;
    let (far, _) = sixty_at_far(&admin).await;
    let mut agents = Vec::new();
    for name in ["probe-1", "probe-2"] {
        let token = registry::create(&app.state.db, &far, name, "tests")
            .await
            .unwrap()
            .secret;
        let mut cmd = net.agent(app.addr.port(), &token);
        // Four at a time each: neither takes the whole cycle before the other asks.
        cmd.env("IPVET_PROBE_CONCURRENCY", "4");
        agents.push(cmd.spawn().unwrap());
    }
    let both = poll(
        Duration::from_secs(30),
        Duration::from_millis(100),
        async || {
            let now = time::OffsetDateTime::now_utc();
            let seen = registry::of_site(&app.state.db, far.id).await.unwrap();
            (seen.iter().filter(|a| registry::live_at(a, now)).count() == 2).then_some(())
        },
    )
    .await;
    assert!(both.is_some(), "both agents connect");

    let run = cycle_of(&app).await;
    assert_eq!(run.error, None);
    assert_eq!(
        (run.done, run.still_used, run.freed),
        (60, 2, 58),
        "{run:?}"
    );
    let judged = judged_in(&app, run.id).await;
    assert_eq!(judged.len(), 60);
    assert!(
        judged.values().all(|&n| n == 1),
        "none judged twice: {judged:?}"
    );
    let workers = agent_workers(&app, run.id).await;
    let mut by_agent = std::collections::BTreeMap::new();
    for w in &workers {
        *by_agent.entry(w.agent_id).or_insert(0) += w.done;
    }
    assert_eq!(by_agent.len(), 2, "both agents worked: {workers:?}");
    // One worker each: an agent with nothing left to claim does not join again and again
    // while the other finishes.
    assert_eq!(workers.len(), 2, "{workers:?}");
    assert!(by_agent.values().all(|&done| done > 0), "{by_agent:?}");
    assert_eq!(by_agent.values().sum::<i64>(), 60);
    for mut agent in agents {
        agent.kill().await.unwrap();
    }
}
