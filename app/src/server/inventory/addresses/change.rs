//! Changes people ask for on addresses they name: release, reserve, unreserve and
//! force-free, one address at a time or many at once, all or nothing.

use super::{apply, parse, view, Holder};
use crate::error::AppError;
use crate::model::AddressView;
use crate::server::auth::guard::Caller;
use crate::server::db;
use crate::server::entities::{address, network};
use crate::server::inventory::ip;
use crate::server::inventory::lifecycle::Action;
use crate::server::inventory::networks;
use crate::server::limits;

/// Applies a non-allocating action to one address, found by its network.
pub async fn change(
    actor: &Caller,
    address: &str,
    action: Action,
    reason: &str,
) -> Result<address::Model, AppError> {
    let ip = parse(address)?;
    // A reservation's reason is the address's note, kept as the note is.
    let reason = match action {
        Action::Reserve => limits::bounded("note", reason, limits::NOTE)?,
        _ => limits::bounded("reason", reason, limits::REASON)?,
    };
    let reason = reason.as_str();
    if action == Action::ForceFree && reason.is_empty() {
        return Err(AppError::BadRequest(
            "Say why the address is freed without checks.".into(),
        ));
    }
    let net = networks::containing(&actor.state.db, ip)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("{ip} is in no network.")))?;
    let txn = db::begin_write(&actor.state.db).await?;
    let net = networks::lock(&txn, net.id).await?;
    let holder = match action {
        Action::Reserve => Holder {
            note: reason.to_string(),
            ..Holder::default()
        },
        _ => Holder::default(),
    };
    let n = ip::to_u128(ip);
    let done = apply(&txn, actor, &net, n, action, reason, holder)
        .await?
        .map_err(|not| not.into_error(n))?;
    txn.commit().await?;
    Ok(done)
}

/// Most addresses one bulk request may change.
pub const BULK_MAX: usize = 1000;

/// Applies `action` to every address in `list`, all or nothing: one transaction, the
/// networks locked in id order, the addresses changed in numeric order. The first refusal
/// names its address and nothing is changed.
pub async fn change_many(
    actor: &Caller,
    list: &[String],
    action: Action,
    reason: &str,
) -> Result<Vec<AddressView>, AppError> {
    let reason = limits::bounded("reason", reason, limits::REASON)?;
    let reason = reason.as_str();
    if list.is_empty() {
        return Err(AppError::BadRequest("Select at least one address.".into()));
    }
    if list.len() > BULK_MAX {
        return Err(AppError::BadRequest(format!(
            "At most {BULK_MAX} addresses at once."
        )));
    }
    if action == Action::ForceFree && reason.is_empty() {
        return Err(AppError::BadRequest(
            "Say why the addresses are freed without checks.".into(),
        ));
    }
    let mut targets: Vec<u128> = list
        .iter()
        .map(|a| parse(a).map(ip::to_u128))
        .collect::<Result<_, _>>()?;
    targets.sort_unstable();
    targets.dedup();
    let mut by_network: Vec<(i64, u128)> = Vec::with_capacity(targets.len());
    for n in targets {
        let addr = ip::from_u128(n);
        let net = networks::containing(&actor.state.db, addr)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("{addr} is in no network.")))?;
        by_network.push((net.id, n));
    }
    by_network.sort_unstable();
    let txn = db::begin_write(&actor.state.db).await?;
    let mut done = Vec::with_capacity(by_network.len());
    let mut locked: Option<network::Model> = None;
    for (network_id, n) in by_network {
        if locked.as_ref().map(|m| m.id) != Some(network_id) {
            locked = Some(networks::lock(&txn, network_id).await?);
        }
        let net = locked.as_ref().expect("locked above");
        done.push(view(
            apply(&txn, actor, net, n, action, reason, Holder::default())
                .await?
                .map_err(|not| not.into_error(n))?,
        ));
    }
    txn.commit().await?;
    Ok(done)
}
