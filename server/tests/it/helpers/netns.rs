//! A small network of two namespaces for ICMP tests: the prober's side and a host side,
//! joined by a veth pair, with 198.18.0.1/24 and 2001:2::1/64 on the prober's side and
//! .2 / ::2 on the host's. Traffic stays between the two; both go when the value drops.
//! Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN), as CI has.

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

impl Drop for TestNet {
    fn drop(&mut self) {
        // Deleting a namespace deletes its end of the veth pair, and so the pair.
        for ns in [&self.prober, &self.host] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}
