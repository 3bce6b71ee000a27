use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::checks::RunCheckNow;
use crate::api::dashboard::load_dashboard;
use crate::components::problem_chart::ProblemChart;
use crate::components::run_progress::{RunCheckNowButton, RunProgress};
use crate::components::status_badge::StatusBadge;
use crate::model::{AddressStatus, ChecksSummary};
use crate::pages::networks::human_count;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let run_now = ServerAction::<RunCheckNow>::new();
    // Bumped when the page sees the latest cycle end: every figure loads again.
    let settled = RwSignal::new(0u32);
    let summary = Resource::new(
        move || (run_now.version().get(), settled.get()),
        |_| load_dashboard(),
    );
    let on_settled = Callback::new(move |_| settled.update(|n| *n += 1));
    view! {
        <Title text="Dashboard · ipvet"/>
        <h1>"Dashboard"</h1>
        // A Transition keeps the figures on the page while they load again.
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(s) => {
                        let running = s.checks.last_run.as_ref().is_some_and(|r| r.finished_at.is_none());
                        view! {
                            <p>{format!("{} network(s).", s.networks)}</p>
                            <Checks checks=s.checks.clone() on_settled/>
                            <h2>"Problem IPs, last 30 days"</h2>
                            <ProblemChart days=s.problem_days.clone()/>
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
                            <RunCheckNowButton action=run_now running/>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The check engine's state: what checks availability, whether it can, the zones that
/// fail their self-test, the latest cycle and the next.
#[component]
fn Checks(checks: ChecksSummary, on_settled: Callback<i64>) -> impl IntoView {
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
            {(!checks.unhealthy_zones.is_empty())
                .then(|| {
                    view! {
                        <div class="error unhealthy-zones" role="alert">
                            <p>"DNSBL zones failing their self-test (their answers are not used):"</p>
                            <ul>
                                {checks
                                    .unhealthy_zones
                                    .into_iter()
                                    .map(|(zone, why)| view! { <li><a href="/dnsbl">{zone}</a> ": " {why}</li> })
                                    .collect_view()}
                            </ul>
                        </div>
                    }
                })}
            {checks.ipv6_uncovered.then(|| view! {
                <p class="notice no-ipv6-zone" role="status">
                    "No enabled DNSBL zone covers IPv6: IPv6 addresses are checked for availability only. "
                    <a href="/dnsbl">"DNSBL blacklists"</a>
                </p>
            })}
            {match checks.last_run {
                Some(run) => view! { <RunProgress run on_settled/> }.into_any(),
                None => view! { <p class="muted">"No check cycle has run yet."</p> }.into_any(),
            }}
            {checks.next_run_at.map(|at| view! { <p class="next-run">{format!("Next scheduled cycle: {at}.")}</p> })}
        </section>
    }
}
