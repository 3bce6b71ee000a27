use sea_orm::entity::prelude::*;

/// One message to one target: a digest of the events pending for it, or a test. Its row
/// is the target's delivery log.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub target_id: i64,
    pub created_at: TimeDateTimeWithTimeZone,
    /// Sent by "send a test", with no events.
    pub test: bool,
    /// Events it tells of.
    pub events: i64,
    pub first_event_id: Option<i64>,
    pub last_event_id: Option<i64>,
    /// One of `migrations::ALERT_DELIVERY_STATUSES`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: TimeDateTimeWithTimeZone,
    pub claimed_until: Option<TimeDateTimeWithTimeZone>,
    pub last_attempt_at: Option<TimeDateTimeWithTimeZone>,
    pub delivered_at: Option<TimeDateTimeWithTimeZone>,
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
