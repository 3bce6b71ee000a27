use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "networks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub cidr: String,
    pub family: i16,
    pub prefix_len: i16,
    #[sea_orm(column_type = "Binary(16)")]
    pub first_ip: Vec<u8>,
    #[sea_orm(column_type = "Binary(16)")]
    pub last_ip: Vec<u8>,
    pub name: String,
    pub description: String,
    pub created_at: TimeDateTimeWithTimeZone,
    /// Every allocatable address has a row (networks up to 2^20 addresses); otherwise a
    /// missing row means free.
    pub materialized: bool,
    /// The built-in probe methods this network's addresses are checked with, as words
    /// (`icmp arp`); `None` keeps the configured ones.
    pub probes: Option<String>,
    /// Whether the DNSBL half of the check applies to this network's addresses.
    pub dnsbl: bool,
    /// The site whose agents check it; `None`: `local`, the ipvet instances themselves.
    pub site_id: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::address::Entity")]
    Address,
}

impl Related<super::address::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Address.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
