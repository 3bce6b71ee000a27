//! A DNS server for tests: real DNS messages over UDP on 127.0.0.1, answering from test
//! zones held in memory, and able to fail the ways real servers fail (SERVFAIL, REFUSED,
//! silence). A name not in the table is NXDOMAIN; a name with other types only is NODATA.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

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

    pub fn failing(self, zone: &str, addr: Ipv4Addr, reply: Reply) -> Self {
        let [a, b, c, d] = addr.octets();
        self.set(&format!("{d}.{c}.{b}.{a}.{zone}"), RecordType::A, reply)
    }
}

/// The running server; it stops when dropped.
pub struct DnsServer {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DnsServer {
    pub async fn start(zones: Zones) -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let zones = Arc::new(zones);
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                if let Some(out) = answer(&buf[..len], &zones) {
                    let _ = socket.send_to(&out, peer).await;
                }
            }
        });
        DnsServer { addr, task }
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

fn answer(bytes: &[u8], zones: &Zones) -> Option<Vec<u8>> {
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
    let exists = zones.entries.keys().any(|(n, _)| *n == wanted);
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
