use leptos::prelude::*;

use crate::model::AddressStatus;

#[component]
pub fn StatusBadge(status: AddressStatus) -> impl IntoView {
    view! { <span class=format!("badge {}", status.as_str())>{status.label()}</span> }
}
