//! One cycle shared by several workers: claims in batches that never overlap, verdicts
//! fenced by the claim's token, real server processes helping each other, and a helper
//! killed halfway through.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

use app::model::{AddressStatus, Role, Trigger};
use app::server::auth::guard::Caller;
use app::server::check::claim::{self, Worker};
use app::server::check::verdict::{self, Applied};
use app::server::config::DatabaseUrl;
use app::server::entities::{address, address_event, check_run, check_worker};
use app::server::inventory::lifecycle::Finding;
use app::server::{db, lease};
use futures::TryStreamExt;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use time::OffsetDateTime;

use crate::helpers::process::{runner_pid, server_with};
use crate::helpers::{add_user, admin_caller, assert_counts_match_rows, poll, script};
use crate::helpers::{TestApp, TestDb};

/// The test database with its admin, and a caller acting as that admin in this process.
async fn database() -> (TestDb, DatabaseUrl, DatabaseConnection, Caller) {
    let (guard, url) = TestDb::new().await;
    let db = db::open(&url).await.unwrap();
    add_user(&db, "admin", Role::Admin).await;
    let caller = admin_caller(&url).await;
    (guard, url, db, caller)
}

/// Imports the first `n` host addresses of `cidr` (an IPv4 network) as being checked, in
/// one CSV import; answers the network's id.
async fn being_checked(caller: &Caller, cidr: &str, n: u32) -> i64 {
    let net = app::server::inventory::networks::create(caller, cidr, "shared", "")
        .await
        .unwrap();
    let base = u32::from(cidr.split('/').next().unwrap().parse::<Ipv4Addr>().unwrap());
    let text: String = (1..=n)
        .map(|i| format!("{},being_checked\n", Ipv4Addr::from(base + i)))
        .collect();
    let report = app::server::inventory::csv::import::import(caller, net.id, &text)
        .await
        .unwrap();
    assert_eq!(report.imported, n as u64, "{report:?}");
    net.id
}

/// A cycle's row, as an owner makes it.
async fn open_run(db: &DatabaseConnection) -> i64 {
    let now = OffsetDateTime::now_utc();
    check_run::ActiveModel {
        trigger: Set(Trigger::Manual),
        started_at: Set(now),
        heartbeat_at: Set(Some(now)),
        runner: Set(Some(lease::instance_id().to_string())),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

fn clear(rows: &[address::Model]) -> Vec<(address::Model, Finding)> {
    rows.iter()
        .map(|r| (r.clone(), Finding::Clear(String::new())))
        .collect()
}

/// Writes "free" verdicts for `rows` as `worker`.
async fn write_clear(
    db: &DatabaseConnection,
    worker: &Worker,
    rows: &[address::Model],
) -> Vec<Applied> {
    let txn = db::begin_write(db).await.unwrap();
    let applied = verdict::write(&txn, &clear(rows), Some(worker))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    applied
}

/// Each address's verdicts in the cycle `run_id`, from history.
async fn verdicts_per_address(db: &DatabaseConnection, run_id: i64) -> BTreeMap<i64, usize> {
    let mut per_address = BTreeMap::new();
    for e in address_event::Entity::find()
        .filter(address_event::Column::RunId.eq(run_id))
        .all(db)
        .await
        .unwrap()
    {
        *per_address.entry(e.address_id).or_insert(0) += 1;
    }
    per_address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_claim_disjoint_batches_and_each_address_is_judged_once() {
    let (_guard, _url, db, caller) = database().await;
    const N: u32 = 1000;
    being_checked(&caller, "198.18.64.0/22", N).await;
    let run_id = open_run(&db).await;
    let ttl = Duration::from_secs(60);
    let a = claim::join(&db, run_id, ttl).await.unwrap();
    let b = claim::join(&db, run_id, ttl).await.unwrap();
    assert!(b.token > a.token, "tokens grow: {a:?} {b:?}");
    // Each claims 37 at a time and writes before it claims more, so the two interleave.
    // Each waits after its first batch until the other has one too (or has found none), so
    // that a worker whose task starts late on a busy machine still finds work left: the
    // first could otherwise sweep all 1,000 before the second claims.
    let both_started = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let work = |worker: Worker| {
        let (db, both_started) = (db.clone(), both_started.clone());
        async move {
            let mut claimed = Vec::new();
            let mut waited = false;
            let mut batches =
                std::pin::pin!(claim::sweep(&db, worker, 37, Default::default()).try_chunks(37));
            while let Some(rows) = batches.try_next().await.unwrap() {
                if !waited {
                    both_started.wait().await;
                    waited = true;
                }
                let applied = write_clear(&db, &worker, &rows).await;
                assert!(
                    applied
                        .iter()
                        .all(|a| *a == Applied::Now(AddressStatus::Free)),
                    "{applied:?}"
                );
                claimed.extend(rows.iter().map(|r| r.id));
                tokio::task::yield_now().await;
            }
            if !waited {
                both_started.wait().await;
            }
            claimed
        }
    };
    let (by_a, by_b) = tokio::join!(tokio::spawn(work(a)), tokio::spawn(work(b)));
    let (by_a, by_b) = (by_a.unwrap(), by_b.unwrap());
    assert!(
        !by_a.is_empty() && !by_b.is_empty(),
        "both worked: {} and {}",
        by_a.len(),
        by_b.len()
    );
    let a_set: BTreeSet<i64> = by_a.iter().copied().collect();
    let b_set: BTreeSet<i64> = by_b.iter().copied().collect();
    assert_eq!(a_set.len(), by_a.len(), "a claimed an address twice");
    assert_eq!(b_set.len(), by_b.len(), "b claimed an address twice");
    assert_eq!(a_set.intersection(&b_set).count(), 0, "claimed by both");
    assert_eq!(a_set.len() + b_set.len(), N as usize);

    let per_address = verdicts_per_address(&db, run_id).await;
    assert_eq!(per_address.len(), N as usize);
    assert!(per_address.values().all(|n| *n == 1), "{per_address:?}");
    let rows = address::Entity::find()
        .filter(address::Column::CheckedRun.eq(run_id))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(rows.len(), N as usize);
    assert!(rows
        .iter()
        .all(|r| r.status == AddressStatus::Free && r.claim.is_none()));
    // A latecomer to the same cycle finds nothing left to claim.
    let c = claim::join(&db, run_id, ttl).await.unwrap();
    let late: Vec<_> = claim::sweep(&db, c, 100, Default::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(late, vec![]);
    assert_counts_match_rows(&db).await;
}

#[tokio::test]
async fn a_worker_whose_claims_ran_out_is_fenced_off_and_another_takes_its_addresses() {
    let (_guard, _url, db, caller) = database().await;
    being_checked(&caller, "198.18.68.0/24", 10).await;
    let run_id = open_run(&db).await;
    let short = Duration::from_millis(400);
    let a = claim::join(&db, run_id, short).await.unwrap();
    let held = claim::claim_batch(&db, &a, AddressStatus::BeingChecked, None, 100)
        .await
        .unwrap();
    assert_eq!(held.len(), 10);
    assert!(
        held.windows(2).all(|w| w[0].ip < w[1].ip),
        "in address order"
    );
    // While a's claims are live, nobody else gets those addresses.
    let b = claim::join(&db, run_id, Duration::from_secs(60))
        .await
        .unwrap();
    let none = claim::claim_batch(&db, &b, AddressStatus::BeingChecked, None, 100)
        .await
        .unwrap();
    assert_eq!(none, vec![]);
    // a falls silent past its lease: it cannot renew, and b takes the addresses over.
    tokio::time::sleep(short + Duration::from_millis(300)).await;
    assert!(!claim::renew(&db, &a, short).await.unwrap(), "a ran out");
    let taken = claim::claim_batch(&db, &b, AddressStatus::BeingChecked, None, 100)
        .await
        .unwrap();
    assert_eq!(
        taken.iter().map(|r| r.id).collect::<Vec<_>>(),
        held.iter().map(|r| r.id).collect::<Vec<_>>()
    );
    // a's late verdicts are refused, b's are written: one verdict per address.
    let late = write_clear(&db, &a, &held).await;
    assert!(late.iter().all(|x| *x == Applied::TakenOver), "{late:?}");
    let written = write_clear(&db, &b, &taken).await;
    assert!(
        written
            .iter()
            .all(|x| *x == Applied::Now(AddressStatus::Free)),
        "{written:?}"
    );
    // Written before a's: a's verdicts after b's are refused just the same.
    let later = write_clear(&db, &a, &held).await;
    assert!(later.iter().all(|x| *x == Applied::TakenOver), "{later:?}");
    let per_address = verdicts_per_address(&db, run_id).await;
    assert_eq!(per_address.len(), 10);
    assert!(per_address.values().all(|n| *n == 1), "{per_address:?}");
    assert_counts_match_rows(&db).await;
}

#[tokio::test]
async fn the_claims_of_an_ended_cycle_do_not_hold_up_the_next() {
    let (_guard, _url, db, caller) = database().await;
    being_checked(&caller, "198.18.69.0/24", 20).await;
    // A worker of a cycle that ended while it still held claims (it stopped, say).
    let first = open_run(&db).await;
    let stale = claim::join(&db, first, Duration::from_secs(60))
        .await
        .unwrap();
    let held = claim::claim_batch(&db, &stale, AddressStatus::BeingChecked, None, 100)
        .await
        .unwrap();
    assert_eq!(held.len(), 20);
    check_run::Entity::update_many()
        .col_expr(
            check_run::Column::FinishedAt,
            sea_orm::sea_query::Expr::value(OffsetDateTime::now_utc()),
        )
        .filter(check_run::Column::Id.eq(first))
        .exec(&db)
        .await
        .unwrap();
    // The ended cycle claims nothing more.
    let more = claim::claim_batch(&db, &stale, AddressStatus::BeingChecked, None, 100)
        .await
        .unwrap();
    assert_eq!(more, vec![]);
    let second = open_run(&db).await;
    let fresh = claim::join(&db, second, Duration::from_secs(60))
        .await
        .unwrap();
    let taken: Vec<_> = claim::sweep(&db, fresh, 8, Default::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(taken.len(), 20, "the next cycle takes every address");
}

/// Polls (bounded) until the run `id` has finished, and returns it.
async fn finished(
    db: &DatabaseConnection,
    what: &str,
    id: impl Fn(&[check_run::Model]) -> Option<i64>,
) -> check_run::Model {
    poll(
        Duration::from_secs(300),
        Duration::from_millis(250),
        async || {
            let runs = check_run::Entity::find()
                .order_by_asc(check_run::Column::Id)
                .all(db)
                .await
                .unwrap();
            let run = id(&runs).and_then(|id| runs.into_iter().find(|r| r.id == id))?;
            run.finished_at.is_some().then_some(run)
        },
    )
    .await
    .unwrap_or_else(|| panic!("waited 300 s for {what}"))
}

async fn workers(db: &DatabaseConnection, run_id: i64) -> Vec<check_worker::Model> {
    claim::of_run(db, run_id).await.unwrap()
}

fn worker_pid(w: &check_worker::Model) -> Option<u32> {
    w.runner.split(':').nth(1)?.parse().ok()
}

#[tokio::test]
async fn two_server_processes_share_a_cycle_of_20000_addresses_and_check_each_once() {
    let (_guard, url, db, caller) = database().await;
    const N: u32 = 20_000;
    being_checked(&caller, "198.18.128.0/17", N).await;
    // Both start at once; whichever takes the scheduler lease runs the cycle, and the
    // other joins it.
    let mut a = server_with(&url, &[]);
    let mut b = server_with(&url, &[]);
    let pids = [a.id().unwrap(), b.id().unwrap()];
    let run = finished(&db, "the cycle over every address", |runs| {
        runs.iter().find(|r| r.total >= N as i64).map(|r| r.id)
    })
    .await;
    a.start_kill().unwrap();
    b.start_kill().unwrap();
    a.wait().await.unwrap();
    b.wait().await.unwrap();
    assert_eq!(run.error, None, "{run:#?}");
    assert_eq!((run.done, run.freed), (N as i64, N as i64), "{run:#?}");
    // Every address freed exactly once, by that cycle, as history tells.
    let per_address = verdicts_per_address(&db, run.id).await;
    assert_eq!(per_address.len(), N as usize);
    assert!(per_address.values().all(|n| *n == 1));
    let freed_elsewhere = address_event::Entity::find()
        .filter(address_event::Column::RunId.ne(run.id))
        .filter(address_event::Column::ToStatus.eq(AddressStatus::Free))
        .all(&db)
        .await
        .unwrap();
    assert_eq!(freed_elsewhere, vec![], "freed by another cycle too");
    // Both processes took part, and their shares add up.
    let ws = workers(&db, run.id).await;
    let mut by_pid: BTreeMap<u32, i64> = BTreeMap::new();
    for w in &ws {
        *by_pid.entry(worker_pid(w).unwrap()).or_default() += w.done;
        assert!(w.left_at.is_some(), "{w:?}");
    }
    assert_eq!(by_pid.keys().copied().collect::<Vec<_>>(), {
        let mut p = pids.to_vec();
        p.sort();
        p
    });
    eprintln!("shares of the cycle by process: {by_pid:?}");
    assert!(by_pid.values().all(|done| *done > 0), "{by_pid:?}");
    assert_eq!(by_pid.values().sum::<i64>(), N as i64, "{by_pid:?}");
    let claimed = address::Entity::find()
        .filter(address::Column::Claim.is_not_null())
        .count(&db)
        .await
        .unwrap();
    assert_eq!(claimed, 0);
    assert_counts_match_rows(&db).await;
}

#[tokio::test]
async fn a_helper_killed_mid_cycle_leaves_its_addresses_to_the_owner_and_the_cycle_completes() {
    let (_guard, url, db, caller) = database().await;
    const N: u32 = 120;
    being_checked(&caller, "198.18.72.0/24", N).await;
    // Slow checks, four at a time in each process.
    let slow = script("sleep 0.3\necho OK");
    let start = || {
        server_with(
            &url,
            &[
                ("IPVET_CHECK_CONCURRENCY", "4".as_ref()),
                ("IPVET_IP_CHECKER_SCRIPT", slow.path.0.as_os_str()),
            ],
        )
    };
    let mut a = start();
    let mut b = start();
    // Once both work on the cycle and the helper has written some verdicts, the helper
    // is killed, with claims in hand.
    let helping = poll(
        Duration::from_secs(30),
        Duration::from_millis(50),
        async || {
            let runs = check_run::Entity::find()
                .filter(check_run::Column::FinishedAt.is_null())
                .all(&db)
                .await
                .unwrap();
            let run = runs.first()?;
            let owner = runner_pid(run);
            let ws = workers(&db, run.id).await;
            let helper = ws.iter().find(|w| worker_pid(w) != owner && w.done > 0)?;
            Some((run.id, helper.id, worker_pid(helper)))
        },
    )
    .await;
    let (run_id, helper, helper_pid) = helping.expect("a helper wrote verdicts");
    let victim = if helper_pid == a.id() { &mut a } else { &mut b };
    victim.start_kill().unwrap();
    victim.wait().await.unwrap();
    let run = finished(&db, "the cycle the helper left", |_| Some(run_id)).await;
    a.start_kill().ok();
    b.start_kill().ok();
    a.wait().await.unwrap();
    b.wait().await.unwrap();
    assert_eq!(run.error, None, "{run:#?}");
    assert_eq!((run.done, run.freed), (N as i64, N as i64), "{run:#?}");
    let per_address = verdicts_per_address(&db, run_id).await;
    assert_eq!(per_address.len(), N as usize);
    assert!(per_address.values().all(|n| *n == 1), "{per_address:?}");
    let ws = workers(&db, run_id).await;
    let dead = ws.iter().find(|w| w.id == helper).unwrap();
    assert!(dead.done > 0 && dead.done < N as i64, "{dead:?}");
    assert_eq!(ws.iter().map(|w| w.done).sum::<i64>(), N as i64, "{ws:#?}");
    let left = address::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(address::Column::Claim.is_not_null())
                .add(address::Column::Status.ne(AddressStatus::Free)),
        )
        .all(&db)
        .await
        .unwrap();
    assert_eq!(left, vec![], "addresses left claimed or unchecked");
    assert_counts_match_rows(&db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cycle_whose_checks_outrun_its_writer_finishes() {
    use app::server::check::cycle;
    use app::server::check::Engine;
    // Checks that take no time (IPv6 checking is off), as many at once as there are
    // addresses: the checks fill the writer's queue while claims are still being made,
    // which must not hold a claim's transaction open against the writer.
    const N: u32 = 20_000;
    let app = TestApp::spawn_with(|c| {
        c.disable_ipv6_checking = true;
        c.check_concurrency = N;
    })
    .await;
    let db = app.state.db.clone();
    app.add_user("admin", Role::Admin).await;
    let caller = admin_caller(&app.state.config().database).await;
    let net = app::server::inventory::networks::create(&caller, "2001:2::/112", "fast", "")
        .await
        .unwrap();
    let text: String = (1..=N)
        .map(|i| format!("2001:2::{i:x},being_checked\n"))
        .collect();
    let report = app::server::inventory::csv::import::import(&caller, net.id, &text)
        .await
        .unwrap();
    assert_eq!(report.imported, N as u64, "{report:?}");
    let engine = Engine::new(&app.state.config());
    let started = cycle::start(&app.state, &engine, Trigger::Manual)
        .await
        .unwrap();
    let run_id = started.run_id;
    let ended = cycle::run(&app.state, &engine, started, |_| {})
        .await
        .unwrap();
    assert_eq!(
        (ended.counts.done, ended.counts.freed),
        (N as i64, N as i64),
        "{ended:?}"
    );
    let per_address = verdicts_per_address(&db, run_id).await;
    assert_eq!(per_address.len(), N as usize);
    assert!(per_address.values().all(|n| *n == 1));
}
