//! `ipvet agent`: runs at a site, inside networks the server cannot reach. It asks the
//! server for addresses of its site to probe, probes them with the same prober as the
//! server's (its own config's `Probes`, `IpCheckerScript`, concurrency and rate cap) and
//! posts each method's answer; the server does the rest.
//!
//! It keeps going through a server restart or a cut connection: every failed exchange
//! waits a growing back-off (1 s doubling to 30 s) and starts again with a hello. Results
//! it could not post are dropped once their claim would have lapsed: the server hands the
//! addresses out again, so nothing is lost, and a late post is refused anyway.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use reqwest::{StatusCode, Url};
use tokio::sync::Semaphore;

use crate::model::ProbeMethod;
use crate::server::agents::wire;
use crate::server::check::probe::{Availability, Prober};
use crate::server::config::{Config, ProbeMethods};

/// How the agent reaches its server.
#[derive(Clone, Debug)]
pub struct Options {
    /// The server's base URL (`https://ipvet.example.net`).
    pub server: String,
    pub token: String,
    /// Plain HTTP to a host other than loopback (the token would cross the network in
    /// clear): only when asked for.
    pub allow_http: bool,
    /// Trust only this CA (PEM) for the server's certificate, instead of the system's.
    pub ca_file: Option<PathBuf>,
}

/// Why the agent stopped, or could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("{0}")]
    Setup(String),
    #[error("the server refused the agent token (revoked, or not an agent token)")]
    Refused,
}

/// A failed exchange with the server.
#[derive(Debug)]
enum Failed {
    /// The token was refused: nothing will change that.
    Refused,
    /// The server refused the request; its message says why.
    Answered(StatusCode, String),
    /// No answer: the server is down, restarting or out of reach.
    Unreachable(String),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Refused => write!(f, "the agent token was refused"),
            Failed::Answered(status, message) => write!(f, "{status}: {message}"),
            Failed::Unreachable(why) => write!(f, "no answer: {why}"),
        }
    }
}

/// The first back-off after a failed exchange, and the longest.
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// How long the server may hold a request for work open (it answers within 20 s).
const WORK_WAIT: Duration = Duration::from_secs(20);
/// Most addresses asked for at once (the server's most).
const BATCH_MAX: usize = crate::server::agents::work::MAX_BATCH as usize;
/// How long a post of results is retried before it is given up (its claim lapses in
/// about this time anyway).
const POST_TRIES_FOR: Duration = Duration::from_secs(15);

/// The server's URL checked: HTTPS, or plain HTTP to loopback or when allowed.
pub fn server_url(options: &Options) -> Result<Url, AgentError> {
    let mut url = Url::parse(options.server.trim())
        .map_err(|e| AgentError::Setup(format!("--server {}: {e}", options.server)))?;
    match url.scheme() {
        "https" => {}
        "http" => {
            let host = url.host_str().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let loopback =
                host == "localhost" || host.parse::<IpAddr>().is_ok_and(|a| a.is_loopback());
            if !loopback && !options.allow_http {
                return Err(AgentError::Setup(format!(
                    "--server {}: plain HTTP would send the agent token in clear; use \
                     https://, or --allow-http on a network you trust",
                    options.server
                )));
            }
        }
        other => {
            return Err(AgentError::Setup(format!(
                "--server {}: `{other}` is not http or https",
                options.server
            )))
        }
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

fn http_client(options: &Options) -> Result<reqwest::Client, AgentError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(WORK_WAIT + Duration::from_secs(20))
        .user_agent(concat!("ipvet-agent/", env!("CARGO_PKG_VERSION")))
        // The system's roots, as the host's other software trusts them.
        .tls_built_in_webpki_certs(false);
    if let Some(path) = &options.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| AgentError::Setup(format!("--ca-file {}: {e}", path.display())))?;
        let ca = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| AgentError::Setup(format!("--ca-file {}: {e}", path.display())))?;
        builder = builder
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca);
    }
    builder
        .build()
        .map_err(|e| AgentError::Setup(format!("cannot set up HTTPS: {e}")))
}

/// The agent's connection to its server.
struct Server {
    http: reqwest::Client,
    base: Url,
    token: String,
}

impl Server {
    async fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Failed> {
        let url = self
            .base
            .join(path)
            .map_err(|e| Failed::Unreachable(e.to_string()))?;
        let answer = self
            .http
            .post(url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            // The whole chain: "error sending request" alone hides a certificate refused.
            .map_err(|e| Failed::Unreachable(error_chain(&e)))?;
        let status = answer.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(Failed::Refused);
        }
        if !status.is_success() {
            let text = answer.text().await.unwrap_or_default();
            let message = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or(text);
            return Err(Failed::Answered(status, message));
        }
        answer
            .json()
            .await
            .map_err(|e| Failed::Unreachable(format!("an unreadable answer: {e}")))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What the agent can probe with, as it tells the server.
fn hello_of(prober: &Prober) -> wire::Hello {
    let methods: Vec<String> = prober
        .probes
        .opened()
        .map(|m| m.iter().map(|m| m.as_str().to_string()).collect())
        .unwrap_or_default();
    let raw_sockets = prober
        .probes
        .icmp
        .as_ref()
        .is_some_and(|p| p.problem().is_none())
        || prober
            .probes
            .neighbour
            .as_ref()
            .is_some_and(|p| p.problem().is_none());
    wire::Hello {
        version: env!("CARGO_PKG_VERSION").to_string(),
        methods,
        raw_sockets,
        script: prober.runs_scripts(),
    }
}

/// Runs the agent until `stop` resolves; an error only for what retrying cannot mend (a
/// bad setup, a refused token).
pub async fn run(
    options: Options,
    config: &Config,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), AgentError> {
    let base = server_url(&options)?;
    let server = Arc::new(Server {
        http: http_client(&options)?,
        base,
        token: options.token.trim().to_string(),
    });
    let prober = Arc::new(Prober::from_config(config));
    if let Some(problem) = prober.problem() {
        tracing::warn!(%problem, "a probe cannot work here; its checks will be inconclusive");
    }
    let concurrency = if prober.runs_scripts() {
        config.check_concurrency
    } else {
        config.probe_concurrency
    }
    .max(1) as usize;
    tokio::select! {
        r = work(server, prober, concurrency) => r,
        () = stop => Ok(()),
    }
}

/// Hello, then work, for ever; back to hello after any failure, after a back-off.
async fn work(
    server: Arc<Server>,
    prober: Arc<Prober>,
    concurrency: usize,
) -> Result<(), AgentError> {
    let mut backoff = BACKOFF_FIRST;
    let slots = Arc::new(Semaphore::new(concurrency));
    loop {
        let failed = match server
            .post::<_, wire::Welcome>("api/v1/agent/hello", &hello_of(&prober))
            .await
        {
            Ok(welcome) => {
                tracing::info!(agent = %welcome.agent, site = %welcome.site, server = %server.base, "connected");
                backoff = BACKOFF_FIRST;
                serve_work(&server, &prober, &slots).await
            }
            Err(failed) => failed,
        };
        if let Failed::Refused = failed {
            return Err(AgentError::Refused);
        }
        tracing::warn!(cause = %failed, retry_in = ?backoff, "the server did not answer as expected");
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// Asks for work and probes it, as long as the server answers.
async fn serve_work(server: &Arc<Server>, prober: &Arc<Prober>, slots: &Arc<Semaphore>) -> Failed {
    // The claim this process works under, once the server has given it one.
    let mut claim: Option<i64> = None;
    loop {
        // Ask only for what can start at once; wait for a free slot first.
        let free = match slots.clone().acquire_many_owned(1).await {
            Ok(first) => {
                let more = slots.available_permits().min(BATCH_MAX - 1);
                drop(first);
                more + 1
            }
            Err(_) => return Failed::Unreachable("the agent is stopping".into()),
        };
        let asked = wire::WorkRequest {
            max: free as u32,
            wait_ms: Some(WORK_WAIT.as_millis() as u64),
            claim,
        };
        let work: wire::Work = match server.post("api/v1/agent/work", &asked).await {
            Ok(work) => work,
            Err(failed) => return failed,
        };
        if !work.vets.is_empty() {
            // An allocation waits for these: probed at once, beside the cycle's work.
            let (server, prober, vets) = (server.clone(), prober.clone(), work.vets);
            tokio::spawn(async move {
                let vets = probe_all(&prober, vets).await;
                post_results(&server, None, Vec::new(), vets).await;
            });
        }
        let Some(given) = work.claim else { continue };
        claim = Some(given);
        if work.addresses.is_empty() {
            continue;
        }
        let Ok(held) = slots
            .clone()
            .acquire_many_owned(work.addresses.len() as u32)
            .await
        else {
            return Failed::Unreachable("the agent is stopping".into());
        };
        let (server, prober) = (server.clone(), prober.clone());
        tokio::spawn(async move {
            let results = probe_all(&prober, work.addresses).await;
            drop(held);
            post_results(&server, Some(given), results, Vec::new()).await;
        });
    }
}

/// Probes every address of a batch at once (the slots bound how many run), each method's
/// answer apart.
async fn probe_all(prober: &Prober, items: Vec<wire::WorkItem>) -> Vec<wire::AddressResult> {
    let n = items.len().max(1);
    stream::iter(items)
        .map(|item| async move {
            let answers = match item.ip.parse::<IpAddr>() {
                Ok(addr) => {
                    let methods = item.probes.as_ref().and_then(|words| {
                        ProbeMethods::of(words.iter().filter_map(|w| ProbeMethod::parse(w)))
                    });
                    prober
                        .answers(addr, methods.as_ref())
                        .await
                        .into_iter()
                        .map(|(method, answer)| to_wire(method, answer))
                        .collect()
                }
                Err(_) => vec![wire::MethodAnswer {
                    method: "script".into(),
                    outcome: wire::Outcome::Unknown,
                    detail: format!("the agent cannot read the address {}", item.ip),
                }],
            };
            wire::AddressResult {
                id: item.id,
                answers,
            }
        })
        .buffer_unordered(n)
        .collect()
        .await
}

fn to_wire(method: &str, answer: Availability) -> wire::MethodAnswer {
    let (outcome, detail) = match answer {
        Availability::Free => (wire::Outcome::Free, String::new()),
        Availability::InUse(what) => (wire::Outcome::InUse, what),
        Availability::Unknown(why) => (wire::Outcome::Unknown, why),
    };
    wire::MethodAnswer {
        method: method.to_string(),
        outcome,
        // Within what the server takes.
        detail: detail.chars().take(500).collect(),
    }
}

/// Posts a batch's results, retrying while the server is out of reach and the claim may
/// still hold; a refusal is final (the claim lapsed, the cycle ended).
async fn post_results(
    server: &Server,
    claim: Option<i64>,
    results: Vec<wire::AddressResult>,
    vets: Vec<wire::AddressResult>,
) {
    let body = wire::Results {
        claim,
        results,
        vets,
    };
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        match server
            .post::<_, wire::Written>("api/v1/agent/results", &body)
            .await
        {
            Ok(written) => {
                if written.dropped > 0 {
                    tracing::info!(
                        claim,
                        written = written.written,
                        dropped = written.dropped,
                        "some results were no longer wanted"
                    );
                }
                return;
            }
            Err(Failed::Unreachable(why)) if started.elapsed() < POST_TRIES_FOR => {
                tracing::warn!(claim, cause = %why, "posting results failed; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(4));
            }
            Err(failed) => {
                tracing::warn!(claim, cause = %failed, n = body.results.len(), "results dropped; the server will hand the addresses out again");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(server: &str, allow_http: bool) -> Options {
        Options {
            server: server.into(),
            token: String::new(),
            allow_http,
            ca_file: None,
        }
    }

    #[test]
    fn plain_http_only_to_loopback_or_when_allowed() {
        assert!(server_url(&options("https://ipvet.example.net", false)).is_ok());
        assert!(server_url(&options("http://127.0.0.1:3000", false)).is_ok());
        assert!(server_url(&options("http://[::1]:3000", false)).is_ok());
        assert!(server_url(&options("http://localhost:3000", false)).is_ok());
        assert!(matches!(
            server_url(&options("http://198.18.0.1:3000", false)),
            Err(AgentError::Setup(m)) if m.contains("--allow-http")
        ));
        assert!(server_url(&options("http://198.18.0.1:3000", true)).is_ok());
        assert!(server_url(&options("ftp://198.18.0.1", true)).is_err());
        assert!(server_url(&options("not a url", true)).is_err());
        let based = server_url(&options("https://h.example/ipvet", false)).unwrap();
        assert_eq!(
            based.join("api/v1/agent/hello").unwrap().as_str(),
            "https://h.example/ipvet/api/v1/agent/hello"
        );
    }
}
