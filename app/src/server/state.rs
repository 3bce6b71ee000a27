//! The one state the router and every server function share.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use crate::server::admin::settings::Live;
use crate::server::auth::password::Verifier;
use crate::server::auth::throttle::LoginThrottle;
use crate::server::check::{Engine, SharedEngine};
use crate::server::config::Config;
use crate::server::monitoring::requests::RequestCounters;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: DatabaseConnection,
    /// The configuration, with the settings saved on the config page.
    pub settings: Arc<Live>,
    pub leptos_options: LeptosOptions,
    pub throttle: Arc<LoginThrottle>,
    /// Bounds sign-in's password checks.
    pub password_checks: Arc<Verifier>,
    /// The check engine; one per process.
    pub checks: SharedEngine,
    /// Statements run through `db` since start, background jobs' left out
    /// ([`crate::server::background`]): what requests cost the database, for the tests that guard it.
    pub statements: Arc<AtomicU64>,
    /// HTTP requests answered, for `/metrics`.
    pub requests: RequestCounters,
    /// Set once the server is told to stop: requests held open (agents' long polls) answer
    /// at once instead of holding up the shutdown.
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
}

impl AppState {
    pub fn new(mut db: DatabaseConnection, settings: Live, leptos_options: LeptosOptions) -> Self {
        let checks = Engine::new(&settings.current());
        let statements = Arc::new(AtomicU64::new(0));
        let counter = statements.clone();
        db.set_metric_callback(move |info| {
            if !crate::server::background::running() {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            tracing::trace!(
                target: "ipvet::statements",
                elapsed_ms = info.elapsed.as_secs_f64() * 1000.0,
                sql = %info.statement.sql
            );
        });
        AppState {
            statements,
            checks,
            db,
            settings: Arc::new(settings),
            leptos_options,
            throttle: Arc::new(LoginThrottle::default()),
            password_checks: Arc::new(Verifier::default()),
            requests: RequestCounters::default(),
            stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
        }
    }

    /// The configuration in effect now.
    pub fn config(&self) -> Arc<Config> {
        self.settings.current()
    }
}
