//! The check engine: proves that an address is really free before anyone gets it again.
//! Two checks, as in IPmanager: (1) availability — nothing answers on the address, by the
//! administrator's script or the built-in ICMP prober — and (2) DNSBL — no healthy
//! blacklist zone lists it. A check that cannot tell is inconclusive and changes nothing.
//!
//! [`cycle`] runs the periodic cycle over every address being checked or with a problem;
//! [`vet`] checks one candidate right before allocation; [`job`] schedules cycles.

pub mod cycle;
pub mod dnsbl;
pub mod icmp;
pub mod job;
pub mod resolver;
pub mod script;
pub mod verdict;

use std::net::IpAddr;
use std::sync::Arc;

use super::config::Config;
use crate::server::lifecycle::Finding;

/// What an availability check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Availability {
    /// Nothing answered.
    Free,
    /// Something answered; the evidence says what.
    InUse(String),
    /// The check could not tell; the text says why.
    Unknown(String),
}

/// The availability check in use: the administrator's script, or the built-in prober.
pub enum Prober {
    Script(script::ScriptChecker),
    Icmp(icmp::IcmpProber),
}

impl Prober {
    pub fn from_config(config: &Config) -> Prober {
        match &config.ip_checker_script {
            Some(path) => Prober::Script(script::ScriptChecker::new(&path.0, config.check_timeout)),
            None => Prober::Icmp(icmp::IcmpProber::new(
                config.ping_count,
                config.ping_timeout,
            )),
        }
    }

    pub async fn check(&self, addr: IpAddr) -> Availability {
        match self {
            Prober::Script(s) => s.check(addr).await,
            Prober::Icmp(p) => p.check(addr).await,
        }
    }

    /// A configuration problem that makes every availability check inconclusive (the
    /// prober's socket cannot be opened), for the dashboard.
    pub fn problem(&self) -> Option<String> {
        match self {
            Prober::Script(_) => None,
            Prober::Icmp(p) => p.problem(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Prober::Script(s) => format!("checker script {}", s.program().display()),
            Prober::Icmp(_) => "built-in ICMP prober".into(),
        }
    }
}

/// Both checks of one address, against the zones that passed their self-test.
pub struct Checker {
    pub prober: Prober,
    pub dnsbl: resolver::Client,
    pub disable_ipv6: bool,
}

impl Checker {
    pub fn from_config(config: &Config) -> Checker {
        Checker {
            prober: Prober::from_config(config),
            dnsbl: resolver::Client::from_config(config),
            disable_ipv6: config.disable_ipv6_checking,
        }
    }

    pub async fn check(&self, addr: IpAddr, zones: &dnsbl::Zones) -> Finding {
        if addr.is_ipv6() && self.disable_ipv6 {
            return Finding::Clear(
                "IPv6 checking is disabled (DisableIPv6Checking): freed without checks".into(),
            );
        }
        match self.prober.check(addr).await {
            Availability::InUse(evidence) => return Finding::InUse(evidence),
            Availability::Unknown(error) => return Finding::Inconclusive(error),
            Availability::Free => {}
        }
        zones.judge(&self.dnsbl, addr).await
    }
}

/// The engine as the server holds it: the checker, and the one lock that keeps two cycles
/// from running at once in this process.
pub struct Engine {
    pub checker: Checker,
    pub concurrency: usize,
    pub running: Arc<tokio::sync::Mutex<()>>,
}

pub type SharedEngine = Arc<Engine>;

impl Engine {
    pub fn new(config: &Config) -> SharedEngine {
        Arc::new(Engine {
            checker: Checker::from_config(config),
            concurrency: config.check_concurrency as usize,
            running: Arc::new(tokio::sync::Mutex::new(())),
        })
    }
}

/// Checks `addr` right before it is allocated; see [`verdict::vet`].
pub use verdict::vet;
