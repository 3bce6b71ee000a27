//! Server-only domain of ipvet: configuration, database, entities, authentication and the
//! operations behind the server functions. Compiled only with the `ssr` feature.

pub mod admin;
pub mod agents;
pub mod alerts;
pub mod auth;
pub mod background;
pub mod check;
pub mod compression;
pub mod config;
pub mod db;
pub mod entities;
pub mod error;
pub mod form_return;
pub mod headers;
pub mod inventory;
pub mod lease;
pub mod limits;
#[cfg(test)]
mod module_graph;
pub mod monitoring;
pub mod notice;
pub mod request_memo;
pub mod rest;
pub mod site;
pub mod state;
pub mod time_fmt;
pub mod timeout;

pub use error::respond;
pub use state::AppState;
