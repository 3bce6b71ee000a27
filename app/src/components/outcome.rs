use leptos::prelude::*;

use crate::error::AppError;
use crate::model::Notice;

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

/// [`outcome`] whose confirmation is made from the value, so it can name what changed.
pub fn outcome_with<T, S, V>(
    value: S,
    ok: impl Fn(&T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Send + Sync + 'static,
    S: With<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || {
        value.with(|v| match v {
            Some(Ok(done)) => Some(view! { <p class="ok" role="status">{ok(done)}</p> }.into_any()),
            Some(Err(e)) => {
                Some(view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any())
            }
            None => None,
        })
    }
}

/// A [`Notice`]'s words, its address linked to the address's page.
pub fn notice_text(n: &Notice) -> impl IntoView {
    let link = n.address.clone().map(|a| {
        let href = format!("/address?ip={a}");
        view! { <a href=href>{a}</a> }
    });
    view! { {n.before.clone()} {link} {n.after.clone()} }
}

/// One form's answer on a page of several: its version (bumped when an answer arrives) and
/// how to forget what it said.
pub type Answering = (RwSignal<usize>, Callback<()>);

/// Keeps only the newest answer on a page of forms: when one form's answer arrives, what
/// the others said before is forgotten (answers used to pile up, "Network created." beside
/// every later change).
pub fn newest_answer_only<const N: usize>(forms: [Answering; N]) {
    for (i, (version, _)) in forms.into_iter().enumerate() {
        Effect::watch(
            move || version.get(),
            move |_, _, _| {
                for (j, (_, forget)) in forms.into_iter().enumerate() {
                    if j != i {
                        forget.run(());
                    }
                }
            },
            false,
        );
    }
}

/// The [`Answering`] of a server action.
pub fn answering<S>(action: ServerAction<S>) -> Answering
where
    S: leptos::server_fn::ServerFn + Send + Sync + Clone + 'static,
    S::Output: Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    (
        action.version(),
        Callback::new(move |()| action.value().set(None)),
    )
}
