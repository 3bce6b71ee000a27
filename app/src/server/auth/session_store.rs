//! The session store: tower-sessions' own SQL stores, chosen by the database backend at
//! start. This enum only dispatches; the stores do the work.

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

const TABLE: &str = "sessions";

#[derive(Clone, Debug)]
pub enum SqlSessionStore {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SqlSessionStore {
    /// A store on the same pool as the rest of ipvet.
    pub fn for_db(db: &DatabaseConnection) -> Self {
        match db.get_database_backend() {
            DbBackend::Sqlite => SqlSessionStore::Sqlite(
                SqliteStore::new(db.get_sqlite_connection_pool().clone())
                    .with_table_name(TABLE)
                    .expect("valid table name"),
            ),
            DbBackend::Postgres => SqlSessionStore::Postgres(
                PostgresStore::new(db.get_postgres_connection_pool().clone())
                    .with_schema_name("public")
                    .and_then(|s| s.with_table_name(TABLE))
                    .expect("valid table name"),
            ),
            DbBackend::MySql => unreachable!("ipvet does not build MySQL support"),
        }
    }

    pub async fn migrate(&self) -> Result<(), sea_orm::sqlx::Error> {
        match self {
            SqlSessionStore::Sqlite(s) => s.migrate().await,
            SqlSessionStore::Postgres(s) => s.migrate().await,
        }
    }
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            SqlSessionStore::Sqlite(s) => s.create(record).await,
            SqlSessionStore::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            SqlSessionStore::Sqlite(s) => s.save(record).await,
            SqlSessionStore::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            SqlSessionStore::Sqlite(s) => s.load(id).await,
            SqlSessionStore::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            SqlSessionStore::Sqlite(s) => s.delete(id).await,
            SqlSessionStore::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for SqlSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            SqlSessionStore::Sqlite(s) => s.delete_expired().await,
            SqlSessionStore::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// The session layer: cookies HttpOnly, SameSite=Strict, Secure unless configured off;
/// the store's expiry is the idle timeout (the guard enforces the absolute lifetime).
pub fn layer(
    db: &DatabaseConnection,
    config: &crate::server::config::Config,
) -> tower_sessions::SessionManagerLayer<SqlSessionStore> {
    let idle = time::Duration::try_from(config.session_idle_timeout)
        .unwrap_or(time::Duration::minutes(30));
    tower_sessions::SessionManagerLayer::new(SqlSessionStore::for_db(db))
        .with_name("ipvet_session")
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Strict)
        .with_secure(config.secure_cookies)
        .with_expiry(tower_sessions::Expiry::OnInactivity(idle))
}

/// Deletes expired sessions once a minute, for as long as the server runs.
pub async fn delete_expired_forever(store: SqlSessionStore) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = store.delete_expired().await {
            tracing::warn!(cause = %e, "deleting expired sessions failed");
        }
    }
}
