//! Server functions, grouped by area. Each one's body starts with the role check; the
//! permission-matrix test enumerates every registered function to prove it.

pub mod addresses;
pub mod alerts;
pub mod audit;
pub mod auth;
pub mod checks;
pub mod dashboard;
pub mod dnsbl;
pub mod networks;
pub mod problems;
pub mod search;
pub mod settings;
pub mod sites;
pub mod tokens;
pub mod users;
