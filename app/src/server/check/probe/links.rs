//! Which addresses are on a network this host is directly connected to, and through which
//! interface: read from the kernel's main routing tables when the prober starts. ARP and
//! neighbour discovery only work on-link, and there they see hosts that drop every IP
//! packet.
//!
//! The tables are read from `/proc/thread-self/net`, so a prober made in another network
//! namespace (as the tests make theirs) sees that namespace's routes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A directly connected route: addresses in `prefix`/`len` are reached over `interface`
/// without a gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub prefix: IpAddr,
    pub len: u8,
    /// `None` when the route goes through a gateway.
    pub interface: Option<String>,
}

/// The routing tables as they were read.
#[derive(Clone, Debug, Default)]
pub struct Routes {
    routes: Vec<Route>,
}

const RTF_UP: u32 = 0x1;
const RTF_GATEWAY: u32 = 0x2;

fn contains(prefix: IpAddr, len: u8, addr: IpAddr) -> bool {
    match (prefix, addr) {
        (IpAddr::V4(p), IpAddr::V4(a)) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(len.min(32)))
                .unwrap_or(0);
            u32::from(p) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(p), IpAddr::V6(a)) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(len.min(128)))
                .unwrap_or(0);
            u128::from(p) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

impl Routes {
    /// The current thread's network namespace's tables; empty where they cannot be read.
    pub fn read() -> Routes {
        let v4 = std::fs::read_to_string("/proc/thread-self/net/route").unwrap_or_default();
        let v6 = std::fs::read_to_string("/proc/thread-self/net/ipv6_route").unwrap_or_default();
        let mut routes = parse_v4(&v4);
        routes.extend(parse_v6(&v6));
        Routes { routes }
    }

    pub fn from_routes(routes: Vec<Route>) -> Routes {
        Routes { routes }
    }

    /// The interface `addr` is on, if the most specific route to it has no gateway.
    pub fn on_link(&self, addr: IpAddr) -> Option<&str> {
        self.routes
            .iter()
            .filter(|r| contains(r.prefix, r.len, addr))
            .max_by_key(|r| r.len)
            .and_then(|r| r.interface.as_deref())
    }

    /// The interfaces some on-link route of the family goes over.
    pub fn interfaces(&self, v4: bool) -> Vec<String> {
        let mut names: Vec<String> = self
            .routes
            .iter()
            .filter(|r| r.prefix.is_ipv4() == v4)
            .filter_map(|r| r.interface.clone())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// `/proc/net/route`: hexadecimal fields in the kernel's byte order.
fn parse_v4(text: &str) -> Vec<Route> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (iface, dest, flags, mask) = (f.first()?, f.get(1)?, f.get(3)?, f.get(7)?);
            let hex = |s: &str| u32::from_str_radix(s, 16).ok();
            let flags = hex(flags)?;
            if flags & RTF_UP == 0 || *iface == "lo" {
                return None;
            }
            let prefix = Ipv4Addr::from(hex(dest)?.to_ne_bytes());
            let len = hex(mask)?
                .to_ne_bytes()
                .iter()
                .map(|b| b.count_ones())
                .sum::<u32>();
            Some(Route {
                prefix: prefix.into(),
                len: len as u8,
                interface: (flags & RTF_GATEWAY == 0).then(|| iface.to_string()),
            })
        })
        .collect()
}

/// `/proc/net/ipv6_route`: destination, its length, source, its length, next hop,
/// metric, references, use, flags, interface.
fn parse_v6(text: &str) -> Vec<Route> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 {
                return None;
            }
            let dest = Ipv6Addr::from(u128::from_str_radix(f[0], 16).ok()?);
            let len = u8::from_str_radix(f[1], 16).ok()?;
            let next_hop = u128::from_str_radix(f[4], 16).ok()?;
            let flags = u32::from_str_radix(f[8], 16).ok()?;
            let iface = f[9];
            // Multicast routes and the kernel's own addresses (on lo) are no neighbours.
            if flags & RTF_UP == 0 || iface == "lo" || dest.is_multicast() {
                return None;
            }
            let direct = flags & RTF_GATEWAY == 0 && next_hop == 0;
            Some(Route {
                prefix: dest.into(),
                len,
                interface: direct.then(|| iface.to_string()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t00000000\t010012C6\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
        eth0\t000012C6\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
        eth0\t000A12C6\t020012C6\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
        lo\t0000007F\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n";

    const V6: &str = "20010002000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n\
        20010002000000010000000000000000 40 00000000000000000000000000000000 00 20010002000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n\
        fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0\n\
        20010002000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000004 00000000 80200001       lo\n\
        ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000004 00000000 00000001     eth0\n";

    fn routes() -> Routes {
        let mut r = parse_v4(V4);
        r.extend(parse_v6(V6));
        Routes::from_routes(r)
    }

    #[test]
    fn the_most_specific_route_decides() {
        let r = routes();
        let at = |s: &str| r.on_link(s.parse().unwrap());
        // 198.18.0.0/16 is on eth0, but 198.18.10.0/24 goes through a gateway.
        assert_eq!(at("198.18.3.4"), Some("eth0"));
        assert_eq!(at("198.18.10.4"), None);
        // The default route has a gateway; loopback is no link.
        assert_eq!(at("203.0.113.9"), None);
        assert_eq!(at("127.0.0.1"), None);
        assert_eq!(at("2001:2::7"), Some("eth0"));
        assert_eq!(at("2001:2:0:1::7"), None);
        assert_eq!(at("fe80::1"), Some("eth0"));
        assert_eq!(at("2001:db8::1"), None);
    }

    #[test]
    fn garbage_reads_as_no_route() {
        assert!(parse_v4("Iface\tDestination\nbroken line\n\t\t\n").is_empty());
        assert!(parse_v6("zz 40\n\n").is_empty());
    }
}
