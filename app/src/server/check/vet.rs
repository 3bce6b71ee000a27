//! The check right before allocation (IPmanager's check "before an IP address is
//! provisioned"): the candidate is checked as a cycle would check it, and one that fails
//! gets its problem status at once, so the allocation moves on to another address.

use std::net::IpAddr;

use super::verdict::apply;
use super::Engine;
use crate::error::AppError;
use crate::model::AddressStatus;
use crate::server::entities::{address, network};
use crate::server::inventory::lifecycle::Finding;
use crate::server::inventory::{ip, networks};
use crate::server::AppState;

/// How a candidate fared in the check right before allocation.
#[derive(Debug)]
pub enum Vetted {
    Passed,
    /// It failed and now has a problem status; the text is the evidence.
    Failed(String),
    /// The check could not tell; the address stays free but is not handed out.
    Inconclusive(String),
}

/// Checks the free address `n` of the network `net` right before it is allocated, as the
/// network's check policy says.
/// A failure gives the address its problem status at once, so the next candidate is
/// another address.
pub async fn vet(
    state: &AppState,
    engine: &Engine,
    net: &network::Model,
    n: u128,
) -> Result<Vetted, AppError> {
    let addr: IpAddr = ip::from_u128(n);
    let zones = engine.recent_zones(&state.db).await?;
    let policy = networks::policy_of(net);
    let finding = engine.checker().check(addr, &zones, &policy).await;
    let evidence = match &finding {
        Finding::Clear(_) => return Ok(Vetted::Passed),
        Finding::Inconclusive(e) => return Ok(Vetted::Inconclusive(e.clone())),
        Finding::InUse(e) | Finding::Listed { evidence: e, .. } => e.clone(),
    };
    let row = address::Entity::find_by_ip(addr).one(&state.db).await?;
    let row = match row {
        Some(row) => row,
        // A sparse network keeps no row for a free address: record the problem on one.
        None => networks::insert_free_row(&state.db, net.id, n).await?,
    };
    if row.status == AddressStatus::Free {
        apply(state, &row, &finding).await?;
    }
    Ok(Vetted::Failed(evidence))
}
