//! Inventory support: whether a network has a row per address, and per-network counts of
//! addresses by status, kept in the same transaction as every status change so network
//! pages never count a million rows.

use sea_orm_migration::prelude::*;

use crate::ADDRESS_STATUSES;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000002_network_inventory"
    }
}

#[derive(DeriveIden)]
enum Networks {
    Table,
    Id,
    Materialized,
}

#[derive(DeriveIden)]
enum NetworkCounts {
    Table,
    NetworkId,
    Status,
    N,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Networks::Table)
                    .add_column(
                        ColumnDef::new(Networks::Materialized)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(NetworkCounts::Table)
                    .col(
                        ColumnDef::new(NetworkCounts::NetworkId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(NetworkCounts::Status)
                            .string_len(20)
                            .not_null()
                            .check(
                                Expr::col(NetworkCounts::Status)
                                    .is_in(ADDRESS_STATUSES.iter().map(|s| String::from(*s))),
                            ),
                    )
                    .col(
                        ColumnDef::new(NetworkCounts::N)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .primary_key(
                        Index::create()
                            .col(NetworkCounts::NetworkId)
                            .col(NetworkCounts::Status),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("network_counts_network")
                            .from(NetworkCounts::Table, NetworkCounts::NetworkId)
                            .to(Networks::Table, Networks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(NetworkCounts::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Networks::Table)
                    .drop_column(Networks::Materialized)
                    .to_owned(),
            )
            .await
    }
}
