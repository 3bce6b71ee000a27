//! Neighbour probes for on-link addresses: an ARP request (IPv4) or a neighbour
//! solicitation (IPv6). Any ARP reply or neighbour advertisement means a host holds the
//! address, even one whose firewall drops every IP packet: a host must answer these to be
//! reachable at all.
//!
//! The requests go out on sockets of their own (a packet socket per interface for ARP, a
//! raw ICMPv6 socket for NDP) and the answers are read there, so the kernel's neighbour
//! table is never filled with the thousands of entries a large on-link network would
//! leave behind (its `gc_thresh3` is 1024 by default, after which it drops requests).

use std::collections::HashMap;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use super::links::Routes;
use super::rate::Pacer;
use super::Availability;

/// Requests sent to each address, spread over the timeout, as a lost frame on a busy
/// segment must not free an address.
const TRIES: u32 = 2;

type Waiters = Mutex<HashMap<IpAddr, Vec<(u64, mpsc::UnboundedSender<String>)>>>;

/// An interface's ARP socket, with the interface's hardware address.
struct ArpLink {
    socket: AsyncFd<OwnedFd>,
    index: i32,
    mac: [u8; 6],
}

pub struct NeighbourProber {
    routes: Routes,
    /// By interface name; an interface whose socket would not open holds the reason.
    arp: HashMap<String, Result<Arc<ArpLink>, String>>,
    ndp: Result<Arc<AsyncFd<Socket>>, String>,
    /// Interface indexes for NDP, by name.
    ndp_links: HashMap<String, u32>,
    /// Source addresses the kernel would use, as in the TCP prober.
    routes_v4: Mutex<Option<UdpSocket>>,
    routes_v6: Mutex<Option<UdpSocket>>,
    waiting: Arc<Waiters>,
    next_waiter: AtomicU64,
    timeout: Duration,
    pacer: Arc<Pacer>,
    _readers: super::Readers,
}

fn mac_text(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn interface_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the call's duration.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (index != 0).then_some(index)
}

impl ArpLink {
    fn open(name: &str) -> Result<Arc<ArpLink>, String> {
        let fail = |what: &str, e: std::io::Error| {
            format!(
                "the ARP prober cannot {what} on {name} ({e}); run ipvet with CAP_NET_RAW or \
                 leave arp out of Probes"
            )
        };
        let index = interface_index(name)
            .ok_or_else(|| fail("find the interface", std::io::Error::last_os_error()))?
            as i32;
        let protocol = (libc::ETH_P_ARP as u16).to_be();
        // SAFETY: plain socket(2); the descriptor is owned below.
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                i32::from(protocol),
            )
        };
        if fd < 0 {
            return Err(fail(
                "open a packet socket",
                std::io::Error::last_os_error(),
            ));
        }
        // SAFETY: `fd` is a fresh descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: an all-zero sockaddr_ll is a valid value to fill in.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = protocol;
        addr.sll_ifindex = index;
        let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: `addr` is a sockaddr_ll of `len` bytes.
        let bound = unsafe { libc::bind(fd.as_raw_fd(), (&raw const addr).cast(), len) };
        if bound != 0 {
            return Err(fail(
                "bind a packet socket",
                std::io::Error::last_os_error(),
            ));
        }
        // The bound socket's name carries the interface's hardware address.
        let mut named: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut named_len = len;
        // SAFETY: `named` has room for `named_len` bytes.
        let got =
            unsafe { libc::getsockname(fd.as_raw_fd(), (&raw mut named).cast(), &mut named_len) };
        if got != 0 || named.sll_halen != 6 {
            return Err(format!(
                "the ARP prober found no Ethernet address on {name}; leave arp out of Probes"
            ));
        }
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&named.sll_addr[..6]);
        let socket = super::poll_socket(fd).map_err(|e| fail("poll a packet socket", e))?;
        Ok(Arc::new(ArpLink { socket, index, mac }))
    }

    /// Broadcasts a request for `target` from `source`.
    fn request(&self, source: Ipv4Addr, target: Ipv4Addr) -> std::io::Result<()> {
        let mut frame = [0u8; 28];
        frame[0..2].copy_from_slice(&1u16.to_be_bytes()); // Ethernet
        frame[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // IPv4
        frame[4] = 6;
        frame[5] = 4;
        frame[6..8].copy_from_slice(&1u16.to_be_bytes()); // request
        frame[8..14].copy_from_slice(&self.mac);
        frame[14..18].copy_from_slice(&source.octets());
        frame[24..28].copy_from_slice(&target.octets());
        // SAFETY: an all-zero sockaddr_ll is a valid value to fill in.
        let mut to: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        to.sll_family = libc::AF_PACKET as u16;
        to.sll_protocol = (libc::ETH_P_ARP as u16).to_be();
        to.sll_ifindex = self.index;
        to.sll_halen = 6;
        to.sll_addr[..6].copy_from_slice(&[0xff; 6]);
        // SAFETY: `frame` and `to` are valid for the lengths given.
        let sent = unsafe {
            libc::sendto(
                self.socket.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&raw const to).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if sent < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

/// The sender of an ARP packet and its hardware address, if it is a request or reply
/// that a host sends about its own address.
pub fn arp_sender(frame: &[u8]) -> Option<(Ipv4Addr, String)> {
    if frame.len() < 28 || frame[0..2] != [0, 1] || frame[2..4] != [8, 0] {
        return None;
    }
    if frame[4] != 6 || frame[5] != 4 || !matches!(frame[6..8], [0, 1] | [0, 2]) {
        return None;
    }
    let sender = Ipv4Addr::new(frame[14], frame[15], frame[16], frame[17]);
    // An ARP probe (RFC 5227) carries no sender address: it claims nothing yet.
    (!sender.is_unspecified()).then(|| (sender, mac_text(&frame[8..14])))
}

/// The address a neighbour advertisement speaks for and the hardware address it gives.
pub fn advertised(message: &[u8]) -> Option<(Ipv6Addr, String)> {
    // Type 136, code 0, then checksum, flags and the target address.
    if message.len() < 24 || message[0] != 136 || message[1] != 0 {
        return None;
    }
    let target: [u8; 16] = message[8..24].try_into().ok()?;
    let mut mac = String::from("no link-layer address");
    let mut options = &message[24..];
    while options.len() >= 8 {
        let (kind, len) = (options[0], usize::from(options[1]) * 8);
        if len == 0 || len > options.len() {
            break;
        }
        // Target link-layer address.
        if kind == 2 && len >= 8 {
            mac = mac_text(&options[2..8]);
        }
        options = &options[len..];
    }
    Some((Ipv6Addr::from(target), mac))
}

/// A neighbour solicitation for `target`, with our hardware address when we have one.
fn solicitation(target: Ipv6Addr, mac: Option<[u8; 6]>) -> Vec<u8> {
    let mut message = vec![135u8, 0, 0, 0, 0, 0, 0, 0];
    message.extend_from_slice(&target.octets());
    if let Some(mac) = mac {
        message.extend_from_slice(&[1, 1]);
        message.extend_from_slice(&mac);
    }
    message
}

/// The solicited-node multicast address of `target` (RFC 4291 §2.7.1).
fn solicited_node(target: Ipv6Addr) -> Ipv6Addr {
    let o = target.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        u16::from_be_bytes([o[14], o[15]]),
    )
}

fn open_ndp() -> Result<Arc<AsyncFd<Socket>>, String> {
    let fail = |what: &str, e: std::io::Error| {
        format!(
            "the NDP prober cannot {what} ({e}); run ipvet with CAP_NET_RAW or leave arp out \
             of Probes"
        )
    };
    let socket = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))
        .map_err(|e| fail("open a raw ICMPv6 socket", e))?;
    // Neighbour discovery is valid only with a hop limit of 255 (RFC 4861 §7.1.1).
    socket
        .set_multicast_hops_v6(255)
        .and_then(|()| socket.set_unicast_hops_v6(255))
        .map_err(|e| fail("set its hop limit", e))?;
    // Only advertisements reach the socket (ICMP6_FILTER: a set bit blocks a type).
    let mut blocked = [u32::MAX; 8];
    blocked[136 >> 5] &= !(1 << (136 & 31));
    // SAFETY: `blocked` is the 32-byte icmp6_filter the option takes.
    let set = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_ICMPV6,
            1, // ICMP6_FILTER
            blocked.as_ptr().cast(),
            std::mem::size_of_val(&blocked) as libc::socklen_t,
        )
    };
    if set != 0 {
        return Err(fail("filter its socket", std::io::Error::last_os_error()));
    }
    socket
        .set_nonblocking(true)
        .map_err(|e| fail("make its socket non-blocking", e))?;
    super::poll_socket(socket)
        .map(Arc::new)
        .map_err(|e| fail("poll its socket", e))
}

impl NeighbourProber {
    /// Reads the routes of the current thread's network namespace and opens a socket for
    /// each on-link interface; needs a Tokio runtime.
    pub fn new(timeout: Duration, pacer: Arc<Pacer>) -> NeighbourProber {
        let routes = Routes::read();
        let waiting: Arc<Waiters> = Arc::default();
        let readers = super::Readers::new();
        let mut arp = HashMap::new();
        for name in routes.interfaces(true) {
            let link = ArpLink::open(&name);
            if let Ok(link) = &link {
                tokio::spawn(read_arp(
                    link.clone(),
                    readers.watch(),
                    Arc::downgrade(&waiting),
                ));
            }
            arp.insert(name, link);
        }
        let ndp_links: HashMap<String, u32> = routes
            .interfaces(false)
            .into_iter()
            .filter_map(|name| interface_index(&name).map(|i| (name, i)))
            .collect();
        let ndp = if ndp_links.is_empty() {
            Err("no on-link IPv6 network".to_string())
        } else {
            open_ndp()
        };
        if let Ok(socket) = &ndp {
            tokio::spawn(read_ndp(
                socket.clone(),
                readers.watch(),
                Arc::downgrade(&waiting),
            ));
        }
        let udp = |unspecified: IpAddr| UdpSocket::bind(SocketAddr::new(unspecified, 0)).ok();
        NeighbourProber {
            routes,
            arp,
            ndp,
            ndp_links,
            routes_v4: Mutex::new(udp(Ipv4Addr::UNSPECIFIED.into())),
            routes_v6: Mutex::new(udp(Ipv6Addr::UNSPECIFIED.into())),
            waiting,
            next_waiter: AtomicU64::new(0),
            timeout,
            pacer,
            _readers: readers,
        }
    }

    /// Whether `addr` is on a directly connected network, where this prober applies.
    pub fn on_link(&self, addr: IpAddr) -> bool {
        self.routes.on_link(addr).is_some()
    }

    /// Why some on-link interface cannot be probed, if one cannot.
    pub fn problem(&self) -> Option<String> {
        let mut problems: Vec<String> = self
            .arp
            .values()
            .filter_map(|l| l.as_ref().err().cloned())
            .collect();
        if let (Err(e), false) = (&self.ndp, self.ndp_links.is_empty()) {
            problems.push(e.clone());
        }
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    fn source_for(&self, target: IpAddr) -> Option<IpAddr> {
        let routes = match target {
            IpAddr::V4(_) => &self.routes_v4,
            IpAddr::V6(_) => &self.routes_v6,
        };
        let routes = routes.lock().unwrap_or_else(|p| p.into_inner());
        let socket = routes.as_ref()?;
        socket.connect(SocketAddr::new(target, 9)).ok()?;
        socket.local_addr().ok().map(|a| a.ip())
    }

    /// Asks for `addr` on its link; `None` when it is not on-link.
    pub async fn check(&self, addr: IpAddr) -> Option<Availability> {
        let interface = self.routes.on_link(addr)?.to_string();
        let Some(source) = self.source_for(addr) else {
            return Some(Availability::Unknown(format!(
                "arp: no source address towards {addr}"
            )));
        };
        let id = self.next_waiter.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(addr)
            .or_default()
            .push((id, tx));
        let outcome = self.ask(&interface, source, addr, &mut rx).await;
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = waiting.get_mut(&addr) {
            list.retain(|(other, _)| *other != id);
            if list.is_empty() {
                waiting.remove(&addr);
            }
        }
        Some(outcome)
    }

    async fn ask(
        &self,
        interface: &str,
        source: IpAddr,
        addr: IpAddr,
        answers: &mut mpsc::UnboundedReceiver<String>,
    ) -> Availability {
        let spacing = self.timeout / TRIES;
        for attempt in 0..TRIES {
            self.pacer.slot().await;
            let sent = match (addr, source) {
                (IpAddr::V4(target), IpAddr::V4(source)) => match self.arp.get(interface) {
                    Some(Ok(link)) => link.request(source, target),
                    Some(Err(e)) => return Availability::Unknown(e.clone()),
                    None => return Availability::Unknown(format!("arp: no socket on {interface}")),
                },
                (IpAddr::V6(target), _) => match (&self.ndp, self.ndp_links.get(interface)) {
                    (Ok(socket), Some(&index)) => {
                        let mac = match self.arp.get(interface) {
                            Some(Ok(link)) => Some(link.mac),
                            _ => None,
                        };
                        let to =
                            SockAddr::from(SocketAddrV6::new(solicited_node(target), 0, 0, index));
                        socket
                            .get_ref()
                            .send_to(&solicitation(target, mac), &to)
                            .map(|_| ())
                    }
                    (Err(e), _) => return Availability::Unknown(e.clone()),
                    (_, None) => {
                        return Availability::Unknown(format!("ndp: no interface {interface}"))
                    }
                },
                _ => return Availability::Unknown("arp: mixed address families".into()),
            };
            if let Err(e) = sent {
                return Availability::Unknown(format!("{}: sending failed: {e}", kind(addr)));
            }
            let wait = if attempt + 1 == TRIES {
                self.timeout
            } else {
                spacing
            };
            if let Ok(Some(evidence)) = tokio::time::timeout(wait, answers.recv()).await {
                return Availability::InUse(evidence);
            }
        }
        Availability::Free
    }
}

fn kind(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() {
        "arp"
    } else {
        "ndp"
    }
}

fn deliver(waiting: &Weak<Waiters>, addr: IpAddr, evidence: String) {
    let Some(waiting) = waiting.upgrade() else {
        return;
    };
    let waiting = waiting.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(list) = waiting.get(&addr) {
        for (_, tx) in list {
            let _ = tx.send(evidence.clone());
        }
    }
}

async fn read_arp(l: Arc<ArpLink>, mut stop: super::ReadersStop, waiting: Weak<Waiters>) {
    let mut buf = [0u8; 128];
    loop {
        let Some(mut ready) = stop.readable(&l.socket).await else {
            return;
        };
        let read = ready.try_io(|fd| {
            // SAFETY: `buf` is valid for writes of its length.
            let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                Err(std::io::Error::last_os_error())
            } else {
                Ok(n as usize)
            }
        });
        match read {
            Ok(Ok(n)) => {
                if let Some((sender, mac)) = arp_sender(&buf[..n]) {
                    deliver(&waiting, sender.into(), format!("arp reply from {mac}"));
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(cause = %e, "an ARP socket failed; stopping it");
                return;
            }
            Err(_would_block) => {}
        }
    }
}

async fn read_ndp(s: Arc<AsyncFd<Socket>>, mut stop: super::ReadersStop, waiting: Weak<Waiters>) {
    let mut buf = [MaybeUninit::<u8>::uninit(); 1500];
    loop {
        let Some(mut ready) = stop.readable(&s).await else {
            return;
        };
        match ready.try_io(|s| s.get_ref().recv(&mut buf)) {
            Ok(Ok(n)) => {
                // SAFETY: recv initialised the first `n` bytes.
                let message: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), n) };
                if let Some((target, mac)) = advertised(message) {
                    deliver(
                        &waiting,
                        target.into(),
                        format!("ndp neighbour advertisement from {mac}"),
                    );
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(cause = %e, "the NDP socket failed; stopping it");
                return;
            }
            Err(_would_block) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arp_senders_are_read_from_requests_and_replies() {
        let mut frame = [0u8; 28];
        frame[0..8].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 2]);
        frame[8..14].copy_from_slice(&[2, 0, 0, 0, 0, 7]);
        frame[14..18].copy_from_slice(&[198, 18, 0, 7]);
        assert_eq!(
            arp_sender(&frame),
            Some((Ipv4Addr::new(198, 18, 0, 7), "02:00:00:00:00:07".into()))
        );
        frame[7] = 1;
        assert!(
            arp_sender(&frame).is_some(),
            "a request speaks for its sender too"
        );
        frame[14..18].copy_from_slice(&[0, 0, 0, 0]);
        assert_eq!(arp_sender(&frame), None, "an ARP probe claims nothing");
        assert_eq!(arp_sender(&frame[..20]), None);
        frame[7] = 9;
        assert_eq!(arp_sender(&frame), None);
    }

    #[test]
    fn advertisements_name_their_target() {
        let target: Ipv6Addr = "2001:2::7".parse().unwrap();
        let mut message = vec![136u8, 0, 0, 0, 0x60, 0, 0, 0];
        message.extend_from_slice(&target.octets());
        message.extend_from_slice(&[2, 1, 2, 0, 0, 0, 0, 7]);
        assert_eq!(
            advertised(&message),
            Some((target, "02:00:00:00:00:07".into()))
        );
        // A solicitation is no advertisement; a short one says nothing.
        let ns = solicitation(target, None);
        assert_eq!(advertised(&ns), None);
        assert_eq!(advertised(&message[..20]), None);
        // An option with length zero ends the options instead of looping.
        let mut odd = message[..24].to_vec();
        odd.extend_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            advertised(&odd),
            Some((target, "no link-layer address".into()))
        );
    }

    #[test]
    fn solicited_node_addresses_keep_the_last_24_bits() {
        let target: Ipv6Addr = "2001:2::1:2345:6789".parse().unwrap();
        assert_eq!(
            solicited_node(target),
            "ff02::1:ff45:6789".parse::<Ipv6Addr>().unwrap()
        );
    }
}
