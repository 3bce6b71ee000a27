//! The audit log (admin).

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::AuditPage;

#[server(endpoint = "audit/list")]
pub async fn list_audit(
    actor: Option<String>,
    action: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
) -> Result<AuditPage, AppError> {
    use crate::model::Role;
    use crate::server::admin::audit::{page, Filter};
    use crate::server::{auth::guard::require, respond};
    respond(async {
        let caller = require(Role::Admin).await?;
        let filter = Filter {
            actor,
            action,
            from,
            to,
        };
        page(&caller.state.db, &filter, before).await
    })
    .await
}
