use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::dashboard::load_dashboard;
use crate::components::status_badge::StatusBadge;
use crate::model::AddressStatus;
use crate::pages::networks::human_count;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let summary = Resource::new(|| (), |_| load_dashboard());
    view! {
        <Title text="Dashboard · ipvet"/>
        <h1>"Dashboard"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(s) => {
                        view! {
                            <p>{format!("{} network(s).", s.networks)}</p>
                            <table class="counts">
                                <thead>
                                    <tr><th>"Status"</th><th class="num">"Addresses"</th></tr>
                                </thead>
                                <tbody>
                                    <tr>
                                        <td><StatusBadge status=AddressStatus::Free/></td>
                                        <td class="num">{human_count(&s.free)}</td>
                                    </tr>
                                    {s
                                        .in_use
                                        .into_iter()
                                        .map(|(status, n)| {
                                            view! {
                                                <tr>
                                                    <td><StatusBadge status/></td>
                                                    <td class="num">{n}</td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                            {(!s.nearest_full.is_empty())
                                .then(|| {
                                    view! {
                                        <h2>"Nearest to full"</h2>
                                        <table class="nearest">
                                            <tbody>
                                                {s
                                                    .nearest_full
                                                    .into_iter()
                                                    .map(|n| {
                                                        view! {
                                                            <tr>
                                                                <td><a href=format!("/networks/{}", n.id)>{n.cidr}</a></td>
                                                                <td>{n.name}</td>
                                                                <td class="num">{format!("{:.1} % in use", n.used_percent)}</td>
                                                            </tr>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </tbody>
                                        </table>
                                    }
                                })}
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
