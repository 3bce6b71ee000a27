//! The role guard. Every server function calls [`require`] (or [`current`]) first thing:
//! the session names a user, and the user's role and state are read from the database on
//! every call, so a disabled or demoted user's old session loses its rights at once.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use leptos::prelude::use_context;
use sea_orm::EntityTrait;
use time::OffsetDateTime;
use tower_sessions::Session;

use crate::error::AppError;
use crate::model::{CurrentUser, Role};
use crate::server::entities::user;
use crate::server::error::internal;
use crate::server::AppState;

pub(crate) const USER_ID: &str = "user_id";
pub(crate) const SIGNED_IN_AT: &str = "signed_in_at";
/// The user's session epoch at sign-in; a password reset moves the user's on.
pub(crate) const SESSION_EPOCH: &str = "session_epoch";
pub(crate) const SEEN_AT: &str = "seen_at";
/// How stale the idle clock may get before a request refreshes it (one session write).
const SEEN_RESOLUTION_SECS: i64 = 60;

/// The user behind a request, with what a server function needs to act for them.
pub struct Caller {
    pub user: user::Model,
    pub state: AppState,
    /// The client's address, for the audit log and sign-in throttling.
    pub client_addr: String,
}

impl Caller {
    pub fn view(&self) -> CurrentUser {
        signed_in_view(&self.user)
    }
}

/// What the browser is told of the signed-in user.
fn signed_in_view(user: &user::Model) -> CurrentUser {
    CurrentUser {
        id: user.id,
        name: user.name.clone(),
        role: user.role,
    }
}

pub(crate) fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        AppError::Internal
    })
}

pub(crate) async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>().await.map_err(internal)
}

pub(crate) async fn client_addr() -> Option<SocketAddr> {
    leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .ok()
        .map(|ConnectInfo(a)| a)
}

/// The user behind the request being served, once it has been read: a page drawn on the
/// server runs several server functions, and each asked for the session and the user
/// again. One per request (provided with the request's context), so a disabled or
/// demoted user still loses their rights on their next request.
#[derive(Clone, Default)]
pub struct RequestCaller(Arc<tokio::sync::OnceCell<Option<user::Model>>>);

impl RequestCaller {
    /// The memo for the request being served, holding its caller already when
    /// [`read_caller_first`] read them.
    pub fn for_request() -> Self {
        let read = use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<ReadFirst>().cloned());
        match read {
            Some(ReadFirst(user)) => {
                RequestCaller(Arc::new(tokio::sync::OnceCell::new_with(Some(user))))
            }
            None => RequestCaller::default(),
        }
    }

    /// Who is signed in, when already read for this request: what a page's frame needs
    /// to know before anything of the page is drawn.
    pub fn known(&self) -> Option<CurrentUser> {
        self.0.get().and_then(Option::as_ref).map(signed_in_view)
    }
}

/// A page request's caller, read before the page is drawn.
#[derive(Clone)]
struct ReadFirst(Option<user::Model>);

/// Whether `path` is one of the app's pages rather than a server function, the REST API,
/// a site file or a CSV export.
fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/")
        || path.starts_with("/pkg/")
        || path.ends_with(".csv")
        || path == "/favicon.ico")
}

/// Reads the caller of a page request before Leptos draws the page, so the page knows
/// the caller's role from its first line: a page drawn inside a `Suspense` that waited for
/// the caller was made anew when they arrived, its resources read and sent twice more.
/// A failed read is left to the page's own, which reports it.
pub async fn read_caller_first(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if req.method() == http::Method::GET && is_page(req.uri().path()) {
        if let Some(session) = req.extensions().get::<Session>().cloned() {
            let client = req
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(a)| *a);
            if let Ok(found) = resolve(state, session, client).await {
                req.extensions_mut()
                    .insert(ReadFirst(found.map(|caller| caller.user)));
            }
        }
    }
    next.run(req).await
}

/// The signed-in user, if any. Ends a session that has outlived its idle timeout or its
/// absolute lifetime, whose user is gone or disabled, or whose user's password was reset
/// since it signed in. Read once per request where the request provides a
/// [`RequestCaller`].
pub async fn current() -> Result<Option<Caller>, AppError> {
    let state = state()?;
    let client = client_addr().await;
    let Some(memo) = use_context::<RequestCaller>() else {
        return resolve(state, session().await?, client).await;
    };
    let user = memo
        .0
        .get_or_try_init(|| async {
            let found = resolve(state.clone(), session().await?, client).await?;
            Ok::<_, AppError>(found.map(|caller| caller.user))
        })
        .await?
        .clone();
    Ok(user.map(|user| Caller {
        user,
        state,
        client_addr: client.map(|a| a.ip().to_string()).unwrap_or_default(),
    }))
}

/// [`current`] for plain axum handlers, which have no Leptos context.
pub async fn resolve(
    state: AppState,
    session: Session,
    client: Option<SocketAddr>,
) -> Result<Option<Caller>, AppError> {
    let Some(user_id) = session.get::<i64>(USER_ID).await.map_err(internal)? else {
        return Ok(None);
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let signed_in_at = session
        .get::<i64>(SIGNED_IN_AT)
        .await
        .map_err(internal)?
        .unwrap_or(0);
    let seen_at = session
        .get::<i64>(SEEN_AT)
        .await
        .map_err(internal)?
        .unwrap_or(0);
    let lifetime = state.config().session_lifetime.as_secs() as i64;
    let idle = state.config().session_idle_timeout.as_secs() as i64;
    let epoch = session
        .get::<i64>(SESSION_EPOCH)
        .await
        .map_err(internal)?
        .unwrap_or(0);
    let user = user::Entity::find_by_id(user_id).one(&state.db).await?;
    let valid = now - signed_in_at < lifetime && now - seen_at < idle;
    let user = match user {
        Some(user) if valid && !user.disabled && user.session_epoch == epoch => user,
        _ => {
            session.flush().await.map_err(internal)?;
            return Ok(None);
        }
    };
    if now - seen_at >= SEEN_RESOLUTION_SECS {
        session.insert(SEEN_AT, now).await.map_err(internal)?;
    }
    let client_addr = client.map(|a| a.ip().to_string()).unwrap_or_default();
    Ok(Some(Caller {
        user,
        state,
        client_addr,
    }))
}

/// The signed-in user if their role is at least `min`: 401 when nobody is signed in, 403
/// when the role is too low.
pub async fn require(min: Role) -> Result<Caller, AppError> {
    at_least(current().await?, min)
}

/// The caller if their role is at least `min`.
pub fn at_least(caller: Option<Caller>, min: Role) -> Result<Caller, AppError> {
    let caller = caller.ok_or(AppError::Unauthenticated)?;
    if caller.user.role < min {
        return Err(AppError::Forbidden);
    }
    Ok(caller)
}
