//! Problem IPs: the list (viewer) and re-checking now (operator). Releasing one without
//! checks is `addresses/force_free` (admin).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::{AddressStatus, ProblemPage, RecheckOutcome};

#[server(endpoint = "problems/page")]
pub async fn list_problems(
    status: Option<AddressStatus>,
    network_id: Option<i64>,
    zone: Option<String>,
    q: Option<String>,
    after: Option<String>,
    before: Option<String>,
    last: Option<bool>,
) -> Result<ProblemPage, AppError> {
    use crate::model::Role;
    use crate::server::check::problems::{page, Filter};
    use crate::server::{auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        let filter = Filter {
            status,
            network_id,
            zone,
            search: q,
        };
        let key = format!("problems/page {filter:?} {after:?} {before:?} {last:?}");
        crate::server::request_memo::once(key, || {
            page(
                &caller.state.db,
                &filter,
                after.as_deref(),
                before.as_deref(),
                last.unwrap_or(false),
            )
        })
        .await
    })
    .await
}

/// Checks the selected addresses now and writes what the checks find (checkboxes named
/// `addresses[]`).
#[server(endpoint = "problems/recheck")]
pub async fn recheck_addresses(
    addresses: Option<Vec<String>>,
) -> Result<Vec<RecheckOutcome>, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, check::problems, respond};
    respond(async {
        let caller = require(Role::Operator).await?;
        problems::recheck(&caller, &addresses.unwrap_or_default()).await
    })
    .await
}
