use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::checks::RunCheckNow;
use crate::api::dashboard::load_dashboard;
use crate::components::cycle_watch::CycleWatch;
use crate::components::problem_chart::ProblemChart;
use crate::components::run_progress::{RunCheckNowButton, RunProgress};
use crate::components::status_badge::StatusBadge;
use crate::components::when::When;
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
    let on_new = Callback::new(move |()| settled.update(|n| *n += 1));
    view! {
        <Title text="Dashboard · ipvet"/>
        <h1>"Dashboard"</h1>
        // A Transition keeps the figures on the page while they load again.
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(s) => {
                        let running = s.checks.last_run.as_ref().is_some_and(|r| r.finished_at.is_none());
                        let shown = s.checks.last_run.as_ref().map(|r| r.id);
                        view! {
                            <CycleWatch shown running on_new/>
                            <p>{match s.networks { 1 => "1 network.".to_string(), n => format!("{n} networks.") }}</p>
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
                                                    <td class="num">{problem_link(status, n)}</td>
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
                                                        let in_use = in_use_text(&n);
                                                        view! {
                                                            <tr>
                                                                <td><a href=format!("/networks/{}", n.id)>{n.cidr}</a></td>
                                                                <td>{n.name}</td>
                                                                <td class="num">
                                                                    <a href=format!("/networks/{}?status=allocated", n.id)>{in_use}</a>
                                                                </td>
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
            {(!checks.sites_without_agent.is_empty())
                .then(|| {
                    view! {
                        <div class="error sites-without-agent" role="alert">
                            <p>"Sites without a live agent: their addresses are not checked, and none is freed, until one connects."</p>
                            <ul>
                                {checks
                                    .sites_without_agent
                                    .into_iter()
                                    .map(|(site, since)| view! { <li><a href="/sites">{site}</a> " since " <When at=since/></li> })
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

/// "1,234 of 65,534 in use (1.9 %)": the figures, and a share that never rounds a network
/// in use down to 0.0 %.
fn in_use_text(n: &crate::model::NetworkView) -> String {
    let allocatable = n.allocatable.parse::<u128>().unwrap_or(0);
    let free = n.free.parse::<u128>().unwrap_or(0);
    let used = allocatable.saturating_sub(free);
    let share = match n.used_percent {
        p if used == 0 => format!("{p:.0} %"),
        p if p < 0.1 => "< 0.1 %".to_string(),
        p => format!("{p:.1} %"),
    };
    format!(
        "{} of {} in use ({share})",
        human_count(&used.to_string()),
        human_count(&n.allocatable)
    )
}

/// A status's count, linked to the list of those addresses where there is one.
fn problem_link(status: AddressStatus, n: u64) -> AnyView {
    let shown = human_count(&n.to_string());
    match status {
        AddressStatus::UsedInNetwork | AddressStatus::BlockedByDnsbl if n > 0 => view! {
            <a href=format!("/problems?status={}", status.as_str())>{shown}</a>
        }
        .into_any(),
        _ => shown.into_any(),
    }
}
