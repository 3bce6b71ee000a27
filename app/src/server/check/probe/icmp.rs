//! The built-in availability prober: ICMP echo to IPv4 and IPv6 addresses, one socket per
//! family shared by every check in flight (thousands at once), replies matched to their
//! requests by identifier and sequence. No reply within `PingTimeout` to any of `PingCount`
//! echoes (sent spread over one `PingTimeout`) means nothing answers. A socket that cannot be opened (no privilege) makes every
//! check inconclusive — never "free" — and is reported as a configuration problem.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use socket2::Type;
use surge_ping::{Client, Config, IcmpPacket, PingIdentifier, PingSequence, SurgeError, ICMP};

use super::rate::Pacer;
use super::Availability;

const PAYLOAD: [u8; 16] = *b"ipvet-availcheck";

pub struct IcmpProber {
    v4: Result<Client, String>,
    v6: Result<Client, String>,
    count: u32,
    timeout: Duration,
    next_ident: AtomicU16,
    pacer: std::sync::Arc<Pacer>,
}

/// A raw socket where the process may open one (root, CAP_NET_RAW), else an unprivileged
/// ping socket (`net.ipv4.ping_group_range`).
fn open(kind: ICMP) -> Result<Client, String> {
    let raw = Client::new(
        &Config::builder()
            .kind(kind)
            .sock_type_hint(Type::RAW)
            .build(),
    );
    match raw {
        Ok(c) => Ok(c),
        Err(raw_err) => Client::new(
            &Config::builder()
                .kind(kind)
                .sock_type_hint(Type::DGRAM)
                .build(),
        )
        .map_err(|dgram_err| {
            let family = match kind {
                ICMP::V4 => "ICMPv4",
                ICMP::V6 => "ICMPv6",
            };
            format!(
                "the built-in prober cannot open an {family} socket (raw: {raw_err}; \
                         unprivileged: {dgram_err}); run ipvet with CAP_NET_RAW, allow its group \
                         in net.ipv4.ping_group_range, or set IpCheckerScript"
            )
        }),
    }
}

impl IcmpProber {
    pub fn new(count: u32, timeout: Duration, pacer: std::sync::Arc<Pacer>) -> IcmpProber {
        IcmpProber {
            v4: open(ICMP::V4),
            v6: open(ICMP::V6),
            count: count.max(1),
            timeout,
            next_ident: AtomicU16::new(std::process::id() as u16),
            pacer,
        }
    }

    /// Why checks cannot work, if they cannot.
    pub fn problem(&self) -> Option<String> {
        let problems: Vec<&str> = [&self.v4, &self.v6]
            .into_iter()
            .filter_map(|c| c.as_ref().err().map(String::as_str))
            .collect();
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    pub async fn check(&self, addr: IpAddr) -> Availability {
        let client = match (addr, &self.v4, &self.v6) {
            (IpAddr::V4(_), Ok(c), _) | (IpAddr::V6(_), _, Ok(c)) => c,
            (IpAddr::V4(_), Err(e), _) | (IpAddr::V6(_), _, Err(e)) => {
                return Availability::Unknown(e.clone())
            }
        };
        // Raw sockets match replies by identifier; unprivileged ping sockets, whose
        // identifier the kernel sets, only by sequence, so each check gets its own range.
        let token = self.next_ident.fetch_add(1, Ordering::Relaxed);
        // The echoes go out spread over one timeout rather than one after another's
        // timeout, so a silent address costs about two timeouts, not `PingCount` of them.
        let spacing = self.timeout / self.count;
        let mut echoes: FuturesUnordered<_> = (0..self.count)
            .map(|i| async move {
                tokio::time::sleep(spacing * i).await;
                self.pacer.slot().await;
                let mut pinger = client.pinger(addr, PingIdentifier(token)).await;
                pinger.timeout(self.timeout);
                let seq = PingSequence(token.wrapping_mul(16).wrapping_add(i as u16));
                pinger.ping(seq, &PAYLOAD).await
            })
            .collect();
        let mut last_error = None;
        while let Some(result) = echoes.next().await {
            match result {
                Ok((packet, rtt)) if is_echo_reply(&packet) => {
                    return Availability::InUse(format!(
                        "icmp echo reply in {:.1} ms",
                        rtt.as_secs_f64() * 1000.0
                    ))
                }
                // An ICMP error (destination unreachable from our own router): nobody
                // answers there.
                Ok(_) | Err(SurgeError::Timeout { .. }) => {}
                Err(e) => last_error = Some(e.to_string()),
            }
        }
        match last_error {
            // An echo failed to go out: what the others saw is not the whole answer.
            Some(e) => Availability::Unknown(format!("ICMP echo failed: {e}")),
            None => Availability::Free,
        }
    }
}

fn is_echo_reply(packet: &IcmpPacket) -> bool {
    match packet {
        IcmpPacket::V4(p) => p.get_icmp_type().0 == 0,
        IcmpPacket::V6(p) => p.get_icmpv6_type().0 == 129,
    }
}
