//! One module per page.

pub mod address;
pub mod dashboard;
pub mod login;
pub mod network;
pub mod networks;
pub mod users;
