//! Figures for the dashboard.

use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, EntityTrait, FromQueryResult, PaginatorTrait, QuerySelect};

use super::entities::{address, network};
use crate::error::AppError;
use crate::model::{AddressStatus, DashboardSummary};

#[derive(FromQueryResult)]
struct StatusCount {
    status: AddressStatus,
    n: i64,
}

pub async fn summary(db: &impl ConnectionTrait) -> Result<DashboardSummary, AppError> {
    let networks = network::Entity::find().count(db).await?;
    let counts = address::Entity::find()
        .select_only()
        .column(address::Column::Status)
        .column_as(Expr::col(address::Column::Id).count(), "n")
        .group_by(address::Column::Status)
        .into_model::<StatusCount>()
        .all(db)
        .await?;
    let addresses_by_status = AddressStatus::ALL
        .into_iter()
        .map(|s| {
            (
                s,
                counts
                    .iter()
                    .find(|c| c.status == s)
                    .map_or(0, |c| c.n as u64),
            )
        })
        .collect();
    Ok(DashboardSummary {
        networks,
        addresses_by_status,
    })
}
