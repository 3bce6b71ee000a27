//! The check right before allocation (IPmanager's check "before an IP address is
//! provisioned"): the candidate is checked as a cycle would check it, and one that fails
//! gets its problem status at once, so the allocation moves on to another address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::future::{BoxFuture, FutureExt, WeakShared};

use super::verdict::apply;
use super::SharedEngine;
use crate::error::AppError;
use crate::model::AddressStatus;
use crate::server::agents::vet as agent_vet;
use crate::server::entities::{address, network};
use crate::server::inventory::lifecycle::Finding;
use crate::server::inventory::{ip, networks};
use crate::server::AppState;

/// How a candidate fared in the check right before allocation.
#[derive(Clone, Debug)]
pub enum Vetted {
    Passed,
    /// It failed and now has a problem status; the text is the evidence.
    Failed(String),
    /// The check could not tell; the address stays free but is not handed out.
    Inconclusive(String),
}

/// Checks of candidates under way, and those that passed a moment ago, by network and
/// address. Concurrent allocations all start from the same lowest free addresses, each
/// checks eight at once and takes one: alone, a hundred API clients allocating together
/// ran eight hundred checker scripts at once and some five thousand in all. Now an
/// allocation waits for a check of the same address already under way, and takes a pass
/// younger than [`PASS_KEPT`] as its own; a failure is kept by the database (the address
/// gets its problem status and is no candidate any more).
#[derive(Default)]
pub struct InFlight {
    flights: Mutex<Flights>,
    started: AtomicU64,
}

/// How long a passed check stands for the check right before allocation. A check takes
/// about as long itself (three pings of a second each by default): a pass this young is as
/// fresh as one that would be started now.
pub const PASS_KEPT: Duration = Duration::from_secs(2);

type Check = BoxFuture<'static, Result<Vetted, AppError>>;
type Flights = HashMap<(i64, u128), Flight>;

enum Flight {
    /// Under way; the number tells it from a later check of the same address.
    Running(u64, WeakShared<Check>),
    Passed(Instant),
}

/// Ends a check's entry in [`InFlight`]: when the check ends (a pass is kept a moment) or
/// when every allocation waiting for it has gone (the check, and its script, are then
/// dropped with it), unless a newer check of the address took its place.
struct Landing {
    engine: SharedEngine,
    key: (i64, u128),
    id: u64,
    landed: bool,
}

impl Landing {
    fn land(&mut self, passed: bool) {
        self.landed = true;
        let mut flights = self.engine.vets.lock();
        if matches!(flights.get(&self.key), Some(Flight::Running(id, _)) if *id == self.id) {
            if passed {
                flights.insert(self.key, Flight::Passed(Instant::now()));
            } else {
                flights.remove(&self.key);
            }
        }
    }
}

impl Drop for Landing {
    fn drop(&mut self) {
        // Dropped unfinished: nothing passed.
        if !self.landed {
            self.land(false);
        }
    }
}

impl InFlight {
    fn lock(&self) -> MutexGuard<'_, Flights> {
        self.flights
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many candidates are being checked now.
    pub fn running(&self) -> usize {
        self.lock()
            .values()
            .filter(|f| matches!(f, Flight::Running(..)))
            .count()
    }
}

/// Checks the free address `n` of the network `net` right before it is allocated, as the
/// network's check policy says, or waits for the check of it already under way, or takes
/// a pass of the last [`PASS_KEPT`].
/// A failure gives the address its problem status at once, so the next candidate is
/// another address.
pub async fn vet(state: &AppState, net: &network::Model, n: u128) -> Result<Vetted, AppError> {
    let key = (net.id, n);
    let check = {
        let mut flights = state.checks.vets.lock();
        let under_way = match flights.get(&key) {
            Some(Flight::Passed(at)) if at.elapsed() < PASS_KEPT => return Ok(Vetted::Passed),
            Some(Flight::Running(_, check)) => check.upgrade(),
            _ => None,
        };
        match under_way {
            Some(check) => check,
            None => {
                flights
                    .retain(|_, f| !matches!(f, Flight::Passed(at) if at.elapsed() >= PASS_KEPT));
                let id = state.checks.vets.started.fetch_add(1, Ordering::Relaxed);
                let mut landing = Landing {
                    engine: state.checks.clone(),
                    key,
                    id,
                    landed: false,
                };
                let (state, net) = (state.clone(), net.clone());
                let check = async move {
                    let vetted = check_candidate(&state, &net, n).await;
                    landing.land(matches!(vetted, Ok(Vetted::Passed)));
                    vetted
                }
                .boxed()
                .shared();
                if let Some(weak) = check.downgrade() {
                    flights.insert(key, Flight::Running(id, weak));
                }
                check
            }
        }
    };
    check.await
}

async fn check_candidate(
    state: &AppState,
    net: &network::Model,
    n: u128,
) -> Result<Vetted, AppError> {
    let engine = &state.checks;
    let addr: IpAddr = ip::from_u128(n);
    let zones = engine.recent_zones(&state.db).await?;
    let policy = networks::policy_of(net);
    let finding = match net.site_id {
        None => engine.checker().check(addr, &zones, &policy).await,
        // Made by the site's agents, from inside the network; the DNSBL half here.
        Some(site_id) => {
            match agent_vet::ask(state, site_id, addr, policy.probes.as_ref()).await? {
                Some(answers) => {
                    engine
                        .checker()
                        .judge_answers(addr, &zones, &policy, answers)
                        .await
                }
                None => Finding::Inconclusive(format!(
                    "the agents of the address's site did not answer within {}s",
                    agent_vet::wait(&state.config()).as_secs()
                )),
            }
        }
    };
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
