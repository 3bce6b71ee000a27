//! Figures for the dashboard, from the per-network counts (never by counting addresses).

use sea_orm::ConnectionTrait;

use super::networks::{self, COUNTED};
use crate::error::AppError;
use crate::model::DashboardSummary;

/// How many of the fullest networks the dashboard lists.
const NEAREST_FULL: usize = 5;

pub async fn summary(db: &impl ConnectionTrait) -> Result<DashboardSummary, AppError> {
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
    nets.sort_by(|a, b| b.used_percent.total_cmp(&a.used_percent));
    nets.truncate(NEAREST_FULL);
    Ok(DashboardSummary {
        networks: count,
        free: free.to_string(),
        in_use,
        nearest_full: nets,
    })
}
