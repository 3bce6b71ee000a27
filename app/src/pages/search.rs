//! The header's search results: an address or an exact network goes straight to its page;
//! anything else lists the networks and addresses it found, across every network.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::search::search_everywhere;
use crate::components::status_badge::StatusBadge;

#[component]
pub fn SearchPage() -> impl IntoView {
    let query = use_query_map();
    let q = move || query.read().get("q").unwrap_or_default();
    let found = Resource::new(q, search_everywhere);
    view! {
        <Title text="Search · ipvet"/>
        <h1>"Search"</h1>
        <form method="get" action="/search" class="filter" role="search">
            <label>
                "Address, CIDR, network name, host name or owner"
                <input type="search" name="q" value=q autofocus/>
            </label>
            <button type="submit">"Search"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Searching…"</p> }>
            {move || Suspend::new(async move {
                match found.await {
                    Ok(r) => {
                        if let Some(to) = r.jump {
                            return view! { <Redirect path=to/> }.into_any();
                        }
                        let nothing = r.networks.is_empty() && r.addresses.is_empty()
                            && !q().trim().is_empty();
                        let more = r.more_addresses.then(|| view! {
                            <p class="muted">"More addresses match; type more of the name, or search inside a network."</p>
                        });
                        view! {
                            {r.message.map(|m| view! { <p class="error" role="alert">{m}</p> })}
                            {nothing.then(|| view! { <p class="muted">"Nothing found."</p> })}
                            {(!r.networks.is_empty()).then(|| view! {
                                <h2>"Networks"</h2>
                                <ul class="search-networks">
                                    {r.networks.into_iter().map(|n| view! {
                                        <li>
                                            <a href=format!("/networks/{}", n.id)>{n.cidr}</a>
                                            " " <span class="muted">{n.name}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            })}
                            {(!r.addresses.is_empty()).then(|| view! {
                                <h2>"Addresses"</h2>
                                <table class="addresses search-addresses">
                                    <thead>
                                        <tr>
                                            <th>"Address"</th>
                                            <th>"Status"</th>
                                            <th>"Owner"</th>
                                            <th>"Host name"</th>
                                            <th>"Network"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {r.addresses.into_iter().map(|hit| {
                                            let a = hit.address;
                                            view! {
                                            <tr>
                                                <td class="ip"><a href=format!("/address?ip={}", a.address)>{a.address.clone()}</a></td>
                                                <td><StatusBadge status=a.status/></td>
                                                <td>{a.owner}</td>
                                                <td>{a.hostname}</td>
                                                <td>
                                                    <a href=format!("/networks/{}", hit.network.id)>{hit.network.cidr}</a>
                                                    " " <span class="muted">{hit.network.name}</span>
                                                </td>
                                            </tr>
                                        }}).collect_view()}
                                    </tbody>
                                </table>
                                {more}
                            })}
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
