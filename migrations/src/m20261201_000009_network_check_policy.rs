//! A network's own check policy: the built-in probe methods its addresses are checked
//! with (`probes`: words such as `icmp arp`; null keeps the configured methods), and
//! whether the DNSBL half applies (`dnsbl`). Networks that exist keep checking as before:
//! the configured methods, DNSBL on.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000009_network_check_policy"
    }
}

#[derive(DeriveIden)]
enum Networks {
    Table,
    Probes,
    Dnsbl,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Networks::Table)
                    .add_column(ColumnDef::new(Networks::Probes).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Networks::Table)
                    .add_column(
                        ColumnDef::new(Networks::Dnsbl)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Networks::Dnsbl, Networks::Probes] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Networks::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
