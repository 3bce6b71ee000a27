//! Alerts: telling people when addresses become problems, problems clear, DNSBL zones or
//! cycles fail. `events` is the outbox every such change writes into, in the change's own
//! transaction; `targets` are where alerts go; `delivery` hands events out to targets and
//! sends them (`message` words them, `send` carries them), retrying with back-off.

pub mod delivery;
pub mod events;
pub mod message;
pub mod send;
pub mod targets;
