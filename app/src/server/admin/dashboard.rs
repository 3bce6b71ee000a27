//! Figures for the dashboard, from the per-network counts (never by counting addresses).

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::error::AppError;
use crate::model::{ipv6_uncovered, ChecksSummary, DashboardSummary, ZoneHealth};
use crate::server::agents::registry;
use crate::server::check::jobs::schedule;
use crate::server::entities::dnsbl_zone;
use crate::server::inventory::networks::{self, COUNTED};
use crate::server::time_fmt::show;
use crate::server::AppState;
use crate::server::{check::problem_days, check::runs};

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
    // Read once: the last cycle shown, and the next one's start that follows from it.
    let newest = runs::newest(db).await?;
    let next_run_at = schedule::next_due_after(state, newest.as_ref()).await;
    let last_run = newest.map(runs::run_view);
    let zones = dnsbl_zone::Entity::find()
        .filter(dnsbl_zone::Column::Enabled.eq(true))
        .order_by_asc(dnsbl_zone::Column::Zone)
        .all(db)
        .await?;
    let ipv6_uncovered = ipv6_uncovered(zones.iter().map(|z| (z.enabled, z.health, z.ipv6)));
    let unhealthy_zones = zones
        .into_iter()
        .filter(|z| z.health == ZoneHealth::Failing)
        .map(|z| (z.zone, z.last_error.unwrap_or_default()))
        .collect();
    // Read only where a site other than `local` has networks.
    let sites_without_agent = if nets.iter().any(|n| n.site_id.is_some()) {
        registry::site_views(db)
            .await?
            .into_iter()
            .filter(|s| !s.networks.is_empty())
            .filter_map(|s| s.no_live_agent_since.map(|since| (s.name, since)))
            .collect()
    } else {
        Vec::new()
    };
    nets.sort_by(|a, b| b.used_percent.total_cmp(&a.used_percent));
    nets.truncate(NEAREST_FULL);
    Ok(DashboardSummary {
        networks: count,
        free: free.to_string(),
        in_use,
        nearest_full: nets,
        checks: ChecksSummary {
            prober: state.checks.checker().prober.describe(),
            problem: state.checks.checker().prober.problem(),
            last_run,
            next_run_at: Some(show(next_run_at)),
            unhealthy_zones,
            ipv6_uncovered,
            sites_without_agent,
        },
        problem_days: problem_days::recent(db).await?,
    })
}
