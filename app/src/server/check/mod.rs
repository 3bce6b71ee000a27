//! The check engine: proves that an address is really free before anyone gets it again.
//! Two checks, as in IPmanager: (1) availability — nothing answers on the address, by the
//! administrator's script or the built-in ICMP prober — and (2) DNSBL — no healthy
//! blacklist zone lists it. A check that cannot tell is inconclusive and changes nothing.
//!
//! [`probe`] holds the availability checks and [`dnsbl`] the blacklist checks and zones;
//! [`cycle`] runs the periodic cycle over every address being checked or with a problem,
//! shared among instances by [`claim`]s, and [`verdict`] writes what it found; [`vet`]
//! checks one candidate right before allocation; [`jobs`] schedule cycles and join other
//! instances' cycles; [`runs`], [`problems`] and [`problem_days`] are what the pages show
//! of it all.

pub mod claim;
pub mod counters;
pub mod cycle;
pub mod dnsbl;
pub mod jobs;
pub mod probe;
pub mod prober_watch;
pub mod problem_days;
pub mod problems;
pub mod runs;
pub mod verdict;
pub mod vet;

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, TransactionTrait};

use crate::error::AppError;
use crate::server::config::Config;
use crate::server::entities::address;
use crate::server::inventory::lifecycle::Finding;
use crate::server::inventory::networks::{CheckPolicy, Policies};
use counters::CheckCounters;
use probe::{Availability, Prober};

/// Both checks of one address, against the zones that passed their self-test.
pub struct Checker {
    pub prober: Prober,
    pub dnsbl: dnsbl::resolver::Client,
    pub disable_ipv6: bool,
    /// What its checks found, by method; one set for the engine's life (see
    /// [`Engine::reconfigure`]).
    pub counters: CheckCounters,
}

impl Checker {
    pub fn from_config(config: &Config) -> Checker {
        Checker {
            prober: Prober::from_config(config),
            dnsbl: dnsbl::resolver::Client::from_config(config),
            disable_ipv6: config.disable_ipv6_checking,
            counters: CheckCounters::default(),
        }
    }

    /// Both checks of `addr` as its network's `policy` says: its probe methods, and
    /// whether the DNSBL half applies.
    pub async fn check(&self, addr: IpAddr, zones: &dnsbl::Zones, policy: &CheckPolicy) -> Finding {
        if let Some(skipped) = self.skipped(addr) {
            return skipped;
        }
        // Both checks at once: a silent address's ping costs a whole timeout, which its
        // DNSBL queries need not wait out. Availability still decides first.
        let (answers, listing) = tokio::join!(
            self.prober.answers(addr, policy.probes.as_ref()),
            self.listing(addr, zones, policy)
        );
        self.decide(answers, listing)
    }

    /// Both checks of `addr` where an agent made the availability half elsewhere and sent
    /// its methods' `answers`: the DNSBL half is made here (where a check is made does not
    /// matter to DNS), and the verdict as [`Checker::check`] makes it. The DNSBL half is
    /// skipped when the answers already decide.
    pub async fn judge_answers(
        &self,
        addr: IpAddr,
        zones: &dnsbl::Zones,
        policy: &CheckPolicy,
        answers: Vec<(&'static str, Availability)>,
    ) -> Finding {
        if let Some(skipped) = self.skipped(addr) {
            return skipped;
        }
        let decided = answers
            .iter()
            .any(|(_, a)| !matches!(a, Availability::Free))
            || answers.is_empty();
        let listing = if decided {
            Finding::Clear(String::new())
        } else {
            self.listing(addr, zones, policy).await
        };
        self.decide(answers, listing)
    }

    fn skipped(&self, addr: IpAddr) -> Option<Finding> {
        (addr.is_ipv6() && self.disable_ipv6).then(|| {
            Finding::Clear(
                "IPv6 checking is disabled (DisableIPv6Checking): freed without checks".into(),
            )
        })
    }

    async fn listing(&self, addr: IpAddr, zones: &dnsbl::Zones, policy: &CheckPolicy) -> Finding {
        if policy.dnsbl {
            zones.judge(&self.dnsbl, addr, &self.counters).await
        } else {
            Finding::Clear(DNSBL_OFF.into())
        }
    }

    /// The verdict from the availability `answers` (counted by method) and the DNSBL
    /// `listing`: availability decides first.
    fn decide(&self, answers: Vec<(&'static str, Availability)>, listing: Finding) -> Finding {
        for (method, answer) in &answers {
            self.counters.availability(method, answer);
        }
        match Prober::verdict(answers) {
            Availability::InUse(evidence) => Finding::InUse(evidence),
            Availability::Unknown(error) => Finding::Inconclusive(error),
            Availability::Free => listing,
        }
    }
}

/// Why an address of a network without the DNSBL half passed, in its history.
pub const DNSBL_OFF: &str =
    "passed the availability check; the network's check policy leaves DNSBL out";

/// How many addresses a cycle checks at once with `checker`: scripts are processes
/// (`CheckConcurrency`), the built-in probes packets that thousands of checks share
/// (`ProbeConcurrency`).
fn concurrency_for(checker: &Checker, config: &Config) -> u32 {
    if checker.prober.runs_scripts() {
        config.check_concurrency
    } else {
        config.probe_concurrency
    }
}

/// The engine as the server holds it: the checker, the one lock that keeps two cycles
/// from running at once in this process, and the zones' last self-test. The checker is
/// replaced whole when a setting changes; a check holds the one it started with.
pub struct Engine {
    checker: std::sync::RwLock<Arc<Checker>>,
    concurrency: AtomicUsize,
    pub running: Arc<tokio::sync::Mutex<()>>,
    zones: tokio::sync::Mutex<Option<(Instant, Arc<dnsbl::Zones>)>>,
    /// Checks before allocation under way.
    pub vets: vet::InFlight,
}

pub type SharedEngine = Arc<Engine>;

/// How long a self-test vouches for a zone when an allocation checks a candidate. A cycle
/// always tests afresh; an allocation reuses a recent result instead of asking every zone
/// twice more for each address it hands out.
const ZONE_TEST_VALID: Duration = Duration::from_secs(60);

impl Engine {
    pub fn new(config: &Config) -> SharedEngine {
        let checker = Checker::from_config(config);
        let concurrency = concurrency_for(&checker, config);
        Self::with_checker(checker, concurrency)
    }

    /// An engine around a checker built elsewhere (a prober whose sockets were opened in
    /// another network namespace, say).
    pub fn with_checker(checker: Checker, concurrency: u32) -> SharedEngine {
        Arc::new(Engine {
            checker: std::sync::RwLock::new(Arc::new(checker)),
            concurrency: AtomicUsize::new(concurrency as usize),
            running: Arc::new(tokio::sync::Mutex::new(())),
            zones: tokio::sync::Mutex::new(None),
            vets: vet::InFlight::default(),
        })
    }

    /// The checker in effect now.
    pub fn checker(&self) -> Arc<Checker> {
        self.checker
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// How many addresses a cycle checks at once.
    pub fn concurrency(&self) -> usize {
        self.concurrency.load(Ordering::Relaxed).max(1)
    }

    /// Puts changed settings into effect: checks that start from now on use them.
    pub fn reconfigure(&self, config: &Config) {
        let checker = Checker {
            counters: self.checker().counters.clone(),
            ..Checker::from_config(config)
        };
        self.concurrency.store(
            concurrency_for(&checker, config) as usize,
            Ordering::Relaxed,
        );
        *self
            .checker
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(checker);
    }

    /// Checks `addr` on a task of its own: a cycle's thousands of checks then share every
    /// core, where polled inside one task they would all run on one.
    pub async fn check_on_task(
        self: Arc<Self>,
        addr: IpAddr,
        zones: Arc<dnsbl::Zones>,
        policy: Arc<CheckPolicy>,
    ) -> Finding {
        let checker = self.checker();
        tokio::spawn(async move { checker.check(addr, &zones, &policy).await })
            .await
            .unwrap_or_else(|e| Finding::Inconclusive(format!("the check stopped: {e}")))
    }

    /// Checks the address of a stored row, on a task of its own, and hands back the row
    /// with what was found, as a verdict is written from both.
    pub async fn check_row(
        self: Arc<Self>,
        row: address::Model,
        zones: Arc<dnsbl::Zones>,
        policies: Arc<Policies>,
    ) -> (address::Model, Finding) {
        let policy = policies.of(row.network_id);
        let finding = match crate::server::inventory::ip::from_bytes(&row.ip) {
            Some(addr) => self.check_on_task(addr, zones, policy).await,
            None => Finding::Inconclusive("the stored address does not parse".into()),
        };
        (row, finding)
    }

    /// Self-tests every enabled zone now, records the result and keeps it.
    pub async fn refresh_zones(
        &self,
        db: &(impl ConnectionTrait + TransactionTrait),
    ) -> Result<Arc<dnsbl::Zones>, AppError> {
        let mut kept = self.zones.lock().await;
        let zones = Arc::new(dnsbl::Zones::load_and_test(db, &self.checker().dnsbl).await?);
        *kept = Some((Instant::now(), zones.clone()));
        Ok(zones)
    }

    /// The zones as last self-tested, tested again if that was over a minute ago.
    pub async fn recent_zones(
        &self,
        db: &(impl ConnectionTrait + TransactionTrait),
    ) -> Result<Arc<dnsbl::Zones>, AppError> {
        {
            let kept = self.zones.lock().await;
            if let Some((at, zones)) = kept.as_ref() {
                if at.elapsed() < ZONE_TEST_VALID {
                    return Ok(zones.clone());
                }
            }
        }
        self.refresh_zones(db).await
    }

    /// Forgets the last self-test, so a changed list of zones is tested before use.
    pub async fn forget_zones(&self) {
        *self.zones.lock().await = None;
    }
}
