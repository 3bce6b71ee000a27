//! One module per page.

pub mod account;
pub mod address;
pub mod alerts;
pub mod api_reference;
pub mod audit;
pub mod checks;
pub mod dashboard;
pub mod dnsbl;
pub mod login;
pub mod network;
pub mod networks;
pub mod on_demand;
pub mod problems;
pub mod search;
pub mod settings;
pub mod sites;
pub mod tokens;
pub mod users;
