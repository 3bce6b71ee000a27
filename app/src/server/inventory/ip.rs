//! Addresses and networks as ipvet stores them: every address is a `u128` in IPv6 space
//! (IPv4 as its IPv4-mapped form, `::ffff:a.b.c.d`), written as 16 big-endian bytes, so
//! numeric order is byte order on both database backends. CIDR input is parsed here, with
//! the messages an admin needs to fix a typo.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::server::limits::quoted_start;

/// The IPv4-mapped block `::ffff:0:0/96`.
const V4_MAPPED: u128 = 0xffff_0000_0000;

pub fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => V4_MAPPED | u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The address a stored number stands for; IPv4-mapped numbers come back as IPv4.
pub fn from_u128(n: u128) -> IpAddr {
    if n >> 32 == V4_MAPPED >> 32 {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}

pub fn to_bytes(ip: IpAddr) -> Vec<u8> {
    to_u128(ip).to_be_bytes().to_vec()
}

/// The address in a stored 16-byte value; `None` if the value is not 16 bytes long.
pub fn from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    let array: [u8; 16] = bytes.try_into().ok()?;
    Some(from_u128(u128::from_be_bytes(array)))
}

/// A stored 16-byte value as an address is written; empty if it is not one.
pub fn show(bytes: &[u8]) -> String {
    from_bytes(bytes).map(|a| a.to_string()).unwrap_or_default()
}

/// A network in CIDR form whose host bits are all zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Why a CIDR string was refused; `Display` is the message for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CidrError {
    NotCidr(String),
    LeadingZero { input: String, fixed: String },
    BadAddress(String),
    BadPrefix(String),
    PrefixOutOfRange { prefix: u32, family: u8, max: u8 },
    HostBitsSet { input: String, suggestion: Cidr },
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CidrError::NotCidr(s) => {
                write!(
                    f,
                    "`{s}` is not a network in CIDR form such as 198.51.100.0/24 or 2001:db8::/48."
                )
            }
            CidrError::LeadingZero { input, fixed } => {
                write!(f, "`{input}` has an octet with a leading zero, which some tools read as octal; write {fixed}.")
            }
            CidrError::BadAddress(s) => write!(f, "`{s}` is not an IPv4 or IPv6 address."),
            CidrError::BadPrefix(s) => write!(f, "`/{s}` is not a prefix length."),
            CidrError::PrefixOutOfRange {
                prefix,
                family,
                max,
            } => {
                write!(
                    f,
                    "The prefix /{prefix} is out of range for IPv{family} (0 to {max})."
                )
            }
            CidrError::HostBitsSet { input, suggestion } => {
                write!(f, "{input} has host bits set; did you mean {suggestion}?")
            }
        }
    }
}

impl Cidr {
    /// The network of the one address `ip`: a /32 or a /128.
    pub fn host(ip: IpAddr) -> Cidr {
        Cidr {
            network: ip,
            prefix: if ip.is_ipv4() { 32 } else { 128 },
        }
    }

    pub fn parse(input: &str) -> Result<Cidr, CidrError> {
        let input = input.trim();
        let (addr, prefix) = input
            .split_once('/')
            .ok_or_else(|| CidrError::NotCidr(quoted_start(input)))?;
        let ip = parse_address(addr)?;
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) || prefix.len() > 3 {
            return Err(CidrError::BadPrefix(quoted_start(prefix)));
        }
        let prefix: u32 = prefix
            .parse()
            .map_err(|_| CidrError::BadPrefix(prefix.to_string()))?;
        let (family, max) = if ip.is_ipv4() { (4, 32) } else { (6, 128) };
        if prefix > u32::from(max) {
            return Err(CidrError::PrefixOutOfRange {
                prefix,
                family,
                max,
            });
        }
        let prefix = prefix as u8;
        let network = mask(ip, prefix);
        if network != ip {
            return Err(CidrError::HostBitsSet {
                input: input.to_string(),
                suggestion: Cidr { network, prefix },
            });
        }
        Ok(Cidr { network, prefix })
    }

    /// The block of `prefix` bits (at most the family's width) that holds `ip`.
    pub fn around(ip: IpAddr, prefix: u8) -> Cidr {
        let prefix = prefix.min(if ip.is_ipv4() { 32 } else { 128 });
        Cidr {
            network: mask(ip, prefix),
            prefix,
        }
    }

    pub fn network(&self) -> IpAddr {
        self.network
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    pub fn family(&self) -> u8 {
        if self.network.is_ipv4() {
            4
        } else {
            6
        }
    }

    fn host_bits(&self) -> u32 {
        u32::from(if self.network.is_ipv4() {
            32 - self.prefix
        } else {
            128 - self.prefix
        })
    }

    /// First and last address of the network, as stored numbers.
    pub fn range(&self) -> (u128, u128) {
        let first = to_u128(self.network);
        let span = if self.host_bits() == 128 {
            u128::MAX
        } else {
            (1u128 << self.host_bits()) - 1
        };
        (first, first + span)
    }

    /// How many addresses the network holds, saturating at `u128::MAX` for ::/0.
    pub fn size(&self) -> u128 {
        1u128.checked_shl(self.host_bits()).unwrap_or(u128::MAX)
    }

    /// The addresses that may be handed out: an IPv4 network's own address and its
    /// broadcast address never are, except in /31 and /32 (RFC 3021 point-to-point links).
    pub fn allocatable(&self) -> (u128, u128) {
        let (first, last) = self.range();
        if self.network.is_ipv4() && self.prefix < 31 {
            (first + 1, last - 1)
        } else {
            (first, last)
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let (first, last) = self.range();
        let n = to_u128(ip);
        ip.is_ipv4() == self.network.is_ipv4() && first <= n && n <= last
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        let (a0, a1) = self.range();
        let (b0, b1) = other.range();
        a0 <= b1 && b0 <= a1
    }

    /// Whether the whole network lies in a private, shared or link-local range (RFC 1918,
    /// RFC 6598, RFC 4193's fc00::/7, 169.254/16, fe80::/10): public blacklists never list
    /// such addresses, and asking them about one tells them an internal address.
    pub fn is_internal(&self) -> bool {
        const INTERNAL: [&str; 7] = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "169.254.0.0/16",
            "fc00::/7",
            "fe80::/10",
        ];
        let (first, last) = self.range();
        INTERNAL.iter().any(|range| {
            let range = Cidr::parse(range).expect("the internal ranges are valid networks");
            let (r0, r1) = range.range();
            range.family() == self.family() && r0 <= first && last <= r1
        })
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & m))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & m))
        }
    }
}

/// Parses one address, naming a leading-zero octet (`198.051.100.1`) rather than calling
/// it merely invalid.
pub fn parse_address(s: &str) -> Result<IpAddr, CidrError> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(ip);
    }
    let octets: Vec<&str> = s.split('.').collect();
    let looks_v4 = octets.len() == 4
        && octets
            .iter()
            .all(|o| !o.is_empty() && o.bytes().all(|b| b.is_ascii_digit()));
    if looks_v4 && octets.iter().any(|o| o.len() > 1 && o.starts_with('0')) {
        let fixed: Vec<String> = octets
            .iter()
            .map(|o| o.trim_start_matches('0'))
            .map(|o| {
                if o.is_empty() {
                    "0".into()
                } else {
                    o.to_string()
                }
            })
            .collect();
        let fixed = fixed.join(".");
        if fixed.parse::<Ipv4Addr>().is_ok() {
            return Err(CidrError::LeadingZero {
                input: s.to_string(),
                fixed,
            });
        }
    }
    Err(CidrError::BadAddress(quoted_start(s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever is typed as a network, it parses or is refused with a short message;
        /// what parses prints as text that parses back to it.
        #[test]
        fn any_network_text_parses_or_is_refused_briefly(text in ".{0,200}") {
            match Cidr::parse(&text) {
                Ok(c) => prop_assert_eq!(Cidr::parse(&c.to_string()), Ok(c)),
                Err(e) => prop_assert!(e.to_string().chars().count() < 400, "{}", e),
            }
            match parse_address(&text) {
                Ok(a) => prop_assert_eq!(parse_address(&a.to_string()), Ok(a)),
                Err(e) => prop_assert!(e.to_string().chars().count() < 400, "{}", e),
            }
        }

        /// Every real network round-trips, in both families, and holds its own address.
        #[test]
        fn every_network_round_trips(v4 in any::<u32>(), v6 in any::<u128>(), p4 in 0u8..=32, p6 in 0u8..=128) {
            for (addr, prefix) in [
                (IpAddr::from(std::net::Ipv4Addr::from(v4)), p4),
                (IpAddr::from(std::net::Ipv6Addr::from(v6)), p6),
            ] {
                let network = mask(addr, prefix);
                let c = Cidr::parse(&format!("{network}/{prefix}")).unwrap();
                prop_assert_eq!(Cidr::parse(&c.to_string()), Ok(c));
                prop_assert!(c.contains(network));
                let (first, last) = c.allocatable();
                prop_assert!(first <= last);
                prop_assert_eq!(from_bytes(&to_bytes(addr)), Some(addr));
            }
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_round_trip_and_keep_numeric_order() {
        for s in [
            "0.0.0.0",
            "198.18.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "2001:2::1",
            "::ffff:1.2.3.4",
        ] {
            let a = ip(s);
            let back = from_bytes(&to_bytes(a)).unwrap();
            // An IPv4-mapped IPv6 address is stored as the IPv4 address it maps.
            assert_eq!(to_u128(back), to_u128(a), "{s}");
        }
        assert!(to_bytes(ip("198.18.0.9")) < to_bytes(ip("198.18.0.10")));
        assert!(to_bytes(ip("255.255.255.255")) < to_bytes(ip("2001:2::")));
        assert_eq!(from_bytes(&[0; 15]), None);
    }

    #[test]
    fn internal_ranges_are_whole_networks_inside_them() {
        let internal = |s: &str| Cidr::parse(s).unwrap().is_internal();
        for s in [
            "10.1.0.0/16",
            "172.31.255.0/24",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "169.254.1.0/24",
            "fd00:1::/48",
            "fe80::/64",
        ] {
            assert!(internal(s), "{s}");
        }
        // Public, benchmark (RFC 2544) and documentation space, and networks only partly
        // inside a private range, are not.
        for s in [
            "198.18.0.0/15",
            "203.0.113.0/24",
            "172.0.0.0/8",
            "2001:2::/48",
            "0.0.0.0/0",
        ] {
            assert!(!internal(s), "{s}");
        }
    }

    #[test]
    fn accepts_networks() {
        let c = Cidr::parse(" 198.51.100.0/24 ").unwrap();
        assert_eq!(c.to_string(), "198.51.100.0/24");
        assert_eq!(c.family(), 4);
        assert_eq!(c.size(), 256);
        let (first, last) = c.allocatable();
        assert_eq!(
            (from_u128(first), from_u128(last)),
            (ip("198.51.100.1"), ip("198.51.100.254"))
        );
        let c = Cidr::parse("2001:2::/48").unwrap();
        assert_eq!((c.family(), c.size()), (6, 1u128 << 80));
        assert_eq!(c.allocatable(), c.range(), "IPv6 has no broadcast");
        assert_eq!(Cidr::parse("2001:2::/64").unwrap().size(), 1u128 << 64);
        assert_eq!(Cidr::parse("::/0").unwrap().size(), u128::MAX);
    }

    #[test]
    fn point_to_point_and_host_routes_use_every_address() {
        let c = Cidr::parse("198.18.0.0/31").unwrap();
        assert_eq!(c.allocatable(), c.range());
        let c = Cidr::parse("198.18.0.7/32").unwrap();
        assert_eq!(
            c.allocatable(),
            (to_u128(ip("198.18.0.7")), to_u128(ip("198.18.0.7")))
        );
    }

    #[test]
    fn refuses_with_clear_messages() {
        let msg = |s: &str| Cidr::parse(s).unwrap_err().to_string();
        assert_eq!(
            msg("198.51.100.7/24"),
            "198.51.100.7/24 has host bits set; did you mean 198.51.100.0/24?"
        );
        assert_eq!(
            msg("2001:db8::1/32"),
            "2001:db8::1/32 has host bits set; did you mean 2001:db8::/32?"
        );
        assert_eq!(
            msg("198.051.100.0/24"),
            "`198.051.100.0` has an octet with a leading zero, which some tools read as octal; write 198.51.100.0."
        );
        assert_eq!(
            msg("198.51.100.0/33"),
            "The prefix /33 is out of range for IPv4 (0 to 32)."
        );
        assert_eq!(
            msg("2001:db8::/129"),
            "The prefix /129 is out of range for IPv6 (0 to 128)."
        );
        assert_eq!(msg("198.51.100.0"), "`198.51.100.0` is not a network in CIDR form such as 198.51.100.0/24 or 2001:db8::/48.");
        assert_eq!(
            msg("300.1.1.0/24"),
            "`300.1.1.0` is not an IPv4 or IPv6 address."
        );
        assert_eq!(msg("198.51.100.0/x"), "`/x` is not a prefix length.");
        assert_eq!(msg("198.51.100.0/-1"), "`/-1` is not a prefix length.");
    }

    #[test]
    fn overlap_and_containment() {
        let a = Cidr::parse("198.18.0.0/16").unwrap();
        let b = Cidr::parse("198.18.4.0/24").unwrap();
        let c = Cidr::parse("198.19.0.0/16").unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
        assert!(a.contains(ip("198.18.255.255")));
        assert!(!a.contains(ip("198.19.0.0")));
    }
}
