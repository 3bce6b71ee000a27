//! CSV export of a network's addresses, whole or filtered like its page: a plain GET, so a
//! link downloads it. Rows stream out in numeric order, read by key in batches, so a
//! million-address network never sits in memory.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::response::{IntoResponse, Response};
use http::{header, StatusCode};
use serde::Deserialize;
use tower_sessions::Session;

use crate::error::AppError;
use crate::model::{AddressStatus, AddressView, Role};
use crate::server::auth::guard;
use crate::server::inventory::addresses::{self, ListQuery};
use crate::server::inventory::csv::guard_formula;
use crate::server::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    pub status: Option<String>,
    pub q: Option<String>,
}

pub const HEADER: [&str; 6] = [
    "address",
    "status",
    "owner",
    "hostname",
    "note",
    "status_changed_at",
];

fn record(a: &AddressView) -> [String; 6] {
    [
        a.address.clone(),
        a.status.as_str().to_string(),
        guard_formula(&a.owner).into_owned(),
        guard_formula(&a.hostname).into_owned(),
        guard_formula(&a.note).into_owned(),
        a.status_changed_at.clone(),
    ]
}

fn csv_line(fields: &[String]) -> Result<Vec<u8>, AppError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(fields)
        .map_err(crate::server::error::internal)?;
    writer
        .into_inner()
        .map_err(|e| crate::server::error::internal(e.into_error()))
}

fn refuse(err: AppError) -> Response {
    (err.status(), err.to_string()).into_response()
}

/// `GET /networks/{id}/addresses.csv?status=…&q=…` (viewer and up).
pub async fn export(
    State(state): State<AppState>,
    session: Session,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Path(network_id): Path<i64>,
    Query(filter): Query<Filter>,
) -> Response {
    let caller = match guard::resolve(state.clone(), session, Some(client)).await {
        Ok(caller) => caller,
        Err(e) => return refuse(e),
    };
    if let Err(e) = guard::at_least(caller, Role::Viewer) {
        return refuse(e);
    }
    let status = match filter.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => match AddressStatus::ALL.into_iter().find(|st| st.as_str() == s) {
            Some(st) => Some(st),
            None => {
                return refuse(AppError::BadRequest(format!(
                    "`{s}` is not an address status."
                )))
            }
        },
    };
    // Read the first page before answering, so an unknown network or bad search is a
    // clear error rather than a broken download.
    let db = state.db.clone();
    let q = filter.q.clone();
    let first = match addresses::page(
        &db,
        network_id,
        &ListQuery {
            status,
            search: q.as_deref(),
            ..ListQuery::default()
        },
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return refuse(e),
    };
    let head = match csv_line(&HEADER.map(String::from)) {
        Ok(h) => h,
        Err(e) => return refuse(e),
    };
    let stream = futures::stream::unfold((Some(first), Some(head)), move |(page, head)| {
        let (db, q) = (db.clone(), q.clone());
        async move {
            if let Some(h) = head {
                return Some((Ok::<_, std::io::Error>(h), (page, None)));
            }
            let page = page?;
            let mut chunk = Vec::new();
            for row in &page.rows {
                match csv_line(&record(row)) {
                    Ok(line) => chunk.extend(line),
                    Err(_) => {
                        return Some((
                            Err(std::io::Error::other("CSV encoding failed")),
                            (None, None),
                        ))
                    }
                }
            }
            let next = match page.next_after {
                Some(after) => {
                    match addresses::page(
                        &db,
                        network_id,
                        &ListQuery {
                            status,
                            search: q.as_deref(),
                            after: Some(&after),
                            ..ListQuery::default()
                        },
                    )
                    .await
                    {
                        Ok(p) => Some(p),
                        Err(_) => {
                            return Some((
                                Err(std::io::Error::other("reading addresses failed")),
                                (None, None),
                            ))
                        }
                    }
                }
                None => None,
            };
            if chunk.is_empty() && next.is_none() {
                return None;
            }
            Some((Ok(chunk), (next, None)))
        }
    });
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"network-{network_id}.csv\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}
