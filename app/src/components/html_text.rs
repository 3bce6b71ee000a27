//! Markup written out as text, for the parts of a page drawn a hundred or more times each
//! (a network page's rows, its map's cells): one string per part instead of a view per
//! element, which is most of what drawing such a page costs the server. Everything that
//! comes from data goes through [`Escaped`].

use std::fmt;

/// Text made safe inside an HTML attribute value (quoted with `"`) or element.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_written_as_entities() {
        assert_eq!(
            Escaped(r#"a<b>"c"&'d' é"#).to_string(),
            "a&lt;b&gt;&quot;c&quot;&amp;&#39;d&#39; é"
        );
        assert_eq!(Escaped("plain").to_string(), "plain");
    }

    proptest::proptest! {
        /// Whatever the text, none of it can open a tag, end an attribute or start an
        /// entity of its own.
        #[test]
        fn escaped_text_holds_no_markup(text in "\\PC{0,60}") {
            let out = Escaped(&text).to_string();
            proptest::prop_assert!(!out.contains(['<', '>', '"', '\'']));
            proptest::prop_assert_eq!(out.matches('&').count(), text.matches(['&', '<', '>', '"', '\'']).count());
        }
    }
}
