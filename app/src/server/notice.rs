//! What a form post without JavaScript leaves for the page it is sent back to. Such a post
//! is answered with a redirect, so its value never reaches a page; the notice waits in the
//! session and the next page shows it once. With JavaScript the form shows the value
//! itself, and nothing is kept.

use crate::error::AppError;
use crate::model::Notice;
use crate::server::auth::guard;
use crate::server::error::{html_form_post, internal};

const NOTICE: &str = "notice";

/// Keeps `notice` for the next page when this call is a plain form post. A session that
/// cannot be written loses only the message, never the change, which is done already.
pub async fn leave(notice: Notice) {
    if !html_form_post() {
        return;
    }
    let kept = match guard::session().await {
        Ok(session) => session.insert(NOTICE, notice).await.map_err(internal),
        Err(e) => Err(e),
    };
    if let Err(e) = kept {
        tracing::warn!(cause = ?e, "a notice for the next page was not kept");
    }
}

/// The notice left for this page, if any; taking it removes it. Looked at first, since a
/// removal writes the session even when there was nothing to remove, and most pages have
/// no notice.
pub async fn take() -> Result<Option<Notice>, AppError> {
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
