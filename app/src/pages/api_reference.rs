//! The REST API, readable: every endpoint with its role, input and answers, and every
//! shape, all read from the generated OpenAPI document.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::tokens::api_reference;
use crate::model::{ApiField, ApiOperation};

/// Text from the document, with its `code` spans (the only markup it uses) shown as code.
fn prose(text: String) -> impl IntoView {
    text.split('`')
        .enumerate()
        .map(|(i, part)| {
            let part = part.to_string();
            if i % 2 == 1 {
                view! { <code>{part}</code> }.into_any()
            } else {
                part.into_any()
            }
        })
        .collect_view()
}

fn fields_table(fields: Vec<ApiField>) -> impl IntoView {
    view! {
        <table class="fields">
            <thead><tr><th>"Field"</th><th>"Type"</th><th>"Required"</th><th>"About"</th></tr></thead>
            <tbody>
                {fields.into_iter().map(|f| view! {
                    <tr>
                        <td><code>{f.name}</code></td>
                        <td>{f.kind}</td>
                        <td>{if f.required { "yes" } else { "no" }}</td>
                        <td>{prose(f.description)}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// The id of an endpoint's section, for links into the page.
fn anchor_of(op: &ApiOperation) -> String {
    format!(
        "{}-{}",
        op.method.to_lowercase(),
        op.path.replace(['/', '{', '}', '.'], "-")
    )
}

/// The endpoints by tag, each linked to its section, so the long page can be jumped
/// through.
fn index(ops: &[ApiOperation]) -> impl IntoView {
    let mut tags: Vec<&str> = Vec::new();
    for op in ops {
        if !tags.contains(&op.tag.as_str()) {
            tags.push(op.tag.as_str());
        }
    }
    let groups = tags
        .into_iter()
        .map(|tag| {
            let links = ops
                .iter()
                .filter(|op| op.tag == tag)
                .map(|op| {
                    view! {
                        <li>
                            <a href=format!("#{}", anchor_of(op))>
                                <span class="method">{op.method.clone()}</span>" "<code>{op.path.clone()}</code>
                            </a>
                            " " {prose(op.summary.clone())}
                        </li>
                    }
                })
                .collect_view();
            view! {
                <li>
                    <strong>{tag.to_string()}</strong>
                    <ul>{links}</ul>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav class="card api-index" aria-label="Endpoints by tag">
            <h2>"Index"</h2>
            <ul>{groups}</ul>
            <p><a href="#shapes">"Shapes"</a></p>
        </nav>
    }
}

fn operation(op: ApiOperation) -> impl IntoView {
    let anchor = anchor_of(&op);
    view! {
        <section class="card endpoint" id=anchor data-endpoint=format!("{} {}", op.method, op.path)>
            <h3><span class="method">{op.method.clone()}</span>" "<code>{op.path.clone()}</code></h3>
            <p><strong>{prose(op.summary)}</strong></p>
            <p>{prose(op.description)}</p>
            {(!op.parameters.is_empty()).then(|| view! { <h4>"Parameters"</h4>{fields_table(op.parameters)} })}
            {op.request.map(|r| view! { <p>"Body: " <a href=format!("#schema-{r}")><code>{r.clone()}</code></a></p> })}
            <h4>"Answers"</h4>
            <ul>
                {op.responses.into_iter().map(|r| view! {
                    <li>
                        <code>{r.status}</code>" "{prose(r.description)}
                        {r.body.map(|b| view! { " → " <code>{b}</code> })}
                    </li>
                }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
pub fn ApiReferencePage() -> impl IntoView {
    let reference = Resource::new(|| (), |_| api_reference());
    view! {
        <Title text="REST API · ipvet"/>
        <h1>"REST API"</h1>
        <p>
            "Base " <code>"/api/v1"</code> ". The machine-readable document is "
            <a href="/api/v1/openapi.json">"/api/v1/openapi.json"</a> " (OpenAPI 3). Make a token on the "
            <a href="/tokens">"Tokens"</a> " page."
        </p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match reference.await {
                    Ok(r) => view! {
                        <p>{prose(r.intro)}</p>
                        {index(&r.operations)}
                        <h2>"Endpoints"</h2>
                        {r.operations.into_iter().map(operation).collect_view()}
                        <h2 id="shapes">"Shapes"</h2>
                        {r.schemas.into_iter().map(|s| {
                            let id = format!("schema-{}", s.name);
                            view! {
                            <section class="card schema" id=id>
                                <h3><code>{s.name}</code></h3>
                                {(!s.description.is_empty()).then(|| view! { <p>{prose(s.description)}</p> })}
                                {fields_table(s.fields)}
                            </section>
                            }
                        }).collect_view()}
                    }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
