//! Who held an address, kept in its history: an allocation or reservation records the
//! holder it was given, and freeing an address (by a check or a force-free) records the
//! holder it clears. Until now an address freed by a check kept its last holder's owner,
//! host name and note on the row, where a search still found them; those move into the
//! history here, and the rows are cleared.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000011_event_holder"
    }
}

#[derive(DeriveIden)]
enum AddressEvents {
    Table,
    Owner,
    Hostname,
    Note,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            AddressEvents::Owner,
            AddressEvents::Hostname,
            AddressEvents::Note,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AddressEvents::Table)
                        .add_column(ColumnDef::new(column).text().not_null().default(""))
                        .to_owned(),
                )
                .await?;
        }
        // Nothing is lost: each free address that still carries a holder gets a history
        // row with it, dated when the address became free, before the row is cleared.
        let db = manager.get_connection();
        let leftover = "status = 'free' AND (owner <> '' OR hostname <> '' OR note <> '')";
        db.execute_unprepared(&format!(
            "INSERT INTO address_events \
             (address_id, at, actor_id, actor_name, from_status, to_status, reason, owner, hostname, note) \
             SELECT id, status_changed_at, NULL, 'ipvet', 'free', 'free', \
             'holder cleared: a free address keeps no holder', owner, hostname, note \
             FROM addresses WHERE {leftover}"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "UPDATE addresses SET owner = '', hostname = '', note = '' WHERE {leftover}"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            AddressEvents::Owner,
            AddressEvents::Hostname,
            AddressEvents::Note,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(AddressEvents::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
