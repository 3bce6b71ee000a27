use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::dashboard::load_dashboard;

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
                                    {s
                                        .addresses_by_status
                                        .into_iter()
                                        .map(|(status, n)| {
                                            view! {
                                                <tr>
                                                    <td><span class=format!("badge {}", status.as_str())>{status.label()}</span></td>
                                                    <td class="num">{n}</td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
