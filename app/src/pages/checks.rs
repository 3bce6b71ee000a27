//! Check runs: every cycle with its counts, the running one live; one cycle with its
//! verdicts, each linking to its address.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::checks::{check_run_detail, list_check_runs, RunCheckNow};
use crate::components::cycle_watch::CycleWatch;
use crate::components::query::id_param;
use crate::components::run_progress::{RunCheckNowButton, RunProgress};
use crate::components::status_badge::StatusBadge;
use crate::components::when::When;
use crate::model::CheckRunView;

/// "1 h 2 min", "3 min 4 s", "5 s".
fn duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

#[component]
pub fn CheckRunsPage() -> impl IntoView {
    let query = use_query_map();
    let run_now = ServerAction::<RunCheckNow>::new();
    // The cycle this page watched end: the list loads again to show how it ended, and its
    // card stays, now settled, instead of vanishing with the running state.
    let followed = RwSignal::new(None::<i64>);
    // Bumped when the page notices a cycle that started elsewhere.
    let noticed = RwSignal::new(0u32);
    let list = Resource::new(
        move || {
            (
                query.get().get("before"),
                run_now.version().get(),
                followed.get(),
                noticed.get(),
            )
        },
        |(before, _, _, _)| list_check_runs(before.and_then(|b| b.parse().ok())),
    );
    let on_new = Callback::new(move |()| noticed.update(|n| *n += 1));
    let settled = Callback::new(move |id| followed.set(Some(id)));
    let row = |r: CheckRunView| {
        let state = match (&r.finished_at, &r.error, &r.cancelled_by) {
            (None, _, _) => "running".to_string(),
            (Some(_), Some(e), _) => format!("failed: {e}"),
            (Some(_), None, Some(who)) => format!("cancelled by {who}"),
            (Some(_), None, None) => "finished".to_string(),
        };
        view! {
            <tr data-run=r.id>
                <td><a href=format!("/checks/{}", r.id)>{r.id}</a></td>
                <td class="when"><When at=r.started_at.clone()/></td>
                <td>{duration(r.seconds)}</td>
                <td>{r.trigger.as_str()}</td>
                <td class="num">{r.counts.done}</td>
                <td class="num">{r.counts.freed}</td>
                <td class="num">{r.counts.still_used}</td>
                <td class="num">{r.counts.blocked}</td>
                <td class="num">{r.counts.unknown}</td>
                <td class="num">{r.counts.zones_unhealthy}</td>
                <td class="state">{state}</td>
            </tr>
        }
    };
    view! {
        <Title text="Check runs · ipvet"/>
        <h1>"Check runs"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(l) => {
                        let running = l.runs.iter().find(|r| r.finished_at.is_none()).cloned();
                        // Only the first page shows the newest cycle, so only it watches.
                        let watch = query.get_untracked().get("before").is_none().then(|| {
                            let newest = l.runs.first().map(|r| r.id);
                            view! { <CycleWatch shown=newest running=running.is_some() on_new/> }
                        });
                        let shown = running.clone().or_else(|| {
                            let id = followed.get_untracked()?;
                            l.runs.iter().find(|r| r.id == id).cloned()
                        });
                        view! {
                            {watch}
                            <RunCheckNowButton action=run_now running=running.is_some()/>
                            {l.next_run_at.map(|at| view! { <p class="next-run">{format!("Next scheduled cycle: {at}.")}</p> })}
                            {shown.map(|run| view! { <section class="card running"><RunProgress run on_settled=settled/></section> })}
                            {l.runs.is_empty().then(|| view! { <p class="empty">"No check cycle has run yet."</p> })}
                            <table class="runs">
                                <thead>
                                    <tr>
                                        <th>"Cycle"</th>
                                        <th>"Started"</th>
                                        <th>"Duration"</th>
                                        <th>"Trigger"</th>
                                        <th class="num">"Checked"</th>
                                        <th class="num">"Freed"</th>
                                        <th class="num">"Still used"</th>
                                        <th class="num">"Blocked"</th>
                                        <th class="num">"Unknown"</th>
                                        <th class="num">"Zones unhealthy"</th>
                                        <th>"State"</th>
                                    </tr>
                                </thead>
                                <tbody>{l.runs.into_iter().map(row).collect_view()}</tbody>
                            </table>
                            {l.older_than.map(|b| view! { <nav class="pager"><a href=format!("?before={b}")>"Older"</a></nav> })}
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
pub fn CheckRunPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || id_param(&params.read());
    // Seen to end here: the verdicts and instances load again.
    let settled = RwSignal::new(0u32);
    let detail = Resource::new(
        move || (id(), query.get().get("after"), settled.get()),
        |(id, after, _)| check_run_detail(id, after),
    );
    let on_settled = Callback::new(move |_| settled.update(|n| *n += 1));
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let run_id = d.run.id;
                        view! {
                            <Title text=format!("Cycle {run_id} · ipvet")/>
                            <h1>{format!("Check cycle {run_id}")}</h1>
                            <p class="muted">{match &d.run.finished_at {
                                Some(end) => format!("Started {} ({}), ended {end} after {}.", d.run.started_at, d.run.trigger, duration(d.run.seconds)),
                                None => format!("Started {} ({}), {} so far.", d.run.started_at, d.run.trigger, duration(d.run.seconds)),
                            }}</p>
                            <section class="card"><RunProgress run=d.run.clone() on_settled/></section>
                            {(!d.workers.is_empty()).then(|| view! {
                                <h2>"Instances and agents"</h2>
                                <table class="workers">
                                    <thead>
                                        <tr><th>"Instance or agent"</th><th>"Joined"</th><th>"Left"</th><th class="num">"Verdicts"</th></tr>
                                    </thead>
                                    <tbody>
                                        {d
                                            .workers
                                            .iter()
                                            .map(|w| {
                                                view! {
                                                    <tr data-runner=w.runner.clone()>
                                                        <td class="ip">{w.runner.clone()}</td>
                                                        <td>{w.joined_at.clone()}</td>
                                                        <td>{w.left_at.clone().unwrap_or_else(|| "working".into())}</td>
                                                        <td class="num">{w.done}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            })}
                            <h2>"Verdicts"</h2>
                            {d.verdicts.is_empty().then(|| view! { <p class="empty">"No verdicts on this page."</p> })}
                            <table class="verdicts">
                                <thead>
                                    <tr><th>"Address"</th><th>"From"</th><th>"To"</th><th>"Reason"</th><th>"Evidence"</th></tr>
                                </thead>
                                <tbody>
                                    {d
                                        .verdicts
                                        .into_iter()
                                        .map(|v| {
                                            view! {
                                                <tr data-address=v.address.clone()>
                                                    <td class="ip"><a href=format!("/address?ip={}", v.address)>{v.address.clone()}</a></td>
                                                    <td><StatusBadge status=v.from/></td>
                                                    <td><StatusBadge status=v.to/></td>
                                                    <td>{v.reason}</td>
                                                    <td class="evidence">{v.evidence.unwrap_or_default()}</td>
                                                </tr>
                                            }
                                        })
                                        .collect_view()}
                                </tbody>
                            </table>
                            <nav class="pager">
                                <a href="?">"First"</a>
                                {d.more_after.map(|a| view! { <a href=format!("?after={a}")>"Next"</a> })}
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
