use sea_orm::entity::prelude::*;

/// A check right before allocation asked of a site's agents: an agent claims it, probes
/// the address and writes its methods' answers; the allocation waiting for it reads them.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agent_probes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub site_id: i64,
    pub ip: String,
    /// The network's probe methods as words; `None`: the agent's own.
    pub probes: Option<String>,
    pub requested_at: TimeDateTimeWithTimeZone,
    pub expires_at: TimeDateTimeWithTimeZone,
    pub claimed_by: Option<i64>,
    pub claimed_at: Option<TimeDateTimeWithTimeZone>,
    pub answered_at: Option<TimeDateTimeWithTimeZone>,
    /// The agent's answers, as JSON.
    pub answers: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
