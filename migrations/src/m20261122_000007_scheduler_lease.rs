//! Several instances on one database: a lease row names the one instance that schedules
//! check cycles, and each cycle records the instance that ran it.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000007_scheduler_lease"
    }
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    Token,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum CheckRuns {
    Table,
    Runner,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Leases::Table)
                    .col(
                        ColumnDef::new(Leases::Name)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Leases::Holder).text().not_null())
                    // Grows by one each time the lease changes hands: a fencing token.
                    .col(ColumnDef::new(Leases::Token).big_integer().not_null())
                    .col(
                        ColumnDef::new(Leases::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CheckRuns::Table)
                    .add_column(ColumnDef::new(CheckRuns::Runner).text().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CheckRuns::Table)
                    .drop_column(CheckRuns::Runner)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Leases::Table).to_owned())
            .await
    }
}
