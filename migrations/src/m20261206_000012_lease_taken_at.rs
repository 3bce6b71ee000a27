//! When the holder of a lease took it. Before the first cycle on record the next scheduled
//! cycle is one period after the scheduler's instance took its lease; the pages used to
//! show one period from the moment they were drawn, which moved on every reload.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000012_lease_taken_at"
    }
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    TakenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Leases::Table)
                    .add_column(
                        ColumnDef::new(Leases::TakenAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Leases::Table)
                    .drop_column(Leases::TakenAt)
                    .to_owned(),
            )
            .await
    }
}
