//! The alerts' outbox: what happened that someone may want to be told about (an address
//! became a problem or stopped being one, a DNSBL zone started or stopped failing, a cycle
//! failed), written in the transaction that made it happen, so no change is lost between
//! the change and its alert, and none is told that did not happen.

use sea_orm_migration::prelude::*;

use crate::ALERT_EVENT_KINDS;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000014_alert_events"
    }
}

#[derive(DeriveIden)]
enum AlertEvents {
    Table,
    Id,
    At,
    Kind,
    NetworkId,
    Address,
    Status,
    Detail,
    RunId,
    Source,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AlertEvents::Table)
                    .col(
                        ColumnDef::new(AlertEvents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AlertEvents::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AlertEvents::Kind)
                            .string_len(32)
                            .not_null()
                            .check(
                                Expr::col(AlertEvents::Kind)
                                    .is_in(ALERT_EVENT_KINDS.iter().map(|k| String::from(*k))),
                            ),
                    )
                    // No foreign key: an event outlives a deleted network.
                    .col(ColumnDef::new(AlertEvents::NetworkId).big_integer().null())
                    .col(ColumnDef::new(AlertEvents::Address).text().null())
                    .col(ColumnDef::new(AlertEvents::Status).string_len(32).null())
                    .col(ColumnDef::new(AlertEvents::Detail).text().not_null())
                    .col(ColumnDef::new(AlertEvents::RunId).big_integer().null())
                    // The host an instance's own event is about (its prober's).
                    .col(ColumnDef::new(AlertEvents::Source).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AlertEvents::Table).to_owned())
            .await
    }
}
