//! The header's search across every network.

use leptos::prelude::*;

use crate::error::AppError;
use crate::model::SearchResults;

#[server(endpoint = "search/everywhere")]
pub async fn search_everywhere(q: String) -> Result<SearchResults, AppError> {
    use crate::model::Role;
    use crate::server::{auth::guard::require, inventory::search, respond};
    respond(async {
        let caller = require(Role::Viewer).await?;
        search::everywhere(&caller.state.db, &q).await
    })
    .await
}
