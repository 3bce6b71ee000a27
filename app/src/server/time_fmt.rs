//! How times are shown: UTC, to the second.

use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

pub fn show(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default()
}
