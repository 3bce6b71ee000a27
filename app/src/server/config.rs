//! ipvet's configuration: a file in IPmanager's format (`Key value` lines, `Option Name`
//! flags, `#` comments), overridden by `IPVET_<KEY>` environment variables, over defaults.
//! Every value remembers where it came from, for the config page and for error messages.
//!
//! Adding a directive is one line in the `directives!` list below.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::model::ProbeMethod;
use crate::server::inventory::ip::Cidr;

/// Where a configuration value was set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Default,
    File {
        path: PathBuf,
        line: usize,
    },
    Env(String),
    /// Saved on the config page.
    Saved {
        by: String,
        at: String,
    },
}

impl Source {
    /// Set where the web may not change it: the config file or the environment.
    pub fn is_fixed(&self) -> bool {
        matches!(self, Source::File { .. } | Source::Env(_))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File { path, line } => write!(f, "{}:{}", path.display(), line),
            Source::Env(var) => write!(f, "environment variable {var}"),
            Source::Saved { by, at } => write!(f, "saved here by {by} at {at}"),
        }
    }
}

/// A value that can be written in the config file or an environment variable.
pub trait ConfigValue: Sized {
    fn parse_value(raw: &str) -> Result<Self, String>;
    fn show(&self) -> String;
    /// Refuses a value the directive `key` does not allow (most allow any they parse).
    fn check_bounds(&self, _key: &str) -> Result<(), String> {
        Ok(())
    }
}

/// The range each duration directive allows: below it a setting breaks the server (a
/// `CheckPeriod` of 1ns ran cycles back to back), above it it overflows time arithmetic
/// or is surely a typo.
const DURATION_BOUNDS: &[(&str, Duration, Duration)] = &[
    ("SessionIdleTimeout", MINUTE, Duration::from_secs(30 * DAY)),
    (
        "SessionLifetime",
        Duration::from_secs(5 * 60),
        Duration::from_secs(365 * DAY),
    ),
    (
        "ProbeTimeout",
        Duration::from_millis(50),
        Duration::from_secs(30),
    ),
    (
        "CheckPeriod",
        Duration::from_secs(1),
        Duration::from_secs(30 * DAY),
    ),
    (
        "CheckTimeout",
        Duration::from_secs(1),
        Duration::from_secs(10 * 60),
    ),
    (
        "PingTimeout",
        Duration::from_millis(50),
        Duration::from_secs(30),
    ),
    (
        "AllocationTimeout",
        Duration::from_secs(1),
        Duration::from_secs(10 * 60),
    ),
    // Longer than the longest AllocationTimeout, so that an allocation can always end with
    // its own error first (see `Config::check_relations`).
    (
        "RequestTimeout",
        Duration::from_secs(2),
        Duration::from_secs(15 * 60),
    ),
    (
        "SchedulerLease",
        Duration::from_secs(3),
        Duration::from_secs(10 * 60),
    ),
    (
        "AlertRetry",
        Duration::from_millis(100),
        Duration::from_secs(60 * 60),
    ),
];
const MINUTE: Duration = Duration::from_secs(60);
const DAY: u64 = 24 * 60 * 60;

/// Longest text a directive's value may have: a path or a list of ports fits easily, and
/// every error that quotes a value stays short.
pub const MAX_VALUE_LEN: usize = 1024;

impl ConfigValue for SocketAddr {
    fn parse_value(raw: &str) -> Result<Self, String> {
        raw.parse().map_err(|_| {
            format!("`{raw}` is not an address:port such as 127.0.0.1:3000 or [::1]:3000")
        })
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

impl ConfigValue for bool {
    fn parse_value(raw: &str) -> Result<Self, String> {
        match raw.to_ascii_lowercase().as_str() {
            "on" | "yes" | "true" | "1" => Ok(true),
            "off" | "no" | "false" | "0" => Ok(false),
            _ => Err(format!("`{raw}` is not on or off")),
        }
    }
    fn show(&self) -> String {
        if *self { "on" } else { "off" }.to_string()
    }
}

impl ConfigValue for Duration {
    fn parse_value(raw: &str) -> Result<Self, String> {
        // A bare number is seconds, as in IPmanager's own settings.
        let d = match raw.parse::<u64>() {
            Ok(secs) => Duration::from_secs(secs),
            Err(_) => humantime::parse_duration(raw)
                .map_err(|_| format!("`{raw}` is not a duration such as 90s, 30m or 1h"))?,
        };
        if d.is_zero() {
            return Err("a duration must be longer than zero".into());
        }
        Ok(d)
    }
    fn show(&self) -> String {
        humantime::format_duration(*self).to_string()
    }
    fn check_bounds(&self, key: &str) -> Result<(), String> {
        match DURATION_BOUNDS.iter().find(|(k, _, _)| *k == key) {
            Some((_, min, max)) if self < min || self > max => Err(format!(
                "{} is outside what {key} allows: from {} to {}",
                self.show(),
                min.show(),
                max.show()
            )),
            _ => Ok(()),
        }
    }
}

impl ConfigValue for u32 {
    fn parse_value(raw: &str) -> Result<Self, String> {
        match raw.parse::<u32>() {
            Ok(n) if (1..=100_000).contains(&n) => Ok(n),
            _ => Err(format!("`{raw}` is not a whole number from 1 to 100000")),
        }
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

/// An optional value; empty text means "not set".
impl<T: ConfigValue> ConfigValue for Option<T> {
    fn parse_value(raw: &str) -> Result<Self, String> {
        if raw.trim().is_empty() {
            Ok(None)
        } else {
            T::parse_value(raw).map(Some)
        }
    }
    fn check_bounds(&self, key: &str) -> Result<(), String> {
        self.as_ref().map_or(Ok(()), |v| v.check_bounds(key))
    }
    fn show(&self) -> String {
        self.as_ref().map(ConfigValue::show).unwrap_or_default()
    }
}

/// A program ipvet runs: an absolute path, so what runs never depends on the working
/// directory or `PATH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramPath(pub PathBuf);

impl ConfigValue for ProgramPath {
    fn parse_value(raw: &str) -> Result<Self, String> {
        let path = PathBuf::from(raw.trim());
        if !path.is_absolute() {
            return Err(format!("`{raw}` is not an absolute path"));
        }
        Ok(ProgramPath(path))
    }
    fn show(&self) -> String {
        self.0.display().to_string()
    }
}

/// The built-in probe methods to use, written as words (`icmp tcp arp`): at least one,
/// each once, in a fixed order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeMethods(Vec<ProbeMethod>);

impl ProbeMethods {
    pub fn all() -> ProbeMethods {
        ProbeMethods(ProbeMethod::ALL.to_vec())
    }

    /// The methods among `methods`, in the fixed order; `None` when there are none.
    pub fn of(methods: impl IntoIterator<Item = ProbeMethod>) -> Option<ProbeMethods> {
        let mut methods: Vec<ProbeMethod> = methods.into_iter().collect();
        methods.sort();
        methods.dedup();
        (!methods.is_empty()).then_some(ProbeMethods(methods))
    }

    pub fn contains(&self, method: ProbeMethod) -> bool {
        self.0.contains(&method)
    }

    pub fn iter(&self) -> impl Iterator<Item = ProbeMethod> + '_ {
        self.0.iter().copied()
    }
}

impl ConfigValue for ProbeMethods {
    fn parse_value(raw: &str) -> Result<Self, String> {
        let mut methods = Vec::new();
        for word in raw
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
        {
            match ProbeMethod::parse(word) {
                Some(m) => methods.push(m),
                None => {
                    return Err(format!(
                        "`{}` is not a probe method; use icmp, tcp and arp",
                        word.chars().take(40).collect::<String>()
                    ))
                }
            }
        }
        ProbeMethods::of(methods)
            .ok_or_else(|| "name at least one probe method: icmp, tcp or arp".into())
    }
    fn show(&self) -> String {
        self.0
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Most entries of a list of networks in a directive.
pub const MAX_NETWORKS: usize = 64;

/// Networks written as words (`127.0.0.1 10.0.0.0/8 2001:db8::/32`): a bare address is a
/// network of one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkList(pub Vec<Cidr>);

impl NetworkList {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|c| c.contains(ip))
    }
}

impl ConfigValue for NetworkList {
    fn parse_value(raw: &str) -> Result<Self, String> {
        let mut list = Vec::new();
        for word in raw
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
        {
            let network = if word.contains('/') {
                Cidr::parse(word).map_err(|e| e.to_string())?
            } else {
                Cidr::host(
                    crate::server::inventory::ip::parse_address(word).map_err(|e| e.to_string())?,
                )
            };
            list.push(network);
            if list.len() > MAX_NETWORKS {
                return Err(format!("at most {MAX_NETWORKS} networks"));
            }
        }
        Ok(NetworkList(list))
    }
    fn show(&self) -> String {
        self.0
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Most ports one TCP probe asks: each is one packet per address checked.
pub const MAX_TCP_PROBE_PORTS: usize = 32;

/// TCP ports the TCP probe sends a SYN to, written as numbers (`22 80 443`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortList(pub Vec<u16>);

impl ConfigValue for PortList {
    fn parse_value(raw: &str) -> Result<Self, String> {
        let mut ports = Vec::new();
        for word in raw
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|w| !w.is_empty())
        {
            match word.parse::<u16>() {
                Ok(p) if p > 0 => {
                    if !ports.contains(&p) {
                        ports.push(p);
                    }
                }
                _ => {
                    return Err(format!(
                        "`{}` is not a TCP port from 1 to 65535",
                        word.chars().take(40).collect::<String>()
                    ))
                }
            }
            if ports.len() > MAX_TCP_PROBE_PORTS {
                return Err(format!("at most {MAX_TCP_PROBE_PORTS} ports"));
            }
        }
        if ports.is_empty() {
            return Err("name at least one TCP port".into());
        }
        Ok(PortList(ports))
    }
    fn show(&self) -> String {
        self.0
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The address users reach ipvet at, as a browser names it in `Origin`: a scheme (http or
/// https), a host and a port (the scheme's default when the URL names none). Nothing
/// after the host and port: an origin has no path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicUrl {
    scheme: String,
    host: String,
    port: u16,
}

impl PublicUrl {
    /// `origin` (an `Origin` header's value) names this address. `null` and anything that
    /// is not a plain origin never do.
    pub fn is_origin(&self, origin: &str) -> bool {
        PublicUrl::parse_origin(origin).is_some_and(|o| o == *self)
    }

    /// `scheme://host[:port]`, nothing more, with the scheme and host in lower case.
    pub fn parse_origin(raw: &str) -> Option<PublicUrl> {
        let uri: http::Uri = raw.parse().ok()?;
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => 443,
            "http" => 80,
            _ => return None,
        };
        let authority = uri.authority()?;
        let path = uri.path_and_query().map_or("", |p| p.as_str());
        if authority.as_str().contains('@') || !(path.is_empty() || path == "/") {
            return None;
        }
        let host = authority.host().to_ascii_lowercase();
        if host.is_empty() {
            return None;
        }
        Some(PublicUrl {
            port: authority.port_u16().unwrap_or(default_port),
            scheme,
            host,
        })
    }

    /// `scheme://host`, and `:port` when it is not the scheme's default: the start of a
    /// link to a page, for messages read outside the browser.
    pub fn origin(&self) -> String {
        let default_port = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default_port {
            format!("{}://{}", self.scheme, self.host)
        } else {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        }
    }

    /// The host and port as a `Host` header would name them for this scheme.
    pub fn is_host(&self, host: &str) -> bool {
        let Ok(authority) = host.parse::<http::uri::Authority>() else {
            return false;
        };
        let default_port = if self.scheme == "https" { 443 } else { 80 };
        authority.host().eq_ignore_ascii_case(&self.host)
            && authority.port_u16().unwrap_or(default_port) == self.port
    }
}

impl ConfigValue for PublicUrl {
    fn parse_value(raw: &str) -> Result<Self, String> {
        PublicUrl::parse_origin(raw.trim()).ok_or_else(|| {
            format!(
                "`{}` is not a public address such as https://ipam.example.net or \
                 http://10.0.0.5:3000: a scheme (http or https), a host and an optional port, \
                 without path, query or user",
                raw.chars().take(80).collect::<String>()
            )
        })
    }
    fn show(&self) -> String {
        let default = matches!(
            (self.scheme.as_str(), self.port),
            ("https", 443) | ("http", 80)
        );
        if default {
            format!("{}://{}", self.scheme, self.host)
        } else {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// A database URL: `sqlite://path` (the embedded default) or `postgres://…`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_sqlite(&self) -> bool {
        self.0.starts_with("sqlite:")
    }
    /// The file of an SQLite URL, if it names one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self
            .0
            .strip_prefix("sqlite://")
            .or_else(|| self.0.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }
}

/// A PostgreSQL URL may carry a password: show it without.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.show())
    }
}

impl ConfigValue for DatabaseUrl {
    fn parse_value(raw: &str) -> Result<Self, String> {
        if raw.starts_with("sqlite:")
            || raw.starts_with("postgres://")
            || raw.starts_with("postgresql://")
        {
            Ok(DatabaseUrl(raw.to_string()))
        } else {
            Err(format!("`{raw}` is neither sqlite://PATH nor postgres://…"))
        }
    }
    fn show(&self) -> String {
        self.password_shown_as(Some("***"))
    }
}

impl DatabaseUrl {
    /// The URL without its password, for a command an admin copies (`pg_dump`), where a
    /// masked `***` would be taken for the password.
    pub fn without_password(&self) -> String {
        self.password_shown_as(None)
    }

    /// The URL with its password (if any) replaced by `mask`, or left out with `None`.
    fn password_shown_as(&self, mask: Option<&str>) -> String {
        // The user info is everything before the authority's last `@` (a password may hold
        // an `@` of its own); the authority ends where the path, query or fragment begins.
        let Some(scheme) = self.0.find("://").map(|i| i + 3) else {
            return self.0.clone();
        };
        let rest = &self.0[scheme..];
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        match authority.rfind('@') {
            Some(at) => {
                let user = authority[..at].split(':').next().unwrap_or("");
                let secret = match mask {
                    Some(mask) if authority[..at].contains(':') => format!(":{mask}"),
                    _ => String::new(),
                };
                format!("{}{user}{secret}{}", &self.0[..scheme], &rest[at..])
            }
            None => self.0.clone(),
        }
    }
}

macro_rules! directives {
    ($( $(#[doc = $doc:literal])* $field:ident : $ty:ty = $key:literal, $default:expr; )*) => {
        /// The effective configuration. Field docs are the directives' documentation.
        #[derive(Clone, Debug)]
        pub struct Config {
            $( $(#[doc = $doc])* pub $field: $ty, )*
            /// Where each directive's value came from, by directive name.
            pub sources: BTreeMap<&'static str, Source>,
        }

        /// Every directive: its name in the file, its environment variable, its help.
        pub const DIRECTIVES: &[(&str, &str)] = &[ $( ($key, concat!($($doc, " "),*)) ),* ];

        impl Default for Config {
            fn default() -> Self {
                Config {
                    $( $field: $default, )*
                    sources: [$($key),*].into_iter().map(|k| (k, Source::Default)).collect(),
                }
            }
        }

        impl Config {
            /// Sets a directive from text. `Ok(false)`: no such directive.
            pub fn set(&mut self, key: &str, raw: &str, source: Source) -> Result<bool, String> {
                $(
                    if key.eq_ignore_ascii_case($key) {
                        if raw.len() > MAX_VALUE_LEN {
                            return Err(format!(
                                "a value has at most {MAX_VALUE_LEN} characters"
                            ));
                        }
                        let value = <$ty as ConfigValue>::parse_value(raw)?;
                        value.check_bounds($key)?;
                        self.$field = value;
                        self.sources.insert($key, source);
                        return Ok(true);
                    }
                )*
                Ok(false)
            }

            pub fn is_flag(key: &str) -> bool {
                $( if key.eq_ignore_ascii_case($key) {
                    return std::any::TypeId::of::<$ty>() == std::any::TypeId::of::<bool>();
                } )*
                false
            }

            /// Each directive with its effective value (secrets hidden) and source.
            pub fn effective(&self) -> Vec<(&'static str, String, Source)> {
                vec![ $( ($key, ConfigValue::show(&self.$field), self.sources[$key].clone()) ),* ]
            }
        }
    };
}

directives! {
    /// Address and port the web server listens on.
    listen: SocketAddr = "Listen", SocketAddr::from(([127, 0, 0, 1], 3000));
    /// Database URL: `sqlite://ipvet.db` (embedded, the default) or `postgres://…` for several instances.
    database: DatabaseUrl = "Database", DatabaseUrl("sqlite://ipvet.db".into());
    /// Mark session cookies Secure (HTTPS only). Turn off only for plain HTTP on loopback.
    secure_cookies: bool = "SecureCookies", true;
    /// A session ends after this long without a request.
    session_idle_timeout: Duration = "SessionIdleTimeout", Duration::from_secs(30 * 60);
    /// A session ends this long after sign-in, however active.
    session_lifetime: Duration = "SessionLifetime", Duration::from_secs(12 * 60 * 60);
    /// Availability checker script (IPmanager-compatible): gets the address as its first argument and prints OK when the address is free. Set without Probes, it alone decides, as in IPmanager; with Probes, it decides beside those methods.
    ip_checker_script: Option<ProgramPath> = "IpCheckerScript", None;
    /// Built-in availability probes, any of icmp, tcp and arp (ARP or neighbour discovery, on-link only). Unset: all three, or the IpCheckerScript alone when one is set. An address is free only when every method was tried and none got an answer.
    probes: Option<ProbeMethods> = "Probes", None;
    /// TCP ports the tcp probe sends a SYN to; a SYN-ACK or a RST from any means in use.
    tcp_probe_ports: PortList = "TcpProbePorts", PortList(vec![22, 80, 443, 445, 3389]);
    /// How long the tcp and arp probes wait for an answer.
    probe_timeout: Duration = "ProbeTimeout", Duration::from_secs(1);
    /// Most packets per second the built-in probes send, all methods together.
    probe_rate: u32 = "ProbeRate", 100_000;
    /// How many addresses the built-in probes check at once (scripts: CheckConcurrency).
    probe_concurrency: u32 = "ProbeConcurrency", 16_384;
    /// The address users reach ipvet at (`https://ipam.example.net`, a port if not the scheme's default, no path). Set, a state-changing request to the pages or server functions must come from this origin; unset, from the host the request names in its Host header.
    public_url: Option<PublicUrl> = "PublicUrl", None;
    /// Reverse proxies in front of ipvet, as addresses or networks (`127.0.0.1 10.0.0.0/8`). Only from these are X-Forwarded-For and Forwarded believed for the client's address (sign-in throttle, audit log, sessions). Unset: the connection's own address, always.
    trusted_proxies: NetworkList = "TrustedProxies", NetworkList::default();
    /// The DNS server DNSBL queries go to, as host:port. Unset: the servers in /etc/resolv.conf.
    dns_resolver: Option<SocketAddr> = "DnsResolver", None;
    /// How often the check cycle runs.
    check_period: Duration = "CheckPeriod", Duration::from_secs(60 * 60);
    /// Longest one availability check or DNS query may take; a checker script is killed, with all it started, after it.
    check_timeout: Duration = "CheckTimeout", Duration::from_secs(10);
    /// How many checker scripts run at once.
    check_concurrency: u32 = "CheckConcurrency", 64;
    /// Echo requests the built-in prober sends to each address.
    ping_count: u32 = "PingCount", 3;
    /// How long the built-in prober waits for each echo reply.
    ping_timeout: Duration = "PingTimeout", Duration::from_secs(1);
    /// IPv6 addresses skip both checks: released ones become free without checks.
    disable_ipv6_checking: bool = "DisableIPv6Checking", false;
    /// Addresses are not checked right before they are allocated.
    disable_ip_allocation_checking: bool = "DisableIpAllocationChecking", false;
    /// Longest an allocation may spend on the checks before it; it then fails with a clear error and allocates nothing.
    allocation_timeout: Duration = "AllocationTimeout", Duration::from_secs(20);
    /// Longest any request (a page, a server function, a REST call) may take; it is then answered 503 with a message. Longer than AllocationTimeout.
    request_timeout: Duration = "RequestTimeout", Duration::from_secs(60);
    /// Of several instances on one database, one schedules the check cycles and renews its lease three times this period; if it dies, another takes over within this period.
    scheduler_lease: Duration = "SchedulerLease", Duration::from_secs(15);
    /// How long an alert delivery that failed waits before its next try; each further failure waits twice as long (at most an hour), and a delivery is given up after 10 tries.
    alert_retry: Duration = "AlertRetry", Duration::from_secs(30);
}

/// The environment variable that overrides a directive: `IPVET_` and the name in upper
/// snake case (`SessionIdleTimeout` → `IPVET_SESSION_IDLE_TIMEOUT`).
pub fn env_var(key: &str) -> String {
    let mut out = String::from("IPVET_");
    let mut prev: Option<char> = None;
    for c in key.chars() {
        // Split before an upper-case letter that follows a lower-case letter or a digit,
        // so acronyms stay whole: `DisableIPv6Checking` → `DISABLE_IPV6_CHECKING`.
        if c.is_ascii_uppercase()
            && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
        {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
        prev = Some(c);
    }
    out
}

/// A configuration that cannot be used; the message names the file and line or variable.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Config {
    /// The built-in probe methods in effect: those `Probes` names; unset, all of them,
    /// unless an `IpCheckerScript` is set, which then decides alone as in IPmanager
    /// (`None`).
    pub fn probe_methods(&self) -> Option<ProbeMethods> {
        match (&self.probes, &self.ip_checker_script) {
            (Some(methods), _) => Some(methods.clone()),
            (None, Some(_)) => None,
            (None, None) => Some(ProbeMethods::all()),
        }
    }

    /// Loads `path` if given (it must exist), else `ipvet.conf` in the working directory if
    /// present, then applies the environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_with_env(path, &vars)
    }

    /// As [`Config::load`] with an explicit environment, so tests need not touch the
    /// process's own.
    pub fn load_with_env(
        path: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        let file = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from("ipvet.conf")).filter(|p| p.exists()),
        };
        if let Some(file) = file {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                ConfigError(format!(
                    "{}: cannot read the config file: {e}",
                    file.display()
                ))
            })?;
            config.apply_file(&file, &text)?;
        }
        config.apply_env(env)?;
        config.check_relations()?;
        Ok(config)
    }

    /// Refuses directives whose values are each allowed but not together.
    pub fn check_relations(&self) -> Result<(), ConfigError> {
        // The request timeout cuts the request off with a bare "took too long"; the
        // allocation's own timeout says what happened and guarantees nothing was allocated.
        if self.request_timeout <= self.allocation_timeout {
            return Err(ConfigError(format!(
                "RequestTimeout ({}, {}) must be longer than AllocationTimeout ({}, {}), so \
                 that an allocation whose checks take too long ends with its own error \
                 before the request is cut off",
                self.request_timeout.show(),
                self.sources["RequestTimeout"],
                self.allocation_timeout.show(),
                self.sources["AllocationTimeout"],
            )));
        }
        Ok(())
    }

    /// Applies config-file text; errors read `file:line: what is wrong`.
    pub fn apply_file(&mut self, file: &Path, text: &str) -> Result<(), ConfigError> {
        for (index, raw_line) in text.lines().enumerate() {
            let line_no = index + 1;
            let at = |msg: String| ConfigError(format!("{}:{}: {}", file.display(), line_no, msg));
            let line = raw_line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, rest) = match line.split_once(char::is_whitespace) {
                Some((k, r)) => (k, r.trim()),
                None => (line, ""),
            };
            let source = Source::File {
                path: file.to_path_buf(),
                line: line_no,
            };
            if key == "Option" {
                if rest.is_empty() || rest.contains(char::is_whitespace) {
                    return Err(at("`Option` takes exactly one option name".into()));
                }
                if !Self::is_flag(rest) {
                    return Err(at(format!("unknown option `{rest}`")));
                }
                self.set(rest, "on", source).map_err(at)?;
                continue;
            }
            if rest.is_empty() {
                return Err(at(format!("`{key}` needs a value")));
            }
            if !self
                .set(key, rest, source)
                .map_err(|e| at(format!("{key}: {e}")))?
            {
                return Err(at(format!("unknown directive `{key}`")));
            }
        }
        Ok(())
    }

    /// Applies `IPVET_<KEY>` variables. Variables that name no directive are left alone:
    /// `IPVET_ADMIN_PASSWORD` and the like are not directives.
    pub fn apply_env(&mut self, env: &[(String, String)]) -> Result<(), ConfigError> {
        for (key, _) in DIRECTIVES {
            let var = env_var(key);
            if let Some((_, value)) = env.iter().find(|(k, _)| *k == var) {
                self.set(key, value.trim(), Source::Env(var.clone()))
                    .map_err(|e| ConfigError(format!("{var}: {e}")))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        c.apply_file(Path::new("ipvet.conf"), text).map(|_| c)
    }

    #[test]
    fn durations_are_bounded_per_directive() {
        let defaults = Config::default().effective();
        for (key, min, max) in DURATION_BOUNDS {
            assert!(
                DIRECTIVES.iter().any(|(k, _)| k == key),
                "{key} is not a directive"
            );
            assert!(min < max, "{key}");
            // Every default is allowed, so an empty file always loads.
            let mut c = Config::default();
            let default = defaults
                .iter()
                .find(|(k, _, _)| k == key)
                .map(|(_, v, _)| v.clone())
                .expect("a directive shows its value");
            assert_eq!(c.set(key, &default, Source::Default), Ok(true), "{key}");
        }
        let mut c = Config::default();
        let err = c.set("CheckPeriod", "1ns", Source::Default).unwrap_err();
        assert!(err.contains("from 1s to 30days"), "{err}");
        assert!(c.set("CheckPeriod", "100years", Source::Default).is_err());
        assert_eq!(c.set("CheckPeriod", "1s", Source::Default), Ok(true));
        assert!(c.set("PingTimeout", "10ms", Source::Default).is_err());
        let long = c.set(
            "IpCheckerScript",
            &format!("/{}", "a".repeat(5000)),
            Source::Default,
        );
        assert!(long.unwrap_err().contains("at most 1024"));
        // In the file, the line is named.
        let err = file("CheckPeriod 1ns\n").unwrap_err().to_string();
        assert!(
            err.contains("ipvet.conf:1") && err.contains("CheckPeriod"),
            "{err}"
        );
    }

    proptest::proptest! {
        /// Whatever a config file or a settings form holds, it is read or refused with a
        /// message, never a panic.
        #[test]
        fn any_config_line_is_read_or_refused(
            key in proptest::sample::select(DIRECTIVES.iter().map(|(k, _)| *k).collect::<Vec<_>>()),
            value in ".{0,64}",
            text in "(.{0,40}\n){0,5}",
        ) {
            let mut c = Config::default();
            let _ = c.set(key, &value, Source::Default);
            let _ = file(&text);
            let _ = file(&format!("{key} {value}\n"));
        }
    }

    #[test]
    fn the_request_timeout_outlasts_the_allocation_timeout() {
        let env = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            Config::load_with_env(Some(Path::new("/dev/null")), &vars)
        };
        assert!(env(&[]).is_ok(), "the defaults go together");
        let err = env(&[("IPVET_ALLOCATION_TIMEOUT", "2m")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("RequestTimeout (1m, default) must be longer than AllocationTimeout (2m, environment variable IPVET_ALLOCATION_TIMEOUT)"),
            "{err}"
        );
        let equal = env(&[
            ("IPVET_ALLOCATION_TIMEOUT", "30s"),
            ("IPVET_REQUEST_TIMEOUT", "30s"),
        ]);
        assert!(equal.is_err());
        let longer = env(&[
            ("IPVET_ALLOCATION_TIMEOUT", "2m"),
            ("IPVET_REQUEST_TIMEOUT", "3m"),
        ])
        .unwrap();
        assert_eq!(longer.request_timeout, Duration::from_secs(180));
        let err = file("RequestTimeout 1s\n").unwrap_err().to_string();
        assert!(err.contains("from 2s to 15m"), "{err}");
    }

    #[test]
    fn a_public_url_is_an_origin() {
        let url = |raw: &str| PublicUrl::parse_value(raw);
        let https = url("HTTPS://IPAM.Example.net/").unwrap();
        assert_eq!(https.show(), "https://ipam.example.net");
        assert!(https.is_origin("https://ipam.example.net"));
        assert!(https.is_origin("https://ipam.example.net:443"));
        assert!(!https.is_origin("http://ipam.example.net"));
        assert!(!https.is_origin("https://ipam.example.net:8443"));
        assert!(!https.is_origin("https://evil.example"));
        assert!(!https.is_origin("null"));
        assert!(https.is_host("ipam.example.net"));
        assert!(https.is_host("IPAM.example.net:443"));
        assert!(!https.is_host("ipam.example.net:80"));
        let port = url("http://[2001:db8::5]:3000").unwrap();
        assert_eq!(port.show(), "http://[2001:db8::5]:3000");
        assert!(port.is_origin("http://[2001:db8::5]:3000"));
        assert!(!port.is_origin("http://[2001:db8::5]"));
        for bad in [
            "ipam.example.net",
            "ftp://ipam.example.net",
            "https://ipam.example.net/ipvet",
            "https://ipam.example.net/?a=b",
            "https://user@ipam.example.net",
            "https://",
            "",
        ] {
            let err = url(bad).unwrap_err();
            assert!(err.contains("is not a public address"), "{bad}: {err}");
        }
        let c = file("PublicUrl https://ipam.example.net:8443\n").unwrap();
        assert_eq!(
            c.public_url.as_ref().map(ConfigValue::show).as_deref(),
            Some("https://ipam.example.net:8443")
        );
        // Links in alerts start with it, the scheme's default port left out.
        assert_eq!(
            c.public_url.as_ref().map(PublicUrl::origin).as_deref(),
            Some("https://ipam.example.net:8443")
        );
        let default_port = PublicUrl::parse_origin("HTTPS://IPAM.example.net:443").unwrap();
        assert_eq!(default_port.origin(), "https://ipam.example.net");
    }

    #[test]
    fn env_names_are_upper_snake_case() {
        assert_eq!(env_var("Listen"), "IPVET_LISTEN");
        assert_eq!(env_var("SessionIdleTimeout"), "IPVET_SESSION_IDLE_TIMEOUT");
        assert_eq!(
            env_var("DisableIPv6Checking"),
            "IPVET_DISABLE_IPV6_CHECKING"
        );
        assert_eq!(env_var("IpCheckerScript"), "IPVET_IP_CHECKER_SCRIPT");
    }

    #[test]
    fn reads_the_seed_format() {
        let c =
            file("# comment\n\nListen 0.0.0.0:8080\nSecureCookies off\nSessionIdleTimeout 10m\n")
                .unwrap();
        assert_eq!(c.listen, "0.0.0.0:8080".parse().unwrap());
        assert!(!c.secure_cookies);
        assert_eq!(c.session_idle_timeout, Duration::from_secs(600));
        assert_eq!(
            c.sources["Listen"],
            Source::File {
                path: "ipvet.conf".into(),
                line: 3
            }
        );
        assert_eq!(c.sources["SessionLifetime"], Source::Default);
    }

    #[test]
    fn option_lines_set_flags() {
        let c = file("Option SecureCookies\n").unwrap();
        assert!(c.secure_cookies);
        let err = file("Option Listen\n").unwrap_err().to_string();
        assert_eq!(err, "ipvet.conf:1: unknown option `Listen`");
    }

    #[test]
    fn errors_name_file_and_line() {
        let err = file("Listen 127.0.0.1:3000\nFrobnicate yes\n")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "ipvet.conf:2: unknown directive `Frobnicate`");
        let err = file("\n\nSessionLifetime soon\n").unwrap_err().to_string();
        assert!(
            err.starts_with("ipvet.conf:3: SessionLifetime: `soon` is not a duration"),
            "{err}"
        );
        let err = file("Database mysql://x\n").unwrap_err().to_string();
        assert!(err.starts_with("ipvet.conf:1: Database:"), "{err}");
        let err = file("Listen\n").unwrap_err().to_string();
        assert_eq!(err, "ipvet.conf:1: `Listen` needs a value");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c = file("Listen 127.0.0.1:4000\n").unwrap();
        c.apply_env(&[
            ("IPVET_LISTEN".into(), "127.0.0.1:5000".into()),
            ("IPVET_ADMIN_PASSWORD".into(), "x".into()),
        ])
        .unwrap();
        assert_eq!(c.listen.port(), 5000);
        assert_eq!(c.sources["Listen"], Source::Env("IPVET_LISTEN".into()));
        let err = c
            .apply_env(&[("IPVET_SECURE_COOKIES".into(), "maybe".into())])
            .unwrap_err()
            .to_string();
        assert_eq!(err, "IPVET_SECURE_COOKIES: `maybe` is not on or off");
    }

    #[test]
    fn probe_methods_and_ports_read_as_words() {
        let c = file("Probes tcp, ARP icmp tcp\nTcpProbePorts 443 22,443\n").unwrap();
        assert_eq!(
            c.probes.as_ref().map(ConfigValue::show).as_deref(),
            Some("icmp tcp arp")
        );
        assert_eq!(c.tcp_probe_ports, PortList(vec![443, 22]));
        let err = file("Probes icmp smoke\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "ipvet.conf:1: Probes: `smoke` is not a probe method; use icmp, tcp and arp"
        );
        assert!(file("Probes ,\n")
            .unwrap_err()
            .to_string()
            .contains("at least one"));
        for bad in ["0", "65536", "22 http", "-1"] {
            let err = file(&format!("TcpProbePorts {bad}\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("is not a TCP port"), "{bad}: {err}");
        }
        let many: Vec<String> = (1..=33).map(|p| p.to_string()).collect();
        let err = file(&format!("TcpProbePorts {}\n", many.join(" ")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("at most 32"), "{err}");
        // A long bad word is named by its start only.
        let long = "x".repeat(10_000);
        let err = file(&format!("Probes {long}\n")).unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }

    #[test]
    fn a_script_alone_decides_unless_probes_are_named() {
        let script =
            |extra: &str| file(&format!("IpCheckerScript /usr/local/bin/check\n{extra}")).unwrap();
        assert_eq!(script("").probe_methods(), None);
        assert_eq!(
            script("Probes tcp\n")
                .probe_methods()
                .map(|m| m.show())
                .as_deref(),
            Some("tcp")
        );
        assert_eq!(Config::default().probe_methods(), Some(ProbeMethods::all()));
    }

    #[test]
    fn database_passwords_never_show() {
        let url = DatabaseUrl::parse_value("postgres://ipvet:s3cret@db:5432/ipvet").unwrap();
        assert_eq!(url.show(), "postgres://ipvet:***@db:5432/ipvet");
        assert_eq!(url.without_password(), "postgres://ipvet@db:5432/ipvet");
        assert!(!format!("{url:?}").contains("s3cret"));
        // An `@` in the password used to end the user info early and show the rest.
        let at = DatabaseUrl::parse_value("postgres://ipvet:p@ss@w0rd@db/ipvet?x=a@b").unwrap();
        assert_eq!(at.show(), "postgres://ipvet:***@db/ipvet?x=a@b");
        let no_password = DatabaseUrl::parse_value("postgres://ipvet@db/ipvet").unwrap();
        assert_eq!(no_password.show(), "postgres://ipvet@db/ipvet");
        let sqlite = DatabaseUrl::parse_value("sqlite://data/ipvet.db?mode=rwc").unwrap();
        assert_eq!(sqlite.sqlite_path(), Some(PathBuf::from("data/ipvet.db")));
    }
}
