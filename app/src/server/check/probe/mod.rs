//! The availability check (IPmanager's first check): does anything answer on the address?
//! Either the administrator's script decides, as IPmanager's `IpCheckerScript` does, or
//! the built-in prober does.

pub mod icmp;
pub mod script;

use std::net::IpAddr;

use crate::server::config::Config;

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
