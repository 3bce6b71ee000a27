//! The check engine's records: every verdict is an `address_events` row tagged with its
//! cycle (so a cycle's verdicts, and "checked once per cycle", are read from history);
//! addresses count their failed checks and keep the last inconclusive check's error;
//! DNSBL zones remember whether they answer IPv6 queries.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000003_check_engine"
    }
}

#[derive(DeriveIden)]
enum Addresses {
    Table,
    FailedChecks,
    LastCheckError,
}

#[derive(DeriveIden)]
enum AddressEvents {
    Table,
    Id,
    RunId,
}

#[derive(DeriveIden)]
enum DnsblZones {
    Table,
    Ipv6,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(Addresses::Table)
                    .add_column(
                        ColumnDef::new(Addresses::FailedChecks)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Addresses::Table)
                    .add_column(ColumnDef::new(Addresses::LastCheckError).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AddressEvents::Table)
                    .add_column(ColumnDef::new(AddressEvents::RunId).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("address_events_by_run")
                    .table(AddressEvents::Table)
                    .col(AddressEvents::RunId)
                    .col(AddressEvents::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(DnsblZones::Table)
                    .add_column(
                        ColumnDef::new(DnsblZones::Ipv6)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("address_events_by_run")
                    .table(AddressEvents::Table)
                    .to_owned(),
            )
            .await?;
        for (table, column) in [
            (
                Addresses::Table.into_iden(),
                Addresses::FailedChecks.into_iden(),
            ),
            (
                Addresses::Table.into_iden(),
                Addresses::LastCheckError.into_iden(),
            ),
            (
                AddressEvents::Table.into_iden(),
                AddressEvents::RunId.into_iden(),
            ),
            (DnsblZones::Table.into_iden(), DnsblZones::Ipv6.into_iden()),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
