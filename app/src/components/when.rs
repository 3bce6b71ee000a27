//! A time as every page shows it, "2026-12-06 13:12:34 UTC", with how long ago it was on
//! hover ("3 min ago"), worked out when the page is drawn.

use leptos::prelude::*;

#[component]
pub fn When(#[prop(into)] at: String) -> impl IntoView {
    let (datetime, ago) = machine_form_and_age(&at);
    view! { <time datetime=datetime title=ago>{at}</time> }
}

/// [`When`] written out as text, for a list drawn as text
/// ([`crate::components::html_text`]).
pub fn when_html(at: &str) -> String {
    use crate::components::html_text::{AttrValue, Escaped};
    match machine_form_and_age(at) {
        (Some(datetime), Some(ago)) => format!(
            r#"<time datetime={} title="{}">{}</time>"#,
            AttrValue(&datetime),
            Escaped(&ago),
            Escaped(at)
        ),
        _ => format!("<time>{}</time>", Escaped(at)),
    }
}

/// A shown time's machine form (`datetime`) and how long ago it was, when it reads as a
/// time.
fn machine_form_and_age(at: &str) -> (Option<String>, Option<String>) {
    let parsed = seconds_since_epoch(at);
    (
        parsed.map(|_| at.replacen(' ', "T", 1).replace(" UTC", "Z")),
        parsed.map(|t| ago(now() - t)),
    )
}

/// Seconds since 1970 of a time written "YYYY-MM-DD HH:MM:SS UTC"; `None` for other text
/// ("never").
fn seconds_since_epoch(shown: &str) -> Option<i64> {
    let rest = shown.strip_suffix(" UTC")?;
    let (date, time) = rest.split_once(' ')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (h, min, s) = (t.next()??, t.next()??, t.next()??);
    if !(0..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
        || h > 23
        || min > 59
        || s > 60
    {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), proleptic Gregorian.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + min * 60 + s)
}

/// Now, in seconds since 1970, by the clock of whoever draws the page.
fn now() -> i64 {
    #[cfg(all(target_arch = "wasm32", feature = "hydrate"))]
    {
        (js_sys::Date::now() / 1000.0) as i64
    }
    #[cfg(not(all(target_arch = "wasm32", feature = "hydrate")))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// "just now", "3 min ago", "2 h ago", "5 days ago"; "in 4 min" for a time to come.
fn ago(seconds: i64) -> String {
    let (n, future) = (seconds.unsigned_abs(), seconds < 0);
    let amount = match n {
        0..=59 => return "just now".into(),
        60..=3599 => format!("{} min", n / 60),
        3600..=86_399 => format!("{} h", n / 3600),
        _ => match n / 86_400 {
            1 => "1 day".to_string(),
            days => format!("{days} days"),
        },
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_times_read_back_and_say_how_long_ago() {
        assert_eq!(seconds_since_epoch("1970-01-01 00:00:00 UTC"), Some(0));
        assert_eq!(
            seconds_since_epoch("2026-12-06 13:12:34 UTC"),
            Some(1_796_562_754)
        );
        assert_eq!(
            seconds_since_epoch("2024-02-29 00:00:00 UTC"),
            Some(1_709_164_800)
        );
        assert_eq!(seconds_since_epoch("never"), None);
        assert_eq!(seconds_since_epoch("2026-13-01 00:00:00 UTC"), None);
        assert_eq!(ago(5), "just now");
        assert_eq!(ago(180), "3 min ago");
        assert_eq!(ago(7300), "2 h ago");
        assert_eq!(ago(86_400 * 5 + 10), "5 days ago");
        assert_eq!(ago(-240), "in 4 min");
    }

    proptest::proptest! {
        /// Any text: no panic.
        #[test]
        fn any_text_parses_or_not(text in ".{0,40}") {
            let _ = seconds_since_epoch(&text);
        }
    }
}
