//! The dashboard's chart of Problem IPs over the last 30 days: an SVG built with the page,
//! so it is there without JavaScript; each bar names its figures for screen readers and on
//! hover.

use leptos::prelude::*;

use crate::model::ProblemDayView;

// Wide and low, as the card it fills on a desk; a phone draws the same picture smaller,
// with larger type (style/main.css).
const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 220.0;
const AXIS: f64 = 60.0;
const FOOT: f64 = 34.0;
/// Room above the highest bar for its axis label.
const TOP: f64 = 20.0;

#[component]
pub fn ProblemChart(days: Vec<ProblemDayView>) -> impl IntoView {
    let peak = axis_top(
        days.iter()
            .filter_map(|d| d.counts.map(|(u, b)| u + b))
            .max()
            .unwrap_or(0),
    );
    let plot = HEIGHT - FOOT;
    let step = (WIDTH - AXIS) / days.len().max(1) as f64;
    let bar = (step * 0.7).max(1.0);
    let first = days.first().map(|d| d.day.clone()).unwrap_or_default();
    let last = days.last().map(|d| d.day.clone()).unwrap_or_default();
    let described = days
        .iter()
        .filter_map(|d| {
            d.counts
                .map(|(u, b)| format!("{}: {u} used, {b} blocked", d.day))
        })
        .collect::<Vec<_>>();
    let label = if described.is_empty() {
        "Problem IPs over the last 30 days: no check cycle has recorded figures yet.".to_string()
    } else {
        format!(
            "Problem IPs over the last 30 days. {}.",
            described.join("; ")
        )
    };
    let bars = days
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let x = AXIS + i as f64 * step + (step - bar) / 2.0;
            match d.counts {
                // A day without a cycle is a hatched column, never a bar of zero: nothing is
                // known about it.
                None => view! {
                    <g class="no-data" data-day=d.day.clone()>
                        <title>{format!("{}: no check cycle", d.day)}</title>
                        <rect x=x y=TOP width=bar height={plot - TOP}/>
                    </g>
                }
                .into_any(),
                Some((0, 0)) => view! {
                    <g class="day zero" data-day=d.day.clone() data-used=0 data-blocked=0>
                        <title>{format!("{}: no problem addresses", d.day)}</title>
                        <rect class="zero" x=x y={plot - 2.0} width=bar height=2.0/>
                    </g>
                }
                .into_any(),
                Some((used, blocked)) => {
                    let h = |n: u64| n as f64 / peak as f64 * (plot - TOP);
                    let (hu, hb) = (h(used), h(blocked));
                    view! {
                        <g class="day" data-day=d.day.clone() data-used=used data-blocked=blocked>
                            <title>{format!("{}: {used} used in network, {blocked} blocked by DNSBL", d.day)}</title>
                            <rect class="used" x=x y={plot - hu} width=bar height=hu/>
                            <rect class="blocked" x=x y={plot - hu - hb} width=bar height=hb/>
                        </g>
                    }
                    .into_any()
                }
            }
        })
        .collect_view();
    let aria = label.clone();
    view! {
        <figure class="problem-chart">
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-label=aria
                xmlns="http://www.w3.org/2000/svg"
            >
                <desc>{label}</desc>
                {[peak / 2, peak]
                    .into_iter()
                    .filter(|v| *v > 0 && (*v == peak || peak.is_multiple_of(2)))
                    .map(|v| {
                        let y = plot - v as f64 / peak as f64 * (plot - TOP);
                        view! {
                            <line class="grid" x1=AXIS y1=y x2=WIDTH y2=y/>
                            <text class="tick" x={AXIS - 6.0} y=y text-anchor="end" dominant-baseline="middle">{v}</text>
                        }
                    })
                    .collect_view()}
                <line class="axis" x1=AXIS y1=plot x2=WIDTH y2=plot/>
                <text class="tick" x={AXIS - 6.0} y=plot text-anchor="end" dominant-baseline="middle">"0"</text>
                {bars}
                <text class="tick" x=AXIS y={HEIGHT - 4.0}>{first}</text>
                <text class="tick" x=WIDTH y={HEIGHT - 4.0} text-anchor="end">{last}</text>
            </svg>
            <figcaption>
                <span class="key used">"Used in network"</span>
                " "
                <span class="key blocked">"Blocked by DNSBL"</span>
                " "
                <span class="key no-cycle">"No check cycle that day"</span>
                <span class="muted">" — as each day's last check cycle left them."</span>
            </figcaption>
        </figure>
    }
}

/// The top of the y-axis: the least of 1, 2 or 5 times a power of ten that is at least
/// `max` (and at least 5, so a quiet month does not read as "up to 1").
fn axis_top(max: u64) -> u64 {
    let mut scale = 1u64;
    loop {
        for step in [1u64, 2, 5] {
            let Some(top) = step.checked_mul(scale) else {
                return max;
            };
            if top >= max.max(5) {
                return top;
            }
        }
        match scale.checked_mul(10) {
            Some(next) => scale = next,
            None => return max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::axis_top;

    #[test]
    fn the_axis_ends_at_a_round_number_above_the_peak() {
        assert_eq!(axis_top(0), 5);
        assert_eq!(axis_top(1), 5);
        assert_eq!(axis_top(6), 10);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(20), 20);
        assert_eq!(axis_top(21), 50);
        assert_eq!(axis_top(4_321), 5_000);
        assert_eq!(axis_top(u64::MAX), u64::MAX);
    }
}
