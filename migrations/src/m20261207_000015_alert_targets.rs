//! Alert targets (webhooks, chat webhooks, e-mail) and the delivery of the outbox's events
//! to them. An event is handed out once (`alert_events.dispatched`, flipped conditionally)
//! into one pending row per target it matches; a target's pending rows are sent together,
//! as one delivery, whose row is the delivery log. Handing out by a flag rather than by a
//! cursor over ids: on PostgreSQL ids are taken when a row is written and committed later,
//! so a cursor could pass an id whose transaction had not committed yet, and skip it.

use sea_orm_migration::prelude::*;

use crate::{ALERT_DELIVERY_STATUSES, ALERT_TARGET_KINDS, SMTP_SECURITY};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000015_alert_targets"
    }
}

#[derive(DeriveIden)]
enum AlertEvents {
    Table,
    Id,
    Dispatched,
}

#[derive(DeriveIden)]
enum AlertTargets {
    Table,
    Id,
    Name,
    Kind,
    Url,
    Secret,
    SmtpHost,
    SmtpPort,
    SmtpSecurity,
    SmtpUser,
    SmtpPassword,
    MailFrom,
    MailTo,
    Events,
    NetworkIds,
    Enabled,
    CreatedAt,
    CreatedBy,
}

#[derive(DeriveIden)]
enum AlertDeliveries {
    Table,
    Id,
    TargetId,
    CreatedAt,
    Test,
    Events,
    FirstEventId,
    LastEventId,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedUntil,
    LastAttemptAt,
    DeliveredAt,
    LastError,
}

#[derive(DeriveIden)]
enum AlertPending {
    Table,
    Id,
    TargetId,
    EventId,
    DeliveryId,
}

fn one_of(col: impl IntoIden + 'static, values: &[&str]) -> SimpleExpr {
    Expr::col(col).is_in(values.iter().map(|v| String::from(*v)))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(AlertEvents::Table)
                    .add_column(
                        ColumnDef::new(AlertEvents::Dispatched)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("alert_events_undispatched")
                    .table(AlertEvents::Table)
                    .col(AlertEvents::Dispatched)
                    .col(AlertEvents::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AlertTargets::Table)
                    .col(
                        ColumnDef::new(AlertTargets::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AlertTargets::Name)
                            .string_len(100)
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new(AlertTargets::Kind)
                            .string_len(16)
                            .not_null()
                            .check(one_of(AlertTargets::Kind, &ALERT_TARGET_KINDS)),
                    )
                    .col(ColumnDef::new(AlertTargets::Url).text().null())
                    // The webhook's signing key and the SMTP password are kept as typed:
                    // ipvet must present them. The API and pages never show them again.
                    .col(ColumnDef::new(AlertTargets::Secret).text().null())
                    .col(ColumnDef::new(AlertTargets::SmtpHost).text().null())
                    .col(ColumnDef::new(AlertTargets::SmtpPort).integer().null())
                    .col(
                        ColumnDef::new(AlertTargets::SmtpSecurity)
                            .string_len(16)
                            .null()
                            .check(one_of(AlertTargets::SmtpSecurity, &SMTP_SECURITY)),
                    )
                    .col(ColumnDef::new(AlertTargets::SmtpUser).text().null())
                    .col(ColumnDef::new(AlertTargets::SmtpPassword).text().null())
                    .col(ColumnDef::new(AlertTargets::MailFrom).text().null())
                    .col(ColumnDef::new(AlertTargets::MailTo).text().null())
                    // Space-separated event kinds and network ids; empty: all.
                    .col(ColumnDef::new(AlertTargets::Events).text().not_null())
                    .col(ColumnDef::new(AlertTargets::NetworkIds).text().not_null())
                    .col(ColumnDef::new(AlertTargets::Enabled).boolean().not_null())
                    .col(
                        ColumnDef::new(AlertTargets::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AlertTargets::CreatedBy).text().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AlertDeliveries::Table)
                    .col(
                        ColumnDef::new(AlertDeliveries::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AlertDeliveries::TargetId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AlertDeliveries::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(AlertDeliveries::Test).boolean().not_null())
                    .col(
                        ColumnDef::new(AlertDeliveries::Events)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AlertDeliveries::FirstEventId)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AlertDeliveries::LastEventId)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AlertDeliveries::Status)
                            .string_len(16)
                            .not_null()
                            .check(one_of(AlertDeliveries::Status, &ALERT_DELIVERY_STATUSES)),
                    )
                    .col(
                        ColumnDef::new(AlertDeliveries::Attempts)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AlertDeliveries::NextAttemptAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // An instance sending it holds it until then; another may take it
                    // over only after (a crash mid-send).
                    .col(
                        ColumnDef::new(AlertDeliveries::ClaimedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AlertDeliveries::LastAttemptAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(AlertDeliveries::DeliveredAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(AlertDeliveries::LastError).text().null())
                    .foreign_key(
                        ForeignKey::create()
                            .name("alert_deliveries_target")
                            .from(AlertDeliveries::Table, AlertDeliveries::TargetId)
                            .to(AlertTargets::Table, AlertTargets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("alert_deliveries_by_target")
                    .table(AlertDeliveries::Table)
                    .col(AlertDeliveries::TargetId)
                    .col(AlertDeliveries::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("alert_deliveries_by_status")
                    .table(AlertDeliveries::Table)
                    .col(AlertDeliveries::Status)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AlertPending::Table)
                    .col(
                        ColumnDef::new(AlertPending::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(AlertPending::TargetId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AlertPending::EventId)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AlertPending::DeliveryId)
                            .big_integer()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("alert_pending_target")
                            .from(AlertPending::Table, AlertPending::TargetId)
                            .to(AlertTargets::Table, AlertTargets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("alert_pending_event")
                            .from(AlertPending::Table, AlertPending::EventId)
                            .to(AlertEvents::Table, AlertEvents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("alert_pending_delivery")
                            .from(AlertPending::Table, AlertPending::DeliveryId)
                            .to(AlertDeliveries::Table, AlertDeliveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One pending row per (target, event): an event handed out twice fails here.
        manager
            .create_index(
                Index::create()
                    .name("alert_pending_once")
                    .table(AlertPending::Table)
                    .col(AlertPending::TargetId)
                    .col(AlertPending::EventId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("alert_pending_by_delivery")
                    .table(AlertPending::Table)
                    .col(AlertPending::DeliveryId)
                    .col(AlertPending::EventId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AlertPending::Table.into_iden(),
            AlertDeliveries::Table.into_iden(),
            AlertTargets::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .drop_index(
                Index::drop()
                    .name("alert_events_undispatched")
                    .table(AlertEvents::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(AlertEvents::Table)
                    .drop_column(AlertEvents::Dispatched)
                    .to_owned(),
            )
            .await
    }
}
