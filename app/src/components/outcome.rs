use leptos::prelude::*;

use crate::error::AppError;

/// The result of the last submission of a form: a confirmation or the server's message.
pub fn outcome<T, S>(value: S, ok: &'static str) -> impl IntoView
where
    T: Send + Sync + 'static,
    S: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || {
        value.with(|v| match v {
            Some(Ok(_)) => Some(view! { <p class="ok" role="status">{ok}</p> }.into_any()),
            Some(Err(e)) => {
                Some(view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any())
            }
            None => None,
        })
    }
}
