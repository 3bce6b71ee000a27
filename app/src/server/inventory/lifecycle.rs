//! The address lifecycle as a state machine: which action may move an address from which
//! status to which, and who may ask for it. A released address never becomes free at once:
//! it goes to `BeingChecked`, and only the check engine, or an admin's force-free without
//! checks, frees it.

use crate::model::{AddressStatus, Role};

use AddressStatus::*;

/// Something a person asks to be done to an address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Allocate,
    Release,
    Reserve,
    Unreserve,
    /// IPmanager's "delete with administrator privileges": free at once, without checks.
    ForceFree,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::Allocate,
        Action::Release,
        Action::Reserve,
        Action::Unreserve,
        Action::ForceFree,
    ];

    pub fn min_role(self) -> Role {
        match self {
            Action::ForceFree => Role::Admin,
            _ => Role::Operator,
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::Allocate => "allocate",
            Action::Release => "release",
            Action::Reserve => "reserve",
            Action::Unreserve => "unreserve",
            Action::ForceFree => "force-free",
        }
    }

    /// What the action did, as an alert tells it ("force-freed by admin").
    pub fn done(self) -> &'static str {
        match self {
            Action::Allocate => "allocated",
            Action::Release => "released",
            Action::Reserve => "reserved",
            Action::Unreserve => "unreserved",
            Action::ForceFree => "force-freed",
        }
    }

    /// Statuses the action applies to.
    pub fn from(self) -> &'static [AddressStatus] {
        match self {
            Action::Allocate | Action::Reserve => &[Free],
            Action::Release => &[Allocated],
            Action::Unreserve => &[Reserved],
            Action::ForceFree => &[
                Allocated,
                Reserved,
                BeingChecked,
                UsedInNetwork,
                BlockedByDnsbl,
            ],
        }
    }

    pub fn to(self) -> AddressStatus {
        match self {
            Action::Allocate => Allocated,
            Action::Release => BeingChecked,
            Action::Reserve => Reserved,
            Action::Unreserve | Action::ForceFree => Free,
        }
    }
}

/// An action that the address's status does not allow; `Display` is the user's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub action: Action,
    pub from: AddressStatus,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let allowed: Vec<&str> = self.action.from().iter().map(|s| s.label()).collect();
        write!(
            f,
            "Cannot {} an address that is {}; only one that is {}.",
            self.action.verb(),
            self.from.label(),
            allowed.join(" or ")
        )
    }
}

/// The status `action` moves an address in status `from` to, or why it cannot.
pub fn transition(action: Action, from: AddressStatus) -> Result<AddressStatus, Refused> {
    if action.from().contains(&from) {
        Ok(action.to())
    } else {
        Err(Refused { action, from })
    }
}

/// Statuses the check cycle checks: released addresses, and the problem ones, which are
/// checked again every cycle until they pass or an admin frees them.
pub const CHECKED: [AddressStatus; 3] = [BeingChecked, UsedInNetwork, BlockedByDnsbl];

/// What the checks found about one address; the text is the evidence or the error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    /// Both checks passed (or were skipped, as the note says).
    Clear(String),
    /// Something answers on the address.
    InUse(String),
    /// A healthy DNSBL zone lists it; the evidence gives its answer and reason.
    Listed { zone: String, evidence: String },
    /// A check could not tell: never frees, never blocks.
    Inconclusive(String),
}

/// The status a check's finding moves an address in status `from` to, or `None` when the
/// checks do not act on that status. Checked addresses go by the finding; a free address
/// checked right before allocation stays free when it passes and gets a problem status
/// when it fails. An inconclusive finding keeps every status.
pub fn verdict(from: AddressStatus, finding: &Finding) -> Option<AddressStatus> {
    if !(CHECKED.contains(&from) || from == Free) {
        return None;
    }
    Some(match finding {
        Finding::Clear(_) => Free,
        Finding::InUse(_) => UsedInNetwork,
        Finding::Listed { .. } => BlockedByDnsbl,
        Finding::Inconclusive(_) => from,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (action, status) pair, with the expected outcome written out in full.
    #[test]
    fn every_transition_allowed_or_refused() {
        let expected: &[(Action, AddressStatus, Option<AddressStatus>)] = &[
            (Action::Allocate, Free, Some(Allocated)),
            (Action::Allocate, Allocated, None),
            (Action::Allocate, Reserved, None),
            (Action::Allocate, BeingChecked, None),
            (Action::Allocate, UsedInNetwork, None),
            (Action::Allocate, BlockedByDnsbl, None),
            (Action::Release, Free, None),
            (Action::Release, Allocated, Some(BeingChecked)),
            (Action::Release, Reserved, None),
            (Action::Release, BeingChecked, None),
            (Action::Release, UsedInNetwork, None),
            (Action::Release, BlockedByDnsbl, None),
            (Action::Reserve, Free, Some(Reserved)),
            (Action::Reserve, Allocated, None),
            (Action::Reserve, Reserved, None),
            (Action::Reserve, BeingChecked, None),
            (Action::Reserve, UsedInNetwork, None),
            (Action::Reserve, BlockedByDnsbl, None),
            (Action::Unreserve, Free, None),
            (Action::Unreserve, Allocated, None),
            (Action::Unreserve, Reserved, Some(Free)),
            (Action::Unreserve, BeingChecked, None),
            (Action::Unreserve, UsedInNetwork, None),
            (Action::Unreserve, BlockedByDnsbl, None),
            (Action::ForceFree, Free, None),
            (Action::ForceFree, Allocated, Some(Free)),
            (Action::ForceFree, Reserved, Some(Free)),
            (Action::ForceFree, BeingChecked, Some(Free)),
            (Action::ForceFree, UsedInNetwork, Some(Free)),
            (Action::ForceFree, BlockedByDnsbl, Some(Free)),
        ];
        assert_eq!(expected.len(), Action::ALL.len() * AddressStatus::ALL.len());
        for &(action, from, to) in expected {
            assert_eq!(
                transition(action, from).ok(),
                to,
                "{action:?} from {from:?}"
            );
        }
    }

    /// Every (status, finding) pair of the check engine, written out in full.
    #[test]
    fn every_verdict_applied_or_refused() {
        let clear = Finding::Clear(String::new());
        let used = Finding::InUse("ping".into());
        let listed = Finding::Listed {
            zone: "bl.test".into(),
            evidence: "listed".into(),
        };
        let unknown = Finding::Inconclusive("timeout".into());
        let expected: &[(AddressStatus, &Finding, Option<AddressStatus>)] = &[
            (Free, &clear, Some(Free)),
            (Free, &used, Some(UsedInNetwork)),
            (Free, &listed, Some(BlockedByDnsbl)),
            (Free, &unknown, Some(Free)),
            (Allocated, &clear, None),
            (Allocated, &used, None),
            (Allocated, &listed, None),
            (Allocated, &unknown, None),
            (Reserved, &clear, None),
            (Reserved, &used, None),
            (Reserved, &listed, None),
            (Reserved, &unknown, None),
            (BeingChecked, &clear, Some(Free)),
            (BeingChecked, &used, Some(UsedInNetwork)),
            (BeingChecked, &listed, Some(BlockedByDnsbl)),
            (BeingChecked, &unknown, Some(BeingChecked)),
            (UsedInNetwork, &clear, Some(Free)),
            (UsedInNetwork, &used, Some(UsedInNetwork)),
            (UsedInNetwork, &listed, Some(BlockedByDnsbl)),
            (UsedInNetwork, &unknown, Some(UsedInNetwork)),
            (BlockedByDnsbl, &clear, Some(Free)),
            (BlockedByDnsbl, &used, Some(UsedInNetwork)),
            (BlockedByDnsbl, &listed, Some(BlockedByDnsbl)),
            (BlockedByDnsbl, &unknown, Some(BlockedByDnsbl)),
        ];
        assert_eq!(expected.len(), AddressStatus::ALL.len() * 4);
        for &(from, finding, to) in expected {
            assert_eq!(verdict(from, finding), to, "{from:?} with {finding:?}");
        }
    }

    #[test]
    fn release_never_frees() {
        for from in AddressStatus::ALL {
            assert_ne!(transition(Action::Release, from).ok(), Some(Free));
        }
    }

    #[test]
    fn only_admins_force_free() {
        assert_eq!(Action::ForceFree.min_role(), Role::Admin);
        for action in [
            Action::Allocate,
            Action::Release,
            Action::Reserve,
            Action::Unreserve,
        ] {
            assert_eq!(action.min_role(), Role::Operator);
        }
    }

    #[test]
    fn refusals_explain_themselves() {
        let err = transition(Action::Release, Reserved).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cannot release an address that is Reserved; only one that is Allocated."
        );
        let err = transition(Action::ForceFree, Free).unwrap_err();
        assert!(err.to_string().starts_with(
            "Cannot force-free an address that is Free; only one that is Allocated or Reserved"
        ));
    }
}
