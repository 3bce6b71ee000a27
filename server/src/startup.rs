//! Start-up: database, state, router, listener.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::Context;
use app::server::admin::settings::Live;
use app::server::auth::guard::{self, RequestCaller};
use app::server::auth::{client_address, csrf, session_store};
use app::server::compression;
use app::server::config::Config;
use app::server::error::status_from_error_body;
use app::server::form_return;
use app::server::headers;
use app::server::inventory::csv;
use app::server::monitoring;
use app::server::request_memo::RequestMemo;
use app::server::rest;
use app::server::timeout;
use app::server::{db, AppState};
use app::{shell, App};
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{middleware, Router};
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

/// Opens and migrates the database named by the configuration and builds the state.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    let db = db::open(&config.database).await?;
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    // A release build names its bundle by content; the pages then link those names.
    let hash_file = app::server::site::hash_file(std::path::Path::new(&site_root));
    let leptos_options = LeptosOptions::builder()
        .output_name("ipvet")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .env(Env::PROD)
        .hash_files(hash_file.is_some())
        .hash_file(
            hash_file
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_else(|| app::server::site::HASH_FILE.into())
                .into(),
        )
        .build();
    let settings = Live::load(&db, config)
        .await
        .context("cannot read the settings saved on the config page")?;
    Ok(AppState::new(db, settings, leptos_options))
}

/// Largest request body accepted, in bytes.
pub const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

/// The app's page routes, found once per process. Finding them renders the app once with
/// resource loading suppressed for the whole process (leptos_server's
/// `SuppressResourceLoad`, a global flag): a page that another router of the same process
/// renders meanwhile waits forever for its data (leptos issue 4773). One server builds one
/// router, before it serves; the integration tests build one per test, in parallel, and
/// hung a page now and then until the routes were found once for all.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState) -> Router {
    // `leptos_routes_with_context` registers every server function too, with the state in
    // their context.
    let routes = page_routes();
    let page_state = state.clone();
    let options = state.leptos_options.clone();
    let app = Router::new()
        .route("/networks/{id}/addresses.csv", get(csv::export::export))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(page_state.clone());
                // Read the caller once for everything this request renders or runs.
                provide_context(RequestCaller::for_request());
                // Read each page's data once (and take a form's notice once), however often
                // the page asks for it.
                provide_context(RequestMemo::default());
            },
            move || shell(options.clone()),
        )
        .merge(app::server::site::bundle(std::path::Path::new(
            state.leptos_options.site_root.as_ref(),
        )))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Inside the session layer, which it reads.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::read_caller_first,
        ))
        .layer(middleware::map_response(status_from_error_body))
        .layer(middleware::from_fn(form_return::clean_form_return))
        // Every body is read through this cap, whoever reads it (server functions read
        // theirs before the role guard runs). A CSV import of the largest allowed file
        // fits.
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BODY))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BODY))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::refuse_cross_site,
        ))
        .layer(session_store::layer(&state))
        // Nested after the layers above so none of them applies: the API reads no cookie
        // and has its own body limit and JSON errors.
        .nest(rest::BASE, rest::router())
        // Likewise for what monitors read: no session, no caller, no cross-site check.
        .merge(monitoring::router());
    let app = with_request_timeout(app, state.config().request_timeout)
        // Outside everything that reads the client's address, the API included.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            client_address::behind_proxies,
        ))
        .with_state(state.clone());
    let requests = state.requests.clone();
    outer_layers(app, state.config().secure_cookies)
        // Outermost, so it counts the answers the other layers make too.
        .layer(middleware::from_fn(move |req, next| {
            requests.clone().count(req, next)
        }))
}

/// Bounds every request, the API's included: a handler stuck on a slow check, a locked
/// database or a hung peer would otherwise hold its client (and its connection slot) for
/// as long as it is stuck. The bound is on the time until the answer starts, not on its
/// download, so a large file to a slow client is not cut off.
pub fn with_request_timeout<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    limit: Duration,
) -> Router<S> {
    router
        .layer(TimeoutLayer::with_status_code(timeout::STATUS, limit))
        // Right around the timeout, whose bare answer it alone recognises and explains.
        .layer(middleware::from_fn(move |req, next| {
            timeout::explain(limit, req, next)
        }))
}

/// The layers every response passes through, the API's included; `https` when the site is
/// served over HTTPS (`SecureCookies on`).
pub fn outer_layers(router: Router, https: bool) -> Router {
    router
        .layer(middleware::from_fn(compression::brotli_in_a_small_window))
        .layer(compression::layer())
        .layer(middleware::from_fn(compression::keep_secrets_uncompressed))
        .layer(middleware::from_fn(move |req, next| {
            headers::security_headers(https, req, next)
        }))
        // A panic is a bug; the client gets a 500 and the log the panic's message, instead
        // of a dropped connection.
        .layer(CatchPanicLayer::custom(
            |panic: Box<dyn std::any::Any + Send>| {
                tracing::error!(
                    panic = app::server::error::panic_text(&*panic),
                    "a request handler panicked"
                );
                let mut res = axum::response::Response::new(axum::body::Body::from(
                "Internal error: the server failed to answer this request; the cause is logged.",
            ));
                *res.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                res
            },
        ))
}

/// Longest a client may take to send a request's headers: a client that trickles them a
/// line at a time would otherwise hold its connection (and a slot) for as long as it likes.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; past this, new ones are closed as soon as they are accepted.
pub const MAX_CONNECTIONS: usize = 2048;
/// How long a stopping server waits to let its scheduler lease go (one update).
const LEASE_RELEASE_GRACE: Duration = Duration::from_secs(5);
/// How long in-flight requests get to finish once the server is told to stop.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The accept loop, instead of `axum::serve`, which neither bounds the time a client takes
/// to send its headers nor the number of connections.
async fn serve_connections(
    listener: TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use tower::ServiceExt;

    let mut http = Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait a moment rather than spin.
                    tracing::warn!(cause = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        // A response's head and body go out in separate writes; Nagle's algorithm would
        // hold the second back for the client's delayed acknowledgement.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(client = %remote, cause = %e, "TCP_NODELAY not set");
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(client = %remote, "too many connections; closed a new one");
            continue;
        };
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                // What `into_make_service_with_connect_info` would give handlers.
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(remote));
                router.clone().oneshot(req.map(axum::body::Body::new))
            });
        let connection = graceful.watch(
            http.serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned(),
        );
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = connection.await {
                tracing::debug!(client = %remote, cause = %e, "a connection ended with an error");
            }
        });
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown grace period; dropped");
    }
    Ok(())
}

/// A bound, not yet serving application; tests bind port 0 and read the address.
pub struct Application {
    pub addr: SocketAddr,
    pub state: AppState,
    listener: TcpListener,
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let listen = config.listen;
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        Self::build_on(config, listener).await
    }

    /// The application on a listener bound elsewhere (in another network namespace, say)
    /// instead of `Listen`.
    pub async fn build_on(config: Config, listener: TcpListener) -> anyhow::Result<Application> {
        let state = prepare(config).await?;
        app::server::admin::settings::tell_prober(&state).await;
        let addr = listener.local_addr()?;
        Ok(Application {
            addr,
            state,
            listener,
        })
    }

    /// Serves until `shutdown` resolves, deleting expired sessions meanwhile.
    pub async fn serve(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let cleaner = tokio::spawn(session_store::delete_expired_forever(
            session_store::SqlSessionStore::for_db(&self.state.db),
        ));
        let settings = tokio::spawn(app::server::admin::settings::follow_forever(
            self.state.clone(),
        ));
        let keys = tokio::spawn(app::server::inventory::idempotency::purge_forever(
            self.state.db.clone(),
        ));
        let (stop_checks, checks_stopped) = tokio::sync::oneshot::channel::<()>();
        let mut checks = tokio::spawn(app::server::check::jobs::schedule::run_forever(
            self.state.clone(),
            self.state.checks.clone(),
            async {
                let _ = checks_stopped.await;
            },
        ));
        let helper = tokio::spawn(app::server::check::jobs::help::help_forever(
            self.state.clone(),
            self.state.checks.clone(),
        ));
        let (stop_alerts, alerts_stopped) = tokio::sync::oneshot::channel::<()>();
        let mut alerts = tokio::spawn(app::server::alerts::delivery::deliver_forever(
            self.state.clone(),
            async {
                let _ = alerts_stopped.await;
            },
        ));
        let stopping = self.state.stopping.clone();
        let shutdown = async move {
            shutdown.await;
            stopping.send_replace(true);
        };
        let result = serve_connections(self.listener, router(self.state), shutdown).await;
        cleaner.abort();
        keys.abort();
        settings.abort();
        helper.abort();
        // Stopped rather than aborted, so that they let their leases go: another instance,
        // or `ipvet restore`, need not wait for the leases to run out. A delivery being
        // sent is taken up again once its claim runs out.
        let _ = stop_checks.send(());
        let _ = stop_alerts.send(());
        let (checks_done, alerts_done) = tokio::join!(
            tokio::time::timeout(LEASE_RELEASE_GRACE, &mut checks),
            tokio::time::timeout(LEASE_RELEASE_GRACE, &mut alerts),
        );
        if checks_done.is_err() {
            tracing::warn!("the scheduler lease was not let go in time; it runs out by itself");
            checks.abort();
        }
        if alerts_done.is_err() {
            tracing::warn!("the alerts lease was not let go in time; it runs out by itself");
            alerts.abort();
        }
        result.context("the server failed")
    }
}
