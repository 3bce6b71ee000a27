//! The one state the router and every server function share.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;

use super::auth::throttle::LoginThrottle;
use super::check::{Engine, SharedEngine};
use super::config::Config;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub leptos_options: LeptosOptions,
    pub throttle: Arc<LoginThrottle>,
    /// The check engine; one per process.
    pub checks: SharedEngine,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config, leptos_options: LeptosOptions) -> Self {
        let checks = Engine::new(&config);
        AppState {
            checks,
            db,
            config: Arc::new(config),
            leptos_options,
            throttle: Arc::new(LoginThrottle::default()),
        }
    }
}
