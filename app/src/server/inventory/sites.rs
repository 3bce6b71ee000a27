//! Sites: where a network's addresses are checked from. The built-in site `local` (a
//! network's `site_id` NULL) is the ipvet instances themselves; every other site is checked
//! by its own agents (`crate::server::agents`), as a check only means something when made
//! from inside the network.

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::server::admin::audit;
use crate::server::auth::guard::Caller;
use crate::server::entities::{agent, network, site};
use crate::server::inventory::networks;
use crate::server::{db, limits};

/// The built-in site: the ipvet instances themselves.
pub const LOCAL: &str = "local";
/// Longest site name: a DNS label's length, as names are often taken from host names.
pub const NAME_MAX: usize = 63;

/// A site's name: 1 to 63 lower-case letters, digits and inner hyphens, not `local`.
pub fn validate_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    let well_formed = !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !well_formed {
        return Err(AppError::BadRequest(format!(
            "A site name has 1 to {NAME_MAX} lower-case letters, digits and hyphens (not at \
             either end): `{}` has not.",
            limits::quoted_start(name)
        )));
    }
    if name == LOCAL {
        return Err(AppError::Conflict(
            "`local` is the built-in site of the ipvet instances themselves.".into(),
        ));
    }
    Ok(name.to_string())
}

/// Every site other than `local`, by name.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<site::Model>, AppError> {
    Ok(site::Entity::find()
        .order_by_asc(site::Column::Name)
        .all(db)
        .await?)
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<site::Model, AppError> {
    site::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no site with id {id}.")))
}

/// The site named `name`; `None` for `local`.
pub async fn by_name(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<site::Model>, AppError> {
    let name = name.trim();
    if name == LOCAL {
        return Ok(None);
    }
    site::Entity::find()
        .filter(site::Column::Name.eq(name))
        .one(db)
        .await?
        .map(Some)
        .ok_or_else(|| {
            AppError::NotFound(format!(
                "There is no site `{}`.",
                limits::quoted_start(name)
            ))
        })
}

/// Makes a site; its networks are moved to it afterwards, and its agents made for it.
pub async fn create(
    caller: &Caller,
    name: &str,
    description: &str,
) -> Result<site::Model, AppError> {
    let name = validate_name(name)?;
    let description = limits::bounded("description", description, limits::DESCRIPTION)?;
    let txn = db::begin_write(&caller.state.db).await?;
    let made = site::ActiveModel {
        name: Set(name.clone()),
        description: Set(description),
        created_at: Set(OffsetDateTime::now_utc()),
        created_by: Set(caller.user.name.clone()),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let made = match made {
        Ok(made) => made,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AppError::Conflict(format!(
                "There is a site `{name}` already."
            )));
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(&txn, caller, "site.create", &name, None, None).await?;
    txn.commit().await?;
    Ok(made)
}

/// Deletes a site that has no networks and no agent whose token is still live; its
/// revoked agents go with it.
pub async fn delete(caller: &Caller, id: i64) -> Result<(), AppError> {
    let txn = db::begin_write(&caller.state.db).await?;
    let found = find(&txn, id).await?;
    let networks = network::Entity::find()
        .filter(network::Column::SiteId.eq(id))
        .count(&txn)
        .await?;
    if networks > 0 {
        return Err(AppError::Conflict(format!(
            "Site `{}` still has {networks} network(s); move them to another site first.",
            found.name
        )));
    }
    let live_tokens = agent::Entity::find()
        .filter(agent::Column::SiteId.eq(id))
        .filter(agent::Column::RevokedAt.is_null())
        .count(&txn)
        .await?;
    if live_tokens > 0 {
        return Err(AppError::Conflict(format!(
            "Site `{}` still has {live_tokens} agent(s) with a live token; revoke them first.",
            found.name
        )));
    }
    agent::Entity::delete_many()
        .filter(agent::Column::SiteId.eq(id))
        .exec(&txn)
        .await?;
    site::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(&txn, caller, "site.delete", &found.name, None, None).await?;
    txn.commit().await?;
    Ok(())
}

/// Moves the network `network_id` to the site `site_id` (`None`: `local`). Addresses a
/// running cycle has claimed keep their claim: the worker that holds one writes its
/// verdict, and from the next claim on the new site's checkers take the network's
/// addresses.
pub async fn move_network(
    caller: &Caller,
    network_id: i64,
    site_id: Option<i64>,
) -> Result<network::Model, AppError> {
    let txn = db::begin_write(&caller.state.db).await?;
    let net = networks::lock(&txn, network_id).await?;
    let to = match site_id {
        Some(id) => find(&txn, id).await?.name,
        None => LOCAL.to_string(),
    };
    if net.site_id == site_id {
        txn.commit().await?;
        return Ok(net);
    }
    let from = match net.site_id {
        Some(id) => find(&txn, id).await?.name,
        None => LOCAL.to_string(),
    };
    network::Entity::update_many()
        .col_expr(network::Column::SiteId, Expr::value(site_id))
        .filter(network::Column::Id.eq(network_id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        caller,
        "network.site",
        &net.cidr,
        Some(from),
        Some(to),
    )
    .await?;
    txn.commit().await?;
    Ok(network::Model { site_id, ..net })
}

/// Every network of each site, `(site, network id, cidr)`, in address order; `local`'s
/// with site `None`.
pub async fn networks_by_site(
    db: &impl ConnectionTrait,
) -> Result<Vec<(Option<i64>, i64, String)>, AppError> {
    Ok(network::Entity::find()
        .select_only()
        .column(network::Column::SiteId)
        .column(network::Column::Id)
        .column(network::Column::Cidr)
        .order_by_asc(network::Column::FirstIp)
        .into_tuple()
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_dns_labels_and_local_is_taken() {
        assert_eq!(validate_name(" dc-2 ").unwrap(), "dc-2");
        for bad in ["", "DC2", "dc_2", "-dc", "dc-", "dc 2", &"a".repeat(64)] {
            assert!(
                matches!(validate_name(bad), Err(AppError::BadRequest(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(validate_name("local"), Err(AppError::Conflict(_))));
    }

    proptest! {
        #[test]
        fn any_name_is_judged_without_panicking(name in ".{0,80}") {
            if let Ok(kept) = validate_name(&name) {
                prop_assert!(kept.len() <= NAME_MAX && kept != LOCAL);
            }
        }
    }
}
