//! ipvet's application crate: pages and server functions shared by the server (`ssr`) and
//! the browser (`hydrate`), plus the server-only domain in [`server`].
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod error;
pub mod model;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod server;

pub use app::{shell, App};
