use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::checks::RunCheckNow;
use crate::api::dashboard::load_dashboard;
use crate::components::outcome::outcome;
use crate::components::role::current_role;
use crate::components::status_badge::StatusBadge;
use crate::model::{AddressStatus, ChecksSummary, Role};
use crate::pages::networks::human_count;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let run_now = ServerAction::<RunCheckNow>::new();
    let summary = Resource::new(move || run_now.version().get(), |_| load_dashboard());
    let role = current_role();
    view! {
        <Title text="Dashboard · ipvet"/>
        <h1>"Dashboard"</h1>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(s) => {
                        view! {
                            <p>{format!("{} network(s).", s.networks)}</p>
                            <Checks checks=s.checks.clone()/>
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
        {(role >= Role::Operator)
            .then(|| {
                view! {
                    <ActionForm action=run_now attr:class="run-now">
                        <button type="submit">"Run check now"</button>
                    </ActionForm>
                    {outcome(run_now.value(), "Check cycle started.")}
                }
            })}
    }
}

/// The check engine's state: what checks availability, whether it can, and the latest
/// cycle.
#[component]
fn Checks(checks: ChecksSummary) -> impl IntoView {
    let last = checks.last_run.map(|r| {
        let when = match &r.finished_at {
            Some(end) => format!("Cycle {} ({}) finished {end}", r.id, r.trigger),
            None => format!(
                "Cycle {} ({}) is running since {}: {} of {} checked",
                r.id, r.trigger, r.started_at, r.done, r.total
            ),
        };
        let counts = format!(
            "{} checked: {} freed, {} used in network, {} blocked by DNSBL, {} inconclusive{}.",
            r.done,
            r.freed,
            r.still_used,
            r.blocked,
            r.unknown,
            if r.zones_unhealthy > 0 {
                format!("; {} DNSBL zone(s) failed their self-test", r.zones_unhealthy)
            } else {
                String::new()
            }
        );
        view! {
            <p class="last-run">{when}". "{counts}</p>
            {r.error.map(|e| view! { <p class="error" role="alert">{format!("The cycle failed: {e}")}</p> })}
        }
    });
    view! {
        <section class="card checks">
            <h2>"Checks"</h2>
            <p>{format!("Availability is checked by the {}.", checks.prober)}</p>
            {checks
                .problem
                .map(|p| {
                    view! {
                        <p class="error prober-problem" role="alert">
                            {format!("Configuration problem: {p}. Every availability check is inconclusive until it is fixed.")}
                        </p>
                    }
                })}
            {match last {
                Some(v) => v.into_any(),
                None => view! { <p class="muted">"No check cycle has run yet."</p> }.into_any(),
            }}
        </section>
    }
}
