//! Opening and migrating the database, SQLite (embedded default) or PostgreSQL.

use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, TransactionTrait,
};

use crate::server::auth::session_store::SqlSessionStore;
use crate::server::config::DatabaseUrl;

/// Opens the database. SQLite runs in WAL mode with a busy timeout so readers never block
/// the writer and short write contention waits instead of failing.
///
/// Neither pool checks a connection each time it is handed out, which sqlx does by default:
/// that was a round trip to SQLite's thread, or to PostgreSQL, before every statement,
/// beside the one sqlx makes as it takes a connection back (which no option turns off). A
/// SQLite connection is a file opened in this process, which cannot hang up. A PostgreSQL
/// connection can (a restart, a firewall dropping idle flows), so one that has lain idle for
/// [`IDLE_BEFORE_CHECK`] is checked before it is used again, as connection pools such as
/// HikariCP do; one in steady use shows a broken link by failing its statement, and is then
/// dropped by sqlx.
pub async fn connect(url: &DatabaseUrl) -> Result<DatabaseConnection, DbErr> {
    let mut opts = ConnectOptions::new(url.as_str());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10))
        .test_before_acquire(false);
    if url.is_sqlite() {
        opts.max_connections(8)
            .min_connections(1)
            .map_sqlx_sqlite_opts(|o| {
                o.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    // A statement's rows wait for their reader in a channel; at sqlx's 50,
                    // SQLite's thread stopped and was woken again twice for a network
                    // page's 101 rows, and its thread switches were nearly a fifth of the
                    // server's time under load. A page's rows, or its map's cells, now fit
                    // at once.
                    .row_buffer_size(512)
            });
        Database::connect(opts).await
    } else {
        opts.max_connections(16);
        connect_postgres(url, opts).await
    }
}

/// How long a PostgreSQL connection may lie idle before it is checked again.
pub const IDLE_BEFORE_CHECK: Duration = Duration::from_secs(5);

/// PostgreSQL's pool, built here rather than by SeaORM so that it can check only
/// connections that have lain idle ([`connect`]).
async fn connect_postgres(
    url: &DatabaseUrl,
    opts: ConnectOptions,
) -> Result<DatabaseConnection, DbErr> {
    use sea_orm::sqlx::postgres::{PgConnectOptions, Postgres};
    use sea_orm::sqlx::{ConnectOptions as _, Connection};
    let refused = |e| DbErr::Conn(sea_orm::RuntimeErr::SqlxError(e));
    let connect = url
        .as_str()
        .parse::<PgConnectOptions>()
        .map_err(refused)?
        .disable_statement_logging();
    let pool = opts
        .sqlx_pool_options::<Postgres>()
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= IDLE_BEFORE_CHECK {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .connect_with(connect)
        .await
        .map_err(refused)?;
    Ok(DatabaseConnection::from(pool))
}

/// Why [`open`] failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot open the database {url:?}: {cause}")]
    Connect { url: DatabaseUrl, cause: DbErr },
    #[error("cannot migrate the database: {0}")]
    Migrate(DbErr),
}

/// Opens the database and brings its schema up to date: how the server and every command
/// start.
pub async fn open(url: &DatabaseUrl) -> Result<DatabaseConnection, OpenError> {
    let db = connect(url).await.map_err(|cause| OpenError::Connect {
        url: url.clone(),
        cause,
    })?;
    migrate(&db).await.map_err(OpenError::Migrate)?;
    Ok(db)
}

/// Brings the schema up to date: ipvet's migrations, then the session store's own table.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await?;
    SqlSessionStore::for_db(db)
        .migrate()
        .await
        .map_err(|e| DbErr::Migration(format!("session table: {e}")))
}

/// Starts a transaction that will write. On SQLite it takes the write lock at once: a
/// deferred transaction that reads before it writes fails with SQLITE_BUSY_SNAPSHOT when
/// another connection writes in between, where waiting (the busy timeout) is the right
/// answer. On PostgreSQL it is a plain transaction.
pub async fn begin_write(
    db: &(impl TransactionTrait + ConnectionTrait),
) -> Result<DatabaseTransaction, DbErr> {
    let txn = db.begin().await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // Any UPDATE starts SQLite's write transaction, even one that matches no row.
        txn.execute_unprepared("UPDATE settings SET key = key WHERE 0")
            .await?;
    }
    Ok(txn)
}
