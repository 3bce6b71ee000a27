//! `/api/v1/alerts`: alert targets (admin only). One endpoint per kind of target makes
//! one, so each body has one exact shape; the rest are shared.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};

use crate::model::Role;
use crate::server::alerts::targets::{self, TargetInput};
use crate::server::alerts::{delivery, events::EventKind};
use crate::server::auth::guard::Caller;
use crate::server::entities::{alert_delivery, alert_target};
use crate::server::rest::auth::Bearer;
use crate::server::rest::error::{ApiError, ErrorBody};
use crate::server::rest::formats;
use crate::server::rest::input;
use crate::server::rest::shapes::{path, rfc3339};
use crate::server::AppState;

/// An alert target. Its signing secret and SMTP password are never shown; nor is its URL
/// past the host (a chat webhook's path is its key).
#[derive(Serialize, ToSchema)]
pub struct AlertTarget {
    pub id: i64,
    pub name: String,
    /// `webhook`, `chat` or `email`.
    pub kind: String,
    /// Where it goes, without secrets.
    pub destination: String,
    /// Event kinds it is told of; empty: all.
    pub events: Vec<String>,
    /// Networks whose address events it is told of; empty: all.
    pub network_ids: Vec<i64>,
    pub enabled: bool,
    pub created_at: String,
    pub created_by: String,
    /// Its latest deliveries, newest first.
    pub deliveries: Vec<AlertDelivery>,
}

/// One message to a target: a digest of events, or a test.
#[derive(Serialize, ToSchema)]
pub struct AlertDelivery {
    pub id: i64,
    pub created_at: String,
    pub test: bool,
    /// Events it carries.
    pub events: i64,
    /// `pending` (waiting for its next try), `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i32,
    pub last_attempt_at: Option<String>,
    /// For a pending delivery: when it is tried next.
    pub next_attempt_at: Option<String>,
    pub delivered_at: Option<String>,
    pub last_error: Option<String>,
}

/// A target just made.
#[derive(Serialize, ToSchema)]
pub struct CreatedAlertTarget {
    pub target: AlertTarget,
    /// The signing secret ipvet made for a webhook sent without one: shown this once.
    pub secret: Option<String>,
}

/// A webhook: the digest as JSON, POSTed with `X-Ipvet-Timestamp` (Unix seconds) and
/// `X-Ipvet-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}">`, keyed with the
/// secret; `X-Ipvet-Delivery` is the same on every retry of one delivery.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    #[schema(schema_with = formats::alert_target_name, example = "noc")]
    pub name: String,
    #[schema(schema_with = formats::webhook_url, example = "https://hooks.example.net/ipvet")]
    pub url: String,
    /// Absent: ipvet makes one and answers it this once.
    #[serde(default)]
    #[schema(schema_with = formats::signing_secret)]
    pub secret: Option<String>,
    /// Event kinds it is told of; absent or empty: every kind.
    #[serde(default)]
    #[schema(schema_with = formats::event_kinds)]
    pub events: Option<Vec<String>>,
    /// Networks whose address events it is told of; absent or empty: every network.
    /// Zone, cycle and prober events concern every network and pass this filter.
    #[serde(default)]
    #[schema(schema_with = formats::network_ids)]
    pub network_ids: Option<Vec<i64>>,
}

/// A chat webhook (Slack's or Teams' incoming webhook): `{"text": …}`. Its URL is its key.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChat {
    #[schema(schema_with = formats::alert_target_name, example = "ops channel")]
    pub name: String,
    #[schema(schema_with = formats::webhook_url, example = "https://hooks.slack.com/services/T0/B0/XXXX")]
    pub url: String,
    /// Event kinds it is told of; absent or empty: every kind.
    #[serde(default)]
    #[schema(schema_with = formats::event_kinds)]
    pub events: Option<Vec<String>>,
    /// Networks whose address events it is told of; absent or empty: every network.
    /// Zone, cycle and prober events concern every network and pass this filter.
    #[serde(default)]
    #[schema(schema_with = formats::network_ids)]
    pub network_ids: Option<Vec<i64>>,
}

/// An SMTP login: sent only over TLS or STARTTLS.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmtpLogin {
    #[schema(schema_with = formats::alert_target_name)]
    pub user: String,
    #[schema(min_length = 1, max_length = 256)]
    pub password: String,
}

/// E-mail by SMTP.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmail {
    #[schema(schema_with = formats::alert_target_name, example = "noc mail")]
    pub name: String,
    #[schema(schema_with = formats::smtp_host, example = "smtp.example.net")]
    pub smtp_host: String,
    /// Absent: 587 for starttls, 465 for tls, 25 for none.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 65535)]
    pub smtp_port: Option<u16>,
    /// `starttls` (the default), `tls`, or `none` (a local relay; no login then).
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(starttls|tls|none)$")]
    pub smtp_security: Option<String>,
    #[serde(default)]
    pub login: Option<SmtpLogin>,
    #[schema(schema_with = formats::email_address, example = "ipvet@example.net")]
    pub mail_from: String,
    #[schema(schema_with = formats::recipients, example = json!(["noc@example.net"]))]
    pub mail_to: Vec<String>,
    /// Event kinds it is told of; absent or empty: every kind.
    #[serde(default)]
    #[schema(schema_with = formats::event_kinds)]
    pub events: Option<Vec<String>>,
    /// Networks whose address events it is told of; absent or empty: every network.
    /// Zone, cycle and prober events concern every network and pass this filter.
    #[serde(default)]
    #[schema(schema_with = formats::network_ids)]
    pub network_ids: Option<Vec<i64>>,
}

/// `{id}` of an alert target.
pub struct TargetPath;

impl IntoParams for TargetPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![path("id", "The target's id", formats::id())]
    }
}

fn filters(
    events: Option<Vec<String>>,
    network_ids: Option<Vec<i64>>,
) -> (Option<Vec<String>>, Option<Vec<String>>) {
    (
        events,
        network_ids.map(|ids| ids.into_iter().map(|n| n.to_string()).collect()),
    )
}

fn delivery_shape(d: alert_delivery::Model) -> AlertDelivery {
    let pending = d.status == "pending";
    AlertDelivery {
        id: d.id,
        created_at: rfc3339(d.created_at),
        test: d.test,
        events: d.events,
        status: d.status,
        attempts: d.attempts,
        last_attempt_at: d.last_attempt_at.map(rfc3339),
        next_attempt_at: pending.then(|| rfc3339(d.next_attempt_at)),
        delivered_at: d.delivered_at.map(rfc3339),
        last_error: d.last_error,
    }
}

async fn shape(state: &AppState, t: alert_target::Model) -> Result<AlertTarget, ApiError> {
    let deliveries = targets::log(&state.db, t.id, targets::LOG_LENGTH).await?;
    Ok(AlertTarget {
        id: t.id,
        destination: targets::destination(&t),
        events: targets::events_of(&t)
            .into_iter()
            .map(|k: EventKind| k.as_str().to_string())
            .collect(),
        network_ids: targets::networks_of(&t),
        name: t.name,
        kind: t.kind,
        enabled: t.enabled,
        created_at: rfc3339(t.created_at),
        created_by: t.created_by,
        deliveries: deliveries.into_iter().map(delivery_shape).collect(),
    })
}

async fn create(
    caller: Caller,
    input: TargetInput,
) -> Result<(StatusCode, Json<CreatedAlertTarget>), ApiError> {
    let (row, secret) = targets::add(&caller, &input).await?;
    let target = shape(&caller.state, row).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedAlertTarget { target, secret }),
    ))
}

/// List alert targets by id, each with its latest deliveries.
///
/// Role: admin.
#[utoipa::path(get, path = "/api/v1/alerts/targets", operation_id = "listAlertTargets", tag = "alerts",
    responses(
        (status = 200, description = "Every target", body = Vec<AlertTarget>),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn list(
    bearer: Bearer,
    State(state): State<AppState>,
) -> Result<Json<Vec<AlertTarget>>, ApiError> {
    bearer.require(Role::Admin)?;
    let mut out = Vec::new();
    for t in targets::all(&state.db).await? {
        out.push(shape(&state, t).await?);
    }
    Ok(Json(out))
}

/// Add a webhook target, enabled; it is told of events from now on.
///
/// Role: admin.
#[utoipa::path(post, path = "/api/v1/alerts/webhooks", operation_id = "createWebhookTarget", tag = "alerts",
    request_body = NewWebhook,
    responses(
        (status = 201, description = "Added; `secret` is shown this once", body = CreatedAlertTarget),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "A network of `network_ids` does not exist", body = ErrorBody),
        (status = 409, description = "A target has that name already", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_webhook(
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<CreatedAlertTarget>), ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let NewWebhook {
        name,
        url,
        secret,
        events,
        network_ids,
    } = input::json(body)?;
    let (events, networks) = filters(events, network_ids);
    create(
        caller,
        TargetInput {
            name,
            kind: "webhook".into(),
            url: Some(url),
            secret,
            events,
            networks,
            ..Default::default()
        },
    )
    .await
}

/// Add a chat webhook target (Slack, Teams), enabled; it is told of events from now on.
///
/// Role: admin.
#[utoipa::path(post, path = "/api/v1/alerts/chats", operation_id = "createChatTarget", tag = "alerts",
    request_body = NewChat,
    responses(
        (status = 201, description = "Added", body = CreatedAlertTarget),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "A network of `network_ids` does not exist", body = ErrorBody),
        (status = 409, description = "A target has that name already", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_chat(
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<CreatedAlertTarget>), ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let NewChat {
        name,
        url,
        events,
        network_ids,
    } = input::json(body)?;
    let (events, networks) = filters(events, network_ids);
    create(
        caller,
        TargetInput {
            name,
            kind: "chat".into(),
            url: Some(url),
            events,
            networks,
            ..Default::default()
        },
    )
    .await
}

/// Add an e-mail target, enabled; it is told of events from now on.
///
/// Role: admin. The SMTP password is never shown again.
#[utoipa::path(post, path = "/api/v1/alerts/emails", operation_id = "createEmailTarget", tag = "alerts",
    request_body = NewEmail,
    responses(
        (status = 201, description = "Added", body = CreatedAlertTarget),
        (status = 400, description = "Bad input; the message names the field", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "A network of `network_ids` does not exist", body = ErrorBody),
        (status = 409, description = "A target has that name already", body = ErrorBody),
        (status = 422, description = "A login over a plain connection (`smtp_security` none)", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_email(
    bearer: Bearer,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<CreatedAlertTarget>), ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let NewEmail {
        name,
        smtp_host,
        smtp_port,
        smtp_security,
        login,
        mail_from,
        mail_to,
        events,
        network_ids,
    } = input::json(body)?;
    let (events, networks) = filters(events, network_ids);
    let (smtp_user, smtp_password) = match login {
        Some(l) => (Some(l.user), Some(l.password)),
        None => (None, None),
    };
    create(
        caller,
        TargetInput {
            name,
            kind: "email".into(),
            smtp_host: Some(smtp_host),
            smtp_port: smtp_port.map(|p| p.to_string()),
            smtp_security,
            smtp_user,
            smtp_password,
            mail_from: Some(mail_from),
            mail_to: Some(mail_to.join(", ")),
            events,
            networks,
            ..Default::default()
        },
    )
    .await
}

/// One alert target with its latest deliveries.
///
/// Role: admin.
#[utoipa::path(get, path = "/api/v1/alerts/targets/{id}", operation_id = "getAlertTarget", tag = "alerts",
    params(TargetPath),
    responses(
        (status = 200, description = "The target", body = AlertTarget),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such target", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn get(
    bearer: Bearer,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<AlertTarget>, ApiError> {
    bearer.require(Role::Admin)?;
    let id = input::id(&id, "id")?;
    let row = targets::get(&state.db, id).await?;
    Ok(Json(shape(&state, row).await?))
}

/// Delete an alert target with its delivery log; events it was not told yet are dropped.
///
/// Role: admin.
#[utoipa::path(delete, path = "/api/v1/alerts/targets/{id}", operation_id = "deleteAlertTarget", tag = "alerts",
    params(TargetPath),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such target", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn delete(bearer: Bearer, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let id = input::id(&id, "id")?;
    targets::delete(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a test message to an alert target now. Answers the logged delivery: `delivered`,
/// or `failed` with the reason (a test is not retried).
///
/// Role: admin.
#[utoipa::path(post, path = "/api/v1/alerts/targets/{id}/test", operation_id = "testAlertTarget", tag = "alerts",
    params(TargetPath),
    responses(
        (status = 200, description = "Tried; see `status`", body = AlertDelivery),
        (status = 400, description = "Bad id", body = ErrorBody),
        (status = 401, description = "No live token", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such target", body = ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn test(bearer: Bearer, Path(id): Path<String>) -> Result<Json<AlertDelivery>, ApiError> {
    let caller = bearer.require(Role::Admin)?;
    let id = input::id(&id, "id")?;
    let tried = delivery::send_test(&caller, id).await?;
    Ok(Json(delivery_shape(tried)))
}
