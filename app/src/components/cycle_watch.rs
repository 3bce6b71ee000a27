//! Noticing a check cycle started elsewhere (the scheduler, another admin, another
//! instance) while a page that shows cycles sits idle. A running cycle is followed closely
//! by [`RunProgress`](super::run_progress::RunProgress); when none runs, one small read of
//! the newest cycle's id every few seconds is all the page asks.

use std::time::Duration;

use leptos::prelude::*;

use crate::api::checks::latest_check_run_id;

/// How often an idle page asks.
const IDLE_POLL: Duration = Duration::from_secs(5);

/// Calls `on_new` once when the newest cycle is no longer `shown` (the one the page drew),
/// so the page loads again; does nothing while `running`, when the page follows its cycle.
#[component]
pub fn CycleWatch(shown: Option<i64>, running: bool, on_new: Callback<()>) -> impl IntoView {
    // Effects run only in the browser: the server draws the page once.
    Effect::new(move |_| {
        if running {
            return;
        }
        let handle = StoredValue::new(None::<IntervalHandle>);
        let told = StoredValue::new(false);
        let poll = move || {
            leptos::task::spawn_local(async move {
                let Ok(latest) = latest_check_run_id().await else {
                    return;
                };
                if latest != shown && !told.get_value() {
                    told.set_value(true);
                    if let Some(h) = handle.get_value() {
                        h.clear();
                    }
                    on_new.run(());
                }
            })
        };
        if let Ok(h) = set_interval_with_handle(poll, IDLE_POLL) {
            handle.set_value(Some(h));
        }
        on_cleanup(move || {
            if let Some(h) = handle.get_value() {
                h.clear();
            }
        });
    });
}
