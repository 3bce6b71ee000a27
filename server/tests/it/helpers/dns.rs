//! A DNS server for tests: real DNS messages over UDP on 127.0.0.1, answering from test
//! zones held in memory, and able to fail the ways real servers fail (SERVFAIL, REFUSED,
//! silence). A name not in the table is NXDOMAIN; a name with other types only is NODATA.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::net::UdpSocket;

#[derive(Clone, Debug)]
pub enum Reply {
    A(Vec<Ipv4Addr>),
    Txt(String),
    ServFail,
    Refused,
    Silence,
}

#[derive(Default)]
pub struct Zones {
    entries: HashMap<(String, RecordType), Reply>,
    names: HashSet<String>,
}

fn key(name: &str) -> String {
    let mut n = name.to_ascii_lowercase();
    if !n.ends_with('.') {
        n.push('.');
    }
    n
}

impl Zones {
    pub fn set(mut self, name: &str, rtype: RecordType, reply: Reply) -> Self {
        self.names.insert(key(name));
        self.entries.insert((key(name), rtype), reply);
        self
    }

    /// A zone that passes the RFC 5782 self-test for IPv4.
    pub fn healthy(self, zone: &str) -> Self {
        self.set(
            &format!("2.0.0.127.{zone}"),
            RecordType::A,
            Reply::A(vec![Ipv4Addr::new(127, 0, 0, 2)]),
        )
    }

    /// `addr` listed in `zone` with answer `answer` and a TXT reason.
    pub fn listed(self, zone: &str, addr: Ipv4Addr, answer: Ipv4Addr, reason: &str) -> Self {
        let [a, b, c, d] = addr.octets();
        let name = format!("{d}.{c}.{b}.{a}.{zone}");
        self.set(&name, RecordType::A, Reply::A(vec![answer])).set(
            &name,
            RecordType::TXT,
            Reply::Txt(reason.into()),
        )
    }

    /// A zone that also passes the IPv6 self-test (::ffff:7f00:2 listed).
    pub fn healthy_v6(self, zone: &str) -> Self {
        let test = Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0x7f00, 2);
        self.set(
            &nibbles(test, zone),
            RecordType::A,
            Reply::A(vec![Ipv4Addr::new(127, 0, 0, 2)]),
        )
    }

    /// `addr` (IPv6) listed in `zone` with answer `answer` and a TXT reason.
    pub fn listed_v6(self, zone: &str, addr: Ipv6Addr, answer: Ipv4Addr, reason: &str) -> Self {
        let name = nibbles(addr, zone);
        self.set(&name, RecordType::A, Reply::A(vec![answer])).set(
            &name,
            RecordType::TXT,
            Reply::Txt(reason.into()),
        )
    }

    pub fn failing(self, zone: &str, addr: Ipv4Addr, reply: Reply) -> Self {
        let [a, b, c, d] = addr.octets();
        self.set(&format!("{d}.{c}.{b}.{a}.{zone}"), RecordType::A, reply)
    }
}

/// An IPv6 address's 32 nibbles, least significant first, then the zone (RFC 5782 §2.4).
pub fn nibbles(addr: Ipv6Addr, zone: &str) -> String {
    let hex: String = addr.octets().iter().map(|b| format!("{b:02x}")).collect();
    let mut name: String = hex.chars().rev().flat_map(|c| [c, '.']).collect();
    name.push_str(zone);
    name
}

/// Where the server reads its zones from on each query: fixed for a test, or rebuilt from
/// files for the end-to-end server, whose tests change them while it runs.
pub trait ZoneSource: Send + Sync + 'static {
    fn zones(&self) -> Arc<Zones>;
}

impl ZoneSource for Arc<Zones> {
    fn zones(&self) -> Arc<Zones> {
        self.clone()
    }
}

const WORKERS: usize = 4;

/// The running server; it stops when dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    /// Every name asked for, in order (not kept by a benchmark's server).
    pub asked: Arc<Mutex<Vec<String>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for w in &self.workers {
            w.abort();
        }
    }
}

impl DnsServer {
    pub async fn start(zones: Zones) -> DnsServer {
        Self::start_on("127.0.0.1:0", zones, true).await
    }

    pub async fn start_on(addr: &str, zones: Zones, keep_asked: bool) -> DnsServer {
        Self::serve(addr, Arc::new(Arc::new(zones)), keep_asked).await
    }

    pub async fn serve(addr: &str, zones: Arc<dyn ZoneSource>, keep_asked: bool) -> DnsServer {
        let socket = UdpSocket::bind(addr).await.unwrap();
        grow_receive_buffer(&socket);
        let addr = socket.local_addr().unwrap();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let socket = Arc::new(socket);
        // A few workers on the one socket, so a benchmark's load is answered on every core.
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (socket, zones, log) = (socket.clone(), zones.clone(), asked.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    loop {
                        let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                            continue;
                        };
                        let now = zones.zones();
                        if let Some(out) = answer(&buf[..len], &now, keep_asked.then_some(&*log)) {
                            let _ = socket.send_to(&out, peer).await;
                        }
                    }
                })
            })
            .collect();
        DnsServer {
            addr,
            asked,
            workers,
        }
    }
}

/// A DNS server's receive queue is larger than a socket's default (about 200 queries): at
/// a benchmark's rate the default overflows and queries are lost, which a client sees as
/// timeouts. As root the limit can be passed (SO_RCVBUFFORCE); otherwise the default stays.
fn grow_receive_buffer(socket: &UdpSocket) {
    use std::os::fd::AsRawFd;
    let bytes: libc::c_int = 8 << 20;
    // SAFETY: setsockopt on an open socket with a pointer to an int of the stated size.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&bytes as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn soa(name: &Name) -> Record {
    let soa = SOA::new(
        Name::from_ascii("ns.test.").unwrap(),
        Name::from_ascii("hostmaster.test.").unwrap(),
        1,
        3600,
        600,
        86400,
        60,
    );
    Record::from_rdata(name.base_name(), 60, RData::SOA(soa))
}

fn answer(bytes: &[u8], zones: &Zones, asked: Option<&Mutex<Vec<String>>>) -> Option<Vec<u8>> {
    let request = Message::from_vec(bytes).ok()?;
    if request.metadata.message_type != MessageType::Query {
        return None;
    }
    let query = request.queries.first()?.clone();
    let mut response = Message::response(request.metadata.id, request.metadata.op_code);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.authoritative = true;
    response.add_query(query.clone());
    let name = query.name().clone();
    let wanted = key(&name.to_lowercase().to_ascii());
    if let Some(asked) = asked {
        asked.lock().unwrap().push(wanted.clone());
    }
    let exists = zones.names.contains(&wanted);
    match zones.entries.get(&(wanted, query.query_type())) {
        Some(Reply::Silence) => return None,
        Some(Reply::ServFail) => response.metadata.response_code = ResponseCode::ServFail,
        Some(Reply::Refused) => response.metadata.response_code = ResponseCode::Refused,
        Some(Reply::A(ips)) => {
            for ip in ips {
                response.add_answer(Record::from_rdata(name.clone(), 60, RData::A(A(*ip))));
            }
        }
        Some(Reply::Txt(text)) => {
            response.add_answer(Record::from_rdata(
                name.clone(),
                60,
                RData::TXT(TXT::new(vec![text.clone()])),
            ));
        }
        None if exists => {
            response.add_authority(soa(&name));
        }
        None => {
            response.metadata.response_code = ResponseCode::NXDomain;
            response.add_authority(soa(&name));
        }
    }
    response.to_vec().ok()
}
