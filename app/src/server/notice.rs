//! What a form post without JavaScript leaves for the page it is sent back to. Such a post
//! is answered with a redirect, so its value never reaches a page; the notice waits in the
//! session and the next page shows it once. With JavaScript the form shows the value
//! itself, and nothing is kept.

use leptos::prelude::use_context;

use crate::error::AppError;
use crate::model::{FormDraft, Notice};
use crate::server::auth::guard;
use crate::server::error::{html_form_post, internal};

const NOTICE: &str = "notice";
const DRAFT: &str = "draft";
/// Longest field a draft keeps: more than any form field takes, little in a session.
const DRAFT_FIELD: usize = 1_000;

/// Keeps `notice` for the next page when this call is a plain form post. A session that
/// cannot be written loses only the message, never the change, which is done already.
pub async fn leave(notice: Notice) {
    if !html_form_post() {
        return;
    }
    keep(NOTICE, notice, "a notice for the next page").await;
}

/// The notice left for this page, if any; taking it removes it from the session, and
/// every later take in the same request gets the same notice (a page drawn on the server
/// may ask more than once, and a second take found the session emptied). Looked at first,
/// since a removal writes the session even when there was nothing to remove, and most
/// pages have no notice.
pub async fn take() -> Result<Option<Notice>, AppError> {
    crate::server::request_memo::once("notice/take".into(), take_from_session).await
}

async fn take_from_session() -> Result<Option<Notice>, AppError> {
    let session = guard::session().await?;
    if session
        .get::<Notice>(NOTICE)
        .await
        .map_err(internal)?
        .is_none()
    {
        return Ok(None);
    }
    session.remove::<Notice>(NOTICE).await.map_err(internal)
}

/// Keeps what a plain form post that was refused sent in `fields`, for the page it is sent
/// back to, so its fields are not emptied (a mistyped CIDR used to vanish with its error).
/// Only for forms without secrets; each value is cut to a bound.
pub async fn keep_draft(form: &str, fields: &[(&str, &str)]) {
    if !html_form_post() {
        return;
    }
    let draft = FormDraft {
        form: form.to_string(),
        fields: fields
            .iter()
            .map(|(name, value)| (name.to_string(), value.chars().take(DRAFT_FIELD).collect()))
            .collect(),
    };
    keep(DRAFT, draft, "a refused form's values").await;
}

/// The draft of the form whose refusal this page shows: the page's address carries the
/// refused function's path and error (as Leptos sends a plain form post back), and the
/// draft kept for that function is given; any other page gets none. The draft is not
/// removed, since a page drawn on the server may ask more than once; the next refusal
/// replaces it, and a page without the error never shows it.
pub async fn draft_for_this_page() -> Result<Option<FormDraft>, AppError> {
    let Some(refused) = use_context::<http::request::Parts>()
        .and_then(|parts| crate::server::form_return::refused_function(parts.uri.query()?))
    else {
        return Ok(None);
    };
    let session = guard::session().await?;
    let draft = session.get::<FormDraft>(DRAFT).await.map_err(internal)?;
    Ok(draft.filter(|d| d.form == refused))
}

/// Puts `value` in the caller's session under `key`. A session that cannot be written
/// loses only what was kept for the next page (`what`, for the log), never the change.
async fn keep(key: &str, value: impl serde::Serialize + Send, what: &str) {
    let kept = match guard::session().await {
        Ok(session) => session.insert(key, value).await.map_err(internal),
        Err(e) => Err(e),
    };
    if let Err(e) = kept {
        tracing::warn!(cause = ?e, "{what} was not kept");
    }
}
