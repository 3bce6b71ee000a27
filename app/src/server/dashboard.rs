//! Figures for the dashboard, from the per-network counts (never by counting addresses).

use sea_orm::{EntityTrait, QueryOrder};

use super::entities::check_run;
use super::networks::{self, COUNTED};
use super::{time_fmt, AppState};
use crate::error::AppError;
use crate::model::{CheckRunView, ChecksSummary, DashboardSummary};

/// How many of the fullest networks the dashboard lists.
const NEAREST_FULL: usize = 5;

pub async fn summary(state: &AppState) -> Result<DashboardSummary, AppError> {
    let db = &state.db;
    let mut nets = networks::list(db).await?;
    let free: u128 = nets
        .iter()
        .map(|n| n.free.parse::<u128>().unwrap_or(0))
        .fold(0, u128::saturating_add);
    let in_use = COUNTED
        .into_iter()
        .map(|s| {
            (
                s,
                nets.iter()
                    .flat_map(|n| n.in_use.iter())
                    .filter(|(st, _)| *st == s)
                    .map(|(_, c)| *c)
                    .sum(),
            )
        })
        .collect();
    let count = nets.len() as u64;
    let last_run = check_run::Entity::find()
        .order_by_desc(check_run::Column::Id)
        .one(db)
        .await?;
    nets.sort_by(|a, b| b.used_percent.total_cmp(&a.used_percent));
    nets.truncate(NEAREST_FULL);
    Ok(DashboardSummary {
        networks: count,
        free: free.to_string(),
        in_use,
        nearest_full: nets,
        checks: ChecksSummary {
            prober: state.checks.checker.prober.describe(),
            problem: state.checks.checker.prober.problem(),
            last_run: last_run.map(run_view),
        },
    })
}

pub fn run_view(run: check_run::Model) -> CheckRunView {
    CheckRunView {
        id: run.id,
        trigger: run.trigger,
        started_at: time_fmt::show(run.started_at),
        finished_at: run.finished_at.map(time_fmt::show),
        total: run.total,
        done: run.done,
        freed: run.freed,
        still_used: run.still_used,
        blocked: run.blocked,
        unknown: run.unknown,
        zones_unhealthy: run.zones_unhealthy,
        error: run.error,
    }
}
