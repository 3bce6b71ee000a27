use leptos::prelude::*;

use crate::model::AddressStatus;

#[component]
pub fn StatusBadge(status: AddressStatus) -> impl IntoView {
    view! { <span class=format!("badge {}", status.as_str())>{status.label()}</span> }
}

/// [`StatusBadge`] written out as text, for a list drawn as text
/// ([`crate::components::html_text`]): written straight into the list's markup.
pub struct BadgeHtml(pub AddressStatus);

impl std::fmt::Display for BadgeHtml {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            r#"<span class="badge {}">{}</span>"#,
            self.0.as_str(),
            self.0.label()
        )
    }
}
