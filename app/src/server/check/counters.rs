//! What the checks of this process found, by method, for `/metrics`: each probe method's
//! answers and each DNSBL zone's. Counted where the answers are told apart, before they
//! are folded into one finding; kept by the engine across changes of the settings.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use super::probe::Availability;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CheckLabels {
    /// `icmp`, `tcp`, `arp`, `script` or `dnsbl`.
    pub method: &'static str,
    /// `free`, `in_use` or `error` for the availability methods; `not_listed`, `listed`
    /// or `error` for DNSBL.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ZoneLabel {
    pub zone: String,
}

/// Cheap to clone: every clone counts into the same numbers.
#[derive(Clone, Debug, Default)]
pub struct CheckCounters {
    pub checks: Family<CheckLabels, Counter>,
    /// DNSBL queries that got no usable answer, by zone (zones are the administrator's
    /// short list, so the label set stays small).
    pub dns_errors: Family<ZoneLabel, Counter>,
}

impl CheckCounters {
    /// One answer of the availability method `method`.
    pub fn availability(&self, method: &'static str, answer: &Availability) {
        let outcome = match answer {
            Availability::Free => "free",
            Availability::InUse(_) => "in_use",
            Availability::Unknown(_) => "error",
        };
        self.checks
            .get_or_create(&CheckLabels { method, outcome })
            .inc();
    }

    /// One zone's answer about one address: `not_listed`, `listed` or `error`.
    pub fn dnsbl(&self, zone: &str, outcome: &'static str) {
        if outcome == "error" {
            self.dns_errors
                .get_or_create(&ZoneLabel {
                    zone: zone.to_string(),
                })
                .inc();
        }
        self.checks
            .get_or_create(&CheckLabels {
                method: "dnsbl",
                outcome,
            })
            .inc();
    }
}
