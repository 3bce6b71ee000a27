//! The audit log (admin): who did what, when, from which address, before → after.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::audit::list_audit;
use crate::components::query::kept;
use crate::components::when::When;

#[component]
pub fn AuditPage() -> impl IntoView {
    let query = use_query_map();
    let page = Resource::new(
        move || query.get(),
        |q| {
            list_audit(
                q.get("actor"),
                q.get("action"),
                q.get("from"),
                q.get("to"),
                q.get("before").and_then(|b| b.parse().ok()),
            )
        },
    );
    let value = move |key: &'static str| move || query.read().get(key).unwrap_or_default();
    view! {
        <Title text="Audit log · ipvet"/>
        <h1>"Audit log"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => {
                        let fq = kept(&query.read_untracked(), &["actor", "action", "from", "to"]);
                        view! {
                            <form method="get" class="filter">
                                <label>"Actor" <input type="text" name="actor" value=value("actor")/></label>
                                <label>
                                    "Action"
                                    <select name="action">
                                        <option value="">"any"</option>
                                        {p
                                            .actions
                                            .iter()
                                            .map(|a| {
                                                let selected = {
                                                    let a = a.clone();
                                                    move || query.read().get("action").as_deref() == Some(a.as_str())
                                                };
                                                view! { <option value=a.clone() selected=selected>{a.clone()}</option> }
                                            })
                                            .collect_view()}
                                    </select>
                                </label>
                                <label>"From" <input type="date" name="from" value=value("from")/></label>
                                <label>"To" <input type="date" name="to" value=value("to")/></label>
                                <button type="submit">"Filter"</button>
                            </form>
                            {p.entries.is_empty().then(|| view! { <p class="empty">"No entries match."</p> })}
                            <table class="audit">
                                <thead>
                                    <tr>
                                        <th>"When"</th>
                                        <th>"Who"</th>
                                        <th>"From"</th>
                                        <th>"Action"</th>
                                        <th>"Target"</th>
                                        <th>"Before"</th>
                                        <th>"After"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {p
                                        .entries
                                        .into_iter()
                                        .map(|e| {
                                            let action = e.action.clone();
                                            view! {
                                                <tr data-action=action>
                                                    <td class="when"><When at=e.at/></td>
                                                    <td class="actor">{e.actor}</td>
                                                    <td>{e.client_addr}</td>
                                                    <td class="action">{e.action}</td>
                                                    <td class="target">{e.target}</td>
                                                    <td>{e.before.unwrap_or_default()}</td>
                                                    <td>{e.after.unwrap_or_default()}</td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                            <nav class="pager">
                                <a href=format!("?{fq}")>"Newest"</a>
                                {p.older_than.map(|b| view! { <a href=format!("?{fq}before={b}")>"Older"</a> })}
                            </nav>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
