//! The availability check (IPmanager's first check): does anything answer on the address?
//! The administrator's script decides, as IPmanager's `IpCheckerScript` does, or the
//! built-in probes do, or both: ICMP echo ([`icmp`]), TCP SYNs ([`tcp`]) and, for
//! addresses on a directly connected network, ARP or neighbour discovery ([`neighbour`]).
//!
//! An address is in use as soon as any method gets an answer, free only when every method
//! in effect was tried and none answered, and the check is inconclusive (never free) when
//! a method could not run. On a directly connected network the neighbour probe stands for
//! ICMP and TCP: a host that does not answer ARP cannot be reached by any IP packet, and
//! sending those would only fill the kernel's neighbour table with failed entries.

pub mod icmp;
pub mod links;
pub mod neighbour;
pub mod rate;
pub mod script;
pub mod tcp;

use std::net::IpAddr;
use std::sync::Arc;

use crate::model::ProbeMethod;
use crate::server::config::{Config, ProbeMethods};

/// Registers a socket the probe owns with the runtime, so its readiness can be awaited.
fn poll_socket<T: std::os::fd::AsRawFd>(socket: T) -> std::io::Result<tokio::io::unix::AsyncFd<T>> {
    // SAFETY: every caller hands over a socket it owns and never closes otherwise; the
    // AsyncFd owns it from here and closes it when dropped.
    Ok(unsafe { tokio::io::unix::AsyncFd::register(socket) }?)
}

/// Ends the reader tasks a probe started once the probe is dropped. A reader holds its
/// socket while it waits for the next packet, so without this a probe replaced by a saved
/// setting would keep its sockets, and their copies of the host's traffic, for the life
/// of the process.
pub(crate) struct Readers(tokio::sync::watch::Sender<()>);

impl Readers {
    fn new() -> Readers {
        Readers(tokio::sync::watch::channel(()).0)
    }

    /// What a reader task watches.
    fn watch(&self) -> ReadersStop {
        ReadersStop(self.0.subscribe())
    }
}

/// A reader task's side of [`Readers`].
pub(crate) struct ReadersStop(tokio::sync::watch::Receiver<()>);

impl ReadersStop {
    /// Resolves once the probe is gone (nothing is ever sent: only the drop counts).
    async fn stopped(&mut self) {
        while self.0.changed().await.is_ok() {}
    }

    /// Waits for `fd` to be readable; `None` once the probe is gone or the socket failed.
    async fn readable<'a, T: std::os::fd::AsRawFd>(
        &mut self,
        fd: &'a tokio::io::unix::AsyncFd<T>,
    ) -> Option<tokio::io::unix::AsyncFdReadyGuard<'a, T>> {
        tokio::select! {
            _ = self.stopped() => None,
            ready = fd.readable() => ready.ok(),
        }
    }
}

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

impl Availability {
    /// One verdict from several methods' answers: any answer means in use, any method
    /// that could not tell makes the whole inconclusive, and only silence everywhere is
    /// free.
    pub fn of_all(answers: impl IntoIterator<Item = Availability>) -> Availability {
        let mut unknown: Vec<String> = Vec::new();
        for answer in answers {
            match answer {
                Availability::InUse(evidence) => return Availability::InUse(evidence),
                Availability::Unknown(why) => unknown.push(why),
                Availability::Free => {}
            }
        }
        if unknown.is_empty() {
            Availability::Free
        } else {
            Availability::Unknown(unknown.join("; "))
        }
    }
}

/// The built-in probes, each opened once; one a configuration does not use is not
/// opened at all.
#[derive(Default)]
pub struct Probes {
    pub icmp: Option<icmp::IcmpProber>,
    pub tcp: Option<tcp::TcpProber>,
    pub neighbour: Option<neighbour::NeighbourProber>,
}

impl Probes {
    /// Opens the probes `methods` names, sharing one packet budget; needs a Tokio runtime
    /// and opens its sockets in the current thread's network namespace.
    pub fn open(methods: &ProbeMethods, config: &Config) -> Probes {
        let pacer = Arc::new(rate::Pacer::new(config.probe_rate));
        Probes {
            icmp: methods.contains(ProbeMethod::Icmp).then(|| {
                icmp::IcmpProber::new(config.ping_count, config.ping_timeout, pacer.clone())
            }),
            tcp: methods.contains(ProbeMethod::Tcp).then(|| {
                tcp::TcpProber::new(
                    config.tcp_probe_ports.0.clone(),
                    config.probe_timeout,
                    pacer.clone(),
                )
            }),
            neighbour: methods
                .contains(ProbeMethod::Arp)
                .then(|| neighbour::NeighbourProber::new(config.probe_timeout, pacer.clone())),
        }
    }

    /// The methods that are open, as `Probes` words.
    pub fn opened(&self) -> Option<ProbeMethods> {
        ProbeMethods::of(
            [
                self.icmp.as_ref().map(|_| ProbeMethod::Icmp),
                self.tcp.as_ref().map(|_| ProbeMethod::Tcp),
                self.neighbour.as_ref().map(|_| ProbeMethod::Arp),
            ]
            .into_iter()
            .flatten(),
        )
    }

    /// Why the probes among `methods` cannot work, where one cannot.
    fn problem(&self, methods: &ProbeMethods) -> Option<String> {
        let problems: Vec<String> = methods
            .iter()
            .filter_map(|m| match m {
                ProbeMethod::Icmp => self.icmp.as_ref().and_then(|p| p.problem()),
                ProbeMethod::Tcp => self.tcp.as_ref().and_then(|p| p.problem()),
                ProbeMethod::Arp => self.neighbour.as_ref().and_then(|p| p.problem()),
            })
            .collect();
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    /// Asks `addr` with `methods`, each method's answer apart (a probe method that did
    /// not get to ask is left out). On a directly connected network the neighbour probe
    /// stands for the others (see the module's notes).
    async fn answers(
        &self,
        addr: IpAddr,
        methods: &ProbeMethods,
    ) -> Vec<(&'static str, Availability)> {
        let not_open = |m: ProbeMethod| {
            Availability::Unknown(format!("the {} probe is not available here", m.as_str()))
        };
        let arp = ProbeMethod::Arp.as_str();
        if methods.contains(ProbeMethod::Arp) {
            let Some(neighbour) = &self.neighbour else {
                return vec![(arp, not_open(ProbeMethod::Arp))];
            };
            if let Some(answer) = neighbour.check(addr).await {
                return vec![(arp, answer)];
            }
            if !methods.contains(ProbeMethod::Icmp) && !methods.contains(ProbeMethod::Tcp) {
                return vec![(
                    arp,
                    Availability::Unknown(format!(
                        "arp: {addr} is not on a directly connected network, and ARP and \
                         neighbour discovery reach only those; add icmp or tcp to the probes"
                    )),
                )];
            }
        }
        let icmp = async {
            match (&self.icmp, methods.contains(ProbeMethod::Icmp)) {
                (_, false) => None,
                (Some(p), true) => Some(p.check(addr).await),
                (None, true) => Some(not_open(ProbeMethod::Icmp)),
            }
        };
        let tcp = async {
            match (&self.tcp, methods.contains(ProbeMethod::Tcp)) {
                (_, false) => None,
                (Some(p), true) => Some(p.check(addr).await),
                (None, true) => Some(not_open(ProbeMethod::Tcp)),
            }
        };
        let (icmp, tcp) = tokio::join!(icmp, tcp);
        [
            tcp.map(|a| (ProbeMethod::Tcp.as_str(), a)),
            icmp.map(|a| (ProbeMethod::Icmp.as_str(), a)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The availability check in effect: the administrator's script, the built-in probes, or
/// both.
pub struct Prober {
    pub script: Option<script::ScriptChecker>,
    pub probes: Probes,
    /// The built-in methods every network is checked with unless its policy says
    /// otherwise; `None`: the script alone, as in IPmanager.
    pub methods: Option<ProbeMethods>,
}

impl Prober {
    /// Every built-in probe is opened, so a network whose policy asks for a method the
    /// configuration leaves out can still be checked with it.
    pub fn from_config(config: &Config) -> Prober {
        let script = config
            .ip_checker_script
            .as_ref()
            .map(|path| script::ScriptChecker::new(&path.0, config.check_timeout));
        Prober {
            script,
            probes: Probes::open(&ProbeMethods::all(), config),
            methods: config.probe_methods(),
        }
    }

    /// A prober of the script alone.
    pub fn script(script: script::ScriptChecker) -> Prober {
        Prober {
            script: Some(script),
            probes: Probes::default(),
            methods: None,
        }
    }

    /// A prober of the built-in probes alone, every one of them in use (made elsewhere:
    /// in another network namespace, say).
    pub fn built_in(probes: Probes) -> Prober {
        Prober {
            script: None,
            methods: probes.opened(),
            probes,
        }
    }

    /// Whether a check is one process per address (a script), which `CheckConcurrency`
    /// bounds, rather than packets, which thousands of checks share.
    pub fn runs_scripts(&self) -> bool {
        self.script.is_some()
    }

    /// Checks `addr` with the script and the built-in `methods` (`None`: the configured
    /// ones).
    pub async fn check(&self, addr: IpAddr, methods: Option<&ProbeMethods>) -> Availability {
        Self::verdict(self.answers(addr, methods).await)
    }

    /// Each method's answer about `addr` apart, the script's as `script`; none when no
    /// method is configured.
    pub async fn answers(
        &self,
        addr: IpAddr,
        methods: Option<&ProbeMethods>,
    ) -> Vec<(&'static str, Availability)> {
        let methods = methods.or(self.methods.as_ref());
        let script = async {
            match &self.script {
                Some(s) => Some(("script", s.check(addr).await)),
                None => None,
            }
        };
        let probes = async {
            match methods {
                Some(m) => self.probes.answers(addr, m).await,
                None => Vec::new(),
            }
        };
        let (script, mut answers) = tokio::join!(script, probes);
        answers.extend(script);
        answers
    }

    /// The availability the methods' `answers` make together.
    pub fn verdict(answers: Vec<(&'static str, Availability)>) -> Availability {
        if answers.is_empty() {
            // Never free an address because nothing was asked.
            return Availability::Unknown("no availability check is configured".into());
        }
        Availability::of_all(answers.into_iter().map(|(_, answer)| answer))
    }

    /// A configuration problem that makes availability checks inconclusive (a probe's
    /// socket cannot be opened), for the dashboard.
    pub fn problem(&self) -> Option<String> {
        self.methods.as_ref().and_then(|m| self.probes.problem(m))
    }

    pub fn describe(&self) -> String {
        let built_in = self.methods.as_ref().map(|m| {
            let names: Vec<&str> = m
                .iter()
                .map(|m| match m {
                    ProbeMethod::Icmp => "ICMP echo",
                    ProbeMethod::Tcp => "TCP SYN",
                    ProbeMethod::Arp => "ARP/NDP on-link",
                })
                .collect();
            format!("built-in probes ({})", names.join(", "))
        });
        let script = self
            .script
            .as_ref()
            .map(|s| format!("checker script {}", s.program().display()));
        [script, built_in]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" and the ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_answer_wins_and_silence_alone_frees() {
        use Availability::*;
        assert_eq!(Availability::of_all([Free, Free]), Free);
        assert_eq!(
            Availability::of_all([Free, InUse("tcp 443: SYN-ACK".into()), Unknown("x".into())]),
            InUse("tcp 443: SYN-ACK".into())
        );
        assert_eq!(
            Availability::of_all([
                Unknown("no raw socket".into()),
                Free,
                Unknown("no route".into())
            ]),
            Unknown("no raw socket; no route".into())
        );
        assert_eq!(Availability::of_all([]), Free);
    }
}
