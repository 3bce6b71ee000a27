use sea_orm::entity::prelude::*;

use crate::model::Trigger;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "check_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub trigger: Trigger,
    pub started_at: TimeDateTimeWithTimeZone,
    pub finished_at: Option<TimeDateTimeWithTimeZone>,
    pub total: i64,
    pub done: i64,
    pub freed: i64,
    pub still_used: i64,
    pub blocked: i64,
    pub unknown: i64,
    pub zones_unhealthy: i32,
    pub error: Option<String>,
    /// Who asked the running cycle to stop; the cycle reads it as it goes.
    pub cancelled_by: Option<String>,
    /// When the running cycle last showed it was alive (every second).
    pub heartbeat_at: Option<TimeDateTimeWithTimeZone>,
    /// The instance that ran the cycle (see `lease::instance_id`).
    pub runner: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
