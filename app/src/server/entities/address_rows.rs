//! Behaviour of address rows that every module writing them shares: finding the row of an
//! address, and clearing what a holder and a problem left on it when it is freed. Kept beside the generated entity so
//! the entity itself stays as generated.

use std::net::IpAddr;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Select, UpdateMany};
use time::OffsetDateTime;

use super::address::{Column, Entity};

impl Entity {
    /// The row of `ip`, in whatever network: addresses are unique across networks, since
    /// networks never overlap.
    pub fn find_by_ip(ip: IpAddr) -> Select<Entity> {
        Entity::find().filter(Column::Ip.eq(crate::server::inventory::ip::to_bytes(ip)))
    }
}

/// Adds to `update` what freeing an address clears: its holder (owner, host name, note),
/// the problem, its first time, its zone, the failure count and the last check error. A
/// free address carries nothing of a past holder or problem; its history keeps them (see
/// [`super::address_event::Model::owner`]).
pub fn freed(update: UpdateMany<Entity>) -> UpdateMany<Entity> {
    update
        .col_expr(Column::Owner, Expr::value(""))
        .col_expr(Column::Hostname, Expr::value(""))
        .col_expr(Column::Note, Expr::value(""))
        .col_expr(Column::Problem, Expr::value(Option::<String>::None))
        .col_expr(
            Column::ProblemSince,
            Expr::value(Option::<OffsetDateTime>::None),
        )
        .col_expr(Column::ProblemZone, Expr::value(Option::<String>::None))
        .col_expr(Column::FailedChecks, Expr::value(0i64))
        .col_expr(Column::LastCheckError, Expr::value(Option::<String>::None))
}
