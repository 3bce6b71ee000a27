//! What a delivery says: a digest of the events it carries (a bounded list, counts by
//! kind over all of them, and a link to the page that shows them), as signed JSON for a
//! webhook, as text for chat and e-mail. A cycle that makes 2,000 problems sends one
//! digest listing the first [`LISTED`] and counting all 2,000.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::server::alerts::events::EventKind;

/// Events listed one by one in a digest; the rest are counted.
pub const LISTED: usize = 50;

/// One event as a digest lists it.
#[derive(Clone, Debug)]
pub struct Line {
    pub id: i64,
    pub at: OffsetDateTime,
    pub kind: EventKind,
    pub network_id: Option<i64>,
    /// The network's CIDR, if it still exists.
    pub network: Option<String>,
    pub address: Option<String>,
    pub status: Option<String>,
    pub detail: String,
    pub run_id: Option<i64>,
}

/// One delivery's content.
#[derive(Clone, Debug)]
pub struct Digest {
    pub delivery_id: i64,
    pub target: String,
    /// Sent by "send a test": no events.
    pub test: bool,
    /// Events the delivery carries, listed or not.
    pub total: u64,
    /// Events by kind, over all `total`.
    pub counts: Vec<(EventKind, u64)>,
    /// The first [`LISTED`] events, oldest first.
    pub events: Vec<Line>,
    /// Where to look: the page of the events' kind on `PublicUrl`, when it is set.
    pub link: Option<String>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Few words for `n` events of `kind`.
fn counted(kind: EventKind, n: u64) -> String {
    let s = |one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    match kind {
        EventKind::Problem => s("new problem address", "new problem addresses"),
        EventKind::Cleared => s("problem cleared", "problems cleared"),
        EventKind::ZoneFailing => s("DNSBL zone failing", "DNSBL zones failing"),
        EventKind::ZoneHealthy => s("DNSBL zone healthy again", "DNSBL zones healthy again"),
        EventKind::CycleFailed => s("check cycle failed", "check cycles failed"),
        EventKind::CycleInterrupted => s("check cycle interrupted", "check cycles interrupted"),
        EventKind::CycleOverdue => "check cycles overdue".into(),
        EventKind::ProberUnusable => s("prober cannot work", "probers cannot work"),
        EventKind::ProberUsable => s("prober works again", "probers work again"),
    }
}

/// The page that shows events like these, for a digest's link.
pub fn page_for(counts: &[(EventKind, u64)]) -> &'static str {
    let has = |k: EventKind| counts.iter().any(|(c, n)| *c == k && *n > 0);
    if has(EventKind::Problem) || has(EventKind::Cleared) {
        "/problems"
    } else if has(EventKind::ZoneFailing) || has(EventKind::ZoneHealthy) {
        "/dnsbl"
    } else if counts.iter().any(|(_, n)| *n > 0) {
        "/checks"
    } else {
        "/"
    }
}

impl Line {
    fn text(&self) -> String {
        match (&self.address, &self.status) {
            (Some(address), Some(status)) => {
                let network = self
                    .network
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                let status = match self.kind {
                    EventKind::Problem => status.replace('_', " "),
                    _ => format!("cleared, now {}", status.replace('_', " ")),
                };
                format!("{address}{network}: {status}: {}", self.detail)
            }
            _ => format!("{}: {}", self.kind.as_str().replace('_', " "), self.detail),
        }
    }
}

impl Digest {
    pub fn subject(&self) -> String {
        if self.test {
            return format!("ipvet: test alert for {}", self.target);
        }
        let parts: Vec<String> = self
            .counts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| counted(*k, *n))
            .collect();
        format!("ipvet: {}", parts.join(", "))
    }

    /// The message as plain text: the subject, one line per listed event, what was left
    /// out, the link.
    pub fn text(&self) -> String {
        let mut out = self.subject();
        out.push_str("\n\n");
        if self.test {
            out.push_str(&format!(
                "This is a test of the alert target \"{}\": alerts sent to it arrive like this one.\n",
                self.target
            ));
        }
        for line in &self.events {
            out.push_str("- ");
            out.push_str(&line.text());
            out.push('\n');
        }
        let left_out = self.total.saturating_sub(self.events.len() as u64);
        if left_out > 0 {
            out.push_str(&format!("… and {left_out} more.\n"));
        }
        if let Some(link) = &self.link {
            out.push_str(&format!("\n{link}\n"));
        }
        out
    }

    /// The webhook's JSON body.
    pub fn json(&self) -> Value {
        json!({
            "delivery_id": self.delivery_id,
            "target": self.target,
            "test": self.test,
            "sent_at": rfc3339(OffsetDateTime::now_utc()),
            "summary": self.subject(),
            "total": self.total,
            "counts": self.counts.iter().map(|(k, n)| (k.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "events": self.events.iter().map(|e| json!({
                "id": e.id,
                "at": rfc3339(e.at),
                "kind": e.kind.as_str(),
                "network_id": e.network_id,
                "network": e.network,
                "address": e.address,
                "status": e.status,
                "detail": e.detail,
                "run_id": e.run_id,
            })).collect::<Vec<_>>(),
            "omitted": self.total.saturating_sub(self.events.len() as u64),
            "link": self.link,
        })
    }

    /// The chat webhook's body: Slack's and Teams' incoming webhooks both take `text`.
    pub fn chat(&self) -> Value {
        json!({ "text": self.text() })
    }
}

/// The signature of a webhook body sent at `timestamp` (Unix seconds): `v1=` and the hex
/// HMAC-SHA256, keyed with the target's secret, of `"{timestamp}.{body}"`. The timestamp
/// is signed with the body, so a receiver that refuses old timestamps refuses replays.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(id: i64) -> Line {
        Line {
            id,
            at: OffsetDateTime::UNIX_EPOCH,
            kind: EventKind::Problem,
            network_id: Some(1),
            network: Some("198.18.0.0/24".into()),
            address: Some(format!("198.18.0.{id}")),
            status: Some("used_in_network".into()),
            detail: "icmp: echo reply".into(),
            run_id: Some(7),
        }
    }

    #[test]
    fn a_digest_lists_what_it_holds_and_counts_the_rest() {
        let d = Digest {
            delivery_id: 3,
            target: "ops".into(),
            test: false,
            total: 2000,
            counts: vec![(EventKind::Problem, 1990), (EventKind::Cleared, 10)],
            events: (1..=LISTED as i64).map(problem).collect(),
            link: Some("https://ipam.example.net/problems".into()),
        };
        assert_eq!(
            d.subject(),
            "ipvet: 1990 new problem addresses, 10 problems cleared"
        );
        let text = d.text();
        assert!(text.contains("- 198.18.0.1 (198.18.0.0/24): used in network: icmp: echo reply\n"));
        assert!(text.contains("… and 1950 more.\n"));
        assert!(text.ends_with("https://ipam.example.net/problems\n"));
        let body = d.json();
        assert_eq!(body["events"].as_array().unwrap().len(), LISTED);
        assert_eq!(body["omitted"], 1950);
        assert_eq!(body["counts"]["problem"], 1990);
    }

    #[test]
    fn signatures_cover_timestamp_and_body() {
        let a = sign("k".repeat(32).as_str(), 1_700_000_000, b"{}");
        assert!(a.starts_with("v1=") && a.len() == 3 + 64);
        assert_ne!(a, sign("k".repeat(32).as_str(), 1_700_000_001, b"{}"));
        assert_ne!(a, sign("k".repeat(32).as_str(), 1_700_000_000, b"{ }"));
        assert_ne!(a, sign("j".repeat(32).as_str(), 1_700_000_000, b"{}"));
    }
}
