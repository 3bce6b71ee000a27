//! A subnet map as it travels to the browser: what each cell holds, in as few bytes as
//! that takes (a map has 256 cells, and its data is sent with every network page). What a
//! cell shows and says (its address or block, the short part drawn in it, the words on
//! hover) follows from its place in the block, so the server and the browser both work it
//! out from the same compact data instead of the server sending it spelled out.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::AddressStatus;

/// A network, or a block of it, drawn as a grid of at most 256 cells, each an address or a
/// smaller block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubnetMap {
    /// The block drawn, in CIDR form.
    pub block: String,
    /// The block one level up, when the map is not of the whole network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up: Option<String>,
    /// What the map passed over to get here ("Only 2001:2::/72 holds addresses.").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub cells: MapCells,
}

/// The cells of a [`SubnetMap`], in address order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapCells {
    /// One cell per address of the block: its status as a letter
    /// ([`AddressStatus::letter`]), `-` for an IPv4 network's own and broadcast address,
    /// which nobody gets; and the owner of each cell that has one, by its place.
    Addresses {
        statuses: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        owners: Vec<(u16, String)>,
    },
    /// One cell per sub-block of `prefix` bits: how many of its addresses are in use (not
    /// free), and how many of those are problems.
    Blocks {
        prefix: u8,
        used: Vec<u64>,
        problems: Vec<u64>,
    },
}

/// One cell of a map, spelled out for drawing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapCell {
    /// The address or block, as written.
    pub label: String,
    /// What the cell itself shows: the part of the label that differs from its neighbours'
    /// (an IPv4 address's last octet, a /24 block's third).
    pub short: String,
    /// An address cell's status; `None` for a block, or for an address never handed out.
    pub status: Option<AddressStatus>,
    /// Addresses of the cell not free.
    pub used: u64,
    /// Addresses of the cell in a problem status.
    pub problems: u64,
    /// The cell's share of addresses not free, 0 to 100, rounded up so any use shows.
    pub fill: u8,
    /// What hovering shows: the address or block and its state in words.
    pub title: String,
}

impl SubnetMap {
    /// Whether each cell is one address (else a block, shaded by how full it is).
    pub fn of_addresses(&self) -> bool {
        matches!(self.cells, MapCells::Addresses { .. })
    }

    /// How many cells the map has.
    pub fn len(&self) -> usize {
        match &self.cells {
            MapCells::Addresses { statuses, .. } => statuses.len(),
            MapCells::Blocks { used, .. } => used.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every cell, spelled out. A map whose block does not read as a CIDR (no server sends
    /// one) has none.
    pub fn cells(&self) -> Vec<MapCell> {
        let Some(start) = block_start(&self.block) else {
            return Vec::new();
        };
        match &self.cells {
            MapCells::Addresses { statuses, owners } => {
                // Each cell's owner by its place, looked up once: a map is drawn on every
                // view of a network's page, and a scan of the owners per cell was 256 × 256.
                let mut owner_at: Vec<Option<&str>> = vec![None; statuses.chars().count()];
                for (at, owner) in owners {
                    if let Some(slot) = owner_at.get_mut(usize::from(*at)) {
                        slot.get_or_insert(owner.as_str());
                    }
                }
                statuses
                    .chars()
                    .enumerate()
                    .map(|(i, letter)| {
                        let addr = nth(start, i as u128, 0);
                        let label = addr.to_string();
                        let short = match addr {
                            IpAddr::V4(v4) => v4.octets()[3].to_string(),
                            IpAddr::V6(v6) => format!("{:x}", v6.segments()[7]),
                        };
                        let Some(status) = AddressStatus::from_letter(letter) else {
                            return MapCell {
                                title: format!("{label} · never handed out"),
                                label,
                                short,
                                status: None,
                                used: 0,
                                problems: 0,
                                fill: 0,
                            };
                        };
                        let holder = owner_at[i]
                            .map(|owner| format!(" · {owner}"))
                            .unwrap_or_default();
                        let used = u64::from(status != AddressStatus::Free);
                        MapCell {
                            title: format!("{label} · {}{holder}", status.label()),
                            label,
                            short,
                            status: Some(status),
                            used,
                            problems: u64::from(AddressStatus::PROBLEMS.contains(&status)),
                            fill: if used == 0 { 0 } else { 100 },
                        }
                    })
                    .collect()
            }
            MapCells::Blocks {
                prefix,
                used,
                problems,
            } => {
                let width = width(start);
                let host_bits = u32::from(width.saturating_sub(*prefix));
                // An IPv6 block's size in digits is unreadable (4722366482869645213696);
                // its power is not.
                let size_words = if host_bits > 16 {
                    format!("2^{host_bits}")
                } else {
                    (1u128 << host_bits).to_string()
                };
                used.iter()
                    .zip(problems)
                    .enumerate()
                    .map(|(i, (&used, &problems))| {
                        let first = nth(start, i as u128, host_bits);
                        let label = format!("{first}/{prefix}");
                        let short = match first {
                            // The octet the cell's prefix ends in: a /24's third, a /16's
                            // second.
                            IpAddr::V4(v4) => v4.octets()
                                [usize::from(prefix.saturating_sub(1) / 8).min(3)]
                            .to_string(),
                            IpAddr::V6(_) => format!("{i:x}"),
                        };
                        let fill = match used {
                            0 => 0,
                            // Rounded up, so a block with one address in use never looks
                            // empty.
                            n => (u128::from(n) * 100)
                                .div_ceil(1u128 << host_bits.min(127))
                                .clamp(1, 100) as u8,
                        };
                        let problem_words = match problems {
                            0 => String::new(),
                            1 => " · 1 problem".into(),
                            p => format!(" · {p} problems"),
                        };
                        MapCell {
                            title: format!(
                                "{label} · {used} of {size_words} in use{problem_words}"
                            ),
                            label,
                            short,
                            status: None,
                            used,
                            problems,
                            fill,
                        }
                    })
                    .collect()
            }
        }
    }
}

/// The first address of a block written as a CIDR.
fn block_start(block: &str) -> Option<IpAddr> {
    block.split_once('/')?.0.parse().ok()
}

fn width(addr: IpAddr) -> u8 {
    if addr.is_ipv4() {
        32
    } else {
        128
    }
}

/// The first address of the `i`-th cell of `host_bits` host bits from `start`; past the
/// family's last address it stays there.
fn nth(start: IpAddr, i: u128, host_bits: u32) -> IpAddr {
    let step = i.checked_shl(host_bits).unwrap_or(u128::MAX);
    match start {
        IpAddr::V4(v4) => {
            let n = u128::from(u32::from(v4)).saturating_add(step);
            IpAddr::V4(Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX)))
        }
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6).saturating_add(step))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(block: &str, cells: MapCells) -> SubnetMap {
        SubnetMap {
            block: block.into(),
            up: None,
            skipped: None,
            cells,
        }
    }

    #[test]
    fn address_cells_are_named_from_their_place() {
        let m = map(
            "198.18.0.0/30",
            MapCells::Addresses {
                statuses: "-ar-".into(),
                owners: vec![(1, "Acme".into())],
            },
        );
        let cells = m.cells();
        assert_eq!(cells.len(), 4);
        assert_eq!(cells[0].title, "198.18.0.0 · never handed out");
        assert_eq!(cells[0].status, None);
        assert_eq!(
            (cells[1].label.as_str(), cells[1].short.as_str()),
            ("198.18.0.1", "1")
        );
        assert_eq!(cells[1].title, "198.18.0.1 · Allocated · Acme");
        assert_eq!(cells[2].title, "198.18.0.2 · Reserved");
        assert_eq!((cells[2].used, cells[2].fill), (1, 100));
        let v6 = map(
            "2001:2::ff00/120",
            MapCells::Addresses {
                statuses: "fu".into(),
                owners: vec![],
            },
        )
        .cells();
        assert_eq!(
            (v6[1].label.as_str(), v6[1].short.as_str()),
            ("2001:2::ff01", "ff01")
        );
        assert_eq!(v6[1].problems, 1);
    }

    #[test]
    fn block_cells_are_named_shaded_and_counted_from_their_place() {
        let m = map(
            "198.18.16.0/20",
            MapCells::Blocks {
                prefix: 24,
                used: vec![0, 2, 256],
                problems: vec![0, 1, 3],
            },
        );
        let cells = m.cells();
        assert_eq!(cells[1].label, "198.18.17.0/24");
        assert_eq!(cells[1].short, "17");
        assert_eq!(
            cells[1].title,
            "198.18.17.0/24 · 2 of 256 in use · 1 problem"
        );
        assert_eq!((cells[0].fill, cells[1].fill, cells[2].fill), (0, 1, 100));
        assert_eq!(
            cells[2].title,
            "198.18.18.0/24 · 256 of 256 in use · 3 problems"
        );
        let v6 = map(
            "2001:2::/64",
            MapCells::Blocks {
                prefix: 72,
                used: vec![0, 0],
                problems: vec![0, 0],
            },
        )
        .cells();
        assert_eq!(v6[1].label, "2001:2:0:0:100::/72");
        assert_eq!(v6[0].title, "2001:2::/72 · 0 of 2^56 in use");
        assert_eq!(v6[1].short, "1");
    }

    proptest::proptest! {
        /// Whatever arrives (a browser's data is not trusted to be well formed), spelling
        /// the cells out never panics.
        #[test]
        fn any_map_is_spelled_out_without_panic(
            block in "[0-9a-f.:/]{0,40}",
            statuses in "[-farcub x]{0,300}",
            prefix in 0u8..=255,
            used in proptest::collection::vec(proptest::num::u64::ANY, 0..10),
        ) {
            let _ = map(&block, MapCells::Addresses { statuses, owners: vec![(3, "x".into())] }).cells();
            let problems = used.clone();
            let _ = map(&block, MapCells::Blocks { prefix, used, problems }).cells();
        }
    }
}
