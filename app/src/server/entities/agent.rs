use sea_orm::entity::prelude::*;

/// A probe agent of one site, and its token: the secret itself is never stored,
/// `secret_hash` is its SHA-256. The last four fields are what the agent last said of
/// itself.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "agents")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub site_id: i64,
    pub name: String,
    #[sea_orm(unique)]
    pub secret_hash: String,
    pub created_at: TimeDateTimeWithTimeZone,
    pub created_by: String,
    pub revoked_at: Option<TimeDateTimeWithTimeZone>,
    pub last_seen_at: Option<TimeDateTimeWithTimeZone>,
    pub version: Option<String>,
    /// The client address of its last request.
    pub address: Option<String>,
    /// The built-in probe methods it can run, as words (`icmp tcp arp`).
    pub methods: Option<String>,
    /// Whether it could open raw sockets (ICMP, ARP and SYN probes need them).
    pub raw_sockets: Option<bool>,
    /// Whether it runs a checker script.
    pub script: Option<bool>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
