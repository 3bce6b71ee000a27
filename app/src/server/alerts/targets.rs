//! Alert targets: where alerts go (a signed JSON webhook, a chat webhook, e-mail) and what
//! each is told (event kinds, networks). Every input, from the Alerts page and the API
//! alike, is checked here; secrets are kept to be presented and never shown again.

use std::collections::{BTreeMap, BTreeSet};

use lettre::message::Mailbox;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, SqlErr,
};
use time::OffsetDateTime;

use crate::error::AppError;
use crate::model::{AlertDeliveryView, AlertTargetView};
use crate::server::admin::audit;
use crate::server::alerts::events::EventKind;
use crate::server::auth::guard::Caller;
use crate::server::entities::{alert_delivery, alert_pending, alert_target, network};
use crate::server::time_fmt::show;

/// Longest target name.
pub const NAME_MAX: usize = 100;
/// Longest webhook URL.
pub const URL_MAX: usize = 2000;
/// Shortest and longest signing secret an admin may type.
pub const SECRET_MIN: usize = 16;
pub const SECRET_MAX: usize = 256;
/// Longest SMTP host name, user name, password and address.
pub const TEXT_MAX: usize = 256;
/// Most e-mail recipients and most networks in a filter.
pub const RECIPIENTS_MAX: usize = 10;
pub const NETWORKS_MAX: usize = 100;
/// Deliveries shown in a target's log.
pub const LOG_LENGTH: u64 = 20;

/// Where a target sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// JSON, signed with HMAC-SHA256.
    Webhook,
    /// `{"text": …}`, the shape Slack's and Teams' incoming webhooks take.
    Chat,
    Email,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "webhook" => Some(Kind::Webhook),
            "chat" => Some(Kind::Chat),
            "email" => Some(Kind::Email),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Chat => "chat",
            Kind::Email => "email",
        }
    }
}

/// How an SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Security {
    /// Plain connection upgraded with STARTTLS, refused if the server cannot.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// Plain text: only without credentials (a relay on the local network).
    None,
}

impl Security {
    pub fn parse(s: &str) -> Option<Security> {
        match s {
            "starttls" => Some(Security::StartTls),
            "tls" => Some(Security::Tls),
            "none" => Some(Security::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Security::StartTls => "starttls",
            Security::Tls => "tls",
            Security::None => "none",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Security::StartTls => 587,
            Security::Tls => 465,
            Security::None => 25,
        }
    }
}

/// A target as typed (page form or API body), not yet checked.
pub use crate::model::AlertTargetForm as TargetInput;

fn bad(field: &str, why: impl std::fmt::Display) -> AppError {
    AppError::BadRequest(format!("{field}: {why}"))
}

/// `text` trimmed, `None` when empty, refused when longer than `max` characters or
/// holding control characters.
fn optional(field: &str, text: Option<&str>, max: usize) -> Result<Option<String>, AppError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > max {
        return Err(bad(field, format!("at most {max} characters.")));
    }
    if text.chars().any(char::is_control) {
        return Err(bad(field, "no control characters (line breaks, tabs)."));
    }
    Ok(Some(text.to_string()))
}

fn required(field: &str, text: Option<&str>, max: usize) -> Result<String, AppError> {
    optional(field, text, max)?.ok_or_else(|| bad(field, "required for this kind of target."))
}

/// A webhook URL: http or https, with a host, no user name or password in it.
pub fn validate_url(raw: &str) -> Result<String, AppError> {
    let raw = raw.trim();
    if raw.chars().count() > URL_MAX {
        return Err(bad("url", format!("at most {URL_MAX} characters.")));
    }
    let url = reqwest::Url::parse(raw).map_err(|e| bad("url", format!("not a URL ({e}).")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("url", "must start with https:// (or http://)."));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("url", "names no host."));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "url",
            "must not carry a user name or password; webhooks are signed instead.",
        ));
    }
    Ok(url.to_string())
}

/// An SMTP host: a DNS name or an address.
fn validate_host(raw: &str) -> Result<String, AppError> {
    let host = raw.trim().trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Err(bad("smtp_host", "required for an e-mail target."));
    }
    if host.len() > 253 {
        return Err(bad("smtp_host", "at most 253 characters."));
    }
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(host);
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.split('.').all(label_ok) {
        Ok(host)
    } else {
        Err(bad(
            "smtp_host",
            "not a host name or address (letters, digits, hyphens and dots).",
        ))
    }
}

fn mailbox(field: &str, raw: &str) -> Result<Mailbox, AppError> {
    let raw = raw.trim();
    if raw.chars().count() > TEXT_MAX {
        return Err(bad(field, format!("at most {TEXT_MAX} characters.")));
    }
    raw.parse::<Mailbox>()
        .map_err(|_| bad(field, format!("`{raw}` is not an e-mail address.")))
}

/// The recipients of `mail_to`, comma-separated.
pub fn recipients(raw: &str) -> Result<Vec<Mailbox>, AppError> {
    let list: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if list.is_empty() {
        return Err(bad("mail_to", "name at least one recipient."));
    }
    if list.len() > RECIPIENTS_MAX {
        return Err(bad(
            "mail_to",
            format!("at most {RECIPIENTS_MAX} recipients."),
        ));
    }
    list.into_iter().map(|r| mailbox("mail_to", r)).collect()
}

/// The event kinds of a filter, each once, in their own order; none: all.
fn validate_events(events: &[String]) -> Result<Vec<EventKind>, AppError> {
    if events.len() > EventKind::ALL.len() {
        return Err(bad(
            "events",
            format!("at most {} kinds, each once.", EventKind::ALL.len()),
        ));
    }
    let mut kinds = BTreeSet::new();
    for e in events {
        let e = e.trim();
        if e.is_empty() {
            continue;
        }
        let kind = EventKind::parse(e).ok_or_else(|| {
            bad(
                "events",
                format!(
                    "`{}` is not an event; the events are {}.",
                    crate::server::limits::quoted_start(e),
                    EventKind::ALL.map(|k| k.as_str()).join(", ")
                ),
            )
        })?;
        kinds.insert(EventKind::ALL.iter().position(|k| *k == kind).unwrap_or(0));
    }
    Ok(kinds.into_iter().map(|i| EventKind::ALL[i]).collect())
}

/// The network ids of a filter, each an existing network; none: all.
async fn validate_networks(
    db: &impl ConnectionTrait,
    networks: &[String],
) -> Result<Vec<i64>, AppError> {
    if networks.len() > NETWORKS_MAX {
        return Err(bad(
            "networks",
            format!("at most {NETWORKS_MAX} networks; leave it empty for all."),
        ));
    }
    let mut ids = BTreeSet::new();
    for n in networks.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        let id = n.parse::<i64>().ok().filter(|id| *id >= 1).ok_or_else(|| {
            bad(
                "networks",
                format!(
                    "`{}` is not a network id.",
                    crate::server::limits::quoted_start(n)
                ),
            )
        })?;
        ids.insert(id);
    }
    if ids.len() > NETWORKS_MAX {
        return Err(bad(
            "networks",
            format!("at most {NETWORKS_MAX} networks; leave it empty for all."),
        ));
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: BTreeSet<i64> = network::Entity::find()
        .select_only()
        .column(network::Column::Id)
        .filter(network::Column::Id.is_in(ids.iter().copied()))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    if let Some(missing) = ids.iter().find(|id| !found.contains(id)) {
        return Err(AppError::NotFound(format!(
            "networks: there is no network {missing}; it may have been deleted."
        )));
    }
    Ok(ids.into_iter().collect())
}

/// A new signing secret: 32 random bytes in hex.
fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// A checked target, ready to insert, and the secret ipvet made for it, if it made one.
async fn checked(
    db: &impl ConnectionTrait,
    input: &TargetInput,
) -> Result<(alert_target::ActiveModel, Option<String>), AppError> {
    let name = required("name", Some(input.name.as_str()), NAME_MAX).map_err(|_| {
        bad(
            "name",
            format!("enter a name of 1 to {NAME_MAX} characters."),
        )
    })?;
    let kind = Kind::parse(input.kind.trim())
        .ok_or_else(|| bad("kind", "one of webhook, chat, email."))?;
    let events = validate_events(input.events.as_deref().unwrap_or_default())?;
    let networks = validate_networks(db, input.networks.as_deref().unwrap_or_default()).await?;
    let mut row = alert_target::ActiveModel {
        name: Set(name),
        kind: Set(kind.as_str().to_string()),
        url: Set(None),
        secret: Set(None),
        smtp_host: Set(None),
        smtp_port: Set(None),
        smtp_security: Set(None),
        smtp_user: Set(None),
        smtp_password: Set(None),
        mail_from: Set(None),
        mail_to: Set(None),
        events: Set(events
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(" ")),
        network_ids: Set(networks
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(" ")),
        enabled: Set(true),
        ..Default::default()
    };
    let mut made = None;
    let refuse_email_fields = |kind: Kind| -> Result<(), AppError> {
        let email_fields = [
            ("smtp_host", &input.smtp_host),
            ("smtp_port", &input.smtp_port),
            ("smtp_security", &input.smtp_security),
            ("smtp_user", &input.smtp_user),
            ("smtp_password", &input.smtp_password),
            ("mail_from", &input.mail_from),
            ("mail_to", &input.mail_to),
        ];
        match email_fields
            .iter()
            .find(|(_, v)| v.as_deref().is_some_and(|v| !v.trim().is_empty()))
        {
            Some((field, _)) => Err(bad(
                field,
                format!("only for e-mail targets, not for a {}.", kind.as_str()),
            )),
            None => Ok(()),
        }
    };
    match kind {
        Kind::Chat => {
            refuse_email_fields(kind)?;
            let url = required("url", input.url.as_deref(), URL_MAX)?;
            row.url = Set(Some(validate_url(&url)?));
            if input
                .secret
                .as_deref()
                .is_some_and(|s| !s.trim().is_empty())
            {
                return Err(bad(
                    "secret",
                    "only for webhook targets: a chat webhook's URL is its key.",
                ));
            }
        }
        Kind::Webhook => {
            refuse_email_fields(kind)?;
            let url = required("url", input.url.as_deref(), URL_MAX)?;
            row.url = Set(Some(validate_url(&url)?));
            let typed = input
                .secret
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty());
            let secret = match typed {
                Some(s) => {
                    let n = s.chars().count();
                    if !(SECRET_MIN..=SECRET_MAX).contains(&n) {
                        return Err(bad(
                            "secret",
                            format!("{SECRET_MIN} to {SECRET_MAX} characters, or leave it empty for ipvet to make one."),
                        ));
                    }
                    if !s.bytes().all(|b| b.is_ascii_graphic()) {
                        return Err(bad("secret", "visible ASCII characters only (no spaces)."));
                    }
                    s.to_string()
                }
                None => {
                    let s = new_secret();
                    made = Some(s.clone());
                    s
                }
            };
            row.secret = Set(Some(secret));
        }
        Kind::Email => {
            if input.url.as_deref().is_some_and(|u| !u.trim().is_empty()) {
                return Err(bad("url", "only for webhook and chat targets."));
            }
            if input
                .secret
                .as_deref()
                .is_some_and(|u| !u.trim().is_empty())
            {
                return Err(bad(
                    "secret",
                    "only for webhook targets; an e-mail target has smtp_password.",
                ));
            }
            let host = validate_host(input.smtp_host.as_deref().unwrap_or_default())?;
            let security = match optional("smtp_security", input.smtp_security.as_deref(), 16)? {
                Some(s) => Security::parse(&s)
                    .ok_or_else(|| bad("smtp_security", "one of starttls, tls, none."))?,
                None => Security::StartTls,
            };
            let port = match optional("smtp_port", input.smtp_port.as_deref(), 5)? {
                Some(p) => p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad("smtp_port", "a port from 1 to 65535."))?,
                None => security.default_port(),
            };
            let user = optional("smtp_user", input.smtp_user.as_deref(), TEXT_MAX)?;
            // A password may hold spaces at its ends; only its length is bounded.
            let password = input.smtp_password.clone().filter(|p| !p.is_empty());
            if password
                .as_ref()
                .is_some_and(|p| p.chars().count() > TEXT_MAX)
            {
                return Err(bad(
                    "smtp_password",
                    format!("at most {TEXT_MAX} characters."),
                ));
            }
            if user.is_some() != password.is_some() {
                return Err(bad(
                    "smtp_password",
                    "give both a user and a password, or neither.",
                ));
            }
            if security == Security::None && user.is_some() {
                return Err(AppError::Unprocessable(
                    "smtp_security: a password is never sent over a plain connection; choose starttls or tls."
                        .into(),
                ));
            }
            let from = mailbox(
                "mail_from",
                input
                    .mail_from
                    .as_deref()
                    .filter(|f| !f.trim().is_empty())
                    .ok_or_else(|| bad("mail_from", "required for an e-mail target."))?,
            )?;
            let to = recipients(input.mail_to.as_deref().unwrap_or_default())?;
            row.smtp_host = Set(Some(host));
            row.smtp_port = Set(Some(i32::from(port)));
            row.smtp_security = Set(Some(security.as_str().to_string()));
            row.smtp_user = Set(user);
            row.smtp_password = Set(password);
            row.mail_from = Set(Some(from.to_string()));
            row.mail_to = Set(Some(
                to.iter()
                    .map(Mailbox::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
    }
    Ok((row, made))
}

/// Where a target goes, in words that hold no secret: a URL's scheme, host and port (a
/// chat webhook's path is its key), or the recipients and the SMTP server.
pub fn destination(t: &alert_target::Model) -> String {
    match Kind::parse(&t.kind) {
        Some(Kind::Email) => format!(
            "{} via {}:{} ({})",
            t.mail_to.as_deref().unwrap_or_default(),
            t.smtp_host.as_deref().unwrap_or_default(),
            t.smtp_port.unwrap_or_default(),
            t.smtp_security.as_deref().unwrap_or_default()
        ),
        _ => match t.url.as_deref().and_then(|u| reqwest::Url::parse(u).ok()) {
            Some(url) => {
                let origin = url.origin().ascii_serialization();
                if url.path() == "/" && url.query().is_none() {
                    format!("{origin}/")
                } else {
                    format!("{origin}/…")
                }
            }
            None => String::new(),
        },
    }
}

/// The event kinds a target is told of; empty: all.
pub fn events_of(t: &alert_target::Model) -> Vec<EventKind> {
    t.events
        .split_whitespace()
        .filter_map(EventKind::parse)
        .collect()
}

/// The networks a target's address events are filtered to; empty: all.
pub fn networks_of(t: &alert_target::Model) -> Vec<i64> {
    t.network_ids
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// Whether `target` is told of an event of `kind` in `network`. The network filter
/// applies to address events; an event of no network (a zone, a cycle, a prober) concerns
/// every network and passes it.
pub fn wants(kinds: &[EventKind], networks: &[i64], kind: EventKind, network: Option<i64>) -> bool {
    (kinds.is_empty() || kinds.contains(&kind))
        && (networks.is_empty() || network.is_none_or(|n| networks.contains(&n)))
}

async fn find(db: &impl ConnectionTrait, id: i64) -> Result<alert_target::Model, AppError> {
    alert_target::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| {
            AppError::NotFound("There is no such alert target; it may have been deleted.".into())
        })
}

/// Adds a target, enabled; it is told of events recorded from now on. Returns it and the
/// signing secret ipvet made for it, if it made one.
pub async fn add(
    caller: &Caller,
    input: &TargetInput,
) -> Result<(alert_target::Model, Option<String>), AppError> {
    let db = &caller.state.db;
    let (mut row, made) = checked(db, input).await?;
    row.created_at = Set(OffsetDateTime::now_utc());
    row.created_by = Set(caller.user.name.clone());
    let txn = crate::server::db::begin_write(db).await?;
    let inserted = match row.insert(&txn).await {
        Ok(row) => row,
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(AppError::Conflict(format!(
                "There is an alert target named {} already.",
                input.name.trim()
            )))
        }
        Err(e) => return Err(e.into()),
    };
    audit::record(
        &txn,
        caller,
        "alert_target.add",
        &inserted.name,
        None,
        Some(format!("{}: {}", inserted.kind, destination(&inserted))),
    )
    .await?;
    txn.commit().await?;
    Ok((inserted, made))
}

/// Turns a target on or off. While off it is handed no events; what it was handed before
/// is still delivered.
pub async fn set_enabled(
    caller: &Caller,
    id: i64,
    enabled: bool,
) -> Result<alert_target::Model, AppError> {
    let db = &caller.state.db;
    let txn = crate::server::db::begin_write(db).await?;
    let row = find(&txn, id).await?;
    if row.enabled != enabled {
        let changed = alert_target::Entity::update_many()
            .col_expr(alert_target::Column::Enabled, Expr::value(enabled))
            .filter(alert_target::Column::Id.eq(id))
            .filter(alert_target::Column::Enabled.eq(row.enabled))
            .exec(&txn)
            .await?;
        if changed.rows_affected != 1 {
            return Err(AppError::Conflict(
                "The target changed meanwhile; reload and try again.".into(),
            ));
        }
        let word = |on: bool| if on { "enabled" } else { "disabled" };
        audit::record(
            &txn,
            caller,
            "alert_target.set_enabled",
            &row.name,
            Some(word(row.enabled).into()),
            Some(word(enabled).into()),
        )
        .await?;
    }
    txn.commit().await?;
    find(db, id).await
}

/// Deletes a target with its log and whatever it had not been told yet.
pub async fn delete(caller: &Caller, id: i64) -> Result<(), AppError> {
    let db = &caller.state.db;
    let txn = crate::server::db::begin_write(db).await?;
    let row = find(&txn, id).await?;
    // Children first: SQLite enforces the schema's cascades only with foreign keys on.
    alert_pending::Entity::delete_many()
        .filter(alert_pending::Column::TargetId.eq(id))
        .exec(&txn)
        .await?;
    alert_delivery::Entity::delete_many()
        .filter(alert_delivery::Column::TargetId.eq(id))
        .exec(&txn)
        .await?;
    alert_target::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record(
        &txn,
        caller,
        "alert_target.delete",
        &row.name,
        Some(format!("{}: {}", row.kind, destination(&row))),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A delivery as its target's log shows it.
pub fn delivery_view(d: alert_delivery::Model) -> AlertDeliveryView {
    let pending = d.status == "pending";
    AlertDeliveryView {
        id: d.id,
        created_at: show(d.created_at),
        test: d.test,
        events: d.events.max(0) as u64,
        status: d.status,
        attempts: d.attempts.max(0) as u32,
        last_attempt_at: d.last_attempt_at.map(show),
        next_attempt_at: pending.then(|| show(d.next_attempt_at)),
        delivered_at: d.delivered_at.map(show),
        last_error: d.last_error,
    }
}

/// A target's latest deliveries, newest first.
pub async fn log(
    db: &impl ConnectionTrait,
    target: i64,
    limit: u64,
) -> Result<Vec<alert_delivery::Model>, AppError> {
    Ok(alert_delivery::Entity::find()
        .filter(alert_delivery::Column::TargetId.eq(target))
        .order_by_desc(alert_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Events handed to `target` and not yet delivered.
async fn waiting(db: &impl ConnectionTrait, target: i64) -> Result<u64, AppError> {
    Ok(alert_pending::Entity::find()
        .filter(alert_pending::Column::TargetId.eq(target))
        .count(db)
        .await?)
}

/// Every target as the Alerts page shows it, by name, each with its latest deliveries.
pub async fn views(db: &impl ConnectionTrait) -> Result<Vec<AlertTargetView>, AppError> {
    let rows = alert_target::Entity::find()
        .order_by_asc(alert_target::Column::Name)
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    let cidrs = network_names(db, rows.iter().flat_map(networks_of)).await?;
    for row in rows {
        let deliveries = log(db, row.id, LOG_LENGTH).await?;
        out.push(view(&row, &cidrs, waiting(db, row.id).await?, deliveries));
    }
    Ok(out)
}

/// One target as the page shows it.
pub async fn view_of(
    db: &impl ConnectionTrait,
    row: &alert_target::Model,
) -> Result<AlertTargetView, AppError> {
    let cidrs = network_names(db, networks_of(row)).await?;
    let deliveries = log(db, row.id, LOG_LENGTH).await?;
    Ok(view(row, &cidrs, waiting(db, row.id).await?, deliveries))
}

pub async fn get(db: &impl ConnectionTrait, id: i64) -> Result<alert_target::Model, AppError> {
    find(db, id).await
}

/// Every target by id, for the API.
pub async fn all(db: &impl ConnectionTrait) -> Result<Vec<alert_target::Model>, AppError> {
    Ok(alert_target::Entity::find()
        .order_by_asc(alert_target::Column::Id)
        .all(db)
        .await?)
}

pub async fn network_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = i64>,
) -> Result<BTreeMap<i64, String>, AppError> {
    let ids: BTreeSet<i64> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(network::Entity::find()
        .select_only()
        .column(network::Column::Id)
        .column(network::Column::Cidr)
        .filter(network::Column::Id.is_in(ids))
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

fn view(
    row: &alert_target::Model,
    cidrs: &BTreeMap<i64, String>,
    waiting: u64,
    deliveries: Vec<alert_delivery::Model>,
) -> AlertTargetView {
    AlertTargetView {
        id: row.id,
        name: row.name.clone(),
        kind: row.kind.clone(),
        destination: destination(row),
        events: events_of(row)
            .into_iter()
            .map(|k| k.as_str().to_string())
            .collect(),
        networks: networks_of(row)
            .into_iter()
            .map(|id| {
                let cidr = cidrs
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("network {id} (deleted)"));
                (id, cidr)
            })
            .collect(),
        enabled: row.enabled,
        created_at: show(row.created_at),
        created_by: row.created_by.clone(),
        waiting,
        deliveries: deliveries.into_iter().map(delivery_view).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(validate_url("https://hooks.example.net/T1/B2/secret").is_ok());
        assert!(validate_url("http://127.0.0.1:8080/hook").is_ok());
        for bad in [
            "ftp://example.net/",
            "https://user:pw@example.net/",
            "not a url",
            "file:///etc/passwd",
            "",
        ] {
            assert!(validate_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn a_chat_webhooks_path_is_never_shown() {
        let row = alert_target::Model {
            id: 1,
            name: "ops".into(),
            kind: "chat".into(),
            url: Some("https://hooks.slack.com/services/T0/B0/XXXXXXXX".into()),
            secret: None,
            smtp_host: None,
            smtp_port: None,
            smtp_security: None,
            smtp_user: None,
            smtp_password: None,
            mail_from: None,
            mail_to: None,
            events: String::new(),
            network_ids: String::new(),
            enabled: true,
            created_at: OffsetDateTime::UNIX_EPOCH,
            created_by: "admin".into(),
        };
        assert_eq!(destination(&row), "https://hooks.slack.com/…");
    }

    #[test]
    fn the_network_filter_passes_events_of_no_network() {
        use EventKind::*;
        assert!(wants(&[], &[], Problem, Some(3)));
        assert!(wants(&[Problem], &[3], Problem, Some(3)));
        assert!(!wants(&[Problem], &[3], Problem, Some(4)));
        assert!(!wants(&[Cleared], &[], Problem, Some(3)));
        assert!(wants(&[], &[3], ZoneFailing, None));
        assert!(!wants(&[Problem], &[3], ZoneFailing, None));
    }

    proptest::proptest! {
        // Whatever is typed, the parsers answer; what they accept is what they claim.
        #[test]
        fn parsers_never_panic(text in "\\PC{0,300}") {
            if let Ok(url) = validate_url(&text) {
                proptest::prop_assert!(url.starts_with("http"));
            }
            if let Ok(host) = validate_host(&text) {
                proptest::prop_assert!(!host.is_empty() && host.len() <= 253);
            }
            if let Ok(list) = recipients(&text) {
                proptest::prop_assert!(!list.is_empty() && list.len() <= RECIPIENTS_MAX);
            }
            let _ = validate_events(std::slice::from_ref(&text));
        }

        #[test]
        fn url_like_text_is_parsed_or_refused(text in "(https?|ftp)://[a-z0-9.:@\\[\\]/?#%-]{0,60}") {
            if let Ok(url) = validate_url(&text) {
                proptest::prop_assert!(validate_url(&url).is_ok(), "{} accepted, {} refused", text, url);
            }
        }
    }

    #[test]
    fn recipients_are_bounded_and_parsed() {
        assert_eq!(recipients("a@example.net, b@example.net").unwrap().len(), 2);
        assert!(recipients("").is_err());
        assert!(recipients("not an address").is_err());
        let many = ["x@example.net"; RECIPIENTS_MAX + 1].join(",");
        assert!(recipients(&many).is_err());
    }
}
