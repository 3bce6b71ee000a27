//! How many problem addresses there were each day, for the dashboard's chart: each check
//! cycle writes today's figures as it ends, so a day keeps what its last cycle left.

use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use time::{Duration, OffsetDateTime};

use crate::error::AppError;
use crate::model::{AddressStatus, ProblemDayView};
use crate::server::entities::{network_count, problem_day};

/// Days the dashboard's chart covers, today included.
pub const CHART_DAYS: i64 = 30;

/// Writes today's counts of problem addresses, from the networks' counts.
pub async fn record_today(db: &impl ConnectionTrait) -> Result<(), AppError> {
    let counts = network_count::Entity::find()
        .filter(network_count::Column::Status.is_in(AddressStatus::PROBLEMS))
        .all(db)
        .await?;
    let sum =
        |s: AddressStatus| -> i64 { counts.iter().filter(|c| c.status == s).map(|c| c.n).sum() };
    let row = problem_day::ActiveModel {
        day: Set(OffsetDateTime::now_utc().date()),
        used_in_network: Set(sum(AddressStatus::UsedInNetwork)),
        blocked_by_dnsbl: Set(sum(AddressStatus::BlockedByDnsbl)),
    };
    problem_day::Entity::insert(row)
        .on_conflict(
            OnConflict::column(problem_day::Column::Day)
                .update_columns([
                    problem_day::Column::UsedInNetwork,
                    problem_day::Column::BlockedByDnsbl,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The last [`CHART_DAYS`] days, oldest first; a day without a cycle has no figures.
pub async fn recent(db: &impl ConnectionTrait) -> Result<Vec<ProblemDayView>, AppError> {
    let today = OffsetDateTime::now_utc().date();
    let first = today - Duration::days(CHART_DAYS - 1);
    let rows = problem_day::Entity::find()
        .filter(problem_day::Column::Day.gte(first))
        .order_by_asc(problem_day::Column::Day)
        .all(db)
        .await?;
    Ok((0..CHART_DAYS)
        .map(|i| {
            let day = first + Duration::days(i);
            let row = rows.iter().find(|r| r.day == day);
            ProblemDayView {
                day: day.to_string(),
                counts: row.map(|r| (r.used_in_network as u64, r.blocked_by_dnsbl as u64)),
            }
        })
        .collect())
}
