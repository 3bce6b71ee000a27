//! One address: its fields and its full history.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::addresses::address_detail;
use crate::components::status_badge::StatusBadge;

#[component]
pub fn AddressPage() -> impl IntoView {
    let query = use_query_map();
    let detail = Resource::new(
        move || query.read().get("ip").unwrap_or_default(),
        address_detail,
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let a = d.address;
                        view! {
                            <Title text=format!("{} · ipvet", a.address)/>
                            <h1>{a.address.clone()} " " <StatusBadge status=a.status/></h1>
                            <dl class="fields">
                                <dt>"Network"</dt>
                                <dd><a href=format!("/networks/{}", a.network_id)>{d.network_cidr}</a></dd>
                                <dt>"Checked with"</dt>
                                <dd class="check-policy">{d.check_policy}</dd>
                                <dt>"Owner"</dt>
                                <dd>{a.owner}</dd>
                                <dt>"Host name"</dt>
                                <dd>{a.hostname}</dd>
                                <dt>"Note"</dt>
                                <dd>{a.note}</dd>
                                <dt>"Status since"</dt>
                                <dd>{a.status_changed_at}</dd>
                                <dt>"Last checked"</dt>
                                <dd>{a.last_checked_at.unwrap_or_else(|| "never".into())}</dd>
                                <dt>"Problem"</dt>
                                <dd>{a.problem.unwrap_or_else(|| "none".into())}</dd>
                            </dl>
                            <h2>"History"</h2>
                            {d.history.is_empty().then(|| view! { <p class="muted no-history">"No change yet: nobody has held this address."</p> })}
                            <ol class="timeline">
                                {d
                                    .history
                                    .into_iter()
                                    .map(|e| {
                                        view! {
                                            <li>
                                                <span class="when">{e.at}</span>
                                                " " <strong>{e.actor}</strong> " "
                                                <StatusBadge status=e.from/> " → " <StatusBadge status=e.to/>
                                                {(!e.reason.is_empty()).then(|| view! { <span class="reason">" — " {e.reason.clone()}</span> })}
                                                {e.holder.map(|h| view! { <div class="holder muted">"Holder: " {h}</div> })}
                                                {e.evidence.map(|ev| view! { <pre class="evidence">{ev}</pre> })}
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ol>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
