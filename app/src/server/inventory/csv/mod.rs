//! A network's addresses as CSV: the streamed export and the all-or-nothing import, which
//! reads what the export writes.

pub mod export;
pub mod import;

/// Whether a spreadsheet would take `cell` for a formula (OWASP's list: `=`, `+`, `-`,
/// `@`, tab, carriage return), or it is one already guarded by a `'`, which must be
/// guarded again to read back unchanged.
fn needs_guard(cell: &str) -> bool {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => true,
        Some('\'') => needs_guard(&cell[1..]),
        _ => false,
    }
}

/// A cell as the export writes it: one a spreadsheet would run as a formula (a viewer's
/// export opened in Excel ran `=HYPERLINK(…)`) gets a leading `'`, which shows it as text.
pub fn guard_formula(cell: &str) -> std::borrow::Cow<'_, str> {
    if needs_guard(cell) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A cell as the import reads it: the export's guard taken off again, so export then
/// import gives back what was stored.
pub fn unguard_formula(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if needs_guard(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formulas_are_guarded_and_read_back() {
        assert_eq!(guard_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(guard_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(guard_formula("-1+2"), "'-1+2");
        assert_eq!(guard_formula("'=already"), "''=already");
        assert_eq!(guard_formula("plain note"), "plain note");
        assert_eq!(guard_formula("it's fine"), "it's fine");
        assert_eq!(unguard_formula("'=x"), "=x");
        assert_eq!(unguard_formula("'quoted"), "'quoted");
    }

    proptest! {
        #[test]
        fn export_then_import_gives_back_the_cell(cell in any::<String>()) {
            let written = guard_formula(&cell);
            prop_assert!(!matches!(
                written.chars().next(),
                Some('=' | '+' | '-' | '@' | '\t' | '\r')
            ));
            prop_assert_eq!(unguard_formula(&written), cell.as_str());
        }

        #[test]
        fn formula_like_cells_round_trip(
            quotes in 0usize..4,
            lead in prop::sample::select(vec!['=', '+', '-', '@', '\t', '\r', 'a']),
            rest in ".{0,20}",
        ) {
            let cell = format!("{}{lead}{rest}", "'".repeat(quotes));
            let written = guard_formula(&cell);
            prop_assert_eq!(unguard_formula(&written), cell.as_str());
        }
    }
}
