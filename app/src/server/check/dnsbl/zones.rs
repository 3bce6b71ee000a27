//! The DNSBL blacklists module: the zones the checks ask, their health from the self-test,
//! and asking them about one address by hand. Every change is audited and makes the check
//! engine test the zones afresh before it next uses them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, SqlErr,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::ZoneHealth;
use crate::model::{AddressStatus, ZoneAnswer, ZoneView};
use crate::server::auth::guard::Caller;
use crate::server::check::dnsbl::{lookup, query_name, Health, Verdict};
use crate::server::entities::{address, dnsbl_zone};
use crate::server::time_fmt::show;
use crate::server::{admin::audit, inventory::ip};

/// Longest zone name: an IPv6 query puts 64 characters of nibbles in front of it, and a
/// whole name may have 253.
pub const ZONE_MAX: usize = 253 - 64;

/// A zone name as typed, made canonical (lower case, no trailing dot), or why it is not one.
/// The length counts the name as typed, a trailing dot too, so that the API document can
/// state the limit as a plain `maxLength` (rest::formats).
pub fn validate(input: &str) -> Result<String, AppError> {
    let typed = input.trim();
    let zone = typed
        .strip_suffix('.')
        .unwrap_or(typed)
        .to_ascii_lowercase();
    // Named by its start only: the input may be as long as a request body.
    let shown = crate::server::limits::quoted_start(typed);
    let bad = |why: &str| Err(AppError::BadRequest(format!("`{shown}` {why}")));
    if zone.is_empty() {
        return Err(AppError::BadRequest("Enter a zone name.".into()));
    }
    if typed.chars().count() > ZONE_MAX {
        return bad(&format!(
            "is too long: a zone may have at most {ZONE_MAX} characters, so that IPv6 queries fit."
        ));
    }
    let labels: Vec<&str> = zone.split('.').collect();
    if labels.len() < 2 {
        return bad("is not a zone: it needs at least two labels, like dnsbl.example.org.");
    }
    for label in &labels {
        if label.is_empty() {
            return bad("has an empty label (two dots in a row).");
        }
        if label.len() > 63 {
            return bad("has a label longer than 63 characters.");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return bad("may hold only letters, digits, hyphens and dots.");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("has a label that starts or ends with a hyphen.");
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
    {
        return bad("looks like an address, not a zone.");
    }
    Ok(zone)
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<ZoneView>, AppError> {
    Ok(with_blocking(db)
        .await?
        .into_iter()
        .map(|(z, blocking)| ZoneView {
            blocking,
            id: z.id,
            zone: z.zone,
            enabled: z.enabled,
            health: z.health,
            last_error: z.last_error,
            last_tested_at: z.last_tested_at.map(show),
            ipv6: z.ipv6,
        })
        .collect())
}

/// Every zone by name, with how many addresses it blocks now.
pub async fn with_blocking(
    db: &impl ConnectionTrait,
) -> Result<Vec<(dnsbl_zone::Model, u64)>, AppError> {
    let rows = dnsbl_zone::Entity::find()
        .order_by_asc(dnsbl_zone::Column::Zone)
        .all(db)
        .await?;
    let blocking: BTreeMap<String, i64> = address::Entity::find()
        .select_only()
        .column(address::Column::ProblemZone)
        .column_as(address::Column::Id.count(), "n")
        .filter(address::Column::Status.eq(AddressStatus::BlockedByDnsbl))
        .filter(address::Column::ProblemZone.is_not_null())
        .group_by(address::Column::ProblemZone)
        .into_tuple::<(String, i64)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|z| {
            let n = blocking.get(&z.zone).copied().unwrap_or(0).max(0) as u64;
            (z, n)
        })
        .collect())
}

async fn find(db: &impl ConnectionTrait, id: i64) -> Result<dnsbl_zone::Model, AppError> {
    dnsbl_zone::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::NotFound("There is no such zone; it may have been deleted.".into())
        })
}

fn taken(zone: &str) -> AppError {
    AppError::Conflict(format!("{zone} is in the list already."))
}

/// Adds a zone; an enabled one is self-tested at once, so its health shows.
pub async fn add(caller: &Caller, input: &str, enabled: bool) -> Result<ZoneView, AppError> {
    let zone = validate(input)?;
    let db = &caller.state.db;
    let txn = crate::server::db::begin_write(db).await?;
    let inserted = dnsbl_zone::ActiveModel {
        zone: Set(zone.clone()),
        enabled: Set(enabled),
        health: Set(ZoneHealth::NeverTested),
        created_at: Set(OffsetDateTime::now_utc()),
        ipv6: Set(false),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let row = match inserted {
        Ok(row) => row,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(taken(&zone))
        }
        Err(e) => return Err(e.into()),
    };
    let state = if enabled { "enabled" } else { "disabled" };
    audit::record(&txn, caller, "dnsbl.add", &zone, None, Some(state.into())).await?;
    txn.commit().await?;
    changed(caller, row).await
}

/// Renames a zone; its health starts over.
pub async fn rename(caller: &Caller, id: i64, input: &str) -> Result<ZoneView, AppError> {
    let zone = validate(input)?;
    let db = &caller.state.db;
    let txn = crate::server::db::begin_write(db).await?;
    let row = find(&txn, id).await?;
    if row.zone == zone {
        txn.commit().await?;
        return view_of(db, row).await;
    }
    let updated = dnsbl_zone::Entity::update_many()
        .col_expr(dnsbl_zone::Column::Zone, Expr::value(zone.clone()))
        .col_expr(
            dnsbl_zone::Column::Health,
            Expr::value(ZoneHealth::NeverTested),
        )
        .col_expr(
            dnsbl_zone::Column::LastError,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            dnsbl_zone::Column::LastTestedAt,
            Expr::value(Option::<OffsetDateTime>::None),
        )
        .col_expr(dnsbl_zone::Column::Ipv6, Expr::value(false))
        .filter(dnsbl_zone::Column::Id.eq(id))
        .filter(dnsbl_zone::Column::Zone.eq(row.zone.clone()))
        .exec(&txn)
        .await;
    match updated {
        Ok(r) if r.rows_affected == 1 => {}
        Ok(_) => {
            return Err(AppError::Conflict(
                "The zone changed meanwhile; reload and try again.".into(),
            ))
        }
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(taken(&zone))
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &txn,
        caller,
        "dnsbl.rename",
        &zone,
        Some(row.zone.clone()),
        Some(zone.clone()),
    )
    .await?;
    txn.commit().await?;
    let row = find(db, id).await?;
    changed(caller, row).await
}

/// Enables or disables a zone; an enabled one is self-tested at once.
pub async fn set_enabled(caller: &Caller, id: i64, enabled: bool) -> Result<ZoneView, AppError> {
    let db = &caller.state.db;
    let txn = crate::server::db::begin_write(db).await?;
    let row = find(&txn, id).await?;
    if row.enabled != enabled {
        dnsbl_zone::Entity::update_many()
            .col_expr(dnsbl_zone::Column::Enabled, Expr::value(enabled))
            .filter(dnsbl_zone::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        let (before, after) = if enabled {
            ("disabled", "enabled")
        } else {
            ("enabled", "disabled")
        };
        audit::record(
            &txn,
            caller,
            "dnsbl.set_enabled",
            &row.zone,
            Some(before.into()),
            Some(after.into()),
        )
        .await?;
    }
    txn.commit().await?;
    let row = find(db, id).await?;
    changed(caller, row).await
}

/// Deletes a zone. Addresses it blocks keep their status until the next cycle checks them
/// against the zones that remain.
pub async fn delete(caller: &Caller, id: i64) -> Result<(), AppError> {
    let db = &caller.state.db;
    let txn = crate::server::db::begin_write(db).await?;
    let row = find(&txn, id).await?;
    dnsbl_zone::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(
        &txn,
        caller,
        "dnsbl.delete",
        &row.zone,
        Some(row.zone.clone()),
        None,
    )
    .await?;
    txn.commit().await?;
    caller.state.checks.forget_zones().await;
    Ok(())
}

/// Self-tests one zone now and records its health.
pub async fn self_test(caller: &Caller, id: i64) -> Result<ZoneView, AppError> {
    let db = &caller.state.db;
    let row = find(db, id).await?;
    Health::test(&caller.state.checks.checker().dnsbl, &row.zone)
        .await
        .record(db, &row)
        .await?;
    caller.state.checks.forget_zones().await;
    let row = find(db, id).await?;
    view_of(db, row).await
}

/// After a change: the engine tests the zones afresh before it uses them again, and an
/// enabled zone is tested now, so the page shows its health.
async fn changed(caller: &Caller, row: dnsbl_zone::Model) -> Result<ZoneView, AppError> {
    let state = &caller.state;
    state.checks.forget_zones().await;
    if row.enabled {
        Health::test(&state.checks.checker().dnsbl, &row.zone)
            .await
            .record(&state.db, &row)
            .await?;
    }
    let row = find(&state.db, row.id).await?;
    view_of(&state.db, row).await
}

async fn view_of(db: &impl ConnectionTrait, row: dnsbl_zone::Model) -> Result<ZoneView, AppError> {
    let id = row.id;
    list(db)
        .await?
        .into_iter()
        .find(|z| z.id == id)
        .ok_or_else(|| {
            AppError::NotFound("There is no such zone; it may have been deleted.".into())
        })
}

/// Asks every zone in the list (enabled or not, healthy or not), or only `zone`, about
/// `address`, and answers with what each said, raw.
pub async fn ask(
    caller: &Caller,
    address: &str,
    zone: Option<&str>,
) -> Result<Vec<ZoneAnswer>, AppError> {
    let addr: IpAddr =
        ip::parse_address(address).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let configured: Vec<String> = dnsbl_zone::Entity::find()
        .order_by_asc(dnsbl_zone::Column::Zone)
        .all(&caller.state.db)
        .await?
        .into_iter()
        .map(|z| z.zone)
        .collect();
    // Only configured zones: an operator must not make the server resolve names of their
    // choosing under any domain.
    let zones: Vec<String> = match zone.map(str::trim).filter(|z| !z.is_empty()) {
        Some(z) => {
            let z = validate(z)?;
            if !configured.contains(&z) {
                return Err(AppError::NotFound(format!(
                    "The zone {z} is not configured; an admin can add it on this page."
                )));
            }
            vec![z]
        }
        None => configured,
    };
    if zones.is_empty() {
        return Err(AppError::BadRequest(
            "There are no zones to ask; add one first.".into(),
        ));
    }
    let checker = caller.state.checks.checker();
    let client = &checker.dnsbl;
    let answers = futures::future::join_all(zones.into_iter().map(|zone| async move {
        let verdict = lookup(client, &zone, addr).await;
        let query = query_name(addr, &zone);
        match verdict {
            Verdict::NotListed => ZoneAnswer {
                zone,
                query,
                outcome: "not_listed".into(),
                answer: None,
                detail: None,
            },
            Verdict::Listed { answer, reason } => ZoneAnswer {
                zone,
                query,
                outcome: "listed".into(),
                answer: Some(answer.to_string()),
                detail: reason,
            },
            Verdict::Error(e) => ZoneAnswer {
                zone,
                query,
                outcome: "error".into(),
                answer: None,
                detail: Some(e),
            },
        }
    }))
    .await;
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_names_are_validated_and_made_canonical() {
        assert_eq!(validate(" Zen.Spamhaus.org. ").unwrap(), "zen.spamhaus.org");
        assert_eq!(validate("bl.test").unwrap(), "bl.test");
        for (bad, why) in [
            ("", "Enter a zone name"),
            ("localhost", "at least two labels"),
            ("bl..test", "empty label"),
            ("bl.te st", "only letters"),
            ("-bl.test", "hyphen"),
            ("192.0.2.1", "looks like an address"),
            // One trailing dot ends a name; more are an empty label.
            ("bl.test..", "empty label"),
        ] {
            let err = validate(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
        let long = format!("{}.test", "a.".repeat(95));
        assert!(validate(&long)
            .unwrap_err()
            .to_string()
            .contains("too long"));
        // The limit counts the name as typed, its trailing dot too: the API document
        // states it as a plain maxLength.
        let (b, c) = ("b".repeat(63), "c".repeat(63));
        let longest = format!("{b}.{c}.{}.test", "d".repeat(ZONE_MAX - 133));
        assert_eq!(longest.len(), ZONE_MAX);
        assert!(validate(&longest).is_ok());
        assert!(validate(&format!("{longest}.")).is_err());
    }
}
