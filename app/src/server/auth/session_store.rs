//! The session store: tower-sessions' own SQL stores, chosen by the database backend at
//! start. This enum only dispatches; the stores do the work.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

const TABLE: &str = "sessions";

/// The store, and a count of the statements it runs: the sessions table is read beside
/// the rest of a page's reads, so the tests that bound what a page costs count it too.
#[derive(Clone, Debug)]
pub struct SqlSessionStore {
    backend: Backend,
    statements: Option<Arc<AtomicU64>>,
}

#[derive(Clone, Debug)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl SqlSessionStore {
    /// A store on the same pool as the rest of ipvet.
    pub fn for_db(db: &DatabaseConnection) -> Self {
        let backend = match db.get_database_backend() {
            DbBackend::Sqlite => Backend::Sqlite(
                SqliteStore::new(db.get_sqlite_connection_pool().clone())
                    .with_table_name(TABLE)
                    .expect("valid table name"),
            ),
            DbBackend::Postgres => Backend::Postgres(
                PostgresStore::new(db.get_postgres_connection_pool().clone())
                    .with_schema_name("public")
                    .and_then(|s| s.with_table_name(TABLE))
                    .expect("valid table name"),
            ),
            DbBackend::MySql => unreachable!("ipvet does not build MySQL support"),
        };
        SqlSessionStore {
            backend,
            statements: None,
        }
    }

    /// The store, adding the statements it runs to `statements`.
    pub fn counted(mut self, statements: Arc<AtomicU64>) -> Self {
        self.statements = Some(statements);
        self
    }

    /// Counts `n` statements: a load, a save or a delete is one; a create checks the id is
    /// new and inserts, two.
    fn ran(&self, n: u64) {
        if let Some(counter) = &self.statements {
            counter.fetch_add(n, Ordering::Relaxed);
        }
    }

    pub async fn migrate(&self) -> Result<(), sea_orm::sqlx::Error> {
        match &self.backend {
            Backend::Sqlite(s) => s.migrate().await,
            Backend::Postgres(s) => s.migrate().await,
        }
    }
}

#[async_trait]
impl SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.ran(2);
        match &self.backend {
            Backend::Sqlite(s) => s.create(record).await,
            Backend::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.ran(1);
        match &self.backend {
            Backend::Sqlite(s) => s.save(record).await,
            Backend::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        self.ran(1);
        match &self.backend {
            Backend::Sqlite(s) => s.load(id).await,
            Backend::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.ran(1);
        match &self.backend {
            Backend::Sqlite(s) => s.delete(id).await,
            Backend::Postgres(s) => s.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for SqlSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match &self.backend {
            Backend::Sqlite(s) => s.delete_expired().await,
            Backend::Postgres(s) => s.delete_expired().await,
        }
    }
}

/// The session layer: cookies HttpOnly, SameSite=Strict, Secure unless configured off;
/// the store's expiry is the idle timeout (the guard enforces the absolute lifetime).
pub fn layer(
    state: &crate::server::AppState,
) -> tower_sessions::SessionManagerLayer<SqlSessionStore> {
    let idle = time::Duration::try_from(state.config().session_idle_timeout)
        .unwrap_or(time::Duration::minutes(30));
    let store = SqlSessionStore::for_db(&state.db).counted(state.statements.clone());
    tower_sessions::SessionManagerLayer::new(store)
        .with_name("ipvet_session")
        .with_http_only(true)
        .with_same_site(tower_sessions::cookie::SameSite::Strict)
        .with_secure(state.config().secure_cookies)
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
