//! Availability by an external script, as IPmanager runs `IpCheckerScript`: the address is
//! the first argument, and a first line of output that is exactly `OK` means nothing
//! answers there. Any other output means the address is in use.
//!
//! The script is run as safely as a program chosen by an administrator can be: no shell,
//! an absolute path, a cleared environment, stdin closed, output capped, and its own
//! process group, which is killed whole when the script ends or runs out of time, so a
//! script that leaves `sleep 1000` behind leaves nothing.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

use crate::server::check::probe::Availability;

/// Bytes of stdout and of stderr kept; the rest is read and dropped.
const OUTPUT_CAP: usize = 4096;
/// The only environment the script gets.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Clone, Debug)]
pub struct ScriptChecker {
    program: PathBuf,
    timeout: Duration,
}

/// Reads all of `from`, keeping the first `OUTPUT_CAP` bytes.
async fn read_capped(mut from: impl AsyncRead + Unpin) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = OUTPUT_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// Kills every process left in the group `pgid`.
fn kill_group(pgid: u32) {
    // SAFETY: killpg only sends a signal; a group that is gone answers ESRCH.
    unsafe {
        libc::killpg(pgid as libc::pid_t, libc::SIGKILL);
    }
}

/// Kills the script's group if the check is dropped before it ends (an allocation whose
/// time ran out, say), so nothing it started outlives the check.
struct GroupGuard(Option<u32>);

impl GroupGuard {
    /// The check ends the group itself from here on.
    fn disarm(&mut self) -> Option<u32> {
        self.0.take()
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            kill_group(pgid);
        }
    }
}

/// What a script's output means: the first line exactly `OK` is free, anything else is
/// in use. A script that printed nothing and failed did not check anything.
pub fn judge(stdout: &[u8], stderr: &[u8], success: bool, status: &str) -> Availability {
    let text = String::from_utf8_lossy(stdout);
    let first = text.lines().next().unwrap_or("");
    if first.trim_end_matches('\r') == "OK" {
        return Availability::Free;
    }
    if text.trim().is_empty() && !success {
        let err = String::from_utf8_lossy(stderr);
        let err = err.lines().next().unwrap_or("").trim();
        return Availability::Unknown(if err.is_empty() {
            format!("the checker script failed ({status}) and printed nothing")
        } else {
            format!("the checker script failed ({status}): {err}")
        });
    }
    let shown = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    Availability::InUse(if shown.is_empty() {
        "the checker script did not print OK".to_string()
    } else {
        format!("checker script: {}", shown.trim())
    })
}

impl ScriptChecker {
    pub fn new(program: &Path, timeout: Duration) -> ScriptChecker {
        ScriptChecker {
            program: program.to_path_buf(),
            timeout,
        }
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    pub async fn check(&self, addr: IpAddr) -> Availability {
        let mut command = Command::new(&self.program);
        command
            .arg(addr.to_string())
            .env_clear()
            .env("PATH", PATH)
            .env("LANG", "C")
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(c) => c,
            Err(e) => {
                return Availability::Unknown(format!(
                    "cannot run the checker script {}: {e}",
                    self.program.display()
                ))
            }
        };
        let Some(pgid) = child.id() else {
            return Availability::Unknown("the checker script vanished at start".into());
        };
        let mut group = GroupGuard(Some(pgid));
        let stdout = read_capped(child.stdout.take().expect("piped"));
        let stderr = read_capped(child.stderr.take().expect("piped"));
        let output = tokio::spawn(async move { tokio::join!(stdout, stderr) });
        let status = tokio::time::timeout(self.timeout, child.wait()).await;
        // Whatever the script left running goes with it, which also closes the pipes a
        // background child may still hold. (Once the script is reaped its pid could in
        // principle be reused, but not while its group has members, which is the case
        // that matters.)
        if let Some(pgid) = group.disarm() {
            kill_group(pgid);
        }
        let status = match status {
            Err(_elapsed) => {
                let _ = child.wait().await;
                Err(())
            }
            Ok(status) => Ok(status),
        };
        // A process that left the group (setsid) could hold the pipes open; don't wait on it.
        let (out, err) = tokio::time::timeout(Duration::from_secs(1), output)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        match status {
            Err(()) => Availability::Unknown(format!(
                "the checker script took longer than {} and was killed",
                humantime::format_duration(self.timeout)
            )),
            Ok(Err(e)) => Availability::Unknown(format!("waiting for the checker script: {e}")),
            Ok(Ok(status)) => {
                use std::os::unix::process::ExitStatusExt;
                if let Some(signal) = status.signal() {
                    return Availability::Unknown(format!(
                        "the checker script was killed by signal {signal}"
                    ));
                }
                judge(&out, &err, status.success(), &status.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_first_line_of_ok_means_free() {
        assert_eq!(judge(b"OK\n", b"", true, ""), Availability::Free);
        assert_eq!(judge(b"OK\r\nmore\n", b"", true, ""), Availability::Free);
        assert_eq!(
            judge(b"", b"", true, "exit status: 0"),
            Availability::InUse("the checker script did not print OK".into())
        );
        assert_eq!(
            judge(b"ok\n", b"", true, ""),
            Availability::InUse("checker script: ok".into())
        );
        assert_eq!(
            judge(b" OK\n", b"", true, ""),
            Availability::InUse("checker script: OK".into())
        );
        assert_eq!(
            judge(b"64 bytes from 198.18.0.2\n", b"", false, "exit status: 1"),
            Availability::InUse("checker script: 64 bytes from 198.18.0.2".into())
        );
        assert_eq!(
            judge(b"", b"ping: not found\n", false, "exit status: 127"),
            Availability::Unknown(
                "the checker script failed (exit status: 127): ping: not found".into()
            )
        );
    }
}
