//! The `ipvet` binary in processes of its own on a test database: `ipvet serve` as an
//! admin or a service manager starts it, and the other commands as a script runs them.

use std::process::Stdio;
use std::time::Duration;

use app::server::config::DatabaseUrl;
use app::server::entities::check_run;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_ipvet");

/// `ipvet` on the database at `url`, listening on a free port without secure cookies, with
/// no first admin password from this environment; killed when dropped.
pub fn ipvet(url: &DatabaseUrl) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("IPVET_DATABASE", url.as_str())
        .env("IPVET_LISTEN", "127.0.0.1:0")
        .env("IPVET_SECURE_COOKIES", "off")
        .env_remove("IPVET_ADMIN_PASSWORD")
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    cmd
}

/// Starts `cmd` (an `ipvet serve`) and reads its stdout up to the "listening" line;
/// returns the process, the address it listens on and the lines it printed before.
pub async fn start_server(cmd: &mut Command) -> (Child, String, Vec<String>) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut before = Vec::new();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(url) = line.strip_prefix("ipvet is listening on ") {
                return url.to_string();
            }
            before.push(line);
        }
        panic!("ipvet serve exited before listening: {before:?}");
    })
    .await
    .expect("server starts within a minute");
    (child, base, before)
}

/// `ipvet serve` on the database at `url`, scheduling a cycle every second under a
/// 3-second lease; it checks nothing in any network (the always-free script, no DNS).
/// `extra` adds (or replaces) `IPVET_` settings.
pub fn server_with(url: &DatabaseUrl, extra: &[(&str, &std::ffi::OsStr)]) -> Child {
    let mut cmd = ipvet(url);
    cmd.env("IPVET_CHECK_PERIOD", "1s")
        .env("IPVET_SCHEDULER_LEASE", "3s")
        .env(
            "IPVET_IP_CHECKER_SCRIPT",
            super::fixture_program("always-free.sh").0,
        )
        .env("IPVET_DNS_RESOLVER", "127.0.0.1:9");
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ipvet starts")
}

/// The process id in a cycle's runner (`host:pid:tag`).
pub fn runner_pid(run: &check_run::Model) -> Option<u32> {
    run.runner.as_deref()?.split(':').nth(1)?.parse().ok()
}

/// Runs a command (an `ipvet` other than `serve`) to completion with `stdin` fed in;
/// (exit code, stdout, stderr).
pub async fn run(mut cmd: Command, stdin: &str) -> (i32, String, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("finishes")
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Signs in to the server at `base` as a browser's form does; answers the status.
pub async fn sign_in(base: &str, name: &str, password: &str) -> u16 {
    let client = super::http_client(base).build().unwrap();
    client
        .post(format!("{base}/api/auth/login"))
        .header("Accept", "application/json")
        .form(&[("name", name), ("password", password)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}
