use sea_orm::entity::prelude::*;

/// Where alerts go. `secret` and `smtp_password` are kept to be presented, never shown.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "alert_targets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// One of `migrations::ALERT_TARGET_KINDS`.
    pub kind: String,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<i32>,
    /// One of `migrations::SMTP_SECURITY`.
    pub smtp_security: Option<String>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<String>,
    pub mail_from: Option<String>,
    /// Recipients, comma-separated.
    pub mail_to: Option<String>,
    /// Event kinds, space-separated; empty: every kind.
    pub events: String,
    /// Network ids, space-separated; empty: every network.
    pub network_ids: String,
    pub enabled: bool,
    pub created_at: TimeDateTimeWithTimeZone,
    pub created_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
