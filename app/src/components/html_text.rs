//! Markup written out as text, for the parts of a page drawn a hundred or more times each
//! (a network page's rows, its map's cells): one string per part instead of a view per
//! element, which is most of what drawing such a page costs the server. Everything that
//! comes from data goes through [`Escaped`].

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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

/// An attribute's value written as briefly as it may be: bare when it is a plain word (an
/// address, a class, an id: most of what a list's hundred rows repeat), else quoted and
/// escaped. Bare values hold none of the characters that would end or bend one (space,
/// quotes, `=`, `<`, `>`, backtick).
pub struct AttrValue<'a>(pub &'a str);

impl fmt::Display for AttrValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bare = !self.0.is_empty()
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'-' | b'_'));
        if bare {
            f.write_str(self.0)
        } else {
            write!(f, "\"{}\"", Escaped(self.0))
        }
    }
}

/// Markup written as text by whichever side read the data it shows, and left out of the
/// data a page hydrates from: the page's HTML holds it already, and the browser keeps the
/// server's (Leptos leaves an element's server-drawn inner HTML alone when it hydrates). A
/// network page's rows sent again as data were a fifth of the page. Shared, not copied: a
/// page's parts each read the page's data, and each got a copy of tens of KB (in a profile
/// under load, as string copies and the large allocations behind them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DrawnHtml(Option<Arc<str>>);

impl DrawnHtml {
    /// What hydration remembers for markup it did not receive: unlike anything drawn (it
    /// is not markup), so the next read of the data always writes its own.
    const THE_SERVERS: &'static str = "\u{0}";

    pub fn new(html: String) -> Self {
        Self(Some(html.into()))
    }

    /// The markup, for `inner_html`.
    pub fn into_markup(self) -> Arc<str> {
        self.0.unwrap_or_else(|| Self::THE_SERVERS.into())
    }
}

impl Serialize for DrawnHtml {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for DrawnHtml {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(deserializer)?;
        Ok(Self(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_markup_travels_as_nothing_and_never_equals_markup_drawn_again() {
        let drawn = DrawnHtml::new("<tr><td>198.18.0.1</td></tr>".into());
        assert_eq!(
            &*drawn.clone().into_markup(),
            "<tr><td>198.18.0.1</td></tr>"
        );
        let sent = serde_json::to_string(&drawn).unwrap();
        assert_eq!(sent, "null");
        let hydrated: DrawnHtml = serde_json::from_str(&sent).unwrap();
        // Whatever is drawn next, even nothing at all, differs and is written.
        assert_ne!(
            hydrated.clone().into_markup(),
            DrawnHtml::new(String::new()).into_markup()
        );
        assert!(!hydrated.into_markup().contains('<'));
    }

    #[test]
    fn markup_characters_are_written_as_entities() {
        assert_eq!(
            Escaped(r#"a<b>"c"&'d' é"#).to_string(),
            "a&lt;b&gt;&quot;c&quot;&amp;&#39;d&#39; é"
        );
        assert_eq!(Escaped("plain").to_string(), "plain");
    }

    #[test]
    fn an_attribute_value_is_bare_only_when_it_is_a_plain_word() {
        assert_eq!(AttrValue("198.18.0.1").to_string(), "198.18.0.1");
        assert_eq!(AttrValue("2001:2::a").to_string(), "2001:2::a");
        assert_eq!(AttrValue("row-release").to_string(), "row-release");
        assert_eq!(AttrValue("").to_string(), r#""""#);
        assert_eq!(AttrValue("a b").to_string(), r#""a b""#);
        assert_eq!(AttrValue("x=1").to_string(), r#""x=1""#);
        assert_eq!(AttrValue(r#""><"#).to_string(), r#""&quot;&gt;&lt;""#);
    }

    proptest::proptest! {
        /// Whatever the text, as an attribute's value it is one value: bare, it holds no
        /// character that ends a bare value; quoted, nothing inside ends the quotes.
        #[test]
        fn an_attribute_value_stays_one_value(text in "\\PC{0,40}") {
            let out = AttrValue(&text).to_string();
            if out == text {
                proptest::prop_assert!(!out.is_empty());
                proptest::prop_assert!(!out.contains(|c: char| c.is_whitespace() || "\"'=<>`&".contains(c)));
            } else {
                let inner = out.strip_prefix('"').and_then(|o| o.strip_suffix('"'));
                proptest::prop_assert!(inner.is_some_and(|i| !i.contains(['<', '>', '"', '\''])), "{}", out);
            }
        }

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
