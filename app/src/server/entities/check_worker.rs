use sea_orm::entity::prelude::*;

/// One instance or agent working on one check cycle. Its id is the fencing token its claims on
/// addresses carry; it is live while it renews `expires_at` and has not left.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "check_workers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub run_id: i64,
    /// The instance (see `lease::instance_id`).
    pub runner: String,
    pub joined_at: TimeDateTimeWithTimeZone,
    pub expires_at: TimeDateTimeWithTimeZone,
    pub left_at: Option<TimeDateTimeWithTimeZone>,
    /// Verdicts this worker wrote for the cycle.
    pub done: i64,
    /// The agent this worker stands for; `None`: an ipvet instance.
    pub agent_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
