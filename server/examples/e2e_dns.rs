//! The DNS server of the end-to-end tests: the integration tests' server, with zones read
//! from a directory on every query, so a browser test can list an address or break a zone
//! while ipvet runs. Each file in the directory is a zone that passes its self-test; each
//! of its lines, `ADDRESS REASON…`, lists an IPv4 address (answer 127.0.0.2, TXT REASON).
//! A zone without a file answers NXDOMAIN to everything, so its self-test fails.
//!
//! `e2e_dns 127.0.0.1:PORT DIR`. It also accepts TCP connections on the same port, only so
//! the test runner can see that it is up.

#[path = "../tests/it/helpers/dns.rs"]
#[allow(dead_code)]
mod dns;

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;

use dns::{DnsServer, ZoneSource, Zones};

struct Directory(PathBuf);

impl ZoneSource for Directory {
    fn zones(&self) -> Arc<Zones> {
        let mut zones = Zones::default();
        let Ok(entries) = std::fs::read_dir(&self.0) else {
            return Arc::new(zones);
        };
        for entry in entries.flatten() {
            let zone = entry.file_name().to_string_lossy().to_string();
            zones = zones.healthy(&zone);
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text.lines() {
                let (addr, reason) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
                if let Ok(addr) = addr.parse::<Ipv4Addr>() {
                    zones = zones.listed(&zone, addr, Ipv4Addr::new(127, 0, 0, 2), reason.trim());
                }
            }
        }
        Arc::new(zones)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(addr), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: e2e_dns 127.0.0.1:PORT DIR");
        std::process::exit(2);
    };
    let server = DnsServer::serve(&addr, Arc::new(Directory(dir.into())), false).await;
    let ready = tokio::net::TcpListener::bind(server.addr)
        .await
        .expect("TCP readiness port");
    loop {
        // Accepted and dropped: the connection only tells the runner the server is up.
        let _ = ready.accept().await;
    }
}
