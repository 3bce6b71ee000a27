//! Administration: user accounts, the settings saved from the web, the audit log every
//! privileged change writes to, and the dashboard's summary of the whole inventory.

pub mod audit;
pub mod dashboard;
pub mod settings;
pub mod users;
