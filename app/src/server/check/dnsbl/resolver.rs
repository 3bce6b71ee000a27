//! The DNS client behind DNSBL checks: hickory-resolver pointed at `DnsResolver`, or at the
//! servers in /etc/resolv.conf — never a public resolver built into a library. Nothing is
//! cached (a delisted address must be seen as delisted in the next cycle), /etc/hosts is
//! not consulted, and each query is tried once within `CheckTimeout`: a zone that does not
//! answer is an error for this cycle, not a reason to stall it.

use std::net::{Ipv4Addr, SocketAddr};

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError, NoRecords};
use hickory_resolver::proto::op::{Message, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::TokioResolver;

use super::udp::{Multiplexer, QueryError};
use crate::server::config::Config;

/// What an A query got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Records(Vec<Ipv4Addr>),
    NxDomain,
    /// The name exists without an A record.
    NoData,
    Error(String),
}

pub struct Client {
    resolver: Result<TokioResolver, String>,
    /// A queries go here when there is one resolver to ask (see [`super::udp`]); with
    /// several, hickory-resolver's choice among them is kept.
    a_queries: Option<Multiplexer>,
    in_flight: tokio::sync::Semaphore,
}

/// Queries outstanding at once. A cycle has thousands of addresses in flight, and their
/// DNSBL queries would otherwise all leave together the moment their pings time out: a
/// burst that overflows the resolver's receive queue and turns into timeouts, which are
/// inconclusive checks. Bounded, they go out as fast as answers come back.
const QUERIES_IN_FLIGHT: usize = 256;

fn options(config: &Config, mut opts: ResolverOpts) -> ResolverOpts {
    opts.cache_size = 0;
    opts.timeout = config.check_timeout;
    // hickory counts retries after the first try.
    opts.attempts = 0;
    opts.ndots = 0;
    opts.use_hosts_file = ResolveHosts::Never;
    opts
}

/// The resolver for every query, and the one server A queries can go to directly.
fn build(config: &Config) -> (Result<TokioResolver, String>, Option<SocketAddr>) {
    let (resolver_config, opts) = match config.dns_resolver {
        Some(server) => (to_server(server), ResolverOpts::default()),
        None => match hickory_resolver::system_conf::read_system_conf() {
            Ok(system) => system,
            Err(e) => {
                return (
                    Err(format!("cannot read the system's DNS configuration: {e}")),
                    None,
                )
            }
        },
    };
    let only_server = match resolver_config.name_servers() {
        [one] => one
            .connections
            .iter()
            .find(|c| matches!(c.protocol, ProtocolConfig::Udp))
            .map(|udp| SocketAddr::new(one.ip, udp.port)),
        _ => None,
    };
    let mut builder =
        TokioResolver::builder_with_config(resolver_config, TokioRuntimeProvider::default());
    *builder.options_mut() = options(config, opts);
    let resolver = builder
        .build()
        .map_err(|e| format!("cannot set up the DNS resolver: {e}"));
    (resolver, only_server)
}

/// The A records among an answer's records; a name without any has no data.
fn a_records(answers: &[Record]) -> Answer {
    let records: Vec<Ipv4Addr> = answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.0),
            _ => None,
        })
        .collect();
    if records.is_empty() {
        Answer::NoData
    } else {
        Answer::Records(records)
    }
}

/// What a resolver's whole answer to an A query says.
fn answer_of(message: &Message) -> Answer {
    match message.metadata.response_code {
        ResponseCode::NoError => a_records(&message.answers),
        ResponseCode::NXDomain => Answer::NxDomain,
        other => Answer::Error(format!("the server answered {other}")),
    }
}

fn to_server(server: SocketAddr) -> ResolverConfig {
    let mut udp = ConnectionConfig::udp();
    udp.port = server.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = server.port();
    ResolverConfig::from_name_servers(vec![NameServerConfig::new(
        server.ip(),
        true,
        vec![udp, tcp],
    )])
}

fn describe(err: &NetError) -> Answer {
    match err {
        NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. })) => {
            match *response_code {
                ResponseCode::NXDomain => Answer::NxDomain,
                ResponseCode::NoError => Answer::NoData,
                other => Answer::Error(format!("the server answered {other}")),
            }
        }
        NetError::Dns(DnsError::ResponseCode(code)) => {
            Answer::Error(format!("the server answered {code}"))
        }
        NetError::Timeout => Answer::Error("no answer in time".into()),
        other => Answer::Error(other.to_string()),
    }
}

impl Client {
    pub fn from_config(config: &Config) -> Client {
        let (resolver, only_server) = build(config);
        Client {
            resolver,
            a_queries: only_server.map(|s| Multiplexer::new(s, config.check_timeout)),
            in_flight: tokio::sync::Semaphore::new(QUERIES_IN_FLIGHT),
        }
    }

    /// The A records of `name` (a fully qualified name ending in a dot).
    pub async fn a(&self, name: &str) -> Answer {
        let resolver = match &self.resolver {
            Ok(r) => r,
            Err(e) => return Answer::Error(e.clone()),
        };
        let _permit = self.in_flight.acquire().await;
        if let Some(direct) = &self.a_queries {
            let Ok(fqdn) = Name::from_ascii(name) else {
                return Answer::Error(format!("{name:?} is not a DNS name"));
            };
            match direct.query(&fqdn, RecordType::A).await {
                Ok(answer) => return answer_of(&answer),
                // Too long for UDP: hickory-resolver asks again over TCP.
                Err(QueryError::Truncated) => {}
                Err(e) => return Answer::Error(e.to_string()),
            }
        }
        match resolver.lookup(name, RecordType::A).await {
            Ok(lookup) => a_records(lookup.answers()),
            Err(e) => describe(&e),
        }
    }

    /// The TXT reason a zone gives for `name`, if any; a failure here only loses the reason.
    pub async fn txt(&self, name: &str) -> Option<String> {
        let resolver = self.resolver.as_ref().ok()?;
        let _permit = self.in_flight.acquire().await;
        let lookup = resolver.txt_lookup(name).await.ok()?;
        let texts: Vec<String> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::TXT(txt) => Some(
                    txt.txt_data
                        .iter()
                        .map(|chunk| String::from_utf8_lossy(chunk))
                        .collect::<String>(),
                ),
                _ => None,
            })
            .collect();
        (!texts.is_empty()).then(|| texts.join(" "))
    }
}
