//! Types that travel between server and browser. These are views, never database rows:
//! nothing here carries a password hash, token or secret.

use serde::{Deserialize, Serialize};

mod subnet_map;
pub use subnet_map::{MapCell, MapCells, SubnetMap};

/// What a user may do. Ordered by power, so `role >= Role::Operator` reads as "operator or
/// more".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
pub enum Role {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "viewer"))]
    Viewer,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "operator"))]
    Operator,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "admin"))]
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where an address stands in its lifecycle. A released address is never free at once: it
/// goes to `BeingChecked` until the check engine proves it free.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
pub enum AddressStatus {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "free"))]
    Free,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "allocated"))]
    Allocated,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "reserved"))]
    Reserved,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "being_checked"))]
    BeingChecked,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "used_in_network"))]
    UsedInNetwork,
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "blocked_by_dnsbl"))]
    BlockedByDnsbl,
}

impl AddressStatus {
    pub const ALL: [AddressStatus; 6] = [
        AddressStatus::Free,
        AddressStatus::Allocated,
        AddressStatus::Reserved,
        AddressStatus::BeingChecked,
        AddressStatus::UsedInNetwork,
        AddressStatus::BlockedByDnsbl,
    ];

    /// The statuses a failed check gives: the Problem IPs page lists these.
    pub const PROBLEMS: [AddressStatus; 2] =
        [AddressStatus::UsedInNetwork, AddressStatus::BlockedByDnsbl];

    pub fn as_str(self) -> &'static str {
        match self {
            AddressStatus::Free => "free",
            AddressStatus::Allocated => "allocated",
            AddressStatus::Reserved => "reserved",
            AddressStatus::BeingChecked => "being_checked",
            AddressStatus::UsedInNetwork => "used_in_network",
            AddressStatus::BlockedByDnsbl => "blocked_by_dnsbl",
        }
    }

    /// One letter for the status, as a subnet map sends its cells.
    pub fn letter(self) -> char {
        match self {
            AddressStatus::Free => 'f',
            AddressStatus::Allocated => 'a',
            AddressStatus::Reserved => 'r',
            AddressStatus::BeingChecked => 'c',
            AddressStatus::UsedInNetwork => 'u',
            AddressStatus::BlockedByDnsbl => 'b',
        }
    }

    pub fn from_letter(letter: char) -> Option<AddressStatus> {
        AddressStatus::ALL
            .into_iter()
            .find(|s| s.letter() == letter)
    }

    /// The words IPmanager's users know these statuses by.
    pub fn label(self) -> &'static str {
        match self {
            AddressStatus::Free => "Free",
            AddressStatus::Allocated => "Allocated",
            AddressStatus::Reserved => "Reserved",
            AddressStatus::BeingChecked => "Being checked",
            AddressStatus::UsedInNetwork => "Used in network",
            AddressStatus::BlockedByDnsbl => "Blocked by DNSBL",
        }
    }
}

/// A built-in way of asking whether anything answers on an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeMethod {
    /// ICMP echo (ping), IPv4 and IPv6.
    Icmp,
    /// A SYN to each of a list of ports; a SYN-ACK or a RST means a host is there.
    Tcp,
    /// ARP (IPv4) or neighbour discovery (IPv6), for addresses on a directly connected
    /// network: any answer means in use, even from a host that drops every IP packet.
    Arp,
}

impl ProbeMethod {
    pub const ALL: [ProbeMethod; 3] = [ProbeMethod::Icmp, ProbeMethod::Tcp, ProbeMethod::Arp];

    /// The word for it in `Probes` and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeMethod::Icmp => "icmp",
            ProbeMethod::Tcp => "tcp",
            ProbeMethod::Arp => "arp",
        }
    }

    /// Reads a method's word; `ndp` is the IPv6 name of the neighbour probe.
    pub fn parse(word: &str) -> Option<ProbeMethod> {
        match word.to_ascii_lowercase().as_str() {
            "icmp" | "ping" => Some(ProbeMethod::Icmp),
            "tcp" | "syn" => Some(ProbeMethod::Tcp),
            "arp" | "ndp" => Some(ProbeMethod::Arp),
            _ => None,
        }
    }
}

/// What a change did, in one line that names the address (linked where shown): the
/// confirmation under the form with JavaScript, and the message the next page shows to a
/// browser without it, whose form post was answered with a redirect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub before: String,
    pub address: Option<String>,
    pub after: String,
}

impl Notice {
    fn about(before: &str, a: &AddressView, after: String) -> Notice {
        Notice {
            before: before.into(),
            address: Some(a.address.clone()),
            after,
        }
    }

    pub fn allocated(a: &AddressView) -> Notice {
        let to = if a.owner.is_empty() {
            ".".to_string()
        } else {
            format!(" to {}.", a.owner)
        };
        Notice::about("Allocated ", a, to)
    }

    pub fn released(a: &AddressView) -> Notice {
        Notice::about(
            "Released ",
            a,
            ": it is being checked before anyone gets it again.".into(),
        )
    }

    pub fn reserved(a: &AddressView) -> Notice {
        Notice::about("Reserved ", a, ".".into())
    }

    pub fn unreserved(a: &AddressView) -> Notice {
        Notice::about("Unreserved ", a, ": it is free.".into())
    }

    pub fn edited(a: &AddressView) -> Notice {
        Notice::about("Saved the holder of ", a, ".".into())
    }

    pub fn force_freed(a: &AddressView) -> Notice {
        Notice::about("Freed ", a, " without checks.".into())
    }

    /// A bulk release: every address it released, named.
    pub fn released_many(done: &[AddressView]) -> Notice {
        let (they, them) = if done.len() == 1 {
            ("it is", "it")
        } else {
            ("they are", "them")
        };
        Notice {
            before: format!(
                "Released {}: {they} being checked before anyone gets {them} again.",
                listed(done)
            ),
            address: None,
            after: String::new(),
        }
    }

    /// A bulk force-free: every address it freed, named.
    pub fn force_freed_many(done: &[AddressView]) -> Notice {
        Notice {
            before: format!("Freed {} without checks.", listed(done)),
            address: None,
            after: String::new(),
        }
    }
}

/// How many addresses a notice names before it only counts the rest.
const NAMED_IN_A_NOTICE: usize = 5;

/// "198.18.0.1", "198.18.0.1 and 198.18.0.2", "198.18.0.1, … 198.18.0.5 and 3 more".
fn listed(done: &[AddressView]) -> String {
    let named: Vec<&str> = done
        .iter()
        .take(NAMED_IN_A_NOTICE)
        .map(|a| a.address.as_str())
        .collect();
    let rest = done.len() - named.len();
    match (named.split_last(), rest) {
        (None, _) => "no address".into(),
        (Some((only, [])), 0) => (*only).into(),
        (Some((last, first)), 0) => format!("{} and {last}", first.join(", ")),
        (Some(_), rest) => format!("{} and {rest} more", named.join(", ")),
    }
}

/// The signed-in user as the browser sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

/// A user row as the Users page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    /// "YYYY-MM-DD HH:MM UTC".
    pub created_at: String,
}

/// The dashboard's figures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardSummary {
    pub networks: u64,
    /// Free allocatable addresses across all networks (a string: IPv6 counts are huge).
    pub free: String,
    /// Addresses in each other status, across all networks.
    pub in_use: Vec<(AddressStatus, u64)>,
    /// The networks with the smallest share of free addresses, fullest first.
    pub nearest_full: Vec<NetworkView>,
    pub checks: ChecksSummary,
    /// Problem addresses over the last 30 days, oldest first.
    pub problem_days: Vec<ProblemDayView>,
}

/// The check engine as the dashboard shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChecksSummary {
    /// The availability check in use ("built-in ICMP prober", or the checker script).
    pub prober: String,
    /// A configuration problem that makes every availability check inconclusive.
    pub problem: Option<String>,
    /// The latest check cycle, running or done.
    pub last_run: Option<CheckRunView>,
    /// When the periodic job starts the next cycle.
    pub next_run_at: Option<String>,
    /// Enabled DNSBL zones whose last self-test failed, with the reason.
    pub unhealthy_zones: Vec<(String, String)>,
    /// No healthy enabled zone covers IPv6 (see [`ipv6_uncovered`]).
    pub ipv6_uncovered: bool,
    /// Sites with networks but no live agent, and since when: their addresses are not
    /// checked meanwhile.
    #[serde(default)]
    pub sites_without_agent: Vec<(String, String)>,
}

/// Why a check cycle started; shown in the list of runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
pub enum Trigger {
    /// The periodic job, every `CheckPeriod`.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "schedule"))]
    Schedule,
    /// "Run check now" on a page.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "manual"))]
    Manual,
    /// `ipvet check`, from cron say.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "command"))]
    Command,
    /// `POST /api/v1/checks`.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "api"))]
    Api,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Command => "command",
            Trigger::Api => "api",
        }
    }
}

impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A DNSBL zone's health, from its last self-test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sea_orm::EnumIter, sea_orm::DeriveActiveEnum))]
#[cfg_attr(feature = "ssr", sea_orm(rs_type = "String", db_type = "Text"))]
pub enum ZoneHealth {
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "never_tested"))]
    NeverTested,
    /// It passed its IPv4 self-test: its answers are used.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "healthy"))]
    Healthy,
    /// It failed its self-test: its answers are not used until it passes again.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "failing"))]
    Failing,
}

impl ZoneHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneHealth::NeverTested => "never_tested",
            ZoneHealth::Healthy => "healthy",
            ZoneHealth::Failing => "failing",
        }
    }
}

impl std::fmt::Display for ZoneHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check cycle has done so far: the sum of what every worker wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Addresses the cycle set out to check (more join as they are released).
    pub total: i64,
    /// Addresses checked so far.
    pub done: i64,
    pub freed: i64,
    pub still_used: i64,
    pub blocked: i64,
    /// Checks that could not tell.
    pub unknown: i64,
    /// Enabled DNSBL zones that failed their self-test this cycle.
    pub zones_unhealthy: i32,
}

/// One check cycle (a `check_runs` row) as pages and the API show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRunView {
    pub id: i64,
    pub trigger: Trigger,
    pub started_at: String,
    /// Absent while the cycle runs.
    pub finished_at: Option<String>,
    pub counts: RunCounts,
    pub error: Option<String>,
    /// Seconds from start to end, or so far while it runs.
    pub seconds: i64,
    /// Who asked the cycle to stop.
    pub cancelled_by: Option<String>,
}

/// A page of check cycles, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRunList {
    pub runs: Vec<CheckRunView>,
    /// Pass as `before` for the next (older) page.
    pub older_than: Option<i64>,
    /// When the periodic job starts the next cycle, if it runs in this server.
    pub next_run_at: Option<String>,
}

/// One verdict of a cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerdictView {
    pub event_id: i64,
    pub address: String,
    pub from: AddressStatus,
    pub to: AddressStatus,
    pub reason: String,
    pub evidence: Option<String>,
}

/// An instance's or an agent's part in a cycle: several instances on one database, and the
/// agents of sites, share a cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckWorkerView {
    /// The instance (host, process id and a tag), or the agent and its site.
    pub runner: String,
    pub joined_at: String,
    /// Absent while it works.
    pub left_at: Option<String>,
    /// Verdicts it wrote.
    pub done: i64,
}

/// A cycle with a page of its verdicts, in address order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckRunDetail {
    pub run: CheckRunView,
    /// The instances that worked on it, in the order they joined.
    pub workers: Vec<CheckWorkerView>,
    pub verdicts: Vec<VerdictView>,
    /// Pass as `after` for the next page of verdicts: the last address shown.
    pub more_after: Option<String>,
}

/// A network as pages and the API show it. Sizes are strings: an IPv6 /64 holds more
/// addresses than a JSON number carries exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkView {
    pub id: i64,
    pub cidr: String,
    pub name: String,
    pub description: String,
    pub family: u8,
    /// Addresses that may be handed out (an IPv4 network's own and broadcast address may not).
    pub allocatable: String,
    /// Allocatable addresses that are free.
    pub free: String,
    /// Addresses in each status other than free.
    pub in_use: Vec<(AddressStatus, u64)>,
    /// Share of allocatable addresses not free, 0 to 100.
    pub used_percent: f64,
    /// The built-in probe methods this network is checked with, as words; empty for the
    /// configured ones.
    pub probes: String,
    /// Whether the DNSBL half of the check applies to this network.
    pub dnsbl: bool,
    /// The site whose agents check it; `None`: `local`, the ipvet instances themselves.
    pub site_id: Option<i64>,
}

/// One address as the lists and the detail page show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressView {
    pub address: String,
    pub network_id: i64,
    pub status: AddressStatus,
    // Absent rather than empty or null when unset: a page of a hundred rows hands the
    // browser its rows, and most rows have none of these.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub owner: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hostname: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub status_changed_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_since: Option<String>,
}

/// One page of a network's address list, in numeric order. Paging is by key (the
/// first/last address shown), so a page deep in a million addresses costs what the first
/// does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressPage {
    pub rows: Vec<AddressView>,
    /// Rows the filter matches, on every page.
    pub total: u64,
    /// The first row's place among them, from 1; 0 when the page is empty.
    pub first_position: u64,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next_after: Option<String>,
    /// Pass as `before` for the previous page; `None` on the first page.
    pub prev_before: Option<String>,
}

/// What a network's page shows, read together so the network is read once.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkPage {
    pub network: NetworkView,
    /// The name of the site whose agents check it; `None`: `local`.
    pub site: Option<String>,
    pub addresses: AddressPage,
    pub map: SubnetMap,
}

/// What a refused form post without JavaScript sent, for its page to show again in its
/// fields (with JavaScript the form keeps them itself).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormDraft {
    /// Which form it came from.
    pub form: String,
    pub fields: Vec<(String, String)>,
}

impl FormDraft {
    /// The value sent in `field` when this draft is of `form`.
    pub fn value(draft: &Option<FormDraft>, form: &str, field: &str) -> Option<String> {
        let draft = draft.as_ref().filter(|d| d.form == form)?;
        draft
            .fields
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.clone())
    }
}

/// A network a search found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkHit {
    pub id: i64,
    pub cidr: String,
    pub name: String,
}

/// An address a search found, with the network it lies in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressHit {
    pub address: AddressView,
    pub network: NetworkHit,
}

/// What the header's search found across every network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    /// Where the search leads by itself: the page of the address typed, or of the network
    /// whose CIDR was typed exactly.
    pub jump: Option<String>,
    /// Why nothing was found, when the query itself says ("198.18.9.9 is in no network.").
    pub message: Option<String>,
    pub networks: Vec<NetworkHit>,
    /// In numeric order.
    pub addresses: Vec<AddressHit>,
    /// More addresses matched than are listed.
    pub more_addresses: bool,
}

/// What a CSV import did. With errors, nothing was imported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub imported: u64,
    /// Lines that said `free` for an address that is free.
    pub unchanged: u64,
    /// How many lines are wrong; `errors` lists the first of them.
    pub error_count: u64,
    pub errors: Vec<ImportLineError>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportLineError {
    pub line: u64,
    pub message: String,
}

/// One entry of an address's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressEventView {
    pub at: String,
    pub actor: String,
    pub from: AddressStatus,
    pub to: AddressStatus,
    pub reason: String,
    pub evidence: Option<String>,
    /// Whom an allocation or reservation gave the address to, or whose holding freeing it
    /// ended: owner, host name and note, those that were set.
    pub holder: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressDetail {
    pub address: AddressView,
    pub network_cidr: String,
    /// How the network's addresses are checked, in words.
    pub check_policy: String,
    /// Newest first.
    pub history: Vec<AddressEventView>,
}

/// One address on the Problem IPs page: what the checks found and since when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemView {
    pub address: String,
    pub network_id: i64,
    pub network_cidr: String,
    pub status: AddressStatus,
    /// The evidence: the checker's output line, or the zone with its answer and reason.
    pub problem: Option<String>,
    /// The listing zone, when a DNSBL blocks the address.
    pub zone: Option<String>,
    /// The first failure (IPmanager's "time of occurrence"), kept through re-checks.
    pub problem_since: Option<String>,
    pub last_checked_at: Option<String>,
    pub failed_checks: i64,
    /// Why the latest check could not tell, if it could not.
    pub last_check_error: Option<String>,
}

impl ProblemView {
    /// Which check found the problem, read from its evidence (each method's evidence
    /// starts with its name).
    pub fn found_by(&self) -> &'static str {
        found_by(
            self.problem.as_deref().unwrap_or_default(),
            self.zone.is_some(),
        )
    }
}

/// Which check an address's problem evidence comes from.
pub fn found_by(evidence: &str, listed: bool) -> &'static str {
    let starts = |word: &str| evidence.starts_with(word);
    if listed || starts("listed by ") {
        "DNSBL"
    } else if starts("tcp ") {
        "TCP"
    } else if starts("arp ") {
        "ARP"
    } else if starts("ndp ") {
        "NDP"
    } else if starts("icmp ") {
        "ICMP"
    } else if starts("checker script") || starts("the checker script") {
        "Script"
    } else {
        "Check"
    }
}

/// One page of Problem IPs in numeric order, paged by key like the address lists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemPage {
    pub rows: Vec<ProblemView>,
    pub next_after: Option<String>,
    pub prev_before: Option<String>,
    /// Problem addresses matching the filter, on every page.
    pub matching: u64,
    /// The first row's place among them, from 1; 0 when the page is empty.
    pub first_position: u64,
    /// For the empty state: when the checks last ran.
    pub last_run: Option<CheckRunView>,
}

/// What a re-check did to one address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecheckOutcome {
    pub address: String,
    pub from: AddressStatus,
    pub to: AddressStatus,
    /// The evidence, the reason the check could not tell, or why nothing was written.
    pub detail: String,
}

/// A DNSBL zone as the DNSBL blacklists page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneView {
    pub id: i64,
    pub zone: String,
    pub enabled: bool,
    pub health: ZoneHealth,
    /// Why the last self-test failed.
    pub last_error: Option<String>,
    pub last_tested_at: Option<String>,
    /// Whether the zone passed the IPv6 self-test and so judges IPv6 addresses.
    pub ipv6: bool,
    /// Addresses this zone currently blocks.
    pub blocking: u64,
}

/// Whether the enabled zones leave IPv6 unjudged: some are healthy, and none of those
/// passed the IPv6 self-test, so the DNSBL check does not apply to IPv6 addresses.
/// Takes each zone's (enabled, health, passes IPv6).
pub fn ipv6_uncovered(zones: impl IntoIterator<Item = (bool, ZoneHealth, bool)>) -> bool {
    let mut healthy = zones
        .into_iter()
        .filter(|(enabled, health, _)| *enabled && *health == ZoneHealth::Healthy)
        .peekable();
    healthy.peek().is_some() && healthy.all(|(_, _, ipv6)| !ipv6)
}

/// What one zone said about one address, raw, for the "test an address" form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZoneAnswer {
    pub zone: String,
    /// The name asked (RFC 5782).
    pub query: String,
    /// "listed", "not_listed" or "error".
    pub outcome: String,
    /// The A answer when listed.
    pub answer: Option<String>,
    /// The TXT reason when listed, or the error.
    pub detail: Option<String>,
}

/// A well-known public zone the DNSBL page offers to add (disabled: each has its own terms
/// of use, which the admin should read first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuggestedZone {
    pub zone: &'static str,
    pub about: &'static str,
}

pub const SUGGESTED_ZONES: [SuggestedZone; 5] = [
    SuggestedZone {
        zone: "zen.spamhaus.org",
        about: "Spamhaus ZEN (SBL, XBL, PBL); free only for low-volume, non-commercial use, and refuses queries that come through large public resolvers",
    },
    SuggestedZone {
        zone: "bl.spamcop.net",
        about: "SpamCop; free, listings expire by themselves within a day",
    },
    SuggestedZone {
        zone: "b.barracudacentral.org",
        about: "Barracuda Reputation Block List; requires registering the resolver's addresses",
    },
    SuggestedZone {
        zone: "psbl.surriel.com",
        about: "Passive Spam Block List; free, easy self-removal",
    },
    SuggestedZone {
        zone: "dnsbl.dronebl.org",
        about: "DroneBL (botnets, open proxies); free for non-commercial use",
    },
];

/// One day of the dashboard's Problem IPs chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemDayView {
    /// "YYYY-MM-DD".
    pub day: String,
    /// (used in network, blocked by DNSBL) as the day's last cycle left them; none when no
    /// cycle ran that day.
    pub counts: Option<(u64, u64)>,
}

/// One audit log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntryView {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub client_addr: String,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A page of the audit log, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntryView>,
    /// Pass as `before` for the next (older) page.
    pub older_than: Option<i64>,
    /// Every action name on record, for the filter.
    pub actions: Vec<String>,
}

/// One directive on the config page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingView {
    pub key: String,
    /// The effective value, as the config file would spell it (secrets hidden).
    pub value: String,
    /// "default", "file:line", "environment variable …" or "saved here by … at …".
    pub source: String,
    /// Whether an admin may change it here now.
    pub editable: bool,
    /// Why it may not be changed here, when it may not.
    pub read_only_because: Option<String>,
    /// An on/off flag (a select), not text.
    pub flag: bool,
    pub help: String,
}

/// An API token as its owner and admins see it; the secret is never part of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub owner_id: i64,
    pub owner: String,
    /// The role the token acts with: its owner's, now.
    pub role: Role,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A site as the Sites page shows it: `local` (id `None`) is the ipvet instances
/// themselves; every other site is checked by its agents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteView {
    pub id: Option<i64>,
    pub name: String,
    pub description: String,
    /// Its networks, by CIDR, in address order.
    pub networks: Vec<(i64, String)>,
    pub agents: Vec<AgentView>,
    /// For a site other than `local` with no live agent: since when (the last time one
    /// was seen, or when the site was made, if none ever was).
    pub no_live_agent_since: Option<String>,
}

/// A probe agent as admins see it; its token's secret is never part of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentView {
    pub id: i64,
    pub site_id: i64,
    pub name: String,
    pub created_at: String,
    pub created_by: String,
    pub revoked_at: Option<String>,
    pub last_seen_at: Option<String>,
    /// Asked the server within the last half minute, and not revoked.
    pub live: bool,
    pub version: Option<String>,
    pub address: Option<String>,
    /// The built-in probe methods it can run, as words.
    pub methods: Option<String>,
    pub raw_sockets: Option<bool>,
    pub script: Option<bool>,
}

/// An agent just made, with its token's secret: the one time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAgentView {
    pub agent: AgentView,
    pub secret: String,
}

/// A token just made, with its secret: the one time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTokenView {
    pub token: TokenView,
    pub secret: String,
}

/// What alert targets can be told about, with the words the Alerts page uses; spelled as
/// the schema holds them (`migrations::ALERT_EVENT_KINDS`).
pub const ALERT_EVENTS: [(&str, &str); 9] = [
    ("problem", "An address became a problem"),
    ("cleared", "A problem cleared"),
    ("zone_failing", "A DNSBL zone started failing"),
    ("zone_healthy", "A DNSBL zone passes again"),
    ("cycle_failed", "A check cycle failed"),
    ("cycle_interrupted", "A check cycle was interrupted"),
    (
        "cycle_overdue",
        "No check cycle ended for twice CheckPeriod",
    ),
    ("prober_unusable", "An instance's probes cannot work"),
    ("prober_usable", "An instance's probes work again"),
];

/// An alert target as the Alerts page shows it; its signing secret, SMTP password and the
/// path of its URL (a chat webhook's path is its key) are never part of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertTargetView {
    pub id: i64,
    pub name: String,
    /// `webhook`, `chat` or `email`.
    pub kind: String,
    /// Where it goes, without secrets: a URL's origin, or recipients and SMTP server.
    pub destination: String,
    /// Event kinds it is told of; empty: all.
    pub events: Vec<String>,
    /// Networks whose address events it is told of, as (id, CIDR); empty: all.
    pub networks: Vec<(i64, String)>,
    pub enabled: bool,
    pub created_at: String,
    pub created_by: String,
    /// Events handed to it and not yet delivered.
    pub waiting: u64,
    /// Its deliveries, newest first (a bounded number).
    pub deliveries: Vec<AlertDeliveryView>,
}

/// A new alert target as typed, not yet checked: the Alerts page's form as posted
/// (`target[name]`, `target[events][]` …), and what the API's bodies become. Fields that do
/// not belong to its kind stay empty. Its `Debug` leaves the secret and password out.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct AlertTargetForm {
    pub name: String,
    pub kind: String,
    pub url: Option<String>,
    pub secret: Option<String>,
    pub smtp_host: Option<String>,
    pub smtp_port: Option<String>,
    pub smtp_security: Option<String>,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<String>,
    pub mail_from: Option<String>,
    /// Recipients, comma-separated.
    pub mail_to: Option<String>,
    /// Event kinds; none: all.
    pub events: Option<Vec<String>>,
    /// Network ids; none: all.
    pub networks: Option<Vec<String>>,
}

/// Written out with its secret and password left out.
impl std::fmt::Debug for AlertTargetForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "(hidden)");
        f.debug_struct("AlertTargetForm")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url.as_ref().map(|_| "(hidden: may be a key)"))
            .field("secret", &hidden(&self.secret))
            .field("smtp_host", &self.smtp_host)
            .field("smtp_port", &self.smtp_port)
            .field("smtp_security", &self.smtp_security)
            .field("smtp_user", &self.smtp_user)
            .field("smtp_password", &hidden(&self.smtp_password))
            .field("mail_from", &self.mail_from)
            .field("mail_to", &self.mail_to)
            .field("events", &self.events)
            .field("networks", &self.networks)
            .finish()
    }
}

/// One delivery in a target's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDeliveryView {
    pub id: i64,
    pub created_at: String,
    pub test: bool,
    pub events: u64,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: u32,
    pub last_attempt_at: Option<String>,
    /// For a pending delivery: when it is tried next.
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub last_error: Option<String>,
}

/// A target just made; `secret` is the webhook signing secret ipvet made for it, shown
/// this once (none when the admin typed one, or for chat and e-mail targets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAlertTargetView {
    pub target: AlertTargetView,
    pub secret: Option<String>,
}

/// The API page: read from the generated OpenAPI document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiReference {
    pub intro: String,
    pub operations: Vec<ApiOperation>,
    pub schemas: Vec<ApiSchema>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiOperation {
    pub method: String,
    pub path: String,
    pub tag: String,
    pub summary: String,
    pub description: String,
    pub parameters: Vec<ApiField>,
    /// The request body's schema, if it takes one.
    pub request: Option<String>,
    pub responses: Vec<ApiResponse>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiResponse {
    pub status: String,
    pub description: String,
    pub body: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSchema {
    pub name: String,
    pub description: String,
    pub fields: Vec<ApiField>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiField {
    pub name: String,
    pub kind: String,
    pub required: bool,
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(address: String) -> AddressView {
        AddressView {
            address,
            network_id: 1,
            status: AddressStatus::Free,
            owner: String::new(),
            hostname: String::new(),
            note: String::new(),
            status_changed_at: String::new(),
            last_checked_at: None,
            problem: None,
            problem_since: None,
        }
    }

    #[test]
    fn bulk_notices_name_the_addresses_and_count_the_rest() {
        let first = |n: u8| {
            (1..=n)
                .map(|i| at(format!("198.18.0.{i}")))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            Notice::released_many(&first(1)).before,
            "Released 198.18.0.1: it is being checked before anyone gets it again."
        );
        assert_eq!(
            Notice::force_freed_many(&first(2)).before,
            "Freed 198.18.0.1 and 198.18.0.2 without checks."
        );
        assert_eq!(
            Notice::force_freed_many(&first(5)).before,
            "Freed 198.18.0.1, 198.18.0.2, 198.18.0.3, 198.18.0.4 and 198.18.0.5 without checks."
        );
        assert_eq!(
            Notice::released_many(&first(8)).before,
            "Released 198.18.0.1, 198.18.0.2, 198.18.0.3, 198.18.0.4, 198.18.0.5 and 3 more: they are being checked before anyone gets them again."
        );
    }

    #[test]
    fn problems_name_the_check_that_found_them() {
        for (evidence, listed, by) in [
            ("tcp 443: SYN-ACK", false, "TCP"),
            ("tcp 22: RST", false, "TCP"),
            ("arp reply from 02:00:00:00:00:07", false, "ARP"),
            (
                "ndp neighbour advertisement from 02:00:00:00:00:07",
                false,
                "NDP",
            ),
            ("icmp echo reply in 0.3 ms", false, "ICMP"),
            ("checker script: reply from 198.18.0.2", false, "Script"),
            ("the checker script did not print OK", false, "Script"),
            ("listed by bl.example (127.0.0.2): spam", true, "DNSBL"),
            ("", false, "Check"),
        ] {
            assert_eq!(found_by(evidence, listed), by, "{evidence}");
        }
    }
}
