//! A small network of two namespaces for probe tests: the prober's side and a host side,
//! joined by a veth pair, with 198.18.0.1/24 and 2001:2::1/64 on the prober's side and
//! .2 / ::2 on the host's. A test may add addresses, routes and nftables rules to either
//! side. Traffic stays between the two; both go when the value drops. Needs root
//! (CAP_SYS_ADMIN and CAP_NET_ADMIN), as CI has, and nft(8) for firewall rules.

use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

pub struct TestNet {
    pub prober: String,
    pub host: String,
}

/// Runs ip(8) with `args`; fails (the test or the benchmark) if it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip(8) from iproute2");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn output(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().expect("run ip(8)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl TestNet {
    pub fn create() -> TestNet {
        assert_eq!(
            // SAFETY: geteuid has no preconditions.
            unsafe { libc::geteuid() },
            0,
            "the ICMP tests make network namespaces and need root"
        );
        static N: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let net = TestNet {
            prober: format!("ipvet-p-{tag}"),
            host: format!("ipvet-h-{tag}"),
        };
        // From here on, Drop removes whatever was made, even if a step below fails.
        ip(&["netns", "add", &net.prober]);
        ip(&["netns", "add", &net.host]);
        ip(&[
            "link",
            "add",
            "vprobe",
            "netns",
            &net.prober,
            "type",
            "veth",
            "peer",
            "name",
            "vhost",
            "netns",
            &net.host,
        ]);
        for (ns, dev, v4, v6) in [
            (&net.prober, "vprobe", "198.18.0.1/24", "2001:2::1/64"),
            (&net.host, "vhost", "198.18.0.2/24", "2001:2::2/64"),
        ] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "addr", "add", v4, "dev", dev]);
            ip(&["-n", ns, "-6", "addr", "add", v6, "dev", dev, "nodad"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        // Neighbour discovery needs each side's link-local address, which only appears once
        // duplicate address detection on it is over (about a second).
        for (ns, dev) in [(&net.prober, "vprobe"), (&net.host, "vhost")] {
            let ready = (0..100).any(|_| {
                let shown = output(&["-n", ns, "-6", "addr", "show", "dev", dev, "scope", "link"]);
                let up = shown.contains("fe80") && !shown.contains("tentative");
                if !up {
                    std::thread::sleep(Duration::from_millis(100));
                }
                up
            });
            assert!(ready, "no link-local address on {dev} in {ns} after 10 s");
        }
        net
    }

    /// Runs `f` on a thread of its own that has entered the prober's namespace, so the
    /// sockets `f` opens belong to it; the caller's threads stay where they are.
    pub fn in_prober<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.prober);
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).expect("open the namespace");
            // SAFETY: setns on a valid namespace fd changes only this thread's namespace.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .expect("the thread in the namespace")
    }
}

/// Runs each shell command inside namespace `ns`; fails the test if one fails.
fn sh_in(ns: &str, commands: &[&str]) {
    for command in commands {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "sh", "-c", command])
            .output()
            .expect("run ip netns exec");
        assert!(
            out.status.success(),
            "in {ns}: {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl TestNet {
    /// Runs shell commands (ip, sysctl) in the host's namespace.
    pub fn host_sh(&self, commands: &[&str]) {
        sh_in(&self.host, commands);
    }

    /// Runs shell commands in the prober's namespace.
    pub fn prober_sh(&self, commands: &[&str]) {
        sh_in(&self.prober, commands);
    }

    /// Loads an nftables ruleset into the host's namespace.
    pub fn host_nft(&self, ruleset: &str) {
        use std::io::Write;
        let mut nft = Command::new("ip")
            .args(["netns", "exec", &self.host, "nft", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run nft(8) from nftables");
        nft.stdin
            .take()
            .expect("nft's stdin")
            .write_all(ruleset.as_bytes())
            .expect("write the ruleset");
        let out = nft.wait_with_output().expect("nft ends");
        assert!(
            out.status.success(),
            "nft: {}\n{ruleset}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The packets an nftables named counter in the host's `inet` table `table` has
    /// counted.
    pub fn host_counter(&self, table: &str, counter: &str) -> u64 {
        let out = Command::new("ip")
            .args([
                "netns", "exec", &self.host, "nft", "list", "counter", "inet", table, counter,
            ])
            .output()
            .expect("run nft(8)");
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no packet count in: {text}"))
    }

    /// A TCP listener on `addr`:`port` in the host's namespace, open while the value lives;
    /// the kernel completes handshakes on it without anyone accepting.
    pub fn host_listen(&self, addr: &str, port: u16) -> std::net::TcpListener {
        let path = format!("/run/netns/{}", self.host);
        let at: std::net::SocketAddr = format!("{addr}:{port}")
            .parse()
            .or_else(|_| format!("[{addr}]:{port}").parse())
            .expect("an address and port");
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).expect("open the namespace");
            // SAFETY: setns on a valid namespace fd changes only this thread's namespace.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            std::net::TcpListener::bind(at).expect("listen in the host namespace")
        })
        .join()
        .expect("the thread in the namespace")
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and so the pair.
        for ns in [&self.prober, &self.host] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Three namespaces for agent tests: the server's (`srv`, 198.19.255.1/30, no route to
/// the far network), an agent's (`agent`, 198.19.255.2/30 towards the server and
/// 198.18.70.1/24 on the far network) and the far network's other side (`far`,
/// 198.18.70.2/24, where a test adds the addresses that answer). All go when the value
/// drops.
pub struct SiteNet {
    pub srv: String,
    pub agent: String,
    pub far: String,
}

/// The server's address in [`SiteNet`], as the agent reaches it.
pub const SITE_SERVER: &str = "198.19.255.1";

impl SiteNet {
    pub fn create() -> SiteNet {
        assert_eq!(
            // SAFETY: geteuid has no preconditions.
            unsafe { libc::geteuid() },
            0,
            "the agent tests make network namespaces and need root"
        );
        static N: AtomicU32 = AtomicU32::new(0);
        let tag = format!(
            "{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let net = SiteNet {
            srv: format!("ipvet-s-{tag}"),
            agent: format!("ipvet-a-{tag}"),
            far: format!("ipvet-f-{tag}"),
        };
        for ns in [&net.srv, &net.agent, &net.far] {
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        for (a, a_dev, a_addr, b, b_dev, b_addr) in [
            (
                &net.srv,
                "vsrv",
                "198.19.255.1/30",
                &net.agent,
                "vup",
                "198.19.255.2/30",
            ),
            (
                &net.agent,
                "vdown",
                "198.18.70.1/24",
                &net.far,
                "vfar",
                "198.18.70.2/24",
            ),
        ] {
            ip(&[
                "link", "add", a_dev, "netns", a, "type", "veth", "peer", "name", b_dev, "netns", b,
            ]);
            for (ns, dev, addr) in [(a, a_dev, a_addr), (b, b_dev, b_addr)] {
                ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
                ip(&["-n", ns, "link", "set", dev, "up"]);
            }
        }
        net
    }

    /// A listener on the server's address in its namespace, on a free port.
    pub fn listen_in_server(&self) -> std::net::TcpListener {
        self.listen_in_server_on(0)
    }

    /// A listener on the server's address in its namespace, on `port` (a restarted
    /// server's, where its agents look for it).
    pub fn listen_in_server_on(&self, port: u16) -> std::net::TcpListener {
        let path = format!("/run/netns/{}", self.srv);
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).expect("open the namespace");
            // SAFETY: setns on a valid namespace fd changes only this thread's namespace.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
            std::net::TcpListener::bind((SITE_SERVER, port))
                .expect("listen in the server's namespace")
        })
        .join()
        .expect("the thread in the namespace")
    }

    /// Makes `addrs` (in 198.18.70.0/24) answer on the far side.
    pub fn far_answers(&self, addrs: &[&str]) {
        for addr in addrs {
            ip(&[
                "-n",
                &self.far,
                "addr",
                "add",
                &format!("{addr}/32"),
                "dev",
                "vfar",
            ]);
        }
    }

    /// `ipvet agent` in the agent's namespace, asking the server at `port` with `token`,
    /// probing with ICMP (one echo, half a second); killed when dropped.
    pub fn agent(&self, port: u16, token: &str) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new("ip");
        cmd.args(["netns", "exec", &self.agent, super::process::BIN, "agent"])
            .arg("--server")
            .arg(format!("http://{SITE_SERVER}:{port}"))
            .arg("--allow-http")
            .env("IPVET_AGENT_TOKEN", token)
            .env("IPVET_PROBES", "icmp")
            .env("IPVET_PING_COUNT", "1")
            .env("IPVET_PING_TIMEOUT", "500ms")
            .env("RUST_LOG", "warn")
            .kill_on_drop(true);
        cmd
    }
}

impl Drop for SiteNet {
    fn drop(&mut self) {
        for ns in [&self.srv, &self.agent, &self.far] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}
