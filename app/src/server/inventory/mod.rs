//! The inventory: networks and their addresses, the lifecycle an address moves through,
//! the ways addresses come in and go out (allocation with idempotency keys, CSV), and the
//! sites networks belong to.

pub mod addresses;
pub mod csv;
pub mod idempotency;
pub mod ip;
pub mod lifecycle;
pub mod map;
pub mod network_page;
pub mod networks;
pub mod search;
pub mod sites;
