//! One set of limits on free text, checked in the domain for every entry point (pages, REST,
//! CSV import, CLI), so the same numbers hold everywhere and each refusal names its field.
//! Unbounded, a 10 MiB network description made the networks page 10.5 MB, and a reason of
//! a million characters went into the history and the audit log.

use crate::error::AppError;

/// A network's name, an address's owner.
pub const NAME: usize = 200;
/// An address's note (what a reservation is for, too).
pub const NOTE: usize = 2000;
/// Why an address changed, as the history and the audit log keep it.
pub const REASON: usize = 2000;
/// A network's description.
pub const DESCRIPTION: usize = 2000;

/// `text` as an error message quotes it: whole when short, else its start, so a message
/// stays short whatever was sent.
pub fn quoted_start(text: &str) -> String {
    const SHOWN: usize = 80;
    if text.chars().count() <= SHOWN {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(SHOWN).collect::<String>())
    }
}

/// `text` trimmed, or a refusal naming `field` when it is longer than `max` characters.
pub fn bounded(field: &str, text: &str, max: usize) -> Result<String, AppError> {
    let text = text.trim();
    if text.chars().count() > max {
        return Err(AppError::BadRequest(format!(
            "The {field} may have at most {max} characters."
        )));
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded_by_characters() {
        assert_eq!(bounded("note", "  kept  ", 4).unwrap(), "kept");
        assert_eq!(bounded("note", &"é".repeat(4), 4).unwrap(), "éééé");
        let refused = bounded("note", &"é".repeat(5), 4).unwrap_err();
        assert!(
            matches!(&refused, AppError::BadRequest(m) if m == "The note may have at most 4 characters."),
            "{refused:?}"
        );
    }
}
