//! Backup and restore of the SQLite database, for `ipvet backup` and `ipvet restore`.
//!
//! A backup is `VACUUM INTO` a temporary file beside the destination: SQLite copies one
//! read transaction's snapshot, so a server writing meanwhile (WAL mode) neither waits
//! nor shows up half-done in the copy. The copy is checked (integrity, ipvet's migrations)
//! and renamed into place only then. A restore checks the backup the same way, copies it
//! beside the configured database the same way, renames it into place and migrates it up.
//! PostgreSQL has its own tools, which these commands name instead of imitating them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, SqlxSqliteConnector, Statement,
};
use time::OffsetDateTime;

use crate::server::config::DatabaseUrl;
use crate::server::entities::{check_run, lease};
use crate::server::{db, time_fmt};

/// The first bytes of every SQLite database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// A running cycle beats its heartbeat every second; one this fresh has a live process.
const HEARTBEAT_FRESH: Duration = Duration::from_secs(5);

/// Problems of `PRAGMA integrity_check` quoted in an error at most.
const PROBLEMS_SHOWN: usize = 5;

/// Why a backup or a restore did not happen. Nothing was written in place when one is
/// returned: a partial copy is only ever a temporary file, removed again.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    UsesPostgres(String),
    #[error("the database URL {0:?} names no file")]
    NoFile(DatabaseUrl),
    #[error("there is no database at {}", .0.display())]
    NoDatabase(PathBuf),
    #[error("{} exists already; give --force to replace it", .0.display())]
    Exists(PathBuf),
    #[error("{} is a directory; name the backup file in it", .0.display())]
    IsDirectory(PathBuf),
    #[error("{} is the database itself", .0.display())]
    SameFile(PathBuf),
    #[error("the directory {} does not exist", .0.display())]
    NoDirectory(PathBuf),
    #[error("{} is not an SQLite database", .0.display())]
    NotSqlite(PathBuf),
    #[error("{} fails SQLite's integrity check: {problems}", path.display())]
    Damaged { path: PathBuf, problems: String },
    #[error("{} is an SQLite database, but not ipvet's: it has no migrations table", .0.display())]
    NotIpvet(PathBuf),
    #[error(
        "{} was made by a newer ipvet: its migration {unknown} is unknown to this one, \
         which knows {known} migrations; restore it with that ipvet or a later one",
        path.display()
    )]
    Newer {
        path: PathBuf,
        unknown: String,
        known: usize,
    },
    #[error(
        "{} has migrations out of this ipvet's order ({found} where {expected} was due): \
         it was not made by ipvet's own migrations",
        path.display()
    )]
    Diverged {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("the database {} is in use: {by}; stop the server first", path.display())]
    InUse { path: PathBuf, by: String },
    #[error("SQLite takes file names as text; {} is not UTF-8", .0.display())]
    NotUtf8(PathBuf),
    #[error("cannot {what} {}: {cause}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("cannot {what} {}: {cause}", path.display())]
    Db {
        what: &'static str,
        path: PathBuf,
        cause: DbErr,
    },
}

impl BackupError {
    fn io<'a>(
        what: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(std::io::Error) -> BackupError + 'a {
        move |cause| BackupError::Io {
            what,
            path: path.to_path_buf(),
            cause,
        }
    }

    fn db<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(DbErr) -> BackupError + 'a {
        move |cause| BackupError::Db {
            what,
            path: path.to_path_buf(),
            cause,
        }
    }
}

/// What a backup wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    pub path: PathBuf,
    pub bytes: u64,
    pub schema: Schema,
}

/// What a restore put in place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    pub path: PathBuf,
    pub bytes: u64,
    /// The backup's schema, before the restored copy was migrated.
    pub from: Schema,
    /// Migrations applied to the restored copy to bring it up to this ipvet's schema.
    pub migrated: usize,
    /// The database replaced (`--force`) could not be read; why, to say so.
    pub replaced_unreadable: Option<String>,
}

/// A database's schema version: the ipvet migrations it has, of those this ipvet knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schema {
    pub applied: usize,
    pub known: usize,
    pub latest: Option<String>,
}

impl std::fmt::Display for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "schema at migration {} of {}", self.applied, self.known)?;
        if let Some(latest) = &self.latest {
            write!(f, " ({latest})")?;
        }
        Ok(())
    }
}

/// Copies the SQLite database `url` names to `to`, while servers may be using it. `to` is
/// replaced only with `force`.
pub async fn backup(url: &DatabaseUrl, to: &Path, force: bool) -> Result<Written, BackupError> {
    let from = sqlite_file(url, Tool::Backup { to })?;
    if !from.is_file() {
        return Err(BackupError::NoDatabase(from));
    }
    check_magic(&from)?;
    refuse_same_file(&from, to)?;
    if to.is_dir() {
        return Err(BackupError::IsDirectory(to.to_path_buf()));
    }
    // Told early, before the copy, though the rename below decides.
    if !force && to.exists() {
        return Err(BackupError::Exists(to.to_path_buf()));
    }
    let source = open_file(&from, false)
        .await
        .map_err(BackupError::db("open", &from))?;
    let copied = copy_beside(&source, &from, to).await;
    source.close().await.ok();
    let partial = copied?;
    let schema = verify(partial.as_ref()).await?;
    let bytes = put_in_place(partial, to, force)?;
    Ok(Written {
        path: to.to_path_buf(),
        bytes,
        schema,
    })
}

/// Puts the backup `from` in place of the SQLite database `url` names, then migrates it
/// up. An existing database is replaced only with `force`, and never while a server runs
/// on it (its scheduler lease or a cycle's heartbeat is fresh).
pub async fn restore(url: &DatabaseUrl, from: &Path, force: bool) -> Result<Restored, BackupError> {
    let to = sqlite_file(url, Tool::Restore { from })?;
    if !from.is_file() {
        return Err(BackupError::NoDatabase(from.to_path_buf()));
    }
    check_magic(from)?;
    refuse_same_file(from, &to)?;
    let exists = to.exists();
    if exists && !force {
        return Err(BackupError::Exists(to));
    }
    let source = open_file(from, true)
        .await
        .map_err(BackupError::db("open", from))?;
    let checked = async {
        let schema = inspect(&source, from).await?;
        let target = if exists { idle(&to).await? } else { None };
        let partial = copy_beside(&source, from, &to).await?;
        Ok::<_, BackupError>((schema, target, partial))
    }
    .await;
    source.close().await.ok();
    let (schema, replaced_unreadable, partial) = checked?;
    // The temporary file is private (0600); a replaced database keeps its own mode.
    if exists {
        let mode = std::fs::metadata(&to)
            .map_err(BackupError::io("read", &to))?
            .permissions();
        std::fs::set_permissions(&partial, mode).map_err(BackupError::io("write", &partial))?;
    }
    // What the old database's write-ahead log holds belongs to the old database; left
    // beside the new one, SQLite would apply it to the new file.
    for suffix in ["-wal", "-shm"] {
        let side = sidecar(&to, suffix);
        match std::fs::remove_file(&side) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::io("remove", &side)(e)),
        }
    }
    let bytes = put_in_place(partial, &to, force)?;
    let restored = db::connect(url)
        .await
        .map_err(BackupError::db("open", &to))?;
    let migrated = async {
        db::migrate(&restored).await?;
        applied_migrations(&restored).await
    }
    .await;
    restored.close().await.ok();
    let now = migrated.map_err(BackupError::db("migrate", &to))?;
    Ok(Restored {
        path: to,
        bytes,
        migrated: now.len().saturating_sub(schema.applied),
        from: schema,
        replaced_unreadable,
    })
}

/// Which command asks, for the advice on PostgreSQL.
enum Tool<'a> {
    Backup { to: &'a Path },
    Restore { from: &'a Path },
}

/// The file of an SQLite URL; on PostgreSQL, the advice to use its own tools.
fn sqlite_file(url: &DatabaseUrl, tool: Tool<'_>) -> Result<PathBuf, BackupError> {
    if !url.is_sqlite() {
        return Err(BackupError::UsesPostgres(postgres_advice(url, tool)));
    }
    url.sqlite_path()
        .ok_or_else(|| BackupError::NoFile(url.clone()))
}

/// What to run instead on PostgreSQL, with the configured database but never its
/// password (the tools read it from `PGPASSWORD` or `~/.pgpass`).
fn postgres_advice(url: &DatabaseUrl, tool: Tool<'_>) -> String {
    let db = shell_quote(&url.without_password());
    match tool {
        Tool::Backup { to } => format!(
            "the database is PostgreSQL, which ipvet does not copy itself; back it up with \
             pg_dump, which takes a consistent snapshot while servers run:\n  \
             pg_dump --format=custom --file={} --dbname={db}\n\
             and restore it with pg_restore (psql -f for a plain SQL dump). The password is \
             not shown: give it in PGPASSWORD or ~/.pgpass",
            shell_quote(&to.display().to_string())
        ),
        Tool::Restore { from } => format!(
            "the database is PostgreSQL, which ipvet does not restore itself; stop the \
             servers and restore a pg_dump backup with pg_restore:\n  \
             pg_restore --clean --if-exists --dbname={db} {}\n\
             (a plain SQL dump: psql --dbname={db} -f FILE), then run ipvet migrate. The \
             password is not shown: give it in PGPASSWORD or ~/.pgpass",
            shell_quote(&from.display().to_string())
        ),
    }
}

/// `s` as one word for a POSIX shell.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./_-".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Refuses a file that does not start as an SQLite database does, before SQLite is asked
/// to open it and answers less plainly.
fn check_magic(path: &Path) -> Result<(), BackupError> {
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(BackupError::io("open", path))?;
    match file.read_exact(&mut head) {
        Ok(()) if &head == SQLITE_MAGIC => Ok(()),
        Ok(()) => Err(BackupError::NotSqlite(path.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            Err(BackupError::NotSqlite(path.to_path_buf()))
        }
        Err(e) => Err(BackupError::io("read", path)(e)),
    }
}

/// Refuses to copy the database onto itself (`--force` would replace it by its copy
/// under a running server).
fn refuse_same_file(database: &Path, other: &Path) -> Result<(), BackupError> {
    match (database.canonicalize(), other.canonicalize()) {
        (Ok(a), Ok(b)) if a == b => Err(BackupError::SameFile(other.to_path_buf())),
        _ => Ok(()),
    }
}

/// One connection to an existing SQLite file, never creating it, and not in WAL mode
/// unless the file already is: a backup file stays one self-contained file.
async fn open_file(path: &Path, read_only: bool) -> Result<DatabaseConnection, DbErr> {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .read_only(read_only)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e)))?;
    Ok(SqlxSqliteConnector::from_sqlx_sqlite_pool(pool))
}

/// `path` with `suffix` appended to its file name (SQLite's `-wal`, `-shm`).
fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A copy of `source` (the file `from`) in a temporary file beside `to`, removed again
/// unless it is put in place.
async fn copy_beside(
    source: &DatabaseConnection,
    from: &Path,
    to: &Path,
) -> Result<tempfile::TempPath, BackupError> {
    let dir = directory_of(to);
    if !dir.is_dir() {
        return Err(BackupError::NoDirectory(dir.to_path_buf()));
    }
    let partial = tempfile::Builder::new()
        .prefix(".ipvet-copy-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(BackupError::io("make a temporary file in", dir))?
        .into_temp_path();
    let name = partial
        .to_str()
        .ok_or_else(|| BackupError::NotUtf8(partial.to_path_buf()))?;
    // VACUUM INTO writes into an empty file, such as the one just made.
    source
        .execute(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "VACUUM INTO ?",
            [name.into()],
        ))
        .await
        .map_err(BackupError::db("copy", from))?;
    Ok(partial)
}

/// Checks a copy, as it will be put in place: intact, and ipvet's.
async fn verify(path: &Path) -> Result<Schema, BackupError> {
    let copy = open_file(path, true)
        .await
        .map_err(BackupError::db("open", path))?;
    let schema = inspect(&copy, path).await;
    copy.close().await.ok();
    schema
}

/// Renames a finished copy to `to` (only over nothing, unless `force`), durably; answers
/// its size.
fn put_in_place(partial: tempfile::TempPath, to: &Path, force: bool) -> Result<u64, BackupError> {
    // SQLite leaves syncing a VACUUM INTO copy to the caller.
    std::fs::File::open(&partial)
        .and_then(|f| f.sync_all())
        .map_err(BackupError::io("write", &partial))?;
    let bytes = std::fs::metadata(&partial)
        .map_err(BackupError::io("read", &partial))?
        .len();
    let placed = if force {
        partial.persist(to)
    } else {
        partial.persist_noclobber(to)
    };
    placed.map_err(|e| match e.error.kind() {
        std::io::ErrorKind::AlreadyExists => BackupError::Exists(to.to_path_buf()),
        _ => BackupError::io("write", to)(e.error),
    })?;
    // The rename itself lasts only once the directory is synced.
    let dir = directory_of(to);
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(BackupError::io("sync", dir))?;
    Ok(bytes)
}

/// The directory a file is in; `.` for a bare file name.
fn directory_of(file: &Path) -> &Path {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Checks that `db` (the file `path`) is intact and ipvet's, of this version or an
/// earlier one, and answers its schema version.
async fn inspect(db: &DatabaseConnection, path: &Path) -> Result<Schema, BackupError> {
    let rows = db
        .query_all(Statement::from_string(
            DbBackend::Sqlite,
            "PRAGMA integrity_check",
        ))
        .await
        .map_err(BackupError::db("check", path))?;
    let mut problems = Vec::new();
    for row in &rows {
        let line: String = row
            .try_get_by_index(0)
            .map_err(BackupError::db("check", path))?;
        if line != "ok" {
            problems.push(line);
        }
    }
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(PROBLEMS_SHOWN);
        problems.truncate(PROBLEMS_SHOWN);
        let mut problems = problems.join("; ");
        if more > 0 {
            problems.push_str(&format!("; and {more} more"));
        }
        return Err(BackupError::Damaged {
            path: path.to_path_buf(),
            problems,
        });
    }
    let has_table = db
        .query_one(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations'",
        ))
        .await
        .map_err(BackupError::db("read", path))?
        .is_some();
    if !has_table {
        return Err(BackupError::NotIpvet(path.to_path_buf()));
    }
    let applied = applied_migrations(db)
        .await
        .map_err(BackupError::db("read", path))?;
    let known = known_migrations();
    compare_migrations(&known, &applied).map_err(|m| match m {
        Mismatch::Unknown(unknown) => BackupError::Newer {
            path: path.to_path_buf(),
            unknown,
            known: known.len(),
        },
        Mismatch::OutOfOrder { found, expected } => BackupError::Diverged {
            path: path.to_path_buf(),
            found,
            expected,
        },
    })?;
    Ok(Schema {
        applied: applied.len(),
        known: known.len(),
        latest: applied.last().cloned(),
    })
}

/// The migrations this ipvet knows, in the order they apply.
fn known_migrations() -> Vec<String> {
    Migrator::migrations()
        .iter()
        .map(|m| m.name().to_string())
        .collect()
}

/// The migrations applied to `db`, in the order they apply (their names begin with the
/// date, as SeaORM orders them).
async fn applied_migrations(db: &DatabaseConnection) -> Result<Vec<String>, DbErr> {
    let rows = db
        .query_all(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations ORDER BY version",
        ))
        .await?;
    rows.iter().map(|r| r.try_get_by_index(0)).collect()
}

/// How a database's migrations fail to be a beginning of the known ones.
#[derive(Debug, PartialEq, Eq)]
enum Mismatch {
    /// A migration this ipvet does not have: a newer ipvet made the database.
    Unknown(String),
    /// Known migrations, but not the known beginning: one is missing before a later one.
    OutOfOrder { found: String, expected: String },
}

/// Whether `applied` is a beginning of `known`, so migrating up brings it to the end.
fn compare_migrations(known: &[String], applied: &[String]) -> Result<(), Mismatch> {
    if let Some(unknown) = applied.iter().find(|a| !known.contains(a)) {
        return Err(Mismatch::Unknown(unknown.clone()));
    }
    match applied.iter().zip(known).find(|(a, k)| a != k) {
        Some((found, expected)) => Err(Mismatch::OutOfOrder {
            found: found.clone(),
            expected: expected.clone(),
        }),
        None => Ok(()),
    }
}

/// Refuses a database a live process uses; otherwise folds its write-ahead log into the
/// file, so that nothing of it is lost should the restore stop before the rename. A file
/// that cannot be read as ipvet's database is no server's: the answer says why, and it
/// may be replaced.
async fn idle(path: &Path) -> Result<Option<String>, BackupError> {
    let db = match open_file(path, false).await {
        Ok(db) => db,
        Err(e) => return Ok(Some(e.to_string())),
    };
    let user = async {
        let now = OffsetDateTime::now_utc();
        // Any live lease means a server runs; of several, the message names one by a
        // stable order (the scheduler's before the alerts').
        let held = lease::Entity::find()
            .filter(lease::Column::Holder.ne(""))
            .filter(lease::Column::ExpiresAt.gt(now))
            .order_by_desc(lease::Column::Name)
            .one(&db)
            .await?;
        if let Some(l) = held {
            return Ok(Some(format!(
                "{} holds its {} lease until {} (a server killed since keeps it until then)",
                l.holder,
                l.name,
                time_fmt::show(l.expires_at)
            )));
        }
        let beating = check_run::Entity::find()
            .filter(check_run::Column::FinishedAt.is_null())
            .filter(check_run::Column::HeartbeatAt.gte(now - HEARTBEAT_FRESH))
            .one(&db)
            .await?;
        Ok::<_, DbErr>(beating.map(|run| {
            format!(
                "check cycle {} is running on {}",
                run.id,
                run.runner.as_deref().unwrap_or("another instance")
            )
        }))
    }
    .await;
    let answer = match user {
        Ok(Some(by)) => Err(BackupError::InUse {
            path: path.to_path_buf(),
            by,
        }),
        Ok(None) => db
            .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .map(|_| None)
            .map_err(BackupError::db("checkpoint", path)),
        Err(e) => Ok(Some(e.to_string())),
    };
    db.close().await.ok();
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_backup_may_lag_behind_but_not_run_ahead_or_differ() {
        let known = names(&["m1_a", "m2_b", "m3_c"]);
        let table: &[(&[&str], Result<(), Mismatch>)] = &[
            (&[], Ok(())),
            (&["m1_a"], Ok(())),
            (&["m1_a", "m2_b", "m3_c"], Ok(())),
            (
                &["m1_a", "m2_b", "m3_c", "m4_d"],
                Err(Mismatch::Unknown("m4_d".into())),
            ),
            (&["m1_a", "m9_x"], Err(Mismatch::Unknown("m9_x".into()))),
            (
                &["m1_a", "m3_c"],
                Err(Mismatch::OutOfOrder {
                    found: "m3_c".into(),
                    expected: "m2_b".into(),
                }),
            ),
            (
                &["m2_b"],
                Err(Mismatch::OutOfOrder {
                    found: "m2_b".into(),
                    expected: "m1_a".into(),
                }),
            ),
        ];
        for (applied, expected) in table {
            assert_eq!(
                &compare_migrations(&known, &names(applied)),
                expected,
                "{applied:?}"
            );
        }
    }

    #[test]
    fn known_migrations_are_in_the_order_the_database_lists_them() {
        let known = known_migrations();
        let mut sorted = known.clone();
        sorted.sort();
        assert_eq!(known, sorted);
    }

    #[test]
    fn postgres_advice_names_the_tools_and_the_database_but_not_the_password() {
        let url: DatabaseUrl =
            crate::server::config::ConfigValue::parse_value("postgres://ipvet:s3cret@db/ipvet")
                .unwrap();
        let backup = postgres_advice(
            &url,
            Tool::Backup {
                to: Path::new("/var/backups/ipvet it.dump"),
            },
        );
        assert!(backup.contains("pg_dump --format=custom --file='/var/backups/ipvet it.dump' --dbname=postgres://ipvet@db/ipvet"), "{backup}");
        let restore = postgres_advice(
            &url,
            Tool::Restore {
                from: Path::new("x.dump"),
            },
        );
        assert!(
            restore.contains(
                "pg_restore --clean --if-exists --dbname=postgres://ipvet@db/ipvet x.dump"
            ),
            "{restore}"
        );
        assert!(restore.contains("psql"), "{restore}");
        assert!(!backup.contains("s3cret") && !restore.contains("s3cret"));
    }

    #[test]
    fn shell_words_are_quoted_only_when_they_must_be() {
        assert_eq!(shell_quote("/srv/ipvet.dump"), "/srv/ipvet.dump");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(
            shell_quote("postgres://u@h/d?sslmode=require"),
            "'postgres://u@h/d?sslmode=require'"
        );
        assert_eq!(shell_quote(""), "''");
    }
}
