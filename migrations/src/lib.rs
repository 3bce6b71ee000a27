//! Schema migrations for ipvet, one file per change. A migration that has shipped is never
//! edited: a later change adds a new file and registers it below.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_initial;
mod m20261122_000002_network_inventory;
mod m20261122_000003_check_engine;
mod m20261122_000004_admin_pages;
mod m20261122_000005_api_tokens;
mod m20261122_000006_idempotency_keys;
mod m20261122_000007_scheduler_lease;
mod m20261130_000008_shared_cycles;
mod m20261201_000009_network_check_policy;
mod m20261202_000010_user_names_and_sessions;
mod m20261206_000011_event_holder;
mod m20261206_000012_lease_taken_at;
mod m20261206_000013_search_indexes;
mod m20261207_000014_alert_events;
mod m20261207_000015_alert_targets;
mod m20261207_000016_sites_agents;

/// Address statuses, in the order the lifecycle introduces them. The schema constrains
/// `addresses.status` to exactly these values on both backends.
pub const ADDRESS_STATUSES: [&str; 6] = [
    "free",
    "allocated",
    "reserved",
    "being_checked",
    "used_in_network",
    "blocked_by_dnsbl",
];

/// What an alert event can be about; constrained in the schema like statuses, and spelled
/// the same by `app::server::alerts::events::EventKind`.
pub const ALERT_EVENT_KINDS: [&str; 9] = [
    "problem",
    "cleared",
    "zone_failing",
    "zone_healthy",
    "cycle_failed",
    "cycle_interrupted",
    "cycle_overdue",
    "prober_unusable",
    "prober_usable",
];

/// Where alerts go: a signed JSON webhook, a chat webhook (Slack's and Teams' `{"text"}`
/// shape), e-mail. Spelled the same by `app::model::AlertTargetKind`.
pub const ALERT_TARGET_KINDS: [&str; 3] = ["webhook", "chat", "email"];

/// How an e-mail target's SMTP connection is protected.
pub const SMTP_SECURITY: [&str; 3] = ["starttls", "tls", "none"];

/// A delivery's state: waiting (or retrying), delivered, or given up after its last try.
pub const ALERT_DELIVERY_STATUSES: [&str; 3] = ["pending", "delivered", "failed"];

/// Roles a user can hold; constrained in the schema like statuses.
pub const ROLES: [&str; 3] = ["admin", "operator", "viewer"];

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_initial::Migration),
            Box::new(m20261122_000002_network_inventory::Migration),
            Box::new(m20261122_000003_check_engine::Migration),
            Box::new(m20261122_000004_admin_pages::Migration),
            Box::new(m20261122_000005_api_tokens::Migration),
            Box::new(m20261122_000006_idempotency_keys::Migration),
            Box::new(m20261122_000007_scheduler_lease::Migration),
            Box::new(m20261130_000008_shared_cycles::Migration),
            Box::new(m20261201_000009_network_check_policy::Migration),
            Box::new(m20261202_000010_user_names_and_sessions::Migration),
            Box::new(m20261206_000011_event_holder::Migration),
            Box::new(m20261206_000012_lease_taken_at::Migration),
            Box::new(m20261206_000013_search_indexes::Migration),
            Box::new(m20261207_000014_alert_events::Migration),
            Box::new(m20261207_000015_alert_targets::Migration),
            Box::new(m20261207_000016_sites_agents::Migration),
        ]
    }
}
