use sea_orm::entity::prelude::*;

use crate::model::AddressStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "addresses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub network_id: i64,
    #[sea_orm(column_type = "Binary(16)", unique)]
    pub ip: Vec<u8>,
    pub status: AddressStatus,
    pub owner: String,
    pub hostname: String,
    pub note: String,
    pub status_changed_at: TimeDateTimeWithTimeZone,
    pub last_checked_at: Option<TimeDateTimeWithTimeZone>,
    pub problem: Option<String>,
    pub problem_since: Option<TimeDateTimeWithTimeZone>,
    /// Checks failed since the address last passed, for the Problem IPs page.
    pub failed_checks: i64,
    /// Why the last check could not tell, while that is the latest news.
    pub last_check_error: Option<String>,
    /// The DNSBL zone that lists the address, while it is blocked.
    pub problem_zone: Option<String>,
    /// The fencing token (`check_workers.id`) of the cycle worker checking the address
    /// now; only a live worker's claim counts.
    pub claim: Option<i64>,
    /// The last cycle that wrote a verdict for the address.
    pub checked_run: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::network::Entity",
        from = "Column::NetworkId",
        to = "super::network::Column::Id"
    )]
    Network,
}

impl Related<super::network::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Network.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
