use leptos::prelude::*;

use crate::model::AddressStatus;

#[component]
pub fn StatusBadge(status: AddressStatus) -> impl IntoView {
    view! { <span class=format!("badge {}", status.as_str())>{status.label()}</span> }
}

/// [`StatusBadge`] written out as text, for a list drawn as text
/// ([`crate::components::html_text`]).
pub fn badge_html(status: AddressStatus) -> String {
    format!(
        r#"<span class="badge {}">{}</span>"#,
        status.as_str(),
        status.label()
    )
}
