//! The second step of a destructive action: its first button only asks, naming what will
//! happen; the button inside the question does it. A `<details>` element, so the question
//! opens without JavaScript, with the keyboard (Enter or Space on the first button) and on
//! a phone, and a page drawn again after the action shows it closed.

use leptos::prelude::*;

#[component]
pub fn Confirm(
    /// The words of the button that asks ("Delete", "Revoke", "Force-free…").
    #[prop(into)]
    label: String,
    /// The question, naming what the action does to what.
    #[prop(into)]
    question: String,
    /// The form that does it, whose submit button says so ("Delete network 198.18.0.0/24").
    children: Children,
) -> impl IntoView {
    let name = question.clone();
    view! {
        <details class="confirm">
            <summary>{label}</summary>
            <div class="confirm-step" role="group" aria-label=name>
                <p>{question}</p>
                {children()}
            </div>
        </details>
    }
}
