//! What the admin pages need: the zone that blocks an address (the Problem IPs filter and
//! each zone's count of blocked addresses), who asked a running cycle to stop and when a
//! running cycle last showed it was alive (so one whose server died is told apart), a daily
//! count of problem addresses for the dashboard's chart, and indexes for the audit log's
//! filters.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000004_admin_pages"
    }
}

#[derive(DeriveIden)]
enum Addresses {
    Table,
    ProblemZone,
    Status,
}

#[derive(DeriveIden)]
enum CheckRuns {
    Table,
    CancelledBy,
    HeartbeatAt,
}

#[derive(DeriveIden)]
enum ProblemDays {
    Table,
    Day,
    UsedInNetwork,
    BlockedByDnsbl,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    ActorName,
    Action,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Addresses::Table)
                    .add_column(ColumnDef::new(Addresses::ProblemZone).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("addresses_status_zone")
                    .table(Addresses::Table)
                    .col(Addresses::Status)
                    .col(Addresses::ProblemZone)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CheckRuns::Table)
                    .add_column(ColumnDef::new(CheckRuns::CancelledBy).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CheckRuns::Table)
                    .add_column(
                        ColumnDef::new(CheckRuns::HeartbeatAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ProblemDays::Table)
                    .col(
                        ColumnDef::new(ProblemDays::Day)
                            .date()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ProblemDays::UsedInNetwork)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(ProblemDays::BlockedByDnsbl)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, col) in [
            ("audit_log_actor", AuditLog::ActorName),
            ("audit_log_action", AuditLog::Action),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AuditLog::Table)
                        .col(col)
                        .col(AuditLog::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["audit_log_actor", "audit_log_action"] {
            manager
                .drop_index(Index::drop().name(name).table(AuditLog::Table).to_owned())
                .await?;
        }
        manager
            .drop_table(Table::drop().table(ProblemDays::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CheckRuns::Table)
                    .drop_column(CheckRuns::CancelledBy)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CheckRuns::Table)
                    .drop_column(CheckRuns::HeartbeatAt)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("addresses_status_zone")
                    .table(Addresses::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Addresses::Table)
                    .drop_column(Addresses::ProblemZone)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
