//! Agents and their tokens. An agent token is bound to one site and opens only the agent
//! endpoints: the REST API's other endpoints refuse it (403), and it carries no user. The
//! secret is 256 random bits, shown once; only its SHA-256 is kept, as for API tokens.
//!
//! An agent is live while it asks the server for work: it holds a long poll open for at
//! most [`POLL_WAIT`], so one not seen for [`ALIVE_WITHIN`] is gone (stopped, cut off, or
//! revoked).

use std::time::Duration;

use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    SqlErr,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::{AgentView, NewAgentView, SiteView};
use crate::server::admin::audit;
use crate::server::auth::guard::Caller;
use crate::server::auth::tokens::{self, hash};
use crate::server::check::claim;
use crate::server::entities::{agent, site};
use crate::server::inventory::sites;
use crate::server::time_fmt::show;
use crate::server::{db, limits};

/// Every agent token starts so: API tokens start `ipvet_` followed by hex only, so the two
/// are told apart before any lookup.
pub const PREFIX: &str = "ipvet_agent_";
/// The longest a request for work waits for some before it answers empty.
pub const POLL_WAIT: Duration = Duration::from_secs(20);
/// An agent not seen for this long is not live.
pub const ALIVE_WITHIN: Duration = Duration::from_secs(30);
/// How stale an agent's "last seen" may get before a request refreshes it (one write);
/// far below [`ALIVE_WITHIN`].
const SEEN_RESOLUTION: Duration = Duration::from_secs(2);
const NAME_MAX: usize = 100;

fn new_secret() -> String {
    tokens::secret_with(PREFIX)
}

/// A name for an agent made without one (`agent-3f9c`); names are unique per site.
pub fn default_name() -> String {
    format!("agent-{:04x}", rand::random::<u16>())
}

/// Whether `secret` is shaped as an agent token (live or not).
pub fn is_agent_secret(secret: &str) -> bool {
    let secret = secret.trim();
    secret.len() == PREFIX.len() + 64
        && secret.starts_with(PREFIX)
        && secret[PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
}

/// Whether an agent seen last at `seen` is live at `now`.
pub fn live_at(agent: &agent::Model, now: OffsetDateTime) -> bool {
    agent.revoked_at.is_none()
        && agent
            .last_seen_at
            .is_some_and(|seen| now - seen <= ALIVE_WITHIN)
}

/// An agent just made, with its secret, shown this once.
pub struct Created {
    pub agent: agent::Model,
    pub secret: String,
}

/// Makes an agent of the site `site` and its token; `created_by` names who asked (a user,
/// or the command line).
pub async fn create(
    db: &impl ConnectionTrait,
    site: &site::Model,
    name: &str,
    created_by: &str,
) -> Result<Created, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX {
        return Err(AppError::BadRequest(format!(
            "An agent needs a name of 1 to {NAME_MAX} characters (where it runs, say)."
        )));
    }
    let secret = new_secret();
    let made = agent::ActiveModel {
        site_id: Set(site.id),
        name: Set(name.to_string()),
        secret_hash: Set(hash(&secret)),
        created_at: Set(OffsetDateTime::now_utc()),
        created_by: Set(created_by.to_string()),
        ..Default::default()
    }
    .insert(db)
    .await;
    match made {
        Ok(agent) => Ok(Created { agent, secret }),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(AppError::Conflict(format!(
                "Site `{}` has an agent named `{}` already.",
                site.name,
                limits::quoted_start(name)
            )))
        }
        Err(e) => Err(e.into()),
    }
}

/// Makes an agent on an admin's behalf, audited; the secret is in the answer only.
pub async fn create_by(
    caller: &Caller,
    site_id: i64,
    name: &str,
) -> Result<NewAgentView, AppError> {
    let txn = db::begin_write(&caller.state.db).await?;
    let site = sites::find(&txn, site_id).await?;
    let Created { agent, secret } = create(&txn, &site, name, &caller.user.name).await?;
    audit::record(
        &txn,
        caller,
        "agent.create",
        &format!("{} ({})", agent.name, site.name),
        None,
        Some(format!("agent {}", agent.id)),
    )
    .await?;
    txn.commit().await?;
    Ok(NewAgentView {
        agent: view(agent, OffsetDateTime::now_utc()),
        secret,
    })
}

/// Revokes an agent's token at once: its next request is refused, its claims run out
/// and others take them over.
pub async fn revoke_by(caller: &Caller, agent_id: i64) -> Result<(), AppError> {
    let txn = db::begin_write(&caller.state.db).await?;
    let found = agent::Entity::find_by_id(agent_id)
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("There is no agent {agent_id}.")))?;
    let done = agent::Entity::update_many()
        .col_expr(
            agent::Column::RevokedAt,
            Expr::value(OffsetDateTime::now_utc()),
        )
        .filter(agent::Column::Id.eq(agent_id))
        .filter(agent::Column::RevokedAt.is_null())
        .exec(&txn)
        .await?;
    if done.rows_affected != 1 {
        return Err(AppError::Conflict(format!(
            "Agent `{}` is revoked already.",
            found.name
        )));
    }
    // What it holds is free for others at once, rather than when its claims run out.
    claim::leave_agent(&txn, agent_id).await?;
    audit::record(
        &txn,
        caller,
        "agent.revoke",
        &found.name,
        Some(format!("agent {agent_id}")),
        Some("revoked".into()),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// The agent behind a secret if its token is live, without counting it as seen: an agent
/// is live while it asks for work, not when its token knocks on another door.
pub async fn lookup(
    db: &impl ConnectionTrait,
    secret: &str,
) -> Result<Option<agent::Model>, AppError> {
    if !is_agent_secret(secret) {
        return Ok(None);
    }
    Ok(agent::Entity::find()
        .filter(agent::Column::SecretHash.eq(hash(secret.trim())))
        .filter(agent::Column::RevokedAt.is_null())
        .one(db)
        .await?)
}

/// The live agent behind a secret, if any. Counts as the agent being seen from
/// `address` (written at most every couple of seconds).
pub async fn authenticate(
    db: &impl ConnectionTrait,
    secret: &str,
    address: &str,
) -> Result<Option<agent::Model>, AppError> {
    let Some(mut found) = lookup(db, secret).await? else {
        return Ok(None);
    };
    let now = OffsetDateTime::now_utc();
    let stale = found
        .last_seen_at
        .is_none_or(|at| now - at >= SEEN_RESOLUTION)
        || found.address.as_deref() != Some(address);
    if stale {
        // Conditional on the token still being live: a revoke that landed since the read
        // above wins, and this request is refused.
        let seen = agent::Entity::update_many()
            .col_expr(agent::Column::LastSeenAt, Expr::value(now))
            .col_expr(agent::Column::Address, Expr::value(address))
            .filter(agent::Column::Id.eq(found.id))
            .filter(agent::Column::RevokedAt.is_null())
            .exec(db)
            .await?;
        if seen.rows_affected != 1 {
            return Ok(None);
        }
        found.last_seen_at = Some(now);
        found.address = Some(address.to_string());
    }
    Ok(Some(found))
}

/// What an agent said of itself when it (re)started.
pub struct Hello {
    pub version: String,
    pub methods: String,
    pub raw_sockets: bool,
    pub script: bool,
}

/// Records what the agent said of itself.
pub async fn hello(db: &impl ConnectionTrait, agent_id: i64, hello: Hello) -> Result<(), AppError> {
    agent::Entity::update_many()
        .col_expr(agent::Column::Version, Expr::value(hello.version))
        .col_expr(agent::Column::Methods, Expr::value(hello.methods))
        .col_expr(agent::Column::RawSockets, Expr::value(hello.raw_sockets))
        .col_expr(agent::Column::Script, Expr::value(hello.script))
        .filter(agent::Column::Id.eq(agent_id))
        .exec(db)
        .await?;
    Ok(())
}

/// The agents of `site_id`, live or not, oldest first.
pub async fn of_site(
    db: &impl ConnectionTrait,
    site_id: i64,
) -> Result<Vec<agent::Model>, AppError> {
    Ok(agent::Entity::find()
        .filter(agent::Column::SiteId.eq(site_id))
        .order_by_asc(agent::Column::Id)
        .all(db)
        .await?)
}

/// Whether `site_id` has a live agent now.
pub async fn site_is_live(db: &impl ConnectionTrait, site_id: i64) -> Result<bool, AppError> {
    let now = OffsetDateTime::now_utc();
    Ok(of_site(db, site_id).await?.iter().any(|a| live_at(a, now)))
}

/// Why a site's addresses cannot be checked now: it has no live agent, since when.
pub fn no_live_agent(site: &site::Model, agents: &[agent::Model]) -> String {
    match last_seen(agents) {
        Some(seen) => format!(
            "site {} has no live agent (last seen {})",
            site.name,
            show(seen)
        ),
        None => format!(
            "site {} has no live agent (none has ever connected)",
            site.name
        ),
    }
}

pub fn view(agent: agent::Model, now: OffsetDateTime) -> AgentView {
    AgentView {
        live: live_at(&agent, now),
        id: agent.id,
        site_id: agent.site_id,
        name: agent.name,
        created_at: show(agent.created_at),
        created_by: agent.created_by,
        revoked_at: agent.revoked_at.map(show),
        last_seen_at: agent.last_seen_at.map(show),
        version: agent.version,
        address: agent.address,
        methods: agent.methods,
        raw_sockets: agent.raw_sockets,
        script: agent.script,
    }
}

/// A site with its networks and agents, as read: `site` `None` is `local`.
pub struct SiteState {
    pub site: Option<site::Model>,
    /// Its networks, `(id, cidr)`, in address order.
    pub networks: Vec<(i64, String)>,
    pub agents: Vec<agent::Model>,
    /// For a site other than `local` with no live agent: since when (its agents' last
    /// contact, or the site's creation if none ever connected).
    pub no_live_agent_since: Option<OffsetDateTime>,
}

impl SiteState {
    /// The site's id (`None` for `local`), name and description.
    pub fn identity(&self) -> (Option<i64>, String, String) {
        match &self.site {
            Some(site) => (Some(site.id), site.name.clone(), site.description.clone()),
            None => (None, sites::LOCAL.to_string(), String::new()),
        }
    }
}

/// The newest time any of `agents` was seen, if any ever was.
fn last_seen(agents: &[agent::Model]) -> Option<OffsetDateTime> {
    agents.iter().filter_map(|a| a.last_seen_at).max()
}

/// Every site with its networks and agents, `local` first. Three statements, however
/// many sites.
pub async fn overview(db: &impl ConnectionTrait) -> Result<Vec<SiteState>, AppError> {
    let now = OffsetDateTime::now_utc();
    let all_sites = sites::list(db).await?;
    let networks = sites::networks_by_site(db).await?;
    let mut agents = agent::Entity::find()
        .order_by_asc(agent::Column::Id)
        .all(db)
        .await?;
    let networks_of = |site: Option<i64>| -> Vec<(i64, String)> {
        networks
            .iter()
            .filter(|(s, _, _)| *s == site)
            .map(|(_, id, cidr)| (*id, cidr.clone()))
            .collect()
    };
    let mut states = vec![SiteState {
        site: None,
        networks: networks_of(None),
        agents: Vec::new(),
        no_live_agent_since: None,
    }];
    for site in all_sites {
        let (mine, rest): (Vec<agent::Model>, Vec<agent::Model>) =
            agents.into_iter().partition(|a| a.site_id == site.id);
        agents = rest;
        let live = mine.iter().any(|a| live_at(a, now));
        let since = (!live).then(|| last_seen(&mine).unwrap_or(site.created_at));
        states.push(SiteState {
            networks: networks_of(Some(site.id)),
            agents: mine,
            no_live_agent_since: since,
            site: Some(site),
        });
    }
    Ok(states)
}

/// Every site as the Sites page shows it, `local` first.
pub async fn site_views(db: &impl ConnectionTrait) -> Result<Vec<SiteView>, AppError> {
    let now = OffsetDateTime::now_utc();
    Ok(overview(db)
        .await?
        .into_iter()
        .map(|state| {
            let (id, name, description) = state.identity();
            SiteView {
                id,
                name,
                description,
                networks: state.networks,
                agents: state.agents.into_iter().map(|a| view(a, now)).collect(),
                no_live_agent_since: state.no_live_agent_since.map(show),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_secrets_are_told_from_api_tokens() {
        let secret = new_secret();
        assert!(is_agent_secret(&secret), "{secret}");
        assert!(!is_agent_secret(&format!("ipvet_{}", "a".repeat(64))));
        assert!(!is_agent_secret(&format!("{PREFIX}{}", "g".repeat(64))));
        assert!(!is_agent_secret(&secret[..secret.len() - 1]));
        assert_ne!(hash(&secret), hash(&new_secret()));
    }
}
