//! The initial schema: users, networks, addresses with their history, DNSBL zones, check
//! runs, settings and the audit log. Sessions are created by the session store's own
//! migration, run beside this one.
//!
//! Addresses are stored as 16 fixed-width bytes (IPv4 as its IPv4-mapped IPv6 form), so
//! byte order is numeric order on SQLite (memcmp on BLOB) and PostgreSQL (bytea) alike,
//! and a network is the range `first_ip..=last_ip`. Only addresses that carry state have
//! rows: an IPv6 /64 cannot be materialised, so a missing row means "free".

use sea_orm_migration::prelude::*;

use crate::{ADDRESS_STATUSES, ROLES};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261122_000001_initial"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Name,
    PasswordHash,
    Role,
    Disabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Networks {
    Table,
    Id,
    Cidr,
    Family,
    PrefixLen,
    FirstIp,
    LastIp,
    Name,
    Description,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Addresses {
    Table,
    Id,
    NetworkId,
    Ip,
    Status,
    Owner,
    Hostname,
    Note,
    StatusChangedAt,
    LastCheckedAt,
    Problem,
    ProblemSince,
}

#[derive(DeriveIden)]
enum AddressEvents {
    Table,
    Id,
    AddressId,
    At,
    ActorId,
    ActorName,
    FromStatus,
    ToStatus,
    Reason,
    Evidence,
}

#[derive(DeriveIden)]
enum DnsblZones {
    Table,
    Id,
    Zone,
    Enabled,
    Health,
    LastError,
    LastTestedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum CheckRuns {
    Table,
    Id,
    Trigger,
    StartedAt,
    FinishedAt,
    Total,
    Done,
    Freed,
    StillUsed,
    Blocked,
    Unknown,
    ZonesUnhealthy,
    Error,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
    UpdatedAt,
    UpdatedBy,
}

#[derive(DeriveIden)]
enum AuditLog {
    Table,
    Id,
    At,
    ActorId,
    ActorName,
    ClientAddr,
    Action,
    Target,
    Before,
    After,
}

fn one_of<T: IntoIden + 'static>(col: T, values: &[&str]) -> SimpleExpr {
    Expr::col(col).is_in(values.iter().map(|v| String::from(*v)))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(
                        ColumnDef::new(Users::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Users::Name)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(ColumnDef::new(Users::PasswordHash).string().not_null())
                    .col(
                        ColumnDef::new(Users::Role)
                            .string_len(16)
                            .not_null()
                            .check(one_of(Users::Role, &ROLES)),
                    )
                    .col(
                        ColumnDef::new(Users::Disabled)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .col(
                        ColumnDef::new(Users::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Users::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Networks::Table)
                    .col(
                        ColumnDef::new(Networks::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Networks::Cidr)
                            .string_len(64)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(Networks::Family)
                            .small_integer()
                            .not_null()
                            .check(Expr::col(Networks::Family).is_in([4, 6])),
                    )
                    .col(
                        ColumnDef::new(Networks::PrefixLen)
                            .small_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Networks::FirstIp).binary_len(16).not_null())
                    .col(ColumnDef::new(Networks::LastIp).binary_len(16).not_null())
                    .col(ColumnDef::new(Networks::Name).string_len(200).not_null())
                    .col(
                        ColumnDef::new(Networks::Description)
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .col(
                        ColumnDef::new(Networks::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("networks_range")
                    .table(Networks::Table)
                    .col(Networks::FirstIp)
                    .col(Networks::LastIp)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Addresses::Table)
                    .col(
                        ColumnDef::new(Addresses::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Addresses::NetworkId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Addresses::Ip).binary_len(16).not_null())
                    .col(
                        ColumnDef::new(Addresses::Status)
                            .string_len(20)
                            .not_null()
                            .check(one_of(Addresses::Status, &ADDRESS_STATUSES)),
                    )
                    .col(
                        ColumnDef::new(Addresses::Owner)
                            .string_len(200)
                            .not_null()
                            .default(""),
                    )
                    .col(
                        ColumnDef::new(Addresses::Hostname)
                            .string_len(255)
                            .not_null()
                            .default(""),
                    )
                    .col(
                        ColumnDef::new(Addresses::Note)
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .col(
                        ColumnDef::new(Addresses::StatusChangedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Addresses::LastCheckedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(Addresses::Problem).text().null())
                    .col(
                        ColumnDef::new(Addresses::ProblemSince)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("addresses_network")
                            .from(Addresses::Table, Addresses::NetworkId)
                            .to(Networks::Table, Networks::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // An address belongs to exactly one network, and networks never overlap, so the
        // address alone is unique; (network, ip) serves "a network's addresses in order".
        manager
            .create_index(
                Index::create()
                    .name("addresses_ip")
                    .table(Addresses::Table)
                    .col(Addresses::Ip)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("addresses_network_ip")
                    .table(Addresses::Table)
                    .col(Addresses::NetworkId)
                    .col(Addresses::Ip)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("addresses_network_status_ip")
                    .table(Addresses::Table)
                    .col(Addresses::NetworkId)
                    .col(Addresses::Status)
                    .col(Addresses::Ip)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("addresses_status_ip")
                    .table(Addresses::Table)
                    .col(Addresses::Status)
                    .col(Addresses::Ip)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AddressEvents::Table)
                    .col(
                        ColumnDef::new(AddressEvents::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AddressEvents::AddressId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AddressEvents::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // Null actor: the check engine. The name is kept so history survives a
                    // renamed or deleted user.
                    .col(ColumnDef::new(AddressEvents::ActorId).big_integer().null())
                    .col(
                        ColumnDef::new(AddressEvents::ActorName)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AddressEvents::FromStatus)
                            .string_len(20)
                            .not_null()
                            .check(one_of(AddressEvents::FromStatus, &ADDRESS_STATUSES)),
                    )
                    .col(
                        ColumnDef::new(AddressEvents::ToStatus)
                            .string_len(20)
                            .not_null()
                            .check(one_of(AddressEvents::ToStatus, &ADDRESS_STATUSES)),
                    )
                    .col(
                        ColumnDef::new(AddressEvents::Reason)
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .col(ColumnDef::new(AddressEvents::Evidence).text().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("address_events_address")
                            .from(AddressEvents::Table, AddressEvents::AddressId)
                            .to(Addresses::Table, Addresses::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("address_events_address_id")
                    .table(AddressEvents::Table)
                    .col(AddressEvents::AddressId)
                    .col(AddressEvents::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(DnsblZones::Table)
                    .col(
                        ColumnDef::new(DnsblZones::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(DnsblZones::Zone)
                            .string_len(253)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(DnsblZones::Enabled)
                            .boolean()
                            .not_null()
                            .default(true),
                    )
                    .col(
                        ColumnDef::new(DnsblZones::Health)
                            .string_len(16)
                            .not_null()
                            .default("never_tested")
                            .check(one_of(
                                DnsblZones::Health,
                                &["never_tested", "healthy", "failing"],
                            )),
                    )
                    .col(ColumnDef::new(DnsblZones::LastError).text().null())
                    .col(
                        ColumnDef::new(DnsblZones::LastTestedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(DnsblZones::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(CheckRuns::Table)
                    .col(
                        ColumnDef::new(CheckRuns::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(CheckRuns::Trigger).string_len(32).not_null())
                    .col(
                        ColumnDef::new(CheckRuns::StartedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CheckRuns::FinishedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(CheckRuns::Total)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(CheckRuns::Done)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(CheckRuns::Freed)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(CheckRuns::StillUsed)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(CheckRuns::Blocked)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(CheckRuns::Unknown)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(CheckRuns::ZonesUnhealthy)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(ColumnDef::new(CheckRuns::Error).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("check_runs_started")
                    .table(CheckRuns::Table)
                    .col(CheckRuns::StartedAt)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Settings::Table)
                    .col(
                        ColumnDef::new(Settings::Key)
                            .string_len(64)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Settings::Value).text().not_null())
                    .col(
                        ColumnDef::new(Settings::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Settings::UpdatedBy)
                            .string_len(64)
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(
                        ColumnDef::new(AuditLog::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AuditLog::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AuditLog::ActorId).big_integer().null())
                    .col(
                        ColumnDef::new(AuditLog::ActorName)
                            .string_len(64)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AuditLog::ClientAddr)
                            .string_len(64)
                            .not_null()
                            .default(""),
                    )
                    .col(ColumnDef::new(AuditLog::Action).string_len(64).not_null())
                    .col(ColumnDef::new(AuditLog::Target).text().not_null())
                    .col(ColumnDef::new(AuditLog::Before).text().null())
                    .col(ColumnDef::new(AuditLog::After).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_log_at")
                    .table(AuditLog::Table)
                    .col(AuditLog::At)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditLog::Table.into_iden(),
            Settings::Table.into_iden(),
            CheckRuns::Table.into_iden(),
            DnsblZones::Table.into_iden(),
            AddressEvents::Table.into_iden(),
            Addresses::Table.into_iden(),
            Networks::Table.into_iden(),
            Users::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}
