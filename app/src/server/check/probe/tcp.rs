//! TCP host discovery, as nmap's `-PS`: a SYN to each port of `TcpProbePorts`. A SYN-ACK
//! (something listens) or a RST (a host is there; the port is closed) means the address is
//! in use, however the host treats ping; silence, or an ICMP error from a router, is no
//! evidence. Hosts that drop ICMP echo (Windows' firewall by default, most hardened
//! servers) are found this way.
//!
//! Stateless, in masscan's manner: one raw socket per family sends every probe, and the
//! sequence number of each SYN is a keyed hash of its target and port, so a reply proves
//! it answers one of our probes without a table of what was sent. The kernel answers a
//! SYN-ACK with a RST of its own (it has no socket for it), which closes the half-open
//! connection on the far host as nmap's scans do. A socket filter keeps every other TCP
//! packet of the host (the web server's own traffic, say) out of the prober's socket.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::mem::MaybeUninit;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pnet_packet::tcp::{self, MutableTcpPacket, TcpFlags, TcpOption, TcpPacket};
use pnet_packet::Packet;
use socket2::{Domain, Protocol, SockAddr, SockFilter, Socket, Type};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc;

use super::rate::Pacer;
use super::Availability;

/// What answered a probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    SynAck,
    Reset,
}

impl Reply {
    fn as_str(self) -> &'static str {
        match self {
            Reply::SynAck => "SYN-ACK",
            Reply::Reset => "RST",
        }
    }
}

/// Length of the SYN we send: the 20-byte header and an MSS option, as real stacks send.
const SYN_LEN: usize = 24;

type Waiters = Mutex<HashMap<IpAddr, Vec<(u64, mpsc::UnboundedSender<(u16, Reply)>)>>>;

/// One family's raw socket, its reply matching and its route lookups.
struct Family {
    socket: AsyncFd<Socket>,
    /// A UDP socket connected to each target in turn: `connect` on UDP sends nothing, and
    /// the address it binds to is the source the kernel's routing picks for that target,
    /// which the TCP checksum must cover.
    routes: Mutex<UdpSocket>,
    waiting: Waiters,
}

pub struct TcpProber {
    v4: Result<Arc<Family>, String>,
    v6: Result<Arc<Family>, String>,
    ports: Vec<u16>,
    timeout: Duration,
    pacer: Arc<Pacer>,
    /// The source port of every probe; replies come back to it.
    source_port: u16,
    /// Keys the sequence-number hash, fresh for each prober.
    key: std::collections::hash_map::RandomState,
    next_waiter: AtomicU64,
    _readers: super::Readers,
}

/// The classic BPF program that lets through only TCP segments to `port`: IPv4 raw
/// sockets see the IP header first, IPv6 raw sockets only the TCP header.
fn filter(port: u16, v4: bool) -> Vec<SockFilter> {
    use libc::{
        BPF_ABS, BPF_B, BPF_H, BPF_IND, BPF_JEQ, BPF_JMP, BPF_K, BPF_LD, BPF_LDX, BPF_MSH, BPF_RET,
    };
    let code = |c: u32| c as u16;
    let accept = SockFilter::new(code(BPF_RET | BPF_K), 0, 0, 0xffff);
    let drop = SockFilter::new(code(BPF_RET | BPF_K), 0, 0, 0);
    let is_port = SockFilter::new(code(BPF_JMP | BPF_JEQ | BPF_K), 0, 1, u32::from(port));
    if v4 {
        vec![
            // x = the IP header's length; then the destination port at x + 2.
            SockFilter::new(code(BPF_LDX | BPF_B | BPF_MSH), 0, 0, 0),
            SockFilter::new(code(BPF_LD | BPF_H | BPF_IND), 0, 0, 2),
            is_port,
            accept,
            drop,
        ]
    } else {
        vec![
            SockFilter::new(code(BPF_LD | BPF_H | BPF_ABS), 0, 0, 2),
            is_port,
            accept,
            drop,
        ]
    }
}

impl Family {
    fn open(v4: bool, port: u16) -> Result<Arc<Family>, String> {
        let (domain, name, unspecified): (Domain, &str, IpAddr) = if v4 {
            (Domain::IPV4, "IPv4", Ipv4Addr::UNSPECIFIED.into())
        } else {
            (Domain::IPV6, "IPv6", Ipv6Addr::UNSPECIFIED.into())
        };
        let fail = |what: &str, e: std::io::Error| {
            format!(
                "the TCP prober cannot {what} for {name} ({e}); run ipvet with CAP_NET_RAW or \
                 leave tcp out of Probes"
            )
        };
        let socket = Socket::new(domain, Type::RAW, Some(Protocol::TCP))
            .map_err(|e| fail("open a raw socket", e))?;
        socket
            .attach_filter(&filter(port, v4))
            .map_err(|e| fail("filter its socket", e))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| fail("make its socket non-blocking", e))?;
        let routes = UdpSocket::bind(SocketAddr::new(unspecified, 0))
            .map_err(|e| fail("open a socket for route look-ups", e))?;
        let socket = super::poll_socket(socket).map_err(|e| fail("poll its socket", e))?;
        Ok(Arc::new(Family {
            socket,
            routes: Mutex::new(routes),
            waiting: Mutex::new(HashMap::new()),
        }))
    }

    /// The source address the kernel would use towards `target`, or why there is none.
    fn source_for(&self, target: IpAddr) -> std::io::Result<IpAddr> {
        let routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        routes.connect(SocketAddr::new(target, 9))?;
        Ok(routes.local_addr()?.ip())
    }
}

impl TcpProber {
    /// Opens the raw sockets and starts reading replies; needs a Tokio runtime.
    pub fn new(ports: Vec<u16>, timeout: Duration, pacer: Arc<Pacer>) -> TcpProber {
        let key = std::collections::hash_map::RandomState::new();
        // A port from the dynamic range, different for each prober, so two probers (or a
        // restart) never take each other's replies.
        let source_port = 49152 + (key.hash_one(std::process::id()) % 16000) as u16;
        let v4 = Family::open(true, source_port);
        let v6 = Family::open(false, source_port);
        let prober = TcpProber {
            v4,
            v6,
            ports,
            timeout,
            pacer,
            source_port,
            key,
            next_waiter: AtomicU64::new(0),
            _readers: super::Readers::new(),
        };
        for (family, v4) in [(&prober.v4, true), (&prober.v6, false)] {
            if let Ok(family) = family {
                tokio::spawn(read_replies(
                    family.clone(),
                    prober._readers.watch(),
                    prober.source_port,
                    prober.key.clone(),
                    v4,
                ));
            }
        }
        prober
    }

    /// Why this prober cannot work, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let problems: Vec<&str> = [&self.v4, &self.v6]
            .into_iter()
            .filter_map(|f| f.as_ref().err().map(String::as_str))
            .collect();
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Sends a SYN to every port of `addr` and waits one timeout after the last for a
    /// SYN-ACK or RST.
    pub async fn check(&self, addr: IpAddr) -> Availability {
        let family = match (addr, &self.v4, &self.v6) {
            (IpAddr::V4(_), Ok(f), _) | (IpAddr::V6(_), _, Ok(f)) => f,
            (IpAddr::V4(_), Err(e), _) | (IpAddr::V6(_), _, Err(e)) => {
                return Availability::Unknown(e.clone())
            }
        };
        let source = match family.source_for(addr) {
            Ok(source) => source,
            Err(e) => return Availability::Unknown(format!("tcp: no route to {addr} ({e})")),
        };
        let id = self.next_waiter.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::unbounded_channel();
        family
            .waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(addr)
            .or_default()
            .push((id, tx));
        let outcome = self.probe(family, source, addr, &mut rx).await;
        let mut waiting = family.waiting.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(list) = waiting.get_mut(&addr) {
            list.retain(|(other, _)| *other != id);
            if list.is_empty() {
                waiting.remove(&addr);
            }
        }
        outcome
    }

    async fn probe(
        &self,
        family: &Family,
        source: IpAddr,
        addr: IpAddr,
        replies: &mut mpsc::UnboundedReceiver<(u16, Reply)>,
    ) -> Availability {
        let mut failed: Option<String> = None;
        for &port in &self.ports {
            // A reply to an earlier port settles it: the rest need not go out.
            if let Ok((port, reply)) = replies.try_recv() {
                return in_use(port, reply);
            }
            self.pacer.slot().await;
            let syn = syn(
                source,
                addr,
                self.source_port,
                port,
                cookie(&self.key, addr, port),
            );
            if let Err(e) = send(family, &syn, addr).await {
                failed = Some(format!("tcp: sending to {addr} port {port} failed: {e}"));
            }
        }
        match tokio::time::timeout(self.timeout, replies.recv()).await {
            Ok(Some((port, reply))) => in_use(port, reply),
            _ => match failed {
                // A probe that did not go out leaves the answer incomplete.
                Some(e) => Availability::Unknown(e),
                None => Availability::Free,
            },
        }
    }
}

fn in_use(port: u16, reply: Reply) -> Availability {
    Availability::InUse(format!("tcp {port}: {}", reply.as_str()))
}

/// The sequence number of our SYN to `port` of `addr`; a genuine reply acknowledges it
/// plus one.
fn cookie(key: &std::collections::hash_map::RandomState, addr: IpAddr, port: u16) -> u32 {
    key.hash_one((addr, port)) as u32
}

/// A SYN from `source`:`source_port` to `target`:`port`, checksummed.
fn syn(source: IpAddr, target: IpAddr, source_port: u16, port: u16, seq: u32) -> [u8; SYN_LEN] {
    let mut buf = [0u8; SYN_LEN];
    let mut packet = MutableTcpPacket::new(&mut buf).expect("the buffer fits a TCP header");
    packet.set_source(source_port);
    packet.set_destination(port);
    packet.set_sequence(seq);
    packet.set_acknowledgement(0);
    packet.set_data_offset((SYN_LEN / 4) as u8);
    packet.set_flags(TcpFlags::SYN);
    packet.set_window(64240);
    packet.set_options(&[TcpOption::mss(1460)]);
    let checksum = match (source, target) {
        (IpAddr::V4(s), IpAddr::V4(t)) => tcp::ipv4_checksum(&packet.to_immutable(), &s, &t),
        (IpAddr::V6(s), IpAddr::V6(t)) => tcp::ipv6_checksum(&packet.to_immutable(), &s, &t),
        // The source came from a route look-up for the target: same family.
        _ => 0,
    };
    packet.set_checksum(checksum);
    buf
}

/// Sends one packet; waits while the socket's buffer is full.
async fn send(family: &Family, packet: &[u8], target: IpAddr) -> std::io::Result<()> {
    let to = SockAddr::from(SocketAddr::new(target, 0));
    loop {
        let mut ready = family.socket.writable().await?;
        match ready.try_io(|s| s.get_ref().send_to(packet, &to)) {
            Ok(Ok(_)) => return Ok(()),
            // The interface queue is full: let it drain a little.
            Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            Ok(Err(e)) => return Err(e),
            Err(_would_block) => continue,
        }
    }
}

/// Reads every segment the filter lets through and hands genuine answers to whoever waits
/// for their address; ends when the prober is dropped.
async fn read_replies(
    f: Arc<Family>,
    mut stop: super::ReadersStop,
    source_port: u16,
    key: std::collections::hash_map::RandomState,
    v4: bool,
) {
    let mut buf = [MaybeUninit::<u8>::uninit(); 1500];
    loop {
        let received = {
            let Some(mut ready) = stop.readable(&f.socket).await else {
                return;
            };
            match ready.try_io(|s| s.get_ref().recv_from(&mut buf)) {
                Ok(Ok((n, from))) => Some((n, from)),
                Ok(Err(e)) => {
                    tracing::warn!(cause = %e, "the TCP prober's socket failed; stopping it");
                    return;
                }
                Err(_would_block) => None,
            }
        };
        let Some((n, from)) = received else { continue };
        // SAFETY: recv_from initialised the first `n` bytes.
        let bytes: &[u8] = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast(), n) };
        let Some(from) = from.as_socket().map(|s| s.ip()) else {
            continue;
        };
        let segment = if v4 {
            let header = usize::from(bytes.first().map_or(0, |b| b & 0x0f)) * 4;
            bytes.get(header..).unwrap_or_default()
        } else {
            bytes
        };
        if let Some((port, reply)) = answer(segment, from, source_port, &key) {
            let waiting = f.waiting.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(list) = waiting.get(&from) {
                for (_, tx) in list {
                    let _ = tx.send((port, reply));
                }
            }
        }
    }
}

/// The answer `segment` from `from` gives, if it is a SYN-ACK or RST that acknowledges one
/// of our SYNs.
fn answer(
    segment: &[u8],
    from: IpAddr,
    source_port: u16,
    key: &std::collections::hash_map::RandomState,
) -> Option<(u16, Reply)> {
    let packet = TcpPacket::new(segment)?;
    if packet.get_destination() != source_port || packet.packet().len() < 20 {
        return None;
    }
    let port = packet.get_source();
    if packet.get_acknowledgement() != cookie(key, from, port).wrapping_add(1) {
        return None;
    }
    let flags = packet.get_flags();
    if flags & TcpFlags::RST != 0 {
        Some((port, Reply::Reset))
    } else if flags & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN | TcpFlags::ACK {
        Some((port, Reply::SynAck))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replaced prober (a saved setting) must close its sockets: its reader tasks held
    /// them for the life of the process.
    #[tokio::test]
    async fn a_dropped_prober_closes_its_sockets() {
        let prober = TcpProber::new(vec![443], Duration::from_secs(1), Arc::new(Pacer::new(10)));
        let families: Vec<std::sync::Weak<Family>> = [&prober.v4, &prober.v6]
            .into_iter()
            .map(|f| Arc::downgrade(f.as_ref().expect("tests run with CAP_NET_RAW")))
            .collect();
        // Let the readers start waiting on their sockets.
        tokio::task::yield_now().await;
        assert!(families.iter().all(|f| f.upgrade().is_some()));
        drop(prober);
        let mut closed = false;
        for _ in 0..100 {
            if families.iter().all(|f| f.upgrade().is_none()) {
                closed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(closed, "a reader task still holds its socket");
    }

    fn reply(from: IpAddr, port: u16, to_port: u16, ack: u32, flags: u8) -> Vec<u8> {
        let mut buf = vec![0u8; 20];
        let mut p = MutableTcpPacket::new(&mut buf).unwrap();
        p.set_source(port);
        p.set_destination(to_port);
        p.set_acknowledgement(ack);
        p.set_data_offset(5);
        p.set_flags(flags);
        let _ = from;
        buf
    }

    #[test]
    fn only_genuine_answers_count() {
        let key = std::collections::hash_map::RandomState::new();
        let host: IpAddr = "198.18.0.2".parse().unwrap();
        let ours = 50_000;
        let ack = cookie(&key, host, 443).wrapping_add(1);
        let syn_ack = TcpFlags::SYN | TcpFlags::ACK;
        let rst = TcpFlags::RST | TcpFlags::ACK;
        assert_eq!(
            answer(&reply(host, 443, ours, ack, syn_ack), host, ours, &key),
            Some((443, Reply::SynAck))
        );
        assert_eq!(
            answer(&reply(host, 443, ours, ack, rst), host, ours, &key),
            Some((443, Reply::Reset))
        );
        // Another port's cookie, another host's, another destination port, a bare ACK,
        // and a truncated segment prove nothing.
        assert_eq!(
            answer(&reply(host, 22, ours, ack, syn_ack), host, ours, &key),
            None
        );
        let other: IpAddr = "198.18.0.3".parse().unwrap();
        assert_eq!(
            answer(&reply(host, 443, ours, ack, syn_ack), other, ours, &key),
            None
        );
        assert_eq!(
            answer(&reply(host, 443, ours + 1, ack, syn_ack), host, ours, &key),
            None
        );
        assert_eq!(
            answer(
                &reply(host, 443, ours, ack, TcpFlags::ACK),
                host,
                ours,
                &key
            ),
            None
        );
        assert_eq!(answer(&[0u8; 7], host, ours, &key), None);
    }

    #[test]
    fn a_syn_is_well_formed() {
        let s: IpAddr = "198.18.0.1".parse().unwrap();
        let t: IpAddr = "198.18.0.2".parse().unwrap();
        let bytes = syn(s, t, 50_000, 443, 12345);
        let p = TcpPacket::new(&bytes).unwrap();
        assert_eq!((p.get_source(), p.get_destination()), (50_000, 443));
        assert_eq!((p.get_sequence(), p.get_flags()), (12345, TcpFlags::SYN));
        assert_eq!(p.get_data_offset(), 6);
        let (IpAddr::V4(s4), IpAddr::V4(t4)) = (s, t) else {
            unreachable!()
        };
        assert_eq!(p.get_checksum(), tcp::ipv4_checksum(&p, &s4, &t4));
    }
}
