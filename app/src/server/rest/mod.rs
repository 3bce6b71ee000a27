//! The REST API at `/api/v1` for provisioning systems: Bearer tokens, JSON in and out,
//! errors as `{"error": {"code", "message"}}`, lists paged by cursor, and an OpenAPI 3
//! document generated from these handlers at `/api/v1/openapi.json`.

pub mod addresses;
pub mod agent;
pub mod alerts;
pub mod auth;
pub mod checks;
pub mod dnsbl;
pub mod error;
pub mod formats;
pub mod input;
pub mod networks;
pub mod problems;
pub mod reference;
pub mod shapes;
pub mod sites;

use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::routing::{on, MethodFilter};
use axum::{Json, Router};
use http::{Method, StatusCode};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::server::AppState;
use error::ApiError;

/// Where the API lives.
pub const BASE: &str = "/api/v1";
/// Largest request body the API reads, in bytes.
pub const MAX_BODY: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ipvet API",
        version = "1",
        description = "Allocate, release and vet IP addresses. Authenticate with `Authorization: Bearer <token>`; a token carries its user's role (viewer, operator, admin). Errors are `{\"error\": {\"code\", \"message\"}}`. Lists are paged: pass a page's `next_cursor` as `cursor`."
    ),
    paths(
        networks::list, networks::create, networks::get, networks::set_check_policy,
        addresses::allocate, addresses::release, addresses::reserve, addresses::force_free,
        addresses::get, addresses::edit,
        problems::list,
        checks::start, checks::get,
        dnsbl::list, dnsbl::create, dnsbl::delete,
        alerts::list, alerts::create_webhook, alerts::create_chat, alerts::create_email,
        alerts::get, alerts::delete, alerts::test,
        sites::list, sites::create, sites::delete, sites::set_network_site,
        agent::hello, agent::take_work, agent::results,
        openapi_json,
    ),
    modifiers(&BearerScheme),
    tags(
        (name = "networks", description = "Networks and their counts by status"),
        (name = "addresses", description = "Allocate, release, reserve and force-free addresses"),
        (name = "problems", description = "Addresses the checks hold back"),
        (name = "checks", description = "Check cycles"),
        (name = "dnsbl", description = "DNS blacklists"),
        (name = "alerts", description = "Where ipvet tells of new problems, failing zones and cycles"),
        (name = "sites", description = "Where networks are checked from, and their probe agents"),
        (name = "agent", description = "For probe agents (`ipvet agent`) only, with an agent token"),
        (name = "meta", description = "This document"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ipvet_ followed by 64 hex digits")
                    .description(Some(
                        "An API token, made on the Tokens page or with `ipvet token create USER`.",
                    ))
                    .build(),
            ),
        );
    }
}

/// This OpenAPI document.
///
/// Public: it holds no data, only the shape of the API.
#[utoipa::path(get, path = "/api/v1/openapi.json", operation_id = "getOpenApi", tag = "meta",
    responses((status = 200, description = "The OpenAPI 3 document", content_type = "application/json")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The API's router, and every (method, path) it routes, as registered: the test that
/// compares them with the OpenAPI document reads this list.
struct Routes {
    router: Router<AppState>,
    table: Vec<(Method, String)>,
}

impl Routes {
    fn add<H, T>(mut self, method: Method, path: &str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
        self.router = self.router.route(path, on(filter, handler));
        self.table.push((method, format!("{BASE}{path}")));
        self
    }
}

fn routes() -> Routes {
    Routes {
        router: Router::new(),
        table: Vec::new(),
    }
    .add(Method::GET, "/networks", networks::list)
    .add(Method::POST, "/networks", networks::create)
    .add(Method::GET, "/networks/{id}", networks::get)
    .add(
        Method::PUT,
        "/networks/{id}/check-policy",
        networks::set_check_policy,
    )
    .add(
        Method::POST,
        "/networks/{id}/allocations",
        addresses::allocate,
    )
    .add(Method::GET, "/addresses/{ip}", addresses::get)
    .add(Method::PATCH, "/addresses/{ip}", addresses::edit)
    .add(Method::POST, "/addresses/{ip}/release", addresses::release)
    .add(Method::POST, "/addresses/{ip}/reserve", addresses::reserve)
    .add(
        Method::POST,
        "/addresses/{ip}/force-free",
        addresses::force_free,
    )
    .add(Method::GET, "/problems", problems::list)
    .add(Method::POST, "/checks", checks::start)
    .add(Method::GET, "/checks/{id}", checks::get)
    .add(Method::GET, "/dnsbl/zones", dnsbl::list)
    .add(Method::POST, "/dnsbl/zones", dnsbl::create)
    .add(Method::DELETE, "/dnsbl/zones/{id}", dnsbl::delete)
    .add(Method::GET, "/alerts/targets", alerts::list)
    .add(Method::POST, "/alerts/webhooks", alerts::create_webhook)
    .add(Method::POST, "/alerts/chats", alerts::create_chat)
    .add(Method::POST, "/alerts/emails", alerts::create_email)
    .add(Method::GET, "/alerts/targets/{id}", alerts::get)
    .add(Method::DELETE, "/alerts/targets/{id}", alerts::delete)
    .add(Method::POST, "/alerts/targets/{id}/test", alerts::test)
    .add(Method::GET, "/sites", sites::list)
    .add(Method::POST, "/sites", sites::create)
    .add(Method::DELETE, "/sites/{id}", sites::delete)
    .add(Method::PUT, "/networks/{id}/site", sites::set_network_site)
    .add(Method::POST, "/agent/hello", agent::hello)
    .add(Method::POST, "/agent/work", agent::take_work)
    // A batch of an agent's results is larger than any other body the API takes.
    .add(
        Method::POST,
        "/agent/results",
        agent::results.layer(DefaultBodyLimit::max(crate::server::agents::work::MAX_BODY)),
    )
    .add(Method::GET, "/openapi.json", openapi_json)
}

/// Every (method, full path) the API router serves.
pub fn route_table() -> Vec<(Method, String)> {
    routes().table
}

/// The router to nest at [`BASE`]. It sits outside the session and CSRF layers: the API
/// reads no cookie.
pub fn router() -> Router<AppState> {
    routes()
        .router
        .fallback(|| async {
            ApiError::not_found("There is no such API endpoint; see /api/v1/openapi.json.")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This endpoint does not take that method; see /api/v1/openapi.json.",
            )
        })
        .layer(DefaultBodyLimit::max(MAX_BODY))
}
