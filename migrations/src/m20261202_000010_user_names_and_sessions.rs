//! Users, hardened: names unique whatever their case (`V1` and `v1` could both exist), and a
//! session epoch that a password reset moves on, ending every session signed in before it.
//! Refuses to run, naming them, where existing names differ only in case: which one to
//! rename is the administrator's decision, not the migration's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000010_user_names_and_sessions"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    SessionEpoch,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let clashes = db
            .query_all(Statement::from_string(
                backend,
                "SELECT name FROM users WHERE lower(name) IN \
                 (SELECT lower(name) FROM users GROUP BY lower(name) HAVING COUNT(*) > 1) \
                 ORDER BY lower(name), name"
                    .to_string(),
            ))
            .await?;
        if !clashes.is_empty() {
            let names: Vec<String> = clashes
                .iter()
                .map(|r| r.try_get::<String>("", "name"))
                .collect::<Result<_, _>>()?;
            return Err(DbErr::Migration(format!(
                "user names must be unique whatever their case, and these differ only in \
                 case: {}. Rename all but one of each (for example \
                 `UPDATE users SET name = 'v1-old' WHERE name = 'V1'`) and start ipvet again.",
                names.join(", ")
            )));
        }
        db.execute_unprepared("CREATE UNIQUE INDEX users_name_lower ON users (lower(name))")
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::SessionEpoch)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::SessionEpoch)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared("DROP INDEX users_name_lower")
            .await
            .map(|_| ())
    }
}
