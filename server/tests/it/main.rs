//! Integration tests: one binary, the real application over HTTP.

mod admin;
mod agents;
mod alert_delivery;
mod alerts;
mod api;
mod auth;
mod backup;
mod checks;
mod cli;
mod hardening;
mod helpers;
mod inventory;
mod monitoring;
mod pages;
mod permissions;
mod probes;
mod scale;
mod schema;
mod search;
mod shared_cycles;
mod subnet_map;
mod transport;
mod users;
