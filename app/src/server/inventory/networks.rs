//! Networks: creating (with every address materialised when the network is small enough),
//! listing with counts by status, editing and deleting.

use std::sync::Arc;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::{AddressStatus, NetworkView, ProbeMethod};
use crate::server::admin::audit;
use crate::server::auth::guard::Caller;
use crate::server::config::{ConfigValue, ProbeMethods};
use crate::server::entities::{address, network, network_count};
use crate::server::inventory::ip::{self, Cidr};
use crate::server::limits;

/// Networks with at most this many allocatable addresses get a row for each, so the lowest
/// free address is one index seek. Larger ones (an IPv6 /64) stay sparse.
pub const MATERIALIZE_MAX: u128 = 1 << 20;
/// Rows per INSERT when materialising.
const INSERT_BATCH: usize = 2_000;

/// Statuses that are counted; free is what is left of the allocatable addresses.
pub const COUNTED: [AddressStatus; 5] = [
    AddressStatus::Allocated,
    AddressStatus::Reserved,
    AddressStatus::BeingChecked,
    AddressStatus::UsedInNetwork,
    AddressStatus::BlockedByDnsbl,
];

pub fn cidr_of(net: &network::Model) -> Result<Cidr, AppError> {
    Cidr::parse(&net.cidr).map_err(|e| {
        tracing::error!(network = net.id, cidr = %net.cidr, cause = %e, "a stored network does not parse");
        AppError::Internal
    })
}

fn validate_name(name: &str) -> Result<String, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > limits::NAME {
        return Err(AppError::BadRequest(format!(
            "A network needs a name of 1 to {} characters.",
            limits::NAME
        )));
    }
    Ok(name.to_string())
}

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<network::Model, AppError> {
    network::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no network with id {id}.")))
}

/// Locks the network for the rest of the transaction: a row lock on PostgreSQL, the write
/// lock on SQLite (taken up front, so a later write cannot fail on a stale read snapshot).
/// Every status change in the network starts with it, so concurrent changes queue.
pub async fn lock(txn: &DatabaseTransaction, id: i64) -> Result<network::Model, AppError> {
    let locked = network::Entity::update_many()
        .col_expr(network::Column::Id, Expr::col(network::Column::Id).into())
        .filter(network::Column::Id.eq(id))
        .exec(txn)
        .await?;
    if locked.rows_affected == 0 {
        return Err(AppError::NotFound(format!(
            "There is no network with id {id}."
        )));
    }
    find(txn, id).await
}

/// Moves one address's count from one status to another, in the caller's transaction.
pub async fn recount(
    txn: &impl ConnectionTrait,
    network_id: i64,
    from: AddressStatus,
    to: AddressStatus,
) -> Result<(), AppError> {
    shift(txn, network_id, from, -1).await?;
    shift(txn, network_id, to, 1).await
}

/// Adds `delta` to the network's count of `status` (free is not counted).
pub async fn shift(
    txn: &impl ConnectionTrait,
    network_id: i64,
    status: AddressStatus,
    delta: i64,
) -> Result<(), AppError> {
    if status == AddressStatus::Free || delta == 0 {
        return Ok(());
    }
    network_count::Entity::update_many()
        .col_expr(
            network_count::Column::N,
            Expr::col(network_count::Column::N).add(delta),
        )
        .filter(network_count::Column::NetworkId.eq(network_id))
        .filter(network_count::Column::Status.eq(status))
        .exec(txn)
        .await?;
    Ok(())
}

pub async fn view(db: &impl ConnectionTrait, net: network::Model) -> Result<NetworkView, AppError> {
    let counts = network_count::Entity::find()
        .filter(network_count::Column::NetworkId.eq(net.id))
        .all(db)
        .await?;
    view_with(net, &counts)
}

/// A network's view from its counts (other networks' counts in `counts` are ignored).
fn view_with(
    net: network::Model,
    counts: &[network_count::Model],
) -> Result<NetworkView, AppError> {
    let counts: Vec<(AddressStatus, u64)> = counts
        .iter()
        .filter(|c| c.network_id == net.id)
        .map(|c| (c.status, c.n.max(0) as u64))
        .collect();
    view_counted(net, &counts)
}

/// A network's view from how many of its addresses are in each status (statuses it does
/// not count, and those missing, count as none).
pub fn view_counted(
    net: network::Model,
    counts: &[(AddressStatus, u64)],
) -> Result<NetworkView, AppError> {
    let cidr = cidr_of(&net)?;
    let (first, last) = cidr.allocatable();
    let allocatable = last - first + 1;
    let in_use: Vec<(AddressStatus, u64)> = COUNTED
        .into_iter()
        .map(|s| {
            (
                s,
                counts
                    .iter()
                    .filter(|(status, _)| *status == s)
                    .map(|(_, n)| *n)
                    .sum(),
            )
        })
        .collect();
    let used: u128 = in_use.iter().map(|(_, n)| u128::from(*n)).sum();
    let free = allocatable.saturating_sub(used);
    let policy = policy_of(&net);
    Ok(NetworkView {
        probes: policy.probes_text(),
        dnsbl: policy.dnsbl,
        id: net.id,
        cidr: net.cidr,
        name: net.name,
        description: net.description,
        family: cidr.family(),
        allocatable: allocatable.to_string(),
        free: free.to_string(),
        in_use,
        used_percent: (used as f64 / allocatable as f64 * 100.0).clamp(0.0, 100.0),
        site_id: net.site_id,
    })
}

pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<NetworkView>, AppError> {
    let nets = network::Entity::find()
        .order_by_asc(network::Column::FirstIp)
        .all(db)
        .await?;
    // One query for every network's counts, not one per network.
    let counts = network_count::Entity::find().all(db).await?;
    nets.into_iter()
        .map(|net| view_with(net, &counts))
        .collect()
}

/// Up to `limit` networks in address order, starting after the network whose first
/// address is `after` (a cursor): the API's paged list.
pub async fn page_after(
    db: &impl ConnectionTrait,
    after: Option<u128>,
    limit: u64,
) -> Result<Vec<NetworkView>, AppError> {
    let mut q = network::Entity::find();
    if let Some(after) = after {
        q = q.filter(network::Column::FirstIp.gt(after.to_be_bytes().to_vec()));
    }
    let nets = q
        .order_by_asc(network::Column::FirstIp)
        .limit(limit)
        .all(db)
        .await?;
    let ids: Vec<i64> = nets.iter().map(|n| n.id).collect();
    let counts = network_count::Entity::find()
        .filter(network_count::Column::NetworkId.is_in(ids))
        .all(db)
        .await?;
    nets.into_iter()
        .map(|net| view_with(net, &counts))
        .collect()
}

async fn refuse_overlap(
    txn: &impl ConnectionTrait,
    cidr: &Cidr,
    except: Option<i64>,
) -> Result<(), AppError> {
    let (first, last) = cidr.range();
    let mut q = network::Entity::find()
        .filter(network::Column::FirstIp.lte(last.to_be_bytes().to_vec()))
        .filter(network::Column::LastIp.gte(first.to_be_bytes().to_vec()));
    if let Some(id) = except {
        q = q.filter(network::Column::Id.ne(id));
    }
    if let Some(other) = q.one(txn).await? {
        return Err(AppError::Conflict(format!(
            "{cidr} overlaps the existing network {} ({}).",
            other.cidr, other.name
        )));
    }
    Ok(())
}

pub async fn create(
    actor: &Caller,
    cidr: &str,
    name: &str,
    description: &str,
) -> Result<NetworkView, AppError> {
    create_with(actor, cidr, name, description, None).await
}

/// Creates a network with its check `policy`, in the same transaction; `None` takes the
/// default (the configured probes; DNSBL off for internal ranges, on elsewhere).
pub async fn create_with(
    actor: &Caller,
    cidr: &str,
    name: &str,
    description: &str,
    policy: Option<CheckPolicy>,
) -> Result<NetworkView, AppError> {
    let cidr = Cidr::parse(cidr).map_err(|e| AppError::BadRequest(e.to_string()))?;
    if cidr.size() == u128::MAX {
        // 2^128 addresses: one more than any counter holds.
        return Err(AppError::BadRequest(
            "::/0 is the whole IPv6 address space, more addresses than a network can count; \
             add the prefixes in use instead (::/1 is the largest)."
                .into(),
        ));
    }
    let name = validate_name(name)?;
    let description = limits::bounded("description", description, limits::DESCRIPTION)?;
    let (first, last) = cidr.range();
    let (alloc_first, alloc_last) = cidr.allocatable();
    let materialize = alloc_last - alloc_first < MATERIALIZE_MAX;
    let txn = crate::server::db::begin_write(&actor.state.db).await?;
    refuse_overlap(&txn, &cidr, None).await?;
    let now = OffsetDateTime::now_utc();
    let inserted = network::ActiveModel {
        cidr: Set(cidr.to_string()),
        family: Set(i16::from(cidr.family())),
        prefix_len: Set(i16::from(cidr.prefix())),
        first_ip: Set(first.to_be_bytes().to_vec()),
        last_ip: Set(last.to_be_bytes().to_vec()),
        name: Set(name.clone()),
        description: Set(description),
        created_at: Set(now),
        materialized: Set(materialize),
        // Public blacklists never list internal addresses, and asking them about one
        // would tell them it.
        dnsbl: Set(policy.as_ref().map_or(!cidr.is_internal(), |p| p.dnsbl)),
        probes: Set(policy
            .as_ref()
            .and_then(|p| p.probes.as_ref())
            .map(ConfigValue::show)),
        ..Default::default()
    }
    .insert(&txn)
    .await;
    let net = match inserted {
        Ok(net) => net,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AppError::Conflict(format!(
                "The network {cidr} exists already."
            )))
        }
        Err(e) => return Err(e.into()),
    };
    network_count::Entity::insert_many(COUNTED.map(|status| network_count::ActiveModel {
        network_id: Set(net.id),
        status: Set(status),
        n: Set(0),
    }))
    .exec(&txn)
    .await?;
    if materialize {
        materialize_free(&txn, net.id, alloc_first, alloc_last, now).await?;
    }
    audit::record(&txn, actor, "network.create", &net.cidr, None, Some(name)).await?;
    txn.commit().await?;
    if materialize {
        refresh_statistics(&actor.state.db).await;
    }
    view(&actor.state.db, net).await
}

/// Brings PostgreSQL's statistics of the addresses up to date after a network's rows were
/// written at once. Until autovacuum got round to it, the planner took a new network of a
/// million free rows for a handful, and read every row of it to find the few in use for
/// its page's map (1.6 s a page). SQLite's planner needs no statistics for these reads.
async fn refresh_statistics(db: &DatabaseConnection) {
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    if let Err(e) = db.execute_unprepared("ANALYZE addresses").await {
        // The network is made; only its reads may be slower until autovacuum runs.
        tracing::warn!(cause = %e, "analyzing the addresses after a network was made failed");
    }
}

/// The row of a free address `n` of the network, as materialising writes it.
pub(crate) fn free_row(network_id: i64, n: u128, now: OffsetDateTime) -> address::ActiveModel {
    address::ActiveModel {
        network_id: Set(network_id),
        ip: Set(n.to_be_bytes().to_vec()),
        status: Set(AddressStatus::Free),
        owner: Set(String::new()),
        hostname: Set(String::new()),
        note: Set(String::new()),
        status_changed_at: Set(now),
        ..Default::default()
    }
}

/// The row of address `n` of a network, made (free) when a sparse network has none yet, so
/// a check's verdict has a row to land on.
pub async fn insert_free_row(
    db: &DatabaseConnection,
    network_id: i64,
    n: u128,
) -> Result<address::Model, AppError> {
    let txn = crate::server::db::begin_write(db).await?;
    lock(&txn, network_id).await?;
    if let Some(row) = address::Entity::find_by_ip(ip::from_u128(n))
        .one(&txn)
        .await?
    {
        txn.commit().await?;
        return Ok(row);
    }
    let row = free_row(network_id, n, OffsetDateTime::now_utc())
        .insert(&txn)
        .await?;
    txn.commit().await?;
    Ok(row)
}

async fn materialize_free(
    txn: &DatabaseTransaction,
    network_id: i64,
    first: u128,
    last: u128,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let mut next = first;
    while next <= last {
        let end = last.min(next + INSERT_BATCH as u128 - 1);
        let rows = (next..=end).map(|n| free_row(network_id, n, now));
        address::Entity::insert_many(rows)
            .exec_without_returning(txn)
            .await?;
        if end == u128::MAX {
            break;
        }
        next = end + 1;
    }
    Ok(())
}

pub async fn edit(
    actor: &Caller,
    id: i64,
    name: &str,
    description: &str,
) -> Result<NetworkView, AppError> {
    let name = validate_name(name)?;
    let description = limits::bounded("description", description, limits::DESCRIPTION)?;
    let txn = crate::server::db::begin_write(&actor.state.db).await?;
    let before = lock(&txn, id).await?;
    network::Entity::update_many()
        .col_expr(network::Column::Name, Expr::value(name.clone()))
        .col_expr(
            network::Column::Description,
            Expr::value(description.clone()),
        )
        .filter(network::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        "network.edit",
        &before.cidr,
        Some(before.name.clone()),
        Some(name),
    )
    .await?;
    let after = find(&txn, id).await?;
    txn.commit().await?;
    view(&actor.state.db, after).await
}

/// How a network's addresses are checked, as the check engine reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckPolicy {
    /// The built-in probe methods; `None` keeps the configured ones.
    pub probes: Option<ProbeMethods>,
    /// Whether the DNSBL half applies.
    pub dnsbl: bool,
}

impl CheckPolicy {
    /// The policy as configured for every network: the configured methods, DNSBL on.
    pub const CONFIGURED: CheckPolicy = CheckPolicy {
        probes: None,
        dnsbl: true,
    };

    /// A policy from input: `probes` as words (`icmp arp`; empty for the configured
    /// methods).
    pub fn parse(probes: &str, dnsbl: bool) -> Result<CheckPolicy, AppError> {
        let probes = probes.trim();
        let probes = if probes.is_empty() {
            None
        } else {
            Some(
                ProbeMethods::parse_value(probes)
                    .map_err(|e| AppError::BadRequest(format!("Probe methods: {e}.")))?,
            )
        };
        Ok(CheckPolicy { probes, dnsbl })
    }

    /// A policy from a list of method names as the API takes them: each exactly `icmp`,
    /// `tcp` or `arp` (no aliases, case or separators, which the typed form allows), so
    /// that the list is what the API document's enum says; `None` for the configured ones.
    pub fn from_names(names: Option<&[String]>, dnsbl: bool) -> Result<CheckPolicy, AppError> {
        let Some(names) = names else {
            return Ok(CheckPolicy {
                probes: None,
                dnsbl,
            });
        };
        let mut methods = Vec::new();
        for name in names {
            let method = ProbeMethod::ALL
                .into_iter()
                .find(|m| m.as_str() == name)
                .ok_or_else(|| {
                    AppError::BadRequest(format!(
                        "`{}` is not a probe method; use icmp, tcp and arp.",
                        limits::quoted_start(name)
                    ))
                })?;
            methods.push(method);
        }
        let probes = ProbeMethods::of(methods).ok_or_else(|| {
            AppError::BadRequest(
                "Name at least one method, or send null for the configured ones.".into(),
            )
        })?;
        Ok(CheckPolicy {
            probes: Some(probes),
            dnsbl,
        })
    }

    /// How a description reads it back: the methods as words, or empty for the
    /// configured ones.
    pub fn probes_text(&self) -> String {
        self.probes
            .as_ref()
            .map(ConfigValue::show)
            .unwrap_or_default()
    }
}

/// Every network's check policy, read at once for a batch of checks.
#[derive(Debug, Default)]
pub struct Policies(std::collections::HashMap<i64, Arc<CheckPolicy>>);

impl Policies {
    pub async fn load(db: &impl ConnectionTrait) -> Result<Policies, AppError> {
        let nets = network::Entity::find().all(db).await?;
        Ok(Policies(
            nets.iter()
                .map(|net| (net.id, Arc::new(policy_of(net))))
                .collect(),
        ))
    }

    /// The policy of network `id`; one deleted meanwhile is checked as configured.
    pub fn of(&self, id: i64) -> Arc<CheckPolicy> {
        self.0
            .get(&id)
            .cloned()
            .unwrap_or_else(|| Arc::new(CheckPolicy::CONFIGURED))
    }
}

/// The policy stored on `net`. A stored method list that no longer parses (none should)
/// falls back to the configured methods, and says so in the log.
pub fn policy_of(net: &network::Model) -> CheckPolicy {
    let probes = net.probes.as_deref().and_then(|words| match ProbeMethods::parse_value(words) {
        Ok(methods) => Some(methods),
        Err(e) => {
            tracing::error!(network = net.id, probes = words, cause = %e, "a stored probe list does not parse");
            None
        }
    });
    CheckPolicy {
        probes,
        dnsbl: net.dnsbl,
    }
}

/// Sets how a network's addresses are checked (see [`CheckPolicy::parse`]). Audited.
pub async fn set_policy(
    actor: &Caller,
    id: i64,
    policy: CheckPolicy,
) -> Result<NetworkView, AppError> {
    let txn = crate::server::db::begin_write(&actor.state.db).await?;
    let before = lock(&txn, id).await?;
    network::Entity::update_many()
        .col_expr(
            network::Column::Probes,
            Expr::value(policy.probes.as_ref().map(ConfigValue::show)),
        )
        .col_expr(network::Column::Dnsbl, Expr::value(policy.dnsbl))
        .filter(network::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        "network.check_policy",
        &before.cidr,
        Some(policy_of(&before).to_string()),
        Some(policy.to_string()),
    )
    .await?;
    let after = find(&txn, id).await?;
    txn.commit().await?;
    view(&actor.state.db, after).await
}

/// A policy in words, for the audit log and the address page.
impl std::fmt::Display for CheckPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.probes {
            Some(methods) => write!(f, "probes {}", methods.show())?,
            None => f.write_str("configured probes")?,
        }
        f.write_str(if self.dnsbl {
            ", DNSBL on"
        } else {
            ", DNSBL off"
        })
    }
}

/// Deletes a network whose addresses are all free; otherwise says which statuses hold it.
pub async fn delete(actor: &Caller, id: i64) -> Result<(), AppError> {
    let txn = crate::server::db::begin_write(&actor.state.db).await?;
    let net = lock(&txn, id).await?;
    let counts = network_count::Entity::find()
        .filter(network_count::Column::NetworkId.eq(id))
        .all(&txn)
        .await?;
    let held: Vec<String> = COUNTED
        .iter()
        .filter_map(|s| counts.iter().find(|c| c.status == *s && c.n > 0))
        .map(|c| format!("{} {}", c.n, c.status.label().to_lowercase()))
        .collect();
    if !held.is_empty() {
        return Err(AppError::Conflict(format!(
            "{} still has addresses in use: {}. Release or force-free them first.",
            net.cidr,
            held.join(", ")
        )));
    }
    network::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(
        &txn,
        actor,
        "network.delete",
        &net.cidr,
        Some(net.name.clone()),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The network an address belongs to, if any.
pub async fn containing(
    db: &impl ConnectionTrait,
    addr: std::net::IpAddr,
) -> Result<Option<network::Model>, AppError> {
    let bytes = ip::to_bytes(addr);
    Ok(network::Entity::find()
        .filter(network::Column::FirstIp.lte(bytes.clone()))
        .filter(network::Column::LastIp.gte(bytes))
        .one(db)
        .await?)
}
