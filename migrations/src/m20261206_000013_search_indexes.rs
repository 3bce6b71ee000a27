//! Indexes for the header's search across networks: an address's host name or owner by its
//! lower-cased start. Without them a search read every address of every network. On
//! PostgreSQL the index compares in the "C" collation, so a prefix's matches form one range
//! of it, as they do in SQLite's byte order; the search writes the same expressions. The
//! address follows, so matches with the same text come in address order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000013_search_indexes"
    }
}

const COLUMNS: [&str; 2] = ["owner", "hostname"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for column in COLUMNS {
            let expression = match manager.get_database_backend() {
                DbBackend::Postgres => format!("(lower({column}) COLLATE \"C\")"),
                _ => format!("lower({column})"),
            };
            db.execute_unprepared(&format!(
                "CREATE INDEX addresses_{column}_lower ON addresses ({expression}, ip)"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for column in COLUMNS {
            db.execute_unprepared(&format!("DROP INDEX addresses_{column}_lower"))
                .await?;
        }
        Ok(())
    }
}
