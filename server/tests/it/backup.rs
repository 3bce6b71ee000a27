//! `ipvet backup` and `ipvet restore` as an admin runs them: real processes, a backup
//! taken while a server's check cycle writes, restored into a fresh directory and served,
//! and every refusal that keeps a database from being lost or replaced by mistake.

use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use app::model::Role;
use app::server::config::{ConfigValue, DatabaseUrl};
use app::server::entities::{address, address_event, check_run, lease};
use app::server::{db, inventory};
use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use time::OffsetDateTime;
use tokio::process::Command;

use crate::helpers::process::{self, run, server_with, sign_in, start_server};
use crate::helpers::{
    add_user, admin_caller, assert_counts_match_rows, fixture_program, poll, script, TestDb,
};

/// `ipvet ARGS…` on the database at `url`, run to completion: (exit code, stdout, stderr).
async fn ipvet(url: &DatabaseUrl, args: &[&str]) -> (i32, String, String) {
    let mut cmd: Command = process::ipvet(url);
    cmd.args(args);
    run(cmd, "").await
}

fn sqlite_url(path: &Path) -> DatabaseUrl {
    DatabaseUrl::parse_value(&format!("sqlite://{}", path.display())).unwrap()
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A backup or restored file, opened read-only as a reader of it would.
async fn open_read_only(path: &Path) -> DatabaseConnection {
    Database::connect(format!("sqlite://{}?mode=ro", path.display()))
        .await
        .unwrap()
}

/// What `PRAGMA integrity_check` says of `db`: `["ok"]` when intact.
async fn integrity(db: &DatabaseConnection) -> Vec<String> {
    db.query_all(sea_orm::Statement::from_string(
        db.get_database_backend(),
        "PRAGMA integrity_check",
    ))
    .await
    .unwrap()
    .iter()
    .map(|r| r.try_get_by_index::<String>(0).unwrap())
    .collect()
}

async fn addresses(db: &DatabaseConnection) -> Vec<address::Model> {
    address::Entity::find()
        .order_by_asc(address::Column::Id)
        .all(db)
        .await
        .unwrap()
}

async fn history(db: &DatabaseConnection) -> Vec<address_event::Model> {
    address_event::Entity::find()
        .order_by_asc(address_event::Column::Id)
        .all(db)
        .await
        .unwrap()
}

async fn events_of_run(db: &DatabaseConnection, run_id: i64) -> u64 {
    address_event::Entity::find()
        .filter(address_event::Column::RunId.eq(run_id))
        .count(db)
        .await
        .unwrap()
}

/// A database with the user "admin" (password returned) and `n` addresses being checked
/// in 198.18.80.0/22.
async fn inventory_of(url: &DatabaseUrl, n: u32) -> String {
    let conn = db::open(url).await.unwrap();
    let password = add_user(&conn, "admin", Role::Admin).await;
    let caller = admin_caller(url).await;
    let net = inventory::networks::create(&caller, "198.18.80.0/22", "backed up", "")
        .await
        .unwrap();
    let base = u32::from(Ipv4Addr::new(198, 18, 80, 0));
    let csv: String = (1..=n)
        .map(|i| format!("{},being_checked\n", Ipv4Addr::from(base + i)))
        .collect();
    let report = inventory::csv::import::import(&caller, net.id, &csv)
        .await
        .unwrap();
    assert_eq!(report.imported, n as u64, "{report:?}");
    conn.close().await.unwrap();
    password
}

/// The temporary copies a backup or restore makes beside its destination in `dir`.
fn partial_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect()
}

#[tokio::test]
async fn a_backup_taken_while_a_cycle_writes_restores_into_a_server_with_every_row() {
    // SQLite's own copy; on PostgreSQL it is pg_dump's job (tested below).
    let (_guard, url) = TestDb::on(None).await;
    const N: u32 = 600;
    let password = inventory_of(&url, N).await;
    let live = db::connect(&url).await.unwrap();
    // Slow checks, four at a time: the cycle writes verdicts for several seconds.
    let slow = script("sleep 0.1\necho OK");
    let mut server = server_with(
        &url,
        &[
            ("IPVET_CHECK_CONCURRENCY", "4".as_ref()),
            ("IPVET_IP_CHECKER_SCRIPT", slow.path.0.as_os_str()),
        ],
    );
    let run_id = poll(
        Duration::from_secs(60),
        Duration::from_millis(50),
        async || {
            let run = check_run::Entity::find()
                .filter(check_run::Column::FinishedAt.is_null())
                .one(&live)
                .await
                .unwrap()?;
            (events_of_run(&live, run.id).await >= 20).then_some(run.id)
        },
    )
    .await
    .expect("the cycle writes verdicts");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ipvet-backup.db");
    let (code, out, err) = ipvet(&url, &["backup", text(&file)]).await;
    assert_eq!(code, 0, "{err}");
    let known = Migrator::migrations().len();
    assert!(
        out.starts_with(&format!(
            "Backed up {} to {}: ",
            url.as_str(),
            file.display()
        )) && out.contains(&format!(" bytes, schema at migration {known} of {known} (")),
        "{out}"
    );
    // The server went on writing the same cycle after the copy was taken.
    let copy = open_read_only(&file).await;
    let in_copy = events_of_run(&copy, run_id).await;
    let went_on = poll(
        Duration::from_secs(60),
        Duration::from_millis(50),
        async || (events_of_run(&live, run_id).await > in_copy).then_some(()),
    )
    .await;
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    live.close().await.unwrap();
    assert!(
        went_on.is_some(),
        "the cycle wrote nothing after the backup"
    );

    // The copy is one moment of the cycle: intact, midway, its counts matching its rows.
    assert_eq!(integrity(&copy).await, ["ok"]);
    let run = check_run::Entity::find_by_id(run_id)
        .one(&copy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.finished_at, None, "{run:?}");
    assert!(in_copy > 0 && in_copy < N as u64, "{in_copy} verdicts");
    assert_counts_match_rows(&copy).await;
    let backed_up = addresses(&copy).await;
    let backed_up_history = history(&copy).await;
    assert!(backed_up.len() >= N as usize, "{} rows", backed_up.len());
    copy.close().await.unwrap();
    assert_eq!(partial_files(dir.path()), Vec::<String>::new());

    // Restored into a fresh directory, a server starts on it with every row.
    let fresh = tempfile::tempdir().unwrap();
    let target = fresh.path().join("ipvet.db");
    let restored_url = sqlite_url(&target);
    let (code, out, err) = ipvet(&restored_url, &["restore", text(&file)]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!(
            "Restored {} to {}: ",
            file.display(),
            target.display()
        )) && out.contains("; 0 migrations applied since."),
        "{out}"
    );
    // It checks nothing in the network, should it join the cycle the backup caught.
    let mut cmd = process::ipvet(&restored_url);
    cmd.env(
        "IPVET_IP_CHECKER_SCRIPT",
        fixture_program("always-free.sh").0,
    )
    .env("IPVET_DNS_RESOLVER", "127.0.0.1:9");
    let (mut server, base, _) = start_server(&mut cmd).await;
    assert_eq!(sign_in(&base, "admin", &password).await, 200);
    let restored = db::connect(&restored_url).await.unwrap();
    let now = addresses(&restored).await;
    let key = |a: &address::Model| (a.id, a.ip.clone(), a.network_id);
    assert_eq!(
        now.iter().map(key).collect::<Vec<_>>(),
        backed_up.iter().map(key).collect::<Vec<_>>(),
        "the addresses"
    );
    // History only grows: every row of the backup's is there as it was.
    let now_history = history(&restored).await;
    for event in &backed_up_history {
        assert!(now_history.contains(event), "lost: {event:?}");
    }
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    assert_eq!(integrity(&restored).await, ["ok"]);
    assert_counts_match_rows(&restored).await;
}

#[tokio::test]
async fn backup_refuses_to_overwrite_and_says_what_is_wrong_with_a_path() {
    let (_guard, url) = TestDb::on(None).await;
    inventory_of(&url, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("b.db");
    let (code, _, err) = ipvet(&url, &["backup", text(&file)]).await;
    assert_eq!(code, 0, "{err}");
    let first = std::fs::read(&file).unwrap();
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "a backup is private");

    // An existing file stays as it was without --force.
    let (code, out, err) = ipvet(&url, &["backup", text(&file)]).await;
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "ipvet: {} exists already; give --force to replace it",
            file.display()
        )
    );
    assert_eq!(std::fs::read(&file).unwrap(), first);
    let (code, _, err) = ipvet(&url, &["backup", "--force", text(&file)]).await;
    assert_eq!(code, 0, "{err}");

    // A bare file name is in the working directory.
    let mut cmd = process::ipvet(&url);
    cmd.current_dir(dir.path()).args(["backup", "bare.db"]);
    let (code, out, err) = run(cmd, "").await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(" to bare.db: "), "{out}");
    assert_eq!(
        std::fs::read(dir.path().join("bare.db")).unwrap()[..16],
        *b"SQLite format 3\0"
    );

    let (code, _, err) = ipvet(&url, &["backup", "--force", text(dir.path())]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!(
            "ipvet: {} is a directory; name the backup file in it",
            dir.path().display()
        )
    );

    let nowhere = dir.path().join("missing/b.db");
    let (code, _, err) = ipvet(&url, &["backup", text(&nowhere)]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!(
            "ipvet: the directory {} does not exist",
            dir.path().join("missing").display()
        )
    );

    // The database itself, which --force would replace under a running server.
    let own = url.sqlite_path().unwrap();
    let (code, _, err) = ipvet(&url, &["backup", "--force", text(&own)]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!("ipvet: {} is the database itself", own.display())
    );

    // A configured database that does not exist is not made by backing it up.
    let absent = dir.path().join("absent.db");
    let (code, _, err) = ipvet(&sqlite_url(&absent), &["backup", text(&file)]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!("ipvet: there is no database at {}", absent.display())
    );
    assert!(!absent.exists());
    assert_eq!(partial_files(dir.path()), Vec::<String>::new());
}

#[tokio::test]
async fn on_postgresql_backup_and_restore_name_its_tools_without_the_password() {
    // Neither command connects: the advice is the same for a server that exists (the test
    // server, when there is one) and one that does not.
    let mut urls = vec![(
        DatabaseUrl::parse_value("postgres://ipvet:s3cret@db.invalid:5432/ipvet").unwrap(),
        "postgres://ipvet@db.invalid:5432/ipvet".to_string(),
    )];
    let (_guard, url) = TestDb::new().await;
    if !url.is_sqlite() {
        urls.push((url.clone(), url.without_password()));
    }
    for (url, shown) in urls {
        let (code, out, err) = ipvet(&url, &["backup", "/tmp/ipvet.dump"]).await;
        assert_eq!((code, out.as_str()), (1, ""), "{err}");
        assert!(
            err.contains(&format!(
                "pg_dump --format=custom --file=/tmp/ipvet.dump --dbname={shown}\n"
            )) && err.contains("pg_restore"),
            "{err}"
        );
        let (code, out, err) = ipvet(&url, &["restore", "/tmp/ipvet.dump"]).await;
        assert_eq!((code, out.as_str()), (1, ""), "{err}");
        assert!(
            err.contains(&format!(
                "pg_restore --clean --if-exists --dbname={shown} /tmp/ipvet.dump\n"
            )) && err.contains(&format!("psql --dbname={shown} -f FILE")),
            "{err}"
        );
        assert!(!err.contains("s3cret"), "{err}");
    }
}

#[tokio::test]
async fn restore_refuses_what_is_not_an_ipvet_backup_and_a_database_in_use() {
    let (_guard, url) = TestDb::on(None).await;
    inventory_of(&url, 3).await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("b.db");
    let (code, _, err) = ipvet(&url, &["backup", text(&backup)]).await;
    assert_eq!(code, 0, "{err}");
    let fresh = dir.path().join("fresh.db");
    let fresh_url = sqlite_url(&fresh);

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, "id,name\n1,not a database at all\n").unwrap();
    let (code, _, err) = ipvet(&fresh_url, &["restore", text(&junk)]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!("ipvet: {} is not an SQLite database", junk.display())
    );

    let other = dir.path().join("other.db");
    let conn = Database::connect(format!("sqlite://{}?mode=rwc", other.display()))
        .await
        .unwrap();
    conn.execute_unprepared("CREATE TABLE t (x INTEGER)")
        .await
        .unwrap();
    conn.close().await.unwrap();
    let (code, _, err) = ipvet(&fresh_url, &["restore", text(&other)]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!(
            "ipvet: {} is an SQLite database, but not ipvet's: it has no migrations table",
            other.display()
        )
    );

    // A backup from an earlier ipvet is migrated up once in place.
    let older = dir.path().join("older.db");
    let conn = Database::connect(format!("sqlite://{}?mode=rwc", older.display()))
        .await
        .unwrap();
    Migrator::up(&conn, Some(7)).await.unwrap();
    conn.close().await.unwrap();
    let known = Migrator::migrations().len();
    let upgraded = dir.path().join("upgraded.db");
    let (code, out, err) = ipvet(&sqlite_url(&upgraded), &["restore", text(&older)]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "schema at migration 7 of {known} (m20261122_000007_scheduler_lease); {} migrations applied since.",
            known - 7
        )),
        "{out}"
    );
    let (code, out, err) = ipvet(&sqlite_url(&upgraded), &["migrate"]).await;
    assert_eq!(
        (code, out.trim()),
        (0, "The database is up to date."),
        "{err}"
    );

    // A backup from a later ipvet, with a migration this one does not know.
    let newer = dir.path().join("newer.db");
    std::fs::copy(&backup, &newer).unwrap();
    let conn = Database::connect(format!("sqlite://{}", newer.display()))
        .await
        .unwrap();
    conn.execute_unprepared(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_later', 0)",
    )
    .await
    .unwrap();
    conn.close().await.unwrap();
    let (code, _, err) = ipvet(&fresh_url, &["restore", text(&newer)]).await;
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!(
            "ipvet: {} was made by a newer ipvet: its migration m20991231_000001_later is \
             unknown to this one, which knows {} migrations; restore it with that ipvet or a \
             later one",
            newer.display(),
            Migrator::migrations().len()
        )
    );
    assert!(!fresh.exists(), "a refused restore made the database");
    assert_eq!(partial_files(dir.path()), Vec::<String>::new());

    // A database so damaged it cannot be read is no server's: --force replaces it.
    let damaged = dir.path().join("damaged.db");
    std::fs::write(&damaged, "not a database any more").unwrap();
    std::fs::set_permissions(&damaged, std::fs::Permissions::from_mode(0o640)).unwrap();
    let (code, out, err) = ipvet(
        &sqlite_url(&damaged),
        &["restore", "--force", text(&backup)],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        err.starts_with("warning: the database replaced could not be read: "),
        "{err}"
    );
    assert!(out.starts_with("Restored "), "{out}");
    let mode = std::fs::metadata(&damaged).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o640, "the replaced file's mode");
    let conn = open_read_only(&damaged).await;
    assert_eq!(integrity(&conn).await, ["ok"]);
    conn.close().await.unwrap();

    // Over an existing database: only with --force, and not while a server runs on it.
    let conn = db::connect(&url).await.unwrap();
    add_user(&conn, "later", Role::Viewer).await;
    let (code, _, err) = ipvet(&url, &["restore", text(&backup)]).await;
    assert_eq!(code, 1);
    let own = url.sqlite_path().unwrap();
    assert_eq!(
        err.trim(),
        format!(
            "ipvet: {} exists already; give --force to replace it",
            own.display()
        )
    );
    // No cycle is due for an hour: only the scheduler lease tells that the server runs.
    let mut server = server_with(&url, &[("IPVET_CHECK_PERIOD", "1h".as_ref())]);
    let lease_of = async |conn: &DatabaseConnection| {
        lease::Entity::find_by_id(app::server::lease::SCHEDULER.to_string())
            .one(conn)
            .await
            .unwrap()
            .filter(|l| !l.holder.is_empty())
    };
    poll(
        Duration::from_secs(60),
        Duration::from_millis(100),
        async || lease_of(&conn).await,
    )
    .await
    .expect("the server takes the scheduler lease");
    let (code, _, err) = ipvet(&url, &["restore", "--force", text(&backup)]).await;
    assert_eq!(code, 1);
    assert!(
        err.starts_with(&format!(
            "ipvet: the database {} is in use: ",
            own.display()
        )) && err.contains(&format!(":{}:", server.id().unwrap()))
            && err.contains("holds its scheduler lease until")
            && err.contains("(a server killed since keeps it until then)")
            && err.trim_end().ends_with("; stop the server first"),
        "{err}"
    );
    // Stopped cleanly (as a service manager does), the server lets its lease go at once:
    // --force replaces the database straight away, and the user added after the backup
    // is gone.
    let pid = libc::pid_t::try_from(server.id().unwrap()).unwrap();
    // SAFETY: kill(2) with a pid this test started and has not reaped yet.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let status = tokio::time::timeout(Duration::from_secs(60), server.wait())
        .await
        .expect("the server stops")
        .unwrap();
    assert!(status.success(), "{status}");
    // Every lease it held: the scheduler's and the alerts'.
    for lease in lease::Entity::find().all(&conn).await.unwrap() {
        assert!(lease.expires_at < OffsetDateTime::now_utc(), "{lease:?}");
    }
    conn.close().await.unwrap();
    let (code, out, err) = ipvet(&url, &["restore", "--force", text(&backup)]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Restored "), "{out}");
    let conn = db::connect(&url).await.unwrap();
    let names: Vec<String> = app::server::entities::user::Entity::find()
        .all(&conn)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["admin"]);
    assert_eq!(integrity(&conn).await, ["ok"]);
    assert_counts_match_rows(&conn).await;
}
