//! Alerts: telling people when addresses become problems, problems clear, DNSBL zones or
//! cycles fail. `events` is the outbox every such change writes into, in the change's own
//! transaction.

pub mod events;
