//! A check cycle's counts, live: while the cycle runs, the browser asks for them every
//! second and the bar and counts follow without a reload. Server-rendered, it shows them as
//! they were when the page was made.

use std::time::Duration;

use leptos::prelude::*;

use crate::api::checks::{get_check_run, CancelCheckRun, RunCheckNow};
use crate::components::outcome::outcome;
use crate::components::role::current_role;
use crate::model::{CheckRunView, Role};

const POLL_EVERY: Duration = Duration::from_secs(1);

/// The sentence that sums a cycle up.
pub fn summary(r: &CheckRunView) -> String {
    let c = &r.counts;
    let counts = format!(
        "{} freed, {} used in network, {} blocked by DNSBL, {} inconclusive{}",
        c.freed,
        c.still_used,
        c.blocked,
        c.unknown,
        if c.zones_unhealthy > 0 {
            format!(
                "; {} DNSBL zone(s) failed their self-test",
                c.zones_unhealthy
            )
        } else {
            String::new()
        }
    );
    let (id, trigger, done) = (r.id, r.trigger, c.done);
    match (&r.finished_at, &r.cancelled_by) {
        (None, _) => format!(
            "Cycle {id} ({trigger}) is running since {}: {done} of {} checked so far: {counts}.",
            r.started_at, c.total
        ),
        (Some(end), Some(who)) => format!(
            "Cycle {id} ({trigger}) was cancelled by {who} and stopped {end}. {done} checked: {counts}; the addresses it did not reach wait for the next cycle."
        ),
        (Some(end), None) => format!("Cycle {id} ({trigger}) finished {end}. {done} checked: {counts}."),
    }
}

/// "Run check now", for operators and admins; the page passes the action so that its
/// figures follow when a cycle starts, and whether a cycle runs, which disables it (the
/// server would refuse a second one).
#[component]
pub fn RunCheckNowButton(action: ServerAction<RunCheckNow>, running: bool) -> impl IntoView {
    (current_role() >= Role::Operator).then(|| {
        view! {
            <ActionForm action attr:class="run-now">
                <button
                    type="submit"
                    disabled=running
                    title=running.then_some("A check cycle is running; start another when it ends.")
                >
                    "Run check now"
                </button>
            </ActionForm>
            {outcome(action.value(), "Check cycle started.")}
        }
    })
}

/// A cycle's counts, following the server while it runs. `on_settled` hears the cycle's id
/// when this page saw it end, so the page can load its other figures again.
#[component]
pub fn RunProgress(
    run: CheckRunView,
    #[prop(optional, into)] on_settled: Option<Callback<i64>>,
) -> impl IntoView {
    let id = run.id;
    let live = RwSignal::new(run);
    let cancel = ServerAction::<CancelCheckRun>::new();
    let role = current_role();
    // Effects run only in the browser: the server renders the counts once.
    Effect::new(move |_| {
        if live.with_untracked(|r| r.finished_at.is_some()) {
            return;
        }
        let handle = StoredValue::new(None::<IntervalHandle>);
        let told = StoredValue::new(false);
        let poll = move || {
            leptos::task::spawn_local(async move {
                if let Ok(r) = get_check_run(id).await {
                    let finished = r.finished_at.is_some();
                    live.set(r);
                    if finished {
                        if let Some(h) = handle.get_value() {
                            h.clear();
                        }
                        // Two polls in flight can both see the end: tell the page once.
                        if let Some(settled) = on_settled.filter(|_| !told.get_value()) {
                            told.set_value(true);
                            settled.run(id);
                        }
                    }
                }
            })
        };
        if let Ok(h) = set_interval_with_handle(poll, POLL_EVERY) {
            handle.set_value(Some(h));
        }
        on_cleanup(move || {
            if let Some(h) = handle.get_value() {
                h.clear();
            }
        });
    });
    let running = move || live.with(|r| r.finished_at.is_none());
    view! {
        <div
            class="run-progress"
            data-run=id
            data-state=move || {
                live.with(|r| match (&r.finished_at, &r.error, &r.cancelled_by) {
                    (None, _, _) => "running",
                    (Some(_), Some(_), _) => "failed",
                    (Some(_), None, Some(_)) => "cancelled",
                    (Some(_), None, None) => "finished",
                })
            }
        >
            <p class="last-run">{move || live.with(summary)}</p>
            {move || {
                running()
                    .then(|| {
                        let (done, total) = live.with(|r| (r.counts.done, r.counts.total.max(r.counts.done)));
                        view! {
                            <progress max=total.max(1) value=done aria-label="Cycle progress">
                                {format!("{done} of {total}")}
                            </progress>
                        }
                    })
            }}
            {move || {
                live.with(|r| r.error.clone())
                    .map(|e| view! { <p class="error" role="alert">{format!("The cycle failed: {e}")}</p> })
            }}
            {move || {
                (role == Role::Admin && running())
                    .then(|| {
                        view! {
                            <ActionForm action=cancel attr:class="cancel-run">
                                <input type="hidden" name="run_id" value=id.to_string()/>
                                <button type="submit" class="danger">"Cancel"</button>
                            </ActionForm>
                        }
                    })
            }}
            {outcome(cancel.value(), "Cancel requested: the cycle stops within a second and keeps what it found.")}
        </div>
    }
}
