//! Several instances on one database: the scheduler lease between real server processes,
//! and concurrent writers.

use std::time::Duration;

use app::model::{Role, Trigger};
use app::server::config::DatabaseUrl;
use app::server::entities::{check_run, lease as lease_row, setting};
use app::server::{db, lease};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use tokio::process::Child;

use crate::helpers::process::{runner_pid, server_with};
use crate::helpers::{add_user, admin_caller, assert_counts_match_rows, poll, script};
use crate::helpers::{TestApp, TestDb};

/// `ipvet serve` on the test database, scheduling a cycle every second under a 3-second
/// lease; it checks nothing in any network (the always-free script, no DNS).
fn server(url: &DatabaseUrl) -> Child {
    server_with(url, &[])
}

async fn scheduled_runs(db: &sea_orm::DatabaseConnection) -> Vec<check_run::Model> {
    check_run::Entity::find()
        .filter(check_run::Column::Trigger.eq(Trigger::Schedule))
        .order_by_asc(check_run::Column::Id)
        .all(db)
        .await
        .unwrap()
}

/// Polls (bounded) until `done` holds for the scheduled runs, and returns them.
async fn wait_runs(
    db: &sea_orm::DatabaseConnection,
    what: &str,
    done: impl Fn(&[check_run::Model]) -> bool,
) -> Vec<check_run::Model> {
    let runs = poll(
        Duration::from_secs(150),
        Duration::from_millis(250),
        async || {
            let runs = scheduled_runs(db).await;
            done(&runs).then_some(runs)
        },
    )
    .await;
    match runs {
        Some(runs) => runs,
        None => panic!("waited 150 s for {what}: {:#?}", scheduled_runs(db).await),
    }
}

#[tokio::test]
async fn of_two_server_processes_one_schedules_and_the_other_takes_over_when_it_is_killed() {
    let (_guard, url) = TestDb::new().await;
    let db = db::open(&url).await.unwrap();
    // Made here, so neither process makes a first admin of its own.
    add_user(&db, "admin", Role::Admin).await;
    let mut a = server(&url);
    let a_pid = a.id().unwrap();
    wait_runs(&db, "a cycle of the first process", |runs| {
        runs.iter()
            .any(|r| runner_pid(r) == Some(a_pid) && r.finished_at.is_some())
    })
    .await;
    let mut b = server(&url);
    let b_pid = b.id().unwrap();
    let before_b = scheduled_runs(&db).await.len();
    // Both run now; three more cycles go by, and the first process runs every one.
    let runs = wait_runs(&db, "three cycles beside the second process", |runs| {
        runs.len() >= before_b + 3 && runs.iter().all(|r| r.finished_at.is_some())
    })
    .await;
    for run in &runs[before_b..] {
        assert_eq!(runner_pid(run), Some(a_pid), "{run:#?}");
    }
    a.start_kill().unwrap();
    a.wait().await.unwrap();
    let after_kill = scheduled_runs(&db).await.len();
    let runs = wait_runs(&db, "a cycle of the second process", |runs| {
        runs[after_kill..]
            .iter()
            .any(|r| runner_pid(r) == Some(b_pid) && r.finished_at.is_some())
    })
    .await;
    // Never two cycles at once: each began after the one before it ended.
    for pair in runs.windows(2) {
        let ended = pair[0].finished_at.expect("earlier cycles ended");
        assert!(pair[1].started_at >= ended, "{pair:#?}");
    }
    let held = lease_row::Entity::find_by_id(lease::SCHEDULER.to_string())
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        held.holder.split(':').nth(1),
        Some(b_pid.to_string().as_str())
    );
    assert!(held.token >= 2, "the lease changed hands: {held:?}");
    b.start_kill().unwrap();
    b.wait().await.unwrap();
}

#[tokio::test]
async fn a_lease_is_held_by_one_instance_and_taken_over_only_once_it_runs_out() {
    let (_guard, url) = TestDb::new().await;
    let db = db::open(&url).await.unwrap();
    let ttl = Duration::from_millis(600);
    let name = "test-lease";
    lease_row::ActiveModel {
        name: Set(name.into()),
        holder: Set(String::new()),
        token: Set(0),
        expires_at: Set(time::OffsetDateTime::UNIX_EPOCH),
        taken_at: Set(None),
    }
    .insert(&db)
    .await
    .unwrap();
    // Racing for a free lease, exactly one wins.
    let (x, y) = tokio::join!(
        lease::hold(&db, name, "x", ttl),
        lease::hold(&db, name, "y", ttl)
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert!(x.is_some() != y.is_some(), "{x:?} {y:?}");
    let (winner, loser) = if x.is_some() { ("x", "y") } else { ("y", "x") };
    let token = x.or(y).unwrap();
    // The holder renews it with the same token; the other is refused while it is live.
    assert_eq!(
        lease::hold(&db, name, winner, ttl).await.unwrap(),
        Some(token)
    );
    assert_eq!(lease::hold(&db, name, loser, ttl).await.unwrap(), None);
    // Left to run out, it goes to the other with the next token, and the old holder
    // cannot renew it.
    tokio::time::sleep(ttl + Duration::from_millis(300)).await;
    assert_eq!(
        lease::hold(&db, name, loser, ttl).await.unwrap(),
        Some(token + 1)
    );
    assert_eq!(lease::hold(&db, name, winner, ttl).await.unwrap(), None);
    // Given up, it is free at once.
    lease::give_up(&db, name, loser).await.unwrap();
    assert_eq!(
        lease::hold(&db, name, winner, ttl).await.unwrap(),
        Some(token + 2)
    );
}

#[tokio::test]
async fn two_concurrent_writers_both_succeed() {
    let (_guard, url) = TestDb::new().await;
    let db = db::open(&url).await.unwrap();
    // Each holds its write transaction open a while; on SQLite the second waits for the
    // first (busy timeout) instead of failing.
    let writer = |key: &'static str| {
        let db = db.clone();
        async move {
            let txn = db::begin_write(&db).await?;
            setting::ActiveModel {
                key: Set(key.into()),
                value: Set("1".into()),
                updated_by: Set("test".into()),
                updated_at: Set(time::OffsetDateTime::now_utc()),
            }
            .insert(&txn)
            .await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            txn.commit().await
        }
    };
    let (first, second) = tokio::join!(writer("WriterOne"), writer("WriterTwo"));
    first.unwrap();
    second.unwrap();
    let saved = setting::Entity::find().all(&db).await.unwrap();
    let keys: Vec<&str> = saved.iter().map(|s| s.key.as_str()).collect();
    assert!(
        keys.contains(&"WriterOne") && keys.contains(&"WriterTwo"),
        "{keys:?}"
    );
}

/// A network of `n` addresses released (being checked), made in this process on the
/// shared database.
async fn released_network(url: &DatabaseUrl, cidr: &str, n: usize) {
    use app::server::inventory::addresses::{self, Holder};
    use app::server::inventory::lifecycle::Action;
    let caller = admin_caller(url).await;
    let net = app::server::inventory::networks::create(&caller, cidr, "crash", "")
        .await
        .unwrap();
    for _ in 0..n {
        let row = addresses::allocate(&caller, net.id, None, Holder::default(), None)
            .await
            .unwrap();
        let ip = app::server::inventory::ip::show(&row.ip);
        addresses::change(&caller, &ip, Action::Release, "")
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_server_killed_mid_cycle_loses_no_address_and_the_next_cycle_completes() {
    use app::model::AddressStatus;
    use app::server::entities::{address, address_event};
    let (_guard, url) = TestDb::new().await;
    let db = db::open(&url).await.unwrap();
    add_user(&db, "admin", Role::Admin).await;
    const N: usize = 60;
    released_network(&url, "198.18.70.0/24", N).await;
    // Slow checks, four at a time: the cycle takes seconds, so it can be killed halfway.
    let slow = script("sleep 0.3\necho OK");
    let start = |url: &DatabaseUrl| {
        server_with(
            url,
            &[
                ("IPVET_CHECK_CONCURRENCY", "4".as_ref()),
                ("IPVET_IP_CHECKER_SCRIPT", slow.path.0.as_os_str()),
            ],
        )
    };
    let mut a = start(&url);
    let a_pid = a.id().unwrap();
    // Killed once its cycle has written some verdicts and not all.
    let runs = wait_runs(&db, "the first process's cycle halfway", |runs| {
        runs.iter().any(|r| {
            runner_pid(r) == Some(a_pid)
                && r.finished_at.is_none()
                && r.done > 0
                && r.done < N as i64
        })
    })
    .await;
    let killed_run = runs.last().unwrap().id;
    a.start_kill().unwrap();
    a.wait().await.unwrap();
    // Killed between or inside its write transactions: every address is being checked or
    // free, and the counts agree with the rows.
    let statuses: std::collections::BTreeSet<AddressStatus> = address::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.status)
        .collect();
    assert!(
        statuses.is_subset(&[AddressStatus::BeingChecked, AddressStatus::Free].into()),
        "{statuses:?}"
    );
    assert_counts_match_rows(&db).await;
    let mut b = start(&url);
    let b_pid = b.id().unwrap();
    let runs = wait_runs(
        &db,
        "a cycle of the second process that checks the rest",
        |runs| {
            runs.iter()
                .any(|r| runner_pid(r) == Some(b_pid) && r.finished_at.is_some() && r.done > 0)
        },
    )
    .await;
    b.start_kill().unwrap();
    b.wait().await.unwrap();
    let killed = runs.iter().find(|r| r.id == killed_run).unwrap();
    assert_eq!(
        killed.error.as_deref(),
        Some(app::server::check::cycle::INTERRUPTED),
        "{killed:#?}"
    );
    let rest = runs
        .iter()
        .find(|r| runner_pid(r) == Some(b_pid) && r.done > 0)
        .unwrap();
    assert_eq!(rest.error, None, "{rest:#?}");
    // Every address is free now, and each was freed exactly once: what the killed cycle
    // wrote stayed written, and what it had not written was checked again.
    let rows = address::Entity::find()
        .filter(address::Column::Status.ne(AddressStatus::Free))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(rows, vec![], "addresses left behind");
    let claimed = address::Entity::find()
        .filter(address::Column::Claim.is_not_null())
        .all(&db)
        .await
        .unwrap();
    assert_eq!(claimed, vec![], "addresses left claimed");
    assert_counts_match_rows(&db).await;
    let freed = address_event::Entity::find()
        .filter(address_event::Column::RunId.is_not_null())
        .filter(address_event::Column::ToStatus.eq(AddressStatus::Free))
        .all(&db)
        .await
        .unwrap();
    let mut per_address = std::collections::BTreeMap::new();
    for e in &freed {
        *per_address.entry(e.address_id).or_insert(0) += 1;
    }
    assert_eq!(per_address.len(), N, "{per_address:?}");
    assert!(per_address.values().all(|n| *n == 1), "{per_address:?}");
    let by_killed = freed
        .iter()
        .filter(|e| e.run_id == Some(killed_run))
        .count();
    assert!(
        by_killed > 0 && by_killed < N,
        "{by_killed} freed before the kill"
    );
}

#[tokio::test]
async fn a_setting_saved_through_one_instance_takes_effect_on_the_other() {
    let a = TestApp::spawn().await;
    let shared = a.state.config().database.clone();
    let b = TestApp::spawn_with(move |c| c.database = shared).await;
    let admin = a.signed_in("settings-admin", Role::Admin).await;
    let period = |app: &TestApp| app.state.config().check_period;
    assert_eq!(period(&b), Duration::from_secs(3600));
    let (status, body) = a
        .call_fn(
            &admin,
            "/api/settings/save",
            &[("key", "CheckPeriod"), ("value", "7m")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // The other instance picks up what is saved within seconds, without a restart.
    let reaches = async |want: Duration| {
        poll(
            Duration::from_secs(20),
            Duration::from_millis(200),
            async || (period(&b) == want).then_some(()),
        )
        .await
        .is_some()
    };
    assert!(
        reaches(Duration::from_secs(420)).await,
        "the other instance still has {:?}",
        period(&b)
    );
    let (status, body) = a
        .call_fn(&admin, "/api/settings/reset", &[("key", "CheckPeriod")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        reaches(Duration::from_secs(3600)).await,
        "the reset did not reach the other instance: {:?}",
        period(&b)
    );
}
