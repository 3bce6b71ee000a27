//! DNSBL checks (the DNSBL blacklists module): RFC 5782 queries through hickory-resolver
//! to the configured resolver, with nothing cached between queries. A zone is used only
//! after its self-test passes in the same cycle (RFC 5782 §5), and an answer that is an
//! error (a timeout, SERVFAIL, REFUSED, Spamhaus' 127.255.255.0/24 codes) never decides.

pub mod resolver;
pub mod udp;
pub mod zones;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, TransactionTrait,
};
use time::OffsetDateTime;

use super::counters::CheckCounters;
use crate::error::AppError;
use crate::model::ZoneHealth;
use crate::server::alerts::events::{self as alert_events, Event};
use crate::server::entities::dnsbl_zone;
use crate::server::inventory::lifecycle::Finding;
use resolver::{Answer, Client};

/// What one zone says about one address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    NotListed,
    /// Listed, with the A answer and the TXT reason if the zone gives one.
    Listed {
        answer: Ipv4Addr,
        reason: Option<String>,
    },
    /// The zone could not answer; the text says why.
    Error(String),
}

impl Verdict {
    /// The word `/metrics` counts it under.
    pub fn outcome(&self) -> &'static str {
        match self {
            Verdict::NotListed => "not_listed",
            Verdict::Listed { .. } => "listed",
            Verdict::Error(_) => "error",
        }
    }
}

/// The RFC 5782 name for `addr` in `zone`: IPv4 octets reversed, IPv6 nibbles reversed.
pub fn query_name(addr: IpAddr, zone: &str) -> String {
    let zone = zone.trim_end_matches('.');
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.{zone}.")
        }
        IpAddr::V6(v6) => {
            let mut name = String::with_capacity(64 + zone.len() + 2);
            for byte in v6.octets().iter().rev() {
                name.push(char::from_digit(u32::from(byte & 0x0f), 16).expect("nibble"));
                name.push('.');
                name.push(char::from_digit(u32::from(byte >> 4), 16).expect("nibble"));
                name.push('.');
            }
            name.push_str(zone);
            name.push('.');
            name
        }
    }
}

/// What an A answer means, per RFC 5782 and Spamhaus' return codes.
pub fn classify(answers: &[Ipv4Addr]) -> Result<Ipv4Addr, String> {
    if let Some(code) = answers.iter().find(|a| a.octets()[..3] == [127, 255, 255]) {
        return Err(format!(
            "the zone answered {code}, an error code (query refused, typo or rate limit)"
        ));
    }
    match answers.iter().find(|a| a.octets()[0] == 127) {
        Some(listed) => Ok(*listed),
        None => Err(format!(
            "the zone answered {}, outside 127.0.0.0/8",
            answers
                .first()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "nothing".into())
        )),
    }
}

/// Asks `zone` about `addr`.
pub async fn lookup(client: &Client, zone: &str, addr: IpAddr) -> Verdict {
    let name = query_name(addr, zone);
    match client.a(&name).await {
        Answer::NxDomain | Answer::NoData => Verdict::NotListed,
        Answer::Error(e) => Verdict::Error(e),
        Answer::Records(answers) => match classify(&answers) {
            Err(e) => Verdict::Error(e),
            Ok(answer) => Verdict::Listed {
                answer,
                reason: client.txt(&name).await,
            },
        },
    }
}

/// RFC 5782 §5 self-test of a zone: the test address must be listed and 127.0.0.1 must
/// not be. Returns the reason it fails.
pub async fn self_test(client: &Client, zone: &str, v6: bool) -> Result<(), String> {
    let (listed, clean): (IpAddr, IpAddr) = if v6 {
        (
            Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x7f00, 2).into(),
            Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x7f00, 1).into(),
        )
    } else {
        (
            Ipv4Addr::new(127, 0, 0, 2).into(),
            Ipv4Addr::new(127, 0, 0, 1).into(),
        )
    };
    match lookup(client, zone, listed).await {
        Verdict::Listed { .. } => {}
        Verdict::NotListed => return Err(format!("the test address {listed} is not listed")),
        Verdict::Error(e) => return Err(format!("asking for {listed}: {e}")),
    }
    match lookup(client, zone, clean).await {
        Verdict::NotListed => Ok(()),
        Verdict::Listed { answer, .. } => Err(format!(
            "{clean} is listed ({answer}), so the zone lists everything"
        )),
        Verdict::Error(e) => Err(format!("asking for {clean}: {e}")),
    }
}

/// A zone's self-test result: the IPv4 test decides its health; a zone that passes it is
/// also asked the IPv6 test, which decides whether it judges IPv6 addresses.
pub struct Health {
    pub v4: Result<(), String>,
    pub v6: bool,
}

impl Health {
    pub async fn test(client: &Client, zone: &str) -> Health {
        let v4 = self_test(client, zone, false).await;
        let v6 = v4.is_ok() && self_test(client, zone, true).await.is_ok();
        Health { v4, v6 }
    }

    /// Writes the result on the zone's row for the DNSBL page, and an alert event when
    /// the zone's health changed (a new zone that passes is no news), in one transaction.
    /// The change is judged against the health the row has when it is written, so of
    /// several instances testing the zone at once only the first to write a change tells.
    pub async fn record(
        &self,
        db: &(impl ConnectionTrait + TransactionTrait),
        row: &dnsbl_zone::Model,
    ) -> Result<(), AppError> {
        let (health, error) = match &self.v4 {
            Ok(()) => (ZoneHealth::Healthy, None),
            Err(e) => {
                tracing::warn!(zone = %row.zone, reason = %e, "DNSBL zone failed its self-test");
                (ZoneHealth::Failing, Some(e.clone()))
            }
        };
        // Holding SQLite's write lock from the start: a read followed by a write would
        // fail at once if another connection wrote in between.
        let txn = crate::server::db::begin_write(db).await?;
        // Another instance may write between the read and the update; then read again.
        for _ in 0..3 {
            let Some(was) = dnsbl_zone::Entity::find_by_id(row.id).one(&txn).await? else {
                // Deleted meanwhile: nothing to record.
                return Ok(());
            };
            let written = dnsbl_zone::Entity::update_many()
                .col_expr(dnsbl_zone::Column::Health, Expr::value(health))
                .col_expr(dnsbl_zone::Column::LastError, Expr::value(error.clone()))
                .col_expr(
                    dnsbl_zone::Column::LastTestedAt,
                    Expr::value(OffsetDateTime::now_utc()),
                )
                .col_expr(dnsbl_zone::Column::Ipv6, Expr::value(self.v6))
                .filter(dnsbl_zone::Column::Id.eq(row.id))
                .filter(dnsbl_zone::Column::Health.eq(was.health))
                .exec(&txn)
                .await?;
            if written.rows_affected == 1 {
                let news = was.health != health
                    && !(was.health == ZoneHealth::NeverTested && health == ZoneHealth::Healthy);
                if news {
                    let detail = error.as_deref().unwrap_or("passed its self-test again");
                    alert_events::record(
                        &txn,
                        [Event::zone(
                            &row.zone,
                            health == ZoneHealth::Healthy,
                            detail,
                        )],
                    )
                    .await?;
                }
                txn.commit().await?;
                return Ok(());
            }
        }
        Err(AppError::Conflict(format!(
            "The zone {} changed while its self-test was recorded; test it again.",
            row.zone
        )))
    }
}

/// Why an IPv6 address passes the DNSBL half without a query, in its history.
pub const NO_IPV6_ZONE: &str =
    "passed the availability check; the DNSBL check does not apply: no enabled zone covers IPv6 (each passes only its IPv4 self-test)";

/// The enabled zones of one cycle, each with its self-test result.
pub struct Zones {
    zones: Vec<TestedZone>,
}

struct TestedZone {
    name: String,
    healthy_v4: bool,
    healthy_v6: bool,
}

impl Zones {
    /// Self-tests every enabled zone and records each one's health.
    pub async fn load_and_test(
        db: &(impl ConnectionTrait + TransactionTrait),
        client: &Client,
    ) -> Result<Zones, AppError> {
        let rows = dnsbl_zone::Entity::find()
            .filter(dnsbl_zone::Column::Enabled.eq(true))
            .order_by_asc(dnsbl_zone::Column::Zone)
            .all(db)
            .await?;
        let tests = rows
            .iter()
            .map(|row| async move { (row, Health::test(client, &row.zone).await) });
        let results = futures::future::join_all(tests).await;
        let mut zones = Vec::with_capacity(results.len());
        for (row, health) in results {
            health.record(db, row).await?;
            zones.push(TestedZone {
                name: row.zone.clone(),
                healthy_v4: health.v4.is_ok(),
                healthy_v6: health.v6,
            });
        }
        Ok(Zones { zones })
    }

    /// Enabled zones that failed their self-test.
    pub fn unhealthy(&self) -> usize {
        self.zones.iter().filter(|z| !z.healthy_v4).count()
    }

    /// The DNSBL half of a check, for an address that nothing answers on: listed by any
    /// healthy zone is listed; otherwise an error from any zone that could judge it, or no
    /// healthy zone able to judge it while zones are enabled, is inconclusive.
    /// Each zone's answer is counted into `counters`.
    pub async fn judge(&self, client: &Client, addr: IpAddr, counters: &CheckCounters) -> Finding {
        let judges: Vec<&TestedZone> = self
            .zones
            .iter()
            .filter(|z| {
                if addr.is_ipv6() {
                    z.healthy_v6
                } else {
                    z.healthy_v4
                }
            })
            .collect();
        if judges.is_empty() {
            if self.zones.is_empty() {
                return Finding::Clear(String::new());
            }
            // Zones that pass only their IPv4 self-test are IPv4-only lists (most are):
            // they have nothing to say about IPv6, which is then not theirs to hold back.
            if addr.is_ipv6() && self.zones.iter().any(|z| z.healthy_v4) {
                return Finding::Clear(NO_IPV6_ZONE.to_string());
            }
            let family = if addr.is_ipv6() { "IPv6" } else { "IPv4" };
            return Finding::Inconclusive(format!(
                "no enabled DNSBL zone passed its {family} self-test, so none could judge it"
            ));
        }
        let verdicts = futures::future::join_all(
            judges
                .iter()
                .map(|z| async move { (z.name.as_str(), lookup(client, &z.name, addr).await) }),
        )
        .await;
        for (zone, verdict) in &verdicts {
            counters.dnsbl(zone, verdict.outcome());
        }
        let mut errors = Vec::new();
        for (zone, verdict) in verdicts {
            match verdict {
                Verdict::Listed { answer, reason } => {
                    return Finding::Listed {
                        zone: zone.to_string(),
                        evidence: match reason {
                            Some(r) => format!("listed by {zone} ({answer}): {r}"),
                            None => format!("listed by {zone} ({answer})"),
                        },
                    }
                }
                Verdict::Error(e) => errors.push(format!("{zone}: {e}")),
                Verdict::NotListed => {}
            }
        }
        if errors.is_empty() {
            Finding::Clear(String::new())
        } else {
            Finding::Inconclusive(format!("DNSBL {}", errors.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names_follow_rfc_5782() {
        assert_eq!(
            query_name("192.0.2.99".parse().unwrap(), "bl.example"),
            "99.2.0.192.bl.example."
        );
        // RFC 5782 §2.4's own example.
        assert_eq!(
            query_name(
                "2001:db8:1:2:3:4:567:89ab".parse().unwrap(),
                "ugly.example.com."
            ),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com."
        );
    }

    #[test]
    fn answers_are_classified_with_error_codes_apart() {
        assert_eq!(
            classify(&[Ipv4Addr::new(127, 0, 0, 2)]),
            Ok(Ipv4Addr::new(127, 0, 0, 2))
        );
        assert_eq!(
            classify(&[Ipv4Addr::new(127, 0, 0, 10), Ipv4Addr::new(127, 0, 0, 4)]),
            Ok(Ipv4Addr::new(127, 0, 0, 10))
        );
        for code in [1, 254, 255] {
            let err = classify(&[Ipv4Addr::new(127, 255, 255, code)]).unwrap_err();
            assert!(err.contains("error code"), "{err}");
        }
        assert!(classify(&[Ipv4Addr::new(198, 18, 0, 1)])
            .unwrap_err()
            .contains("outside 127.0.0.0/8"));
    }
}
