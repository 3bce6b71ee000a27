//! Integration tests: one binary, the real application over HTTP.

mod auth;
mod cli;
mod helpers;
mod inventory;
mod pages;
mod permissions;
mod schema;
mod users;
