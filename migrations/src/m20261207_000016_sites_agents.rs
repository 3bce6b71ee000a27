//! Sites and probe agents. Every network belongs to a site: `networks.site_id` NULL is the
//! built-in site `local`, checked by the ipvet instances themselves, as before; other sites
//! are checked by their agents (`ipvet agent`), each one row of `agents`, which is also its
//! token (only the secret's SHA-256 is kept). A cycle's worker row names the agent it
//! stands for, so a run's counts can be told per agent.
//!
//! `agent_probes` carries the check right before allocation of an address in a site's
//! network to that site's agents and their answers back: any instance may serve the
//! allocation and any the agent, so the request goes through the database.
//!
//! No foreign key from `networks.site_id`: SQLite cannot add one to an existing table, so
//! the domain refuses to delete a site that still has networks, in the same transaction.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000016_sites_agents"
    }
}

#[derive(DeriveIden)]
enum Sites {
    Table,
    Id,
    Name,
    Description,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum Agents {
    Table,
    Id,
    SiteId,
    Name,
    SecretHash,
    CreatedAt,
    CreatedBy,
    RevokedAt,
    LastSeenAt,
    Version,
    Address,
    Methods,
    RawSockets,
    Script,
}

#[derive(DeriveIden)]
enum AgentProbes {
    Table,
    Id,
    SiteId,
    Ip,
    Probes,
    RequestedAt,
    ExpiresAt,
    ClaimedBy,
    ClaimedAt,
    AnsweredAt,
    Answers,
}

#[derive(DeriveIden)]
enum Networks {
    Table,
    SiteId,
}

#[derive(DeriveIden)]
enum CheckWorkers {
    Table,
    AgentId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sites::Table)
                    .col(
                        ColumnDef::new(Sites::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Sites::Name)
                            .string_len(63)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Sites::Description).text().not_null())
                    .col(
                        ColumnDef::new(Sites::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Sites::CreatedBy).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Agents::Table)
                    .col(
                        ColumnDef::new(Agents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Agents::SiteId).big_integer().not_null())
                    .col(ColumnDef::new(Agents::Name).string_len(100).not_null())
                    .col(
                        ColumnDef::new(Agents::SecretHash)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Agents::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Agents::CreatedBy).text().not_null())
                    .col(
                        ColumnDef::new(Agents::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(Agents::LastSeenAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    // What the agent last said of itself.
                    .col(ColumnDef::new(Agents::Version).text().null())
                    .col(ColumnDef::new(Agents::Address).text().null())
                    .col(ColumnDef::new(Agents::Methods).text().null())
                    .col(ColumnDef::new(Agents::RawSockets).boolean().null())
                    .col(ColumnDef::new(Agents::Script).boolean().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("agents_site")
                            .from(Agents::Table, Agents::SiteId)
                            .to(Sites::Table, Sites::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("agents_site_name")
                    .table(Agents::Table)
                    .col(Agents::SiteId)
                    .col(Agents::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AgentProbes::Table)
                    .col(
                        ColumnDef::new(AgentProbes::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AgentProbes::SiteId).big_integer().not_null())
                    .col(ColumnDef::new(AgentProbes::Ip).text().not_null())
                    // The network's probe methods as words; NULL: the agent's own.
                    .col(ColumnDef::new(AgentProbes::Probes).text().null())
                    .col(
                        ColumnDef::new(AgentProbes::RequestedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AgentProbes::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AgentProbes::ClaimedBy).big_integer().null())
                    .col(
                        ColumnDef::new(AgentProbes::ClaimedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AgentProbes::AnsweredAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    // The methods' answers as the agent sent them (JSON).
                    .col(ColumnDef::new(AgentProbes::Answers).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("agent_probes_site")
                    .table(AgentProbes::Table)
                    .col(AgentProbes::SiteId)
                    .col(AgentProbes::AnsweredAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Networks::Table)
                    .add_column(ColumnDef::new(Networks::SiteId).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("networks_site")
                    .table(Networks::Table)
                    .col(Networks::SiteId)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(CheckWorkers::Table)
                    .add_column(ColumnDef::new(CheckWorkers::AgentId).big_integer().null())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(CheckWorkers::Table)
                    .drop_column(CheckWorkers::AgentId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("networks_site")
                    .table(Networks::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Networks::Table)
                    .drop_column(Networks::SiteId)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(AgentProbes::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Agents::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Sites::Table).to_owned())
            .await?;
        Ok(())
    }
}
