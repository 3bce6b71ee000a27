//! Cycles shared among instances: every instance that works on a cycle is a `check_workers`
//! row whose id is its fencing token; an address claimed for checking carries that token
//! in `claim` until its verdict is written, and `checked_run` names the last cycle that
//! judged it, so no cycle checks an address twice.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261130_000008_shared_cycles"
    }
}

#[derive(DeriveIden)]
enum CheckWorkers {
    Table,
    Id,
    RunId,
    Runner,
    JoinedAt,
    ExpiresAt,
    LeftAt,
    Done,
}

#[derive(DeriveIden)]
enum CheckRuns {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Addresses {
    Table,
    Claim,
    CheckedRun,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CheckWorkers::Table)
                    // Ids only grow (a sequence; AUTOINCREMENT on SQLite, which never
                    // reuses one), as a fencing token must.
                    .col(
                        ColumnDef::new(CheckWorkers::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CheckWorkers::RunId).big_integer().not_null())
                    .col(ColumnDef::new(CheckWorkers::Runner).text().not_null())
                    .col(
                        ColumnDef::new(CheckWorkers::JoinedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CheckWorkers::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CheckWorkers::LeftAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(CheckWorkers::Done)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("check_workers_run")
                            .from(CheckWorkers::Table, CheckWorkers::RunId)
                            .to(CheckRuns::Table, CheckRuns::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("check_workers_by_run")
                    .table(CheckWorkers::Table)
                    .col(CheckWorkers::RunId)
                    .to_owned(),
            )
            .await?;
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Addresses::Table)
                    .add_column(ColumnDef::new(Addresses::Claim).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Addresses::Table)
                    .add_column(ColumnDef::new(Addresses::CheckedRun).big_integer().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Addresses::CheckedRun, Addresses::Claim] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Addresses::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .drop_table(Table::drop().table(CheckWorkers::Table).to_owned())
            .await
    }
}
