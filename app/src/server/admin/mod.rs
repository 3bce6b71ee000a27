//! Administration: user accounts, the settings saved from the web, the audit log every
//! privileged change writes to, the dashboard's summary of the whole inventory, and
//! backups of the database.

pub mod audit;
pub mod backup;
pub mod dashboard;
pub mod settings;
pub mod users;
