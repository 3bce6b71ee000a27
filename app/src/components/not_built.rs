use leptos::prelude::*;
use leptos_meta::Title;

/// A page whose capability a later issue builds: one line, nothing pretending to work.
#[component]
pub fn NotBuilt(
    title: &'static str,
    #[prop(default = "Not built yet.")] text: &'static str,
) -> impl IntoView {
    view! {
        <Title text=format!("{title} · ipvet")/>
        <section class="panel">
            <h1>{title}</h1>
            <p class="muted">{text}</p>
        </section>
    }
}
