use sea_orm::entity::prelude::*;

/// Problem addresses at the end of a day (as the day's last cycle left them).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "problem_days")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: TimeDate,
    pub used_in_network: i64,
    pub blocked_by_dnsbl: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
