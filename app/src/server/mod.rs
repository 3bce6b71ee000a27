//! Server-only domain of ipvet: configuration, database, entities, authentication and the
//! operations behind the server functions. Compiled only with the `ssr` feature.

pub mod addresses;
pub mod admin;
pub mod auth;
pub mod check;
pub mod check_runs;
pub mod config;
pub mod csv_export;
pub mod csv_import;
pub mod db;
pub mod dnsbl_zones;
pub mod entities;
pub mod error;
pub mod idempotency;
pub mod ip;
pub mod lease;
pub mod lifecycle;
pub mod networks;
pub mod problem_days;
pub mod problems;
pub mod rest;
pub mod state;
pub mod time_fmt;

pub use error::respond;
pub use state::AppState;
