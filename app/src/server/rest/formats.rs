//! What the OpenAPI document says a valid input is: the format, pattern and length of each
//! id, address, network, zone, host name and text the API reads, each made from the
//! constant or grammar the domain checks it with. A client generated from the document then
//! sends nothing the server refuses as malformed, and Schemathesis
//! (`server/tests/schemathesis.sh`) holds the two to each other.

use std::sync::LazyLock;

use utoipa::openapi::schema::{
    AnyOfBuilder, ArrayBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;

use crate::model::ProbeMethod;
use crate::server::check::dnsbl::zones::ZONE_MAX;
use crate::server::inventory::addresses::MAX_SEARCH;
use crate::server::inventory::idempotency::KEY_MAX;
use crate::server::limits;
use crate::server::rest::input::MIN_ID;

/// The non-standard format that names a network in CIDR form; `pattern` spells it out,
/// but no pattern can say that the host bits are zero.
pub const CIDR_FORMAT: &str = "cidr";

/// RFC 3986's `IPv6address` grammar, which `std::net::Ipv6Addr` parses, as a regular
/// expression (no anchors). Built from the grammar's nine forms rather than written out,
/// so it can be read against the RFC.
fn ipv6_regex() -> String {
    let h16 = "[0-9A-Fa-f]{1,4}";
    let ls32 = format!("(?:{h16}:{h16}|{IPV4})");
    let groups = |n: usize| format!("(?:{h16}:){{{n}}}");
    // `[ *k( h16 ":" ) h16 ]`: up to k+1 groups before the `::`.
    let before = |k: usize| format!("(?:(?:{h16}:){{0,{k}}}{h16})?");
    let forms = [
        format!("{}{ls32}", groups(6)),
        format!("::{}{ls32}", groups(5)),
        format!("(?:{h16})?::{}{ls32}", groups(4)),
        format!("{}::{}{ls32}", before(1), groups(3)),
        format!("{}::{}{ls32}", before(2), groups(2)),
        format!("{}::{h16}:{ls32}", before(3)),
        format!("{}::{ls32}", before(4)),
        format!("{}::{h16}", before(5)),
        format!("{}::", before(6)),
    ];
    format!("(?:{})", forms.join("|"))
}

/// A dotted-quad IPv4 address without leading zeros, which the parser refuses as
/// ambiguous (octal to some tools).
const IPV4: &str = r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";

/// A network's shape: an IPv4 address and a prefix of 0 to 32, or an IPv6 address and one
/// of 1 to 128 (`::/0` is refused: more addresses than a counter holds, and every other
/// IPv6 `/0` has host bits set).
pub static CIDR_PATTERN: LazyLock<String> = LazyLock::new(|| {
    let v4_prefix = "(?:3[0-2]|[12]?[0-9])";
    let v6_prefix = "(?:12[0-8]|1[01][0-9]|[1-9][0-9]|[1-9])";
    format!("^(?:{IPV4}/{v4_prefix}|{}/{v6_prefix})$", ipv6_regex())
});

/// A DNS label as zones and host names may have it: letters, digits, `_` and `-`.
const LABEL_CHARS: &str = "[A-Za-z0-9_-]";

/// A DNSBL zone as `zones::validate` takes it: two labels or more of 1 to 63 characters
/// that neither start nor end with a hyphen, the last not all digits, and one trailing dot
/// at most.
pub static ZONE_PATTERN: LazyLock<String> = LazyLock::new(|| {
    let label = "[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?";
    format!(r"^(?:{label}\.)+(?![0-9]+\.?$){label}\.?$")
});

/// A host name as an address's holder may have it: labels of 1 to 63 letters, digits, `_`
/// and `-`, one trailing dot at most; or nothing.
pub static HOSTNAME_PATTERN: LazyLock<String> =
    LazyLock::new(|| format!(r"^(?:(?:{LABEL_CHARS}{{1,63}}\.)*{LABEL_CHARS}{{1,63}}\.?)?$"));

/// Longest host name: DNS's 253 characters.
pub const HOSTNAME_MAX: usize = 253;

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn nullable(schema: impl Into<RefOr<Schema>>) -> Schema {
    AnyOfBuilder::new()
        .item(schema)
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

/// An id: a positive 64-bit integer.
pub fn id() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(MIN_ID))
}

/// An IPv4 or IPv6 address.
pub fn address() -> Schema {
    AnyOfBuilder::new()
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Ipv4))))
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Ipv6))))
        .into()
}

/// The address to allocate: absent, null or empty for the lowest free one.
pub fn requested_address() -> Schema {
    AnyOfBuilder::new()
        .item(address())
        .item(string().max_length(Some(0)))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .into()
}

pub fn cidr() -> ObjectBuilder {
    string()
        .format(Some(SchemaFormat::Custom(CIDR_FORMAT.into())))
        .pattern(Some(CIDR_PATTERN.as_str()))
        .description(Some(
            "A network in CIDR form whose host bits are zero, such as 198.51.100.0/24 or 2001:db8::/48.",
        ))
}

pub fn zone() -> ObjectBuilder {
    string()
        .pattern(Some(ZONE_PATTERN.as_str()))
        .max_length(Some(ZONE_MAX))
}

/// Free text of at most `max` characters (surrounding spaces are trimmed first).
fn text(max: usize) -> ObjectBuilder {
    string().max_length(Some(max))
}

/// Characters a one-line text may hold: none of C0, DEL or C1 (`char::is_control`).
const LINE_CHAR: &str = r"[^\x00-\x1f\x7f-\x9f]";

/// An alert target's name: 1 to `alerts::targets::NAME_MAX` characters, not blank.
pub fn alert_target_name() -> ObjectBuilder {
    use crate::server::alerts::targets::NAME_MAX;
    string()
        .min_length(Some(1))
        .max_length(Some(NAME_MAX))
        .pattern(Some(format!(
            r"^{LINE_CHAR}*[^\s\x00-\x1f\x7f-\x9f]{LINE_CHAR}*$"
        )))
}

/// A DNS host name whose last label starts with a letter (so no URL parser reads it as a
/// number), or a dotted-quad IPv4 address.
fn host_pattern() -> String {
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    let last = "[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    format!("(?:(?:{label}\\.)*{last}|{IPV4})")
}

/// A webhook URL: http or https, a host, an optional port, path and query of plain
/// characters; no user or password.
pub fn webhook_url() -> ObjectBuilder {
    use crate::server::alerts::targets::URL_MAX;
    string().max_length(Some(URL_MAX)).pattern(Some(format!(
        r"^https?://{}(?::[1-9][0-9]{{0,3}})?(?:/[A-Za-z0-9._~/-]*)?(?:\?[A-Za-z0-9._~=&-]*)?$",
        host_pattern()
    )))
}

/// A webhook's signing secret as typed: visible ASCII, no spaces.
pub fn signing_secret() -> Schema {
    use crate::server::alerts::targets::{SECRET_MAX, SECRET_MIN};
    nullable(
        string()
            .min_length(Some(SECRET_MIN))
            .max_length(Some(SECRET_MAX))
            .pattern(Some("^[!-~]+$")),
    )
}

/// An SMTP server's host name or IPv4 address.
pub fn smtp_host() -> ObjectBuilder {
    string()
        .max_length(Some(253))
        .pattern(Some(format!("^{}$", host_pattern())))
}

/// An e-mail address of plain characters.
pub fn email_address() -> ObjectBuilder {
    let label = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    string().max_length(Some(200)).pattern(Some(format!(
        "^[A-Za-z0-9_%+-]{{1,32}}(?:\\.[A-Za-z0-9_%+-]{{1,32}}){{0,3}}@(?:{label}\\.){{1,4}}[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?$"
    )))
}

/// An e-mail target's recipients.
pub fn recipients() -> ArrayBuilder {
    use crate::server::alerts::targets::RECIPIENTS_MAX;
    ArrayBuilder::new()
        .items(email_address())
        .min_items(Some(1))
        .max_items(Some(RECIPIENTS_MAX))
}

/// A target's event filter: event kinds; absent or empty, every kind.
pub fn event_kinds() -> Schema {
    use crate::server::alerts::events::EventKind;
    nullable(
        ArrayBuilder::new()
            .items(string().enum_values(Some(EventKind::ALL.map(|k| k.as_str()))))
            .max_items(Some(EventKind::ALL.len())),
    )
}

/// A target's network filter: network ids; absent or empty, every network.
pub fn network_ids() -> Schema {
    use crate::server::alerts::targets::NETWORKS_MAX;
    nullable(
        ArrayBuilder::new()
            .items(id())
            .max_items(Some(NETWORKS_MAX)),
    )
}

/// A network's name: 1 to `limits::NAME` characters.
pub fn network_name() -> ObjectBuilder {
    text(limits::NAME).min_length(Some(1))
}

pub fn description() -> Schema {
    nullable(text(limits::DESCRIPTION))
}

pub fn owner() -> Schema {
    nullable(text(limits::NAME))
}

pub fn note() -> Schema {
    nullable(text(limits::NOTE))
}

pub fn hostname() -> Schema {
    nullable(
        string()
            .pattern(Some(HOSTNAME_PATTERN.as_str()))
            .max_length(Some(HOSTNAME_MAX)),
    )
}

/// Why an address is freed without checks: required, so not blank.
pub fn reason() -> ObjectBuilder {
    text(limits::REASON)
        .min_length(Some(1))
        .pattern(Some(r"\S"))
}

pub fn search() -> ObjectBuilder {
    text(MAX_SEARCH)
}

pub fn idempotency_key() -> ObjectBuilder {
    string()
        .pattern(Some("^[!-~]+$"))
        .min_length(Some(1))
        .max_length(Some(KEY_MAX))
}

/// The built-in probe methods, by name; null for the configured ones.
pub fn probes() -> Schema {
    let method = string().enum_values(Some(ProbeMethod::ALL.iter().map(|m| m.as_str())));
    nullable(ArrayBuilder::new().items(method).min_items(Some(1)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::check::dnsbl::zones;
    use crate::server::inventory::ip::{parse_address, Cidr};
    use proptest::prelude::*;
    use regex::Regex;

    fn full(pattern: &str) -> Regex {
        Regex::new(&format!("^(?:{pattern})$")).unwrap()
    }

    /// What the document's patterns accept, the parsers accept, and the other way round.
    fn agree(text: &str) -> Result<(), TestCaseError> {
        let v6 = full(&ipv6_regex());
        let v4 = full(IPV4);
        let parsed = parse_address(text).ok();
        prop_assert_eq!(
            v4.is_match(text) || v6.is_match(text),
            parsed.is_some() && text == text.trim(),
            "address {:?}",
            text
        );
        let cidr = Regex::new(&CIDR_PATTERN).unwrap();
        let as_cidr = Cidr::parse(text).ok().filter(|c| c.size() != u128::MAX);
        if as_cidr.is_some() && text == text.trim() {
            prop_assert!(cidr.is_match(text), "network {:?}", text);
        }
        if !cidr.is_match(text) {
            prop_assert!(
                as_cidr.is_none() || text != text.trim(),
                "network {:?}",
                text
            );
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn the_address_and_network_patterns_match_the_parsers(
            v4 in any::<u32>(),
            v6 in any::<u128>(),
            prefix in 0u8..=128,
            junk in "[0-9a-fA-F:./]{0,45}",
        ) {
            let v4 = std::net::Ipv4Addr::from(v4);
            let v6 = std::net::Ipv6Addr::from(v6);
            for text in [
                v4.to_string(),
                v6.to_string(),
                v4.to_ipv6_mapped().to_string(),
                format!("{v4}/{}", prefix.min(32)),
                format!("{v6}/{prefix}"),
                junk,
            ] {
                agree(&text)?;
            }
        }

        #[test]
        fn the_zone_pattern_matches_the_zone_parser(text in "[a-z0-9_.-]{0,12}") {
            let pattern = Regex::new(&ZONE_PATTERN.replace(r"(?![0-9]+\.?$)", "")).unwrap();
            // The regex crate has no look-ahead: the all-digit last label is checked apart.
            let last = text.trim_end_matches('.').rsplit('.').next().unwrap_or_default();
            let digits = !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit());
            let matched = pattern.is_match(&text) && !digits && text.len() <= ZONE_MAX;
            prop_assert_eq!(matched, zones::validate(&text).is_ok(), "{:?}", text);
        }
    }

    #[test]
    fn every_ipv6_form_of_the_grammar_matches() {
        for text in [
            "::",
            "::1",
            "1::",
            "1:2:3:4:5:6:7:8",
            "1:2:3:4:5:6:198.51.100.1",
            "::ffff:198.51.100.1",
            "1::8",
            "1:2::7:8",
            "2001:db8::/48",
        ] {
            agree(text).unwrap();
        }
        assert!(Regex::new(&CIDR_PATTERN).unwrap().is_match("2001:db8::/48"));
        assert!(!Regex::new(&CIDR_PATTERN).unwrap().is_match("::/0"));
    }
}
