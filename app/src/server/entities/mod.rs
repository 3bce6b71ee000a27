//! SeaORM entities, kept as a generator would write them; behaviour that belongs to one
//! entity lives in a file beside it (`address_rows`), the rest in the domain modules.

pub mod address;
pub mod address_event;
pub mod address_rows;
pub mod agent;
pub mod agent_probe;
pub mod alert_delivery;
pub mod alert_event;
pub mod alert_pending;
pub mod alert_target;
pub mod api_token;
pub mod audit_log;
pub mod check_run;
pub mod check_worker;
pub mod dnsbl_zone;
pub mod idempotency_key;
pub mod lease;
pub mod network;
pub mod network_count;
pub mod problem_day;
pub mod setting;
pub mod site;
pub mod user;
