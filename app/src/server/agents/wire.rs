//! What an agent and the server send each other, at `/api/v1/agent/…`. Both sides use
//! these shapes, so they cannot drift apart; the server bounds and checks everything an
//! agent sends in [`super::work`] before anything is written.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What an agent says of itself when it starts (and again after the server restarts).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// The agent's ipvet version.
    #[schema(max_length = 64)]
    pub version: String,
    /// The built-in probe methods it can run: `icmp`, `tcp`, `arp`.
    #[schema(max_items = 3)]
    pub methods: Vec<String>,
    /// Whether it could open raw sockets (the ICMP, ARP and TCP SYN probes need them).
    pub raw_sockets: bool,
    /// Whether it runs a checker script.
    pub script: bool,
}

/// Who the server takes the agent for.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Welcome {
    pub agent: String,
    pub site: String,
    /// The longest the server holds a request for work open, in seconds.
    pub poll_wait_secs: u64,
}

/// A request for work: at most `max` addresses. The server answers at once when it has
/// some, else holds the request open until some comes or `wait_ms` passes (at most
/// twenty seconds).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkRequest {
    #[schema(minimum = 1, maximum = 2000)]
    pub max: u32,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 20000)]
    pub wait_ms: Option<u64>,
    /// The claim this agent's last work came with, kept alive while it asks; absent when
    /// it has none (it just started).
    #[serde(default)]
    pub claim: Option<i64>,
}

/// Addresses to probe, claimed for this agent: each must come back in a result carrying
/// `claim`, before the claim lapses (a claim lives while the agent keeps asking the
/// server, at least every few seconds).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct Work {
    /// The fencing token of the claim; `None` when there is no work.
    pub claim: Option<i64>,
    /// The check cycle the work belongs to.
    pub run_id: Option<i64>,
    pub addresses: Vec<WorkItem>,
    /// Addresses about to be allocated, to probe first and post as `vets`: an allocation
    /// is waiting for them. Their ids are the requests', not the addresses'.
    #[serde(default)]
    pub vets: Vec<WorkItem>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct WorkItem {
    pub id: i64,
    pub ip: String,
    /// The built-in probe methods the address's network is checked with; absent: the
    /// agent's own configured ones.
    #[serde(default)]
    pub probes: Option<Vec<String>>,
}

/// What the agent's probes found for addresses of one claim.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Results {
    /// The claim `results` belong to; needed when there are any.
    #[serde(default)]
    pub claim: Option<i64>,
    #[serde(default)]
    #[schema(max_items = 2000)]
    pub results: Vec<AddressResult>,
    /// Answers to the checks before allocation handed out as `vets`.
    #[serde(default)]
    #[schema(max_items = 2000)]
    pub vets: Vec<AddressResult>,
}

#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressResult {
    pub id: i64,
    /// Each method's answer; none at all makes the check inconclusive.
    #[schema(max_items = 4)]
    pub answers: Vec<MethodAnswer>,
}

/// One probe method's answer about one address.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodAnswer {
    /// `icmp`, `tcp`, `arp` or `script`.
    pub method: String,
    pub outcome: Outcome,
    /// What answered, or why the method could not tell.
    #[serde(default)]
    #[schema(max_length = 500)]
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Free,
    InUse,
    Unknown,
}

/// What became of a batch of results.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Written {
    /// Verdicts written.
    pub written: u32,
    /// Results for addresses this claim no longer holds (another worker took them over),
    /// or whose status changed while they were probed; nothing was written for them.
    pub dropped: u32,
    /// Answers to checks before allocation that were still awaited.
    pub vets_answered: u32,
}
