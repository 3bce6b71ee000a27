use sea_orm::entity::prelude::*;

/// A named lease: which instance holds it, until when, and how often it changed hands.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leases")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    pub holder: String,
    /// Grows by one each time the lease changes hands (a fencing token).
    pub token: i64,
    pub expires_at: TimeDateTimeWithTimeZone,
    /// When the holder took the lease (renewals keep it); none before anyone has.
    pub taken_at: Option<TimeDateTimeWithTimeZone>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
