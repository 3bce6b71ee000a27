//! The alerts' outbox. Every change someone may want to be told about writes an event row
//! in the transaction that makes the change, so an event exists exactly when its change
//! was committed: a crash between the two cannot lose one or invent one. One event per
//! change: an address that stays a problem from cycle to cycle writes none.

use sea_orm::{ConnectionTrait, DbErr, EntityTrait, Set};
use time::OffsetDateTime;

use crate::model::AddressStatus;
use crate::server::entities::alert_event;

/// What an event is about. Spelled as `migrations::ALERT_EVENT_KINDS`, which the schema
/// holds the column to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// An address became *Used in network* or *Blocked by DNSBL* (or one from the other).
    Problem,
    /// An address left a problem status: freed by a cycle, force-freed, released.
    Cleared,
    ZoneFailing,
    ZoneHealthy,
    CycleFailed,
    CycleInterrupted,
    CycleOverdue,
    ProberUnusable,
    ProberUsable,
}

impl EventKind {
    pub const ALL: [EventKind; 9] = [
        EventKind::Problem,
        EventKind::Cleared,
        EventKind::ZoneFailing,
        EventKind::ZoneHealthy,
        EventKind::CycleFailed,
        EventKind::CycleInterrupted,
        EventKind::CycleOverdue,
        EventKind::ProberUnusable,
        EventKind::ProberUsable,
    ];

    /// Whether an address's change from `from` to `to` is news, and which: into a problem
    /// status (or from one problem status to the other), or out of one. Asked for every
    /// verdict of a cycle, so it allocates nothing.
    pub fn of_change(from: AddressStatus, to: AddressStatus) -> Option<EventKind> {
        let problem = |s: AddressStatus| AddressStatus::PROBLEMS.contains(&s);
        if problem(to) && to != from {
            Some(EventKind::Problem)
        } else if problem(from) && !problem(to) {
            Some(EventKind::Cleared)
        } else {
            None
        }
    }

    /// The kind spelled `s`, as [`EventKind::as_str`] spells it.
    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Problem => "problem",
            EventKind::Cleared => "cleared",
            EventKind::ZoneFailing => "zone_failing",
            EventKind::ZoneHealthy => "zone_healthy",
            EventKind::CycleFailed => "cycle_failed",
            EventKind::CycleInterrupted => "cycle_interrupted",
            EventKind::CycleOverdue => "cycle_overdue",
            EventKind::ProberUnusable => "prober_unusable",
            EventKind::ProberUsable => "prober_usable",
        }
    }
}

/// An event to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub network_id: Option<i64>,
    pub address: Option<String>,
    pub status: Option<AddressStatus>,
    pub detail: String,
    pub run_id: Option<i64>,
    /// The host of an instance's own event.
    pub source: Option<String>,
}

impl Event {
    /// The event of an address's change to `to` that [`EventKind::of_change`] found news,
    /// `detail` saying why: the evidence of a problem, how it cleared.
    pub fn of_address(
        kind: EventKind,
        network_id: i64,
        address: String,
        to: AddressStatus,
        detail: &str,
        run_id: Option<i64>,
    ) -> Event {
        Event {
            kind,
            network_id: Some(network_id),
            address: Some(address),
            status: Some(to),
            detail: detail.to_string(),
            run_id,
            source: None,
        }
    }

    /// A DNSBL zone whose self-test verdict changed.
    pub fn zone(zone: &str, healthy: bool, detail: &str) -> Event {
        Event {
            kind: if healthy {
                EventKind::ZoneHealthy
            } else {
                EventKind::ZoneFailing
            },
            network_id: None,
            address: None,
            status: None,
            detail: format!("{zone}: {detail}"),
            run_id: None,
            source: None,
        }
    }

    /// No cycle has ended for too long; `detail` says since when.
    pub fn overdue(detail: &str) -> Event {
        Event {
            kind: EventKind::CycleOverdue,
            network_id: None,
            address: None,
            status: None,
            detail: detail.to_string(),
            run_id: None,
            source: None,
        }
    }

    /// The prober of the instance on `host` stopped being able to work (`problem` says
    /// why) or works again.
    pub fn prober(host: &str, problem: Option<&str>) -> Event {
        Event {
            kind: if problem.is_some() {
                EventKind::ProberUnusable
            } else {
                EventKind::ProberUsable
            },
            network_id: None,
            address: None,
            status: None,
            detail: match problem {
                Some(why) => format!("{host}: {why}"),
                None => format!("{host}: the probes work again"),
            },
            run_id: None,
            source: Some(host.to_string()),
        }
    }

    /// A cycle that ended in an error, or was found interrupted.
    pub fn cycle(run_id: i64, interrupted: bool, error: &str) -> Event {
        Event {
            kind: if interrupted {
                EventKind::CycleInterrupted
            } else {
                EventKind::CycleFailed
            },
            network_id: None,
            address: None,
            status: None,
            detail: error.to_string(),
            run_id: Some(run_id),
            source: None,
        }
    }
}

/// Rows written per statement, under every backend's limit on bound parameters.
const EVENTS_PER_INSERT: usize = 500;

/// Writes `events` in `txn`, the transaction of the changes they are about.
pub async fn record(
    txn: &impl ConnectionTrait,
    events: impl IntoIterator<Item = Event>,
) -> Result<(), DbErr> {
    let now = OffsetDateTime::now_utc();
    let mut rows = events
        .into_iter()
        .map(|e| alert_event::ActiveModel {
            at: Set(now),
            kind: Set(e.kind.as_str().to_string()),
            network_id: Set(e.network_id),
            address: Set(e.address),
            status: Set(e.status.map(|s| s.as_str().to_string())),
            detail: Set(e.detail),
            run_id: Set(e.run_id),
            source: Set(e.source),
            ..Default::default()
        })
        .peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(EVENTS_PER_INSERT).collect();
        alert_event::Entity::insert_many(chunk).exec(txn).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use AddressStatus::*;

    #[test]
    fn kinds_are_spelled_as_the_schema_holds_them() {
        let spelled: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(spelled, migrations::ALERT_EVENT_KINDS);
        let shown: Vec<&str> = crate::model::ALERT_EVENTS.iter().map(|(k, _)| *k).collect();
        assert_eq!(shown, spelled, "the Alerts page offers every kind");
        assert!(spelled.iter().all(|k| EventKind::parse(k).is_some()));
    }

    #[test]
    fn only_entering_leaving_or_switching_a_problem_is_an_event() {
        let kind = EventKind::of_change;
        assert_eq!(kind(BeingChecked, UsedInNetwork), Some(EventKind::Problem));
        assert_eq!(kind(Free, BlockedByDnsbl), Some(EventKind::Problem));
        assert_eq!(
            kind(UsedInNetwork, BlockedByDnsbl),
            Some(EventKind::Problem)
        );
        assert_eq!(kind(UsedInNetwork, Free), Some(EventKind::Cleared));
        assert_eq!(kind(BlockedByDnsbl, BeingChecked), Some(EventKind::Cleared));
        // A problem that stays, and every change among the other statuses, is none.
        assert_eq!(kind(UsedInNetwork, UsedInNetwork), None);
        assert_eq!(kind(BeingChecked, Free), None);
        assert_eq!(kind(Free, Allocated), None);
        assert_eq!(kind(Allocated, BeingChecked), None);
    }
}
