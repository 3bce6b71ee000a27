//! DNSBL's A queries to one resolver over a few UDP sockets kept open, instead of
//! hickory-resolver's socket per query. A cycle asks every zone about every address — about
//! 200,000 queries for a /16 and three zones — and a socket per query (bound, registered
//! with the runtime, closed again) costs more than the query itself: it was most of the
//! DNSBL half's CPU, which a cycle shares with the prober on the same cores.
//!
//! Spoofing is held off as a resolver's client should: every query carries a random ID on
//! a socket whose port the kernel picked at random, an answer counts only when it comes
//! from the resolver (the sockets are connected to it) with the ID and the question (name,
//! type, class) of an outstanding query, and each socket is retired after
//! [`QUERIES_PER_SOCKET`] queries, so a port is no long-lived target. Messages are encoded
//! and decoded by hickory-proto; only the multiplexing is ours. A truncated answer is left
//! to the caller, which asks again through hickory-resolver (over TCP).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::proto::op::{Message, Query};
use hickory_resolver::proto::rr::{Name, RecordType};
use tokio::net::UdpSocket;
use tokio::sync::oneshot;

/// Queries a socket carries before a fresh one takes over.
pub const QUERIES_PER_SOCKET: u32 = 4096;
/// Sockets in use at once: queries spread over them, so one socket's receive queue is not
/// the bottleneck of thousands of queries in flight.
const LANES: usize = 4;
/// Largest answer read; a DNSBL's A answer is far smaller, and a larger one is truncated
/// by the resolver anyway (no EDNS is offered).
const MAX_ANSWER: usize = 4096;

/// Why a query got no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("no answer in time")]
    Timeout,
    #[error("the answer was truncated")]
    Truncated,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encode the query: {0}")]
    Encode(String),
}

/// What an outstanding query waits for: the answer to exactly this question.
struct Pending {
    question: Query,
    answer: oneshot::Sender<Message>,
}

type Outstanding = Arc<Mutex<HashMap<u16, Pending>>>;

/// One socket, its outstanding queries and the task that reads its answers; the task ends
/// when the lane is dropped (retired and no query of its own still waiting).
struct Lane {
    socket: Arc<UdpSocket>,
    outstanding: Outstanding,
    sent: std::sync::atomic::AtomicU32,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for Lane {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Lane {
    async fn open(server: SocketAddr) -> std::io::Result<Lane> {
        let any: SocketAddr = if server.is_ipv4() {
            ([0, 0, 0, 0], 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(any).await?;
        // Connected: the kernel drops datagrams from anyone but the resolver.
        socket.connect(server).await?;
        let socket = Arc::new(socket);
        let outstanding: Outstanding = Arc::default();
        let reader = tokio::spawn(read_answers(socket.clone(), outstanding.clone()));
        Ok(Lane {
            socket,
            outstanding,
            sent: Default::default(),
            reader,
        })
    }

    /// Registers a query under an ID no other outstanding query of this lane has.
    fn register(&self, question: Query, answer: oneshot::Sender<Message>) -> u16 {
        let mut outstanding = self.outstanding.lock().unwrap_or_else(|p| p.into_inner());
        // At most 65,536 IDs and far fewer queries in flight: a free one turns up within a
        // few draws.
        let id = loop {
            let id: u16 = rand::random();
            if !outstanding.contains_key(&id) {
                break id;
            }
        };
        outstanding.insert(id, Pending { question, answer });
        id
    }

    fn forget(&self, id: u16) {
        self.outstanding
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
}

/// Hands each answer to the query it answers; anything else is dropped.
async fn read_answers(socket: Arc<UdpSocket>, outstanding: Outstanding) {
    let mut buf = vec![0u8; MAX_ANSWER];
    loop {
        let len = match socket.recv(&mut buf).await {
            Ok(len) => len,
            // An ICMP error from an earlier send (port unreachable): the query it belongs
            // to times out; the socket still works.
            Err(_) => continue,
        };
        let Ok(message) = Message::from_vec(&buf[..len]) else {
            continue;
        };
        let mut waiting = outstanding.lock().unwrap_or_else(|p| p.into_inner());
        let matches = waiting.get(&message.metadata.id).is_some_and(|p| {
            message.queries.len() == 1 && same_question(&message.queries[0], &p.question)
        });
        if matches {
            if let Some(pending) = waiting.remove(&message.metadata.id) {
                let _ = pending.answer.send(message);
            }
        }
    }
}

/// hickory's names compare without regard to case, as RFC 4343 says they must.
fn same_question(a: &Query, b: &Query) -> bool {
    a.query_type() == b.query_type() && a.query_class() == b.query_class() && a.name() == b.name()
}

/// Queries to one resolver over a few long-lived sockets.
pub struct Multiplexer {
    server: SocketAddr,
    timeout: Duration,
    lanes: tokio::sync::Mutex<Vec<Arc<Lane>>>,
    next: std::sync::atomic::AtomicUsize,
}

impl Multiplexer {
    pub fn new(server: SocketAddr, timeout: Duration) -> Multiplexer {
        Multiplexer {
            server,
            timeout,
            lanes: tokio::sync::Mutex::new(Vec::new()),
            next: Default::default(),
        }
    }

    /// The lane for the next query, opened or replaced as needed.
    async fn lane(&self) -> std::io::Result<Arc<Lane>> {
        use std::sync::atomic::Ordering::Relaxed;
        let i = self.next.fetch_add(1, Relaxed) % LANES;
        let mut lanes = self.lanes.lock().await;
        if lanes.len() <= i {
            lanes.push(Arc::new(Lane::open(self.server).await?));
            return Ok(lanes[lanes.len() - 1].clone());
        }
        if lanes[i].sent.load(Relaxed) >= QUERIES_PER_SOCKET {
            // The old lane lives on until its last outstanding query is done.
            lanes[i] = Arc::new(Lane::open(self.server).await?);
        }
        Ok(lanes[i].clone())
    }

    /// Asks the resolver for `name`'s records of `rtype` and returns its whole answer.
    pub async fn query(&self, name: &Name, rtype: RecordType) -> Result<Message, QueryError> {
        let lane = self.lane().await?;
        lane.sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let question = Query::query(name.clone(), rtype);
        let (tx, rx) = oneshot::channel();
        let id = lane.register(question.clone(), tx);
        let mut message = Message::query();
        message.metadata.id = id;
        message.metadata.recursion_desired = true;
        message.add_query(question);
        let sent = match message.to_vec() {
            Ok(bytes) => lane
                .socket
                .send(&bytes)
                .await
                .map(|_| ())
                .map_err(QueryError::from),
            Err(e) => Err(QueryError::Encode(e.to_string())),
        };
        if let Err(e) = sent {
            lane.forget(id);
            return Err(e);
        }
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(answer)) if answer.metadata.truncation => Err(QueryError::Truncated),
            Ok(Ok(answer)) => Ok(answer),
            // The lane's reader is gone only with the lane, which this query holds.
            Ok(Err(_)) | Err(_) => {
                lane.forget(id);
                Err(QueryError::Timeout)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::op::{MessageType, ResponseCode};

    /// A resolver on loopback that first sends a forged answer (wrong question), then one
    /// with another ID, then the real one; the client must take only the last.
    #[tokio::test]
    async fn only_the_answer_to_the_question_asked_counts() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let resolver = tokio::spawn(async move {
            let mut buf = vec![0u8; 512];
            let (len, peer) = server.recv_from(&mut buf).await.unwrap();
            let query = Message::from_vec(&buf[..len]).unwrap();
            let id = query.metadata.id;
            let reply = |id: u16, name: &str, code: ResponseCode| {
                let mut m = Message::response(id, query.metadata.op_code);
                m.metadata.message_type = MessageType::Response;
                m.metadata.response_code = code;
                m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
                m.to_vec().unwrap()
            };
            let asked = query.queries[0].name().to_ascii();
            for bytes in [
                reply(id, "9.9.9.9.other.test.", ResponseCode::NoError),
                reply(id.wrapping_add(1), &asked, ResponseCode::NoError),
                reply(id, &asked.to_ascii_uppercase(), ResponseCode::NXDomain),
            ] {
                server.send_to(&bytes, peer).await.unwrap();
            }
        });
        let mux = Multiplexer::new(addr, Duration::from_secs(5));
        let name = Name::from_ascii("2.0.0.127.zone.test.").unwrap();
        let answer = mux.query(&name, RecordType::A).await.unwrap();
        assert_eq!(answer.metadata.response_code, ResponseCode::NXDomain);
        resolver.await.unwrap();
    }

    #[tokio::test]
    async fn silence_times_out_and_frees_the_id() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mux = Multiplexer::new(server.local_addr().unwrap(), Duration::from_millis(50));
        let name = Name::from_ascii("1.0.0.127.zone.test.").unwrap();
        let err = mux.query(&name, RecordType::A).await.unwrap_err();
        assert!(matches!(err, QueryError::Timeout), "{err:?}");
        let lanes = mux.lanes.lock().await;
        assert!(lanes
            .iter()
            .all(|l| l.outstanding.lock().unwrap().is_empty()));
    }
}
