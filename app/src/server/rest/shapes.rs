//! What the API sends and takes. These shapes are a contract with provisioning scripts:
//! fields are added, never renamed or removed. They are made from database rows here, apart
//! from the browser's types, and times are RFC 3339 in UTC.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::{RefOr, Required};
use utoipa::{IntoParams, ToSchema};

use crate::model::{AddressStatus, NetworkView};
use crate::server::entities::{address, address_event, check_run, dnsbl_zone};
use crate::server::inventory::ip;
use crate::server::rest::error::ApiError;
use crate::server::rest::formats;

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

fn status_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(AddressStatus::ALL.iter().map(|s| s.as_str())))
}

/// Addresses of a network in each status. `free` counts every allocatable address without
/// another status, so it can exceed 2^64 in a large IPv6 network.
#[derive(Serialize, ToSchema)]
pub struct StatusCounts {
    pub free: u128,
    pub allocated: u64,
    pub reserved: u64,
    pub being_checked: u64,
    pub used_in_network: u64,
    pub blocked_by_dnsbl: u64,
}

#[derive(Serialize, ToSchema)]
pub struct Network {
    pub id: i64,
    #[schema(example = "198.18.0.0/24")]
    pub cidr: String,
    pub name: String,
    pub description: String,
    pub counts: StatusCounts,
    pub check_policy: CheckPolicy,
    /// The site whose agents check it (see `/api/v1/sites`); null: `local`, the ipvet
    /// instances themselves.
    pub site_id: Option<i64>,
}

/// How a network's addresses are checked.
#[derive(Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckPolicy {
    /// The built-in probe methods (`icmp`, `tcp`, `arp`); null for the configured ones.
    #[schema(schema_with = formats::probes, example = json!(["icmp", "arp"]))]
    pub probes: Option<Vec<String>>,
    /// Whether the DNSBL half of the check applies. New networks in private, shared and
    /// link-local ranges start with it off.
    pub dnsbl: bool,
}

impl CheckPolicy {
    /// The policy as the domain reads it; an empty method list is refused, naming the
    /// field.
    pub fn to_domain(&self) -> Result<crate::server::inventory::networks::CheckPolicy, ApiError> {
        crate::server::inventory::networks::CheckPolicy::from_names(
            self.probes.as_deref(),
            self.dnsbl,
        )
        .map_err(crate::server::rest::input::blame("probes"))
    }
}

impl From<NetworkView> for Network {
    fn from(v: NetworkView) -> Self {
        let n = |s: AddressStatus| {
            v.in_use
                .iter()
                .find(|(status, _)| *status == s)
                .map_or(0, |(_, n)| *n)
        };
        Network {
            counts: StatusCounts {
                free: v.free.parse().unwrap_or(0),
                allocated: n(AddressStatus::Allocated),
                reserved: n(AddressStatus::Reserved),
                being_checked: n(AddressStatus::BeingChecked),
                used_in_network: n(AddressStatus::UsedInNetwork),
                blocked_by_dnsbl: n(AddressStatus::BlockedByDnsbl),
            },
            check_policy: CheckPolicy {
                probes: (!v.probes.is_empty())
                    .then(|| v.probes.split(' ').map(str::to_string).collect()),
                dnsbl: v.dnsbl,
            },
            id: v.id,
            cidr: v.cidr,
            name: v.name,
            description: v.description,
            site_id: v.site_id,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNetwork {
    #[schema(schema_with = formats::cidr, example = "198.18.0.0/24")]
    pub cidr: String,
    #[schema(schema_with = formats::network_name, example = "DC1 customers")]
    pub name: String,
    #[serde(default)]
    #[schema(schema_with = formats::description)]
    pub description: Option<String>,
    /// How its addresses are checked; absent: the configured probes, and DNSBL off for
    /// private, shared and link-local ranges, on elsewhere.
    #[serde(default)]
    pub check_policy: Option<CheckPolicy>,
}

/// One address.
#[derive(Serialize, ToSchema)]
pub struct Address {
    #[schema(example = "198.18.0.5")]
    pub address: String,
    pub network_id: i64,
    #[schema(schema_with = status_schema)]
    pub status: String,
    pub owner: String,
    pub hostname: String,
    pub note: String,
    /// Why the checks hold the address back (their evidence); null unless it has a problem.
    pub problem: Option<String>,
    /// When the problem was first found.
    pub problem_since: Option<String>,
    pub last_checked_at: Option<String>,
}

impl From<&address::Model> for Address {
    fn from(row: &address::Model) -> Self {
        Address {
            address: ip::show(&row.ip),
            network_id: row.network_id,
            status: row.status.as_str().to_string(),
            owner: row.owner.clone(),
            hostname: row.hostname.clone(),
            note: row.note.clone(),
            problem: row.problem.clone(),
            problem_since: row.problem_since.map(rfc3339),
            last_checked_at: row.last_checked_at.map(rfc3339),
        }
    }
}

impl Address {
    /// An address of a network that has no row yet: free, never checked.
    pub fn unrecorded(addr: std::net::IpAddr, network_id: i64) -> Self {
        Address {
            address: addr.to_string(),
            network_id,
            status: AddressStatus::Free.as_str().to_string(),
            owner: String::new(),
            hostname: String::new(),
            note: String::new(),
            problem: None,
            problem_since: None,
            last_checked_at: None,
        }
    }
}

/// One check's verdict on an address.
#[derive(Serialize, ToSchema)]
pub struct CheckEntry {
    pub at: String,
    /// The check cycle that judged it; null for a check before allocation or a re-check.
    pub run_id: Option<i64>,
    #[schema(schema_with = status_schema)]
    pub from: String,
    /// The status the check left the address in.
    #[schema(schema_with = status_schema)]
    pub to: String,
    pub reason: String,
    /// What was found: the checker's line, or the zone and its answer.
    pub evidence: Option<String>,
}

impl From<address_event::Model> for CheckEntry {
    fn from(e: address_event::Model) -> Self {
        CheckEntry {
            at: rfc3339(e.at),
            run_id: e.run_id,
            from: e.from_status.as_str().to_string(),
            to: e.to_status.as_str().to_string(),
            reason: e.reason,
            evidence: e.evidence,
        }
    }
}

/// An address with its problem and its last checks.
#[derive(Serialize, ToSchema)]
pub struct AddressDetail {
    #[serde(flatten)]
    pub address: Address,
    /// Checks in a row that found a problem.
    pub failed_checks: i64,
    /// The DNSBL zone that lists it, when one does.
    pub problem_zone: Option<String>,
    /// Why the last check could not tell, if it could not.
    pub last_check_error: Option<String>,
    /// The last checks, newest first (at most 20).
    pub last_checks: Vec<CheckEntry>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NewAllocation {
    /// The address to take; the lowest free address when absent, null or empty.
    #[schema(schema_with = formats::requested_address)]
    pub address: Option<String>,
    #[schema(schema_with = formats::owner)]
    pub owner: Option<String>,
    #[schema(schema_with = formats::hostname)]
    pub hostname: Option<String>,
    #[schema(schema_with = formats::note)]
    pub note: Option<String>,
}

/// A change to an allocated address's holder: each field given replaces the stored one.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AddressEdit {
    #[schema(schema_with = formats::owner)]
    pub owner: Option<String>,
    #[schema(schema_with = formats::hostname)]
    pub hostname: Option<String>,
    #[schema(schema_with = formats::note)]
    pub note: Option<String>,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Release {}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Reserve {
    /// Why it is held back.
    #[schema(schema_with = formats::note)]
    pub note: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForceFree {
    /// Why the address is freed without checks; kept in its history and the audit log.
    #[schema(schema_with = formats::reason)]
    pub reason: String,
}

/// Verdicts of a check cycle so far, by the status they gave.
#[derive(Serialize, ToSchema)]
pub struct RunCounts {
    pub free: i64,
    pub used_in_network: i64,
    pub blocked_by_dnsbl: i64,
    /// Checks that could not tell; the address stays being checked.
    pub inconclusive: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CheckRun {
    pub id: i64,
    pub started_at: String,
    /// Null while the cycle runs.
    pub finished_at: Option<String>,
    /// Addresses the cycle set out to check.
    pub total: i64,
    /// Addresses checked so far.
    pub done: i64,
    pub counts: RunCounts,
    /// Why the cycle ended early (failed, cancelled, interrupted), if it did.
    pub error: Option<String>,
}

impl From<check_run::Model> for CheckRun {
    fn from(run: check_run::Model) -> Self {
        let counts = crate::model::RunCounts::from(&run);
        CheckRun {
            id: run.id,
            started_at: rfc3339(run.started_at),
            finished_at: run.finished_at.map(rfc3339),
            total: counts.total,
            done: counts.done,
            counts: RunCounts {
                free: counts.freed,
                used_in_network: counts.still_used,
                blocked_by_dnsbl: counts.blocked,
                inconclusive: counts.unknown,
            },
            error: run
                .error
                .or_else(|| run.cancelled_by.map(|who| format!("cancelled by {who}"))),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Zone {
    pub id: i64,
    #[schema(example = "dnsbl.example.org")]
    pub zone: String,
    pub enabled: bool,
    /// `never_tested`, `healthy` or `failing`.
    pub health: String,
    pub last_error: Option<String>,
    pub last_tested_at: Option<String>,
    /// Whether the zone passed the IPv6 self-test, so judges IPv6 addresses.
    pub ipv6: bool,
    /// Addresses it blocks now.
    pub blocking: u64,
}

impl Zone {
    pub fn from_row(z: dnsbl_zone::Model, blocking: u64) -> Self {
        Zone {
            id: z.id,
            zone: z.zone,
            enabled: z.enabled,
            health: z.health.as_str().to_string(),
            last_error: z.last_error,
            last_tested_at: z.last_tested_at.map(rfc3339),
            ipv6: z.ipv6,
            blocking,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewZone {
    #[schema(schema_with = formats::zone, example = "dnsbl.example.org")]
    pub zone: String,
}

/// A page of a list. Pass `next_cursor` as `cursor` for the next page; null on the last.
#[derive(Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page from rows read one past its `size`, in list order: the extra row only says
    /// that more follow, and the last row kept gives the cursor.
    pub fn from_probe<R>(
        mut rows: Vec<R>,
        size: usize,
        key: impl Fn(&R) -> String,
        shape: impl FnMut(R) -> T,
    ) -> Page<T> {
        let more = rows.len() > size;
        rows.truncate(size);
        let next_cursor = if more { rows.last().map(key) } else { None };
        Page {
            items: rows.into_iter().map(shape).collect(),
            next_cursor,
        }
    }
}

/// An address with a problem.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    #[serde(flatten)]
    pub address: Address,
    pub network_cidr: String,
    /// The DNSBL zone that lists it, for `blocked_by_dnsbl`.
    pub zone: Option<String>,
    pub failed_checks: i64,
}

/// The networks list's query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cursor {
    pub cursor: Option<String>,
}

impl IntoParams for Cursor {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![query(
            "cursor",
            "From a page's `next_cursor`: the address the page's last network starts at.",
            formats::address(),
        )]
    }
}

/// The zones list's query.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneCursor {
    pub cursor: Option<String>,
}

impl IntoParams for ZoneCursor {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![query(
            "cursor",
            "From a page's `next_cursor`: the id of the page's last zone.",
            formats::id(),
        )]
    }
}

/// The problems list's query. Read as text, each parameter is parsed by the handler so that
/// a bad one is refused naming it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProblemQuery {
    pub cursor: Option<String>,
    pub status: Option<String>,
    pub network_id: Option<String>,
    pub zone: Option<String>,
    pub q: Option<String>,
}

impl IntoParams for ProblemQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let statuses = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(AddressStatus::PROBLEMS.iter().map(|s| s.as_str())));
        vec![
            query(
                "cursor",
                "From a page's `next_cursor`: the last address of the page.",
                formats::address(),
            ),
            query(
                "status",
                "`used_in_network` or `blocked_by_dnsbl`.",
                statuses,
            ),
            query("network_id", "The network they are in.", formats::id()),
            query("zone", "The DNSBL zone that lists them.", formats::zone()),
            query(
                "q",
                "An address to start at, leading octets, or the start of a host name or owner.",
                formats::search(),
            ),
        ]
    }
}

// The parameters as the document declares them, written out rather than derived: the
// derive drops a parameter's description and `required` once its schema is given. Handlers
// read them as text and parse them with `input`, so that a bad one is refused naming it;
// these say what that parsing takes.

fn query(name: &str, description: &str, schema: impl Into<RefOr<Schema>>) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

pub(crate) fn path(name: &str, description: &str, schema: impl Into<RefOr<Schema>>) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// `{id}` of a network.
pub struct NetworkPath;

impl IntoParams for NetworkPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![path("id", "The network's id", formats::id())]
    }
}

/// `{id}` of a site.
pub struct SitePath;

impl IntoParams for SitePath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![path("id", "The site's id", formats::id())]
    }
}

/// `{id}` of a check cycle.
pub struct CheckPath;

impl IntoParams for CheckPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![path("id", "The cycle's id", formats::id())]
    }
}

/// `{id}` of a DNSBL zone.
pub struct ZonePath;

impl IntoParams for ZonePath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![path("id", "The zone's id", formats::id())]
    }
}

/// `{ip}`: an address.
pub struct AddressPath;

impl IntoParams for AddressPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![path("ip", "An IPv4 or IPv6 address", formats::address())]
    }
}

/// The `Idempotency-Key` header of an allocation.
pub struct IdempotencyHeader;

impl IntoParams for IdempotencyHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(format!(
                "1 to {} visible ASCII characters, unique per request (a UUID)",
                crate::server::inventory::idempotency::KEY_MAX
            )))
            .schema(Some(formats::idempotency_key()))
            .build()]
    }
}
