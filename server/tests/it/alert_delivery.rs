//! Alert delivery against real receivers on loopback: a webhook receiver that verifies
//! signatures, a real SMTP server (aiosmtpd). One signed digest per target per cycle, as
//! its filters choose; retries with back-off; a large cycle as one bounded digest; a
//! restart between the event and its delivery; two instances delivering each event once.

use std::time::Duration;

use app::model::Role;
use app::server::alerts::events::{self as alert_events, Event};
use app::server::alerts::targets::{self, TargetInput};
use app::server::config::Config;
use app::server::entities::alert_delivery;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{json, Value};

use crate::helpers::process::server_with;
use crate::helpers::receivers::{SmtpReceiver, WebhookReceiver};
use crate::helpers::{add_user, admin_caller, error_of, script, TestApp, TestDb};

const SECRET: &str = "a-webhook-secret-of-the-tests-0123456789";
const WAIT: Duration = Duration::from_secs(30);

async fn api(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app
        .client()
        .request(method, format!("{}/api/v1{path}", app.base))
        .bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// Adds a webhook target through the API (201 expected); its answer.
async fn add_webhook(app: &TestApp, token: &str, body: Value) -> Value {
    let res = api(
        app,
        token,
        reqwest::Method::POST,
        "/alerts/webhooks",
        Some(body),
    )
    .await;
    assert_eq!(res.status(), 201);
    res.json().await.unwrap()
}

/// Records `events` in one transaction, as the changes they tell of do.
async fn record(db: &sea_orm::DatabaseConnection, events: impl IntoIterator<Item = Event>) {
    let txn = app::server::db::begin_write(db).await.unwrap();
    alert_events::record(&txn, events).await.unwrap();
    txn.commit().await.unwrap();
}

#[tokio::test]
async fn each_target_gets_one_signed_digest_per_cycle_as_its_filters_choose() {
    let dir = tempfile::tempdir().unwrap();
    let in_use = dir.path().join("in-use");
    std::fs::write(&in_use, "198.18.53.1\n198.18.53.2\n198.18.54.1\n").unwrap();
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
    let admin = app.signed_in("admin", Role::Admin).await;
    let token = app.token_of("admin").await;
    app.network_with_released(
        &admin,
        "198.18.53.0/28",
        &["198.18.53.1", "198.18.53.2", "198.18.53.3"],
    )
    .await;
    let second = app
        .network_with_released(&admin, "198.18.54.0/28", &["198.18.54.1"])
        .await;

    let everything = WebhookReceiver::start(SECRET, 0).await;
    let problems_of_second = WebhookReceiver::start(SECRET, 0).await;
    let made = add_webhook(
        &app,
        &token,
        json!({
            "name": "everything", "url": everything.url, "secret": SECRET,
        }),
    )
    .await;
    assert_eq!(
        made["secret"],
        Value::Null,
        "a typed secret is not answered back"
    );
    add_webhook(
        &app,
        &token,
        json!({
            "name": "second's problems", "url": problems_of_second.url, "secret": SECRET,
            "events": ["problem"], "network_ids": [second.parse::<i64>().unwrap()],
        }),
    )
    .await;
    let listed = api(&app, &token, reqwest::Method::GET, "/alerts/targets", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !listed.contains(SECRET),
        "a secret is never shown: {listed}"
    );

    let run = app.run_cycle(&admin).await;
    let got = everything.wait_accepted(1, WAIT).await;
    assert_eq!(got.len(), 1, "one message for the cycle: {got:?}");
    assert!(got[0].signed, "signed with the target's secret");
    let body = &got[0].body;
    assert_eq!(body["total"], 3);
    assert_eq!(body["counts"]["problem"], 3);
    // No PublicUrl here: a message read elsewhere gets no link rather than a wrong one.
    assert_eq!(body["link"], Value::Null);
    let mut addresses: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    addresses.sort();
    assert_eq!(addresses, ["198.18.53.1", "198.18.53.2", "198.18.54.1"]);
    assert_eq!(body["events"][0]["run_id"], run.id);
    let got = problems_of_second.wait_accepted(1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body["total"], 1);
    assert_eq!(got[0].body["events"][0]["address"], "198.18.54.1");
    assert_eq!(got[0].body["events"][0]["network"], "198.18.54.0/28");

    // A problem that stays tells nothing; one force-freed tells "everything" only (the
    // other is told of problems only).
    std::fs::write(&in_use, "198.18.53.1\n198.18.54.1\n").unwrap();
    let (status, body) = app
        .call_fn(
            &admin,
            "/api/addresses/force_free",
            &[
                ("address", "198.18.53.2"),
                ("reason", "moved to the new rack"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    app.run_cycle(&admin).await;
    let got = everything.wait_accepted(2, WAIT).await;
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].body["total"], 1);
    assert_eq!(got[1].body["events"][0]["kind"], "cleared");
    assert!(got[1].body["events"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("moved to the new rack"));
    // Nothing more arrives for the second target while the first got its second message.
    assert_eq!(problems_of_second.got().len(), 1);
}

#[tokio::test]
async fn a_failing_receiver_is_retried_with_back_off_until_it_takes_the_message() {
    let app = TestApp::spawn_with(|c: &mut Config| {
        c.alert_retry = Duration::from_millis(1500);
    })
    .await;
    app.add_user("admin", Role::Admin).await;
    let token = app.token_of("admin").await;
    let receiver = WebhookReceiver::start(SECRET, 2).await;
    add_webhook(
        &app,
        &token,
        json!({
            "name": "flaky", "url": receiver.url, "secret": SECRET,
        }),
    )
    .await;
    record(
        &app.state.db,
        [Event::zone("dnsbl.example.org", false, "timed out")],
    )
    .await;

    let got = receiver.wait_accepted(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let all = receiver.got();
    assert_eq!(all.len(), 3, "two refusals, then the delivery: {all:?}");
    assert!(
        all.iter()
            .all(|h| h.delivery == all[0].delivery && h.signed),
        "one delivery, tried three times"
    );
    // Back-off: AlertRetry after the first refusal, twice that after the second (the job
    // looks every second, so each wait is at least that and at most a second more).
    let first_wait = all[1].at - all[0].at;
    let second_wait = all[2].at - all[1].at;
    assert!(first_wait >= Duration::from_millis(1500), "{first_wait:?}");
    assert!(
        second_wait >= Duration::from_millis(3000),
        "{second_wait:?}"
    );
    // The receiver answered before the server wrote down that it did: wait for that.
    let log = crate::helpers::poll(WAIT, Duration::from_millis(50), async || {
        let log = app::server::alerts::targets::log(&app.state.db, 1, 10)
            .await
            .unwrap();
        (log.len() == 1 && log[0].status != "pending").then_some(log)
    })
    .await
    .expect("the delivery is recorded as ended");
    assert_eq!(log[0].status, "delivered");
    assert_eq!(log[0].attempts, 3);
    assert_eq!(log[0].last_error, None);
}

#[tokio::test]
async fn a_cycle_of_two_thousand_problems_is_one_bounded_digest() {
    // Every address answers.
    let checker = script("echo \"reply from $1\"");
    let path = checker.path.clone();
    let app = TestApp::spawn_with(move |c: &mut Config| {
        c.ip_checker_script = Some(path);
        c.disable_ip_allocation_checking = true;
    })
    .await;
    let admin = app.signed_in("admin", Role::Admin).await;
    let token = app.token_of("admin").await;
    let net = app.new_network(&admin, "198.18.64.0/21").await;
    let csv: String = (0..2000)
        .map(|i| {
            format!(
                "198.18.{}.{},being_checked,,,\n",
                64 + (i + 1) / 256,
                (i + 1) % 256
            )
        })
        .collect();
    app.import_csv(&admin, &net, &csv).await;
    let receiver = WebhookReceiver::start(SECRET, 0).await;
    add_webhook(
        &app,
        &token,
        json!({
            "name": "noc", "url": receiver.url, "secret": SECRET,
        }),
    )
    .await;

    let run = app.run_cycle(&admin).await;
    assert_eq!((run.total, run.still_used), (2000, 2000), "{run:?}");
    let got = receiver.wait_accepted(1, WAIT).await;
    assert_eq!(got.len(), 1);
    let body = &got[0].body;
    assert_eq!(body["total"], 2000);
    assert_eq!(
        body["events"].as_array().unwrap().len(),
        app::server::alerts::message::LISTED
    );
    assert_eq!(body["omitted"], 2000 - app::server::alerts::message::LISTED);
    assert_eq!(body["summary"], "ipvet: 2000 new problem addresses");
    assert!(body["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["run_id"] == run.id));
    // Nothing else follows.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(receiver.got().len(), 1);
}

#[tokio::test]
async fn an_email_target_gets_its_test_and_its_digests_by_smtp() {
    let smtp = SmtpReceiver::start().await;
    let app = TestApp::spawn().await;
    app.add_user("admin", Role::Admin).await;
    let token = app.token_of("admin").await;
    // A login over a plain connection is refused, naming the choice to make.
    let res = api(&app, &token, reqwest::Method::POST, "/alerts/emails", Some(json!({
        "name": "mail", "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none",
        "login": {"user": "ipvet", "password": "secret"},
        "mail_from": "ipvet@example.net", "mail_to": ["noc@example.net"],
    }))).await;
    let (status, body) = error_of(res).await;
    assert_eq!(status, 422);
    assert!(body.to_string().contains("starttls or tls"), "{body}");
    let res = api(&app, &token, reqwest::Method::POST, "/alerts/emails", Some(json!({
        "name": "mail", "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none",
        "mail_from": "ipvet@example.net", "mail_to": ["noc@example.net", "oncall@example.net"],
        "events": ["cycle_failed"],
    }))).await;
    assert_eq!(res.status(), 201);
    let made: Value = res.json().await.unwrap();
    let id = made["target"]["id"].as_i64().unwrap();

    let res = api(
        &app,
        &token,
        reqwest::Method::POST,
        &format!("/alerts/targets/{id}/test"),
        None,
    )
    .await;
    assert_eq!(res.status(), 200);
    let tried: Value = res.json().await.unwrap();
    assert_eq!(tried["status"], "delivered", "{tried}");
    let mails = smtp.wait_mails(1, WAIT).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].subject, "ipvet: test alert for mail");
    assert_eq!(mails[0].mail_from, "ipvet@example.net");
    assert_eq!(mails[0].rcpt_tos, ["noc@example.net", "oncall@example.net"]);
    assert_eq!(mails[0].from, "ipvet@example.net");
    assert_eq!(mails[0].to, "noc@example.net, oncall@example.net");
    assert!(
        mails[0]
            .body
            .contains("This is a test of the alert target \"mail\""),
        "{}",
        mails[0].body
    );

    // Filtered to failed cycles: a zone's failure is not mailed, a failed cycle is.
    record(
        &app.state.db,
        [
            Event::zone("dnsbl.example.org", false, "timed out"),
            Event::cycle(7, false, "the database refused the cycle's end"),
        ],
    )
    .await;
    let mails = smtp.wait_mails(2, WAIT).await;
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[1].subject, "ipvet: 1 check cycle failed");
    assert!(
        mails[1]
            .body
            .contains("cycle failed: the database refused the cycle's end"),
        "{}",
        mails[1].body
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        smtp.wait_mails(3, Duration::ZERO).await.len(),
        2,
        "the zone event was filtered out"
    );

    // A test to a server that is not there fails with its reason, logged.
    let gone = api(
        &app,
        &token,
        reqwest::Method::POST,
        "/alerts/webhooks",
        Some(json!({
            "name": "nobody", "url": "http://127.0.0.1:9/hook",
        })),
    )
    .await;
    assert_eq!(gone.status(), 201);
    let made: Value = gone.json().await.unwrap();
    assert_eq!(
        made["secret"].as_str().map(str::len),
        Some(64),
        "a secret made for it, shown once"
    );
    let id = made["target"]["id"].as_i64().unwrap();
    let res = api(
        &app,
        &token,
        reqwest::Method::POST,
        &format!("/alerts/targets/{id}/test"),
        None,
    )
    .await;
    let tried: Value = res.json().await.unwrap();
    assert_eq!(tried["status"], "failed");
    assert!(
        tried["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{tried}"
    );
}

#[tokio::test]
async fn a_delivery_survives_a_restart_and_two_instances_deliver_it_once() {
    let (db, url) = TestDb::new().await;
    let receiver = WebhookReceiver::start(SECRET, 1).await;
    {
        // Made and migrated as a server would at start.
        let state = server::startup::prepare(Config {
            database: url.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
        add_user(&state.db, "admin", Role::Admin).await;
    }
    let caller = admin_caller(&url).await;
    targets::add(
        &caller,
        &TargetInput {
            name: "noc".into(),
            kind: "webhook".into(),
            url: Some(receiver.url.clone()),
            secret: Some(SECRET.into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    record(
        &caller.state.db,
        [Event::overdue("no check cycle has ended since noon")],
    )
    .await;

    // The first instance tries once (refused), and dies before its next try.
    // No cycle is due for an hour: a cycle that the kill interrupted would be news too.
    let retry = std::ffi::OsString::from("2s");
    let settings = [
        ("IPVET_ALERT_RETRY", retry.as_os_str()),
        ("IPVET_CHECK_PERIOD", "1h".as_ref()),
    ];
    let mut first = server_with(&url, &settings);
    // Killed once its refused try is recorded (killed mid-try, the delivery would wait for
    // its claim to run out instead).
    let tried = crate::helpers::poll(WAIT, Duration::from_millis(100), async || {
        alert_delivery::Entity::find()
            .filter(alert_delivery::Column::LastError.is_not_null())
            .one(&caller.state.db)
            .await
            .unwrap()
    })
    .await;
    assert!(tried.is_some(), "the first instance tried");
    assert_eq!(receiver.got().len(), 1);
    first.kill().await.unwrap();
    let _ = first.wait().await;
    assert!(receiver.accepted().is_empty());

    // Two instances now: the delivery is made once, by whichever holds the lease.
    let mut a = server_with(&url, &settings);
    let mut b = server_with(&url, &settings);
    let got = receiver.wait_accepted(1, WAIT).await;
    assert_eq!(got.len(), 1);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let all = receiver.got();
    assert_eq!(all.len(), 2, "one refused try, one delivery: {all:?}");
    assert_eq!(all[0].delivery, all[1].delivery);
    let rows = alert_delivery::Entity::find()
        .filter(alert_delivery::Column::Test.eq(false))
        .order_by_asc(alert_delivery::Column::Id)
        .all(&caller.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "delivered");
    assert_eq!(rows[0].attempts, 2);
    a.kill().await.unwrap();
    b.kill().await.unwrap();
    let _ = (a.wait().await, b.wait().await);
    drop(db);
}

#[tokio::test]
async fn a_chat_target_gets_the_digest_as_text_and_never_shows_its_url_key() {
    let app = TestApp::spawn().await;
    app.add_user("admin", Role::Admin).await;
    let token = app.token_of("admin").await;
    let receiver = WebhookReceiver::start(SECRET, 0).await;
    // A chat webhook's URL is its key: the path here stands for one.
    let url = format!("{}?key=chat-key-0123456789", receiver.url);
    let res = api(
        &app,
        &token,
        reqwest::Method::POST,
        "/alerts/chats",
        Some(json!({
            "name": "ops channel", "url": url,
        })),
    )
    .await;
    assert_eq!(res.status(), 201);
    let made: Value = res.json().await.unwrap();
    assert_eq!(
        made["secret"],
        Value::Null,
        "a chat target has no signing secret"
    );
    let shown = api(&app, &token, reqwest::Method::GET, "/alerts/targets", None)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !shown.contains("chat-key") && !shown.contains("/hook"),
        "{shown}"
    );
    // A chat target takes no secret; and names are unique.
    let res = api(
        &app,
        &token,
        reqwest::Method::POST,
        "/alerts/chats",
        Some(json!({
            "name": "other", "url": url, "secret": "0123456789abcdef0123",
        })),
    )
    .await;
    let (status, body) = error_of(res).await;
    assert_eq!(status, 400);
    assert!(body.to_string().contains("secret"), "{body}");
    let res = api(
        &app,
        &token,
        reqwest::Method::POST,
        "/alerts/webhooks",
        Some(json!({
            "name": "ops channel", "url": url,
        })),
    )
    .await;
    assert_eq!(res.status(), 409, "names are unique");

    record(
        &app.state.db,
        [Event::zone("dnsbl.example.org", false, "SERVFAIL")],
    )
    .await;
    let got = receiver.wait_accepted(1, WAIT).await;
    assert_eq!(got.len(), 1);
    assert!(!got[0].signed, "chat messages carry no signature");
    let text = got[0].body["text"]
        .as_str()
        .expect("Slack's and Teams' shape: {\"text\"}");
    assert!(text.starts_with("ipvet: 1 DNSBL zone failing\n"), "{text}");
    assert!(
        text.contains("- zone failing: dnsbl.example.org: SERVFAIL"),
        "{text}"
    );
    assert_eq!(
        got[0].body.as_object().unwrap().len(),
        1,
        "nothing but text"
    );
}
