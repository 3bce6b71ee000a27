use sea_orm::entity::prelude::*;

/// One thing alerts may tell about, written with the change it is about (the outbox).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: TimeDateTimeWithTimeZone,
    /// One of `migrations::ALERT_EVENT_KINDS`.
    pub kind: String,
    /// The network of the address, for alert targets that filter by network.
    pub network_id: Option<i64>,
    /// The address as shown, for address events.
    pub address: Option<String>,
    /// The address's status after the change, for address events.
    pub status: Option<String>,
    /// What happened, in words: the evidence, the reason, the error.
    pub detail: String,
    /// The check cycle it happened in, if one.
    pub run_id: Option<i64>,
    /// The host an instance's own event is about (its prober's).
    pub source: Option<String>,
    /// Handed out to the alert targets it matches (`alerts::delivery`).
    pub dispatched: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
