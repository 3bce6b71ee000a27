//! Alert receivers on loopback: a webhook endpoint that verifies each request's signature
//! as a receiver should, and can be told to fail its first tries; and a real SMTP server
//! (aiosmtpd, from PyPI) that parses each mail it gets.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// One request a webhook receiver got.
#[derive(Clone, Debug)]
pub struct Hook {
    pub at: Instant,
    pub delivery: String,
    /// Whether `X-Ipvet-Signature` is the HMAC of `X-Ipvet-Timestamp` and the body under
    /// the receiver's secret.
    pub signed: bool,
    pub body: Value,
    /// What the receiver answered.
    pub status: u16,
}

#[derive(Default)]
struct Inner {
    secret: String,
    fail_first: usize,
    got: Vec<Hook>,
}

/// A webhook receiver at `url`.
pub struct WebhookReceiver {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(ts), Some(sig)) = (header("x-ipvet-timestamp"), header("x-ipvet-signature")) else {
        return false;
    };
    let Some(hex_sig) = sig.strip_prefix("v1=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    // A receiver refuses old timestamps, which makes a captured request useless later.
    let fresh = ts
        .parse::<i64>()
        .is_ok_and(|t| (time::OffsetDateTime::now_utc().unix_timestamp() - t).abs() < 300);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    fresh && mac.verify_slice(&sig).is_ok()
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut inner = inner.lock().unwrap();
    let status = if inner.got.len() < inner.fail_first {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    };
    let hook = Hook {
        at: Instant::now(),
        delivery: headers
            .get("x-ipvet-delivery")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string(),
        signed: verify(&inner.secret, &headers, &body),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        status: status.as_u16(),
    };
    inner.got.push(hook);
    status
}

impl WebhookReceiver {
    /// A receiver verifying with `secret` that answers 500 to its first `fail_first`
    /// requests and 200 after.
    pub async fn start(secret: &str, fail_first: usize) -> WebhookReceiver {
        let inner = Arc::new(Mutex::new(Inner {
            secret: secret.to_string(),
            fail_first,
            got: Vec::new(),
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookReceiver {
            url: format!("http://{addr}/hook"),
            inner,
            task,
        }
    }

    /// Every request so far.
    pub fn got(&self) -> Vec<Hook> {
        self.inner.lock().unwrap().got.clone()
    }

    /// The requests answered 200.
    pub fn accepted(&self) -> Vec<Hook> {
        self.got().into_iter().filter(|h| h.status == 200).collect()
    }

    /// Waits (at most `limit`) until `n` requests were answered 200.
    pub async fn wait_accepted(&self, n: usize, limit: Duration) -> Vec<Hook> {
        let start = Instant::now();
        loop {
            let got = self.accepted();
            if got.len() >= n || start.elapsed() > limit {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One mail the SMTP server got, as it parsed it.
#[derive(Clone, Debug)]
pub struct Mail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub subject: String,
    pub from: String,
    pub to: String,
    pub body: String,
}

/// aiosmtpd on a loopback port, its mails read from its output.
pub struct SmtpReceiver {
    pub port: u16,
    _child: Child,
    mails: Arc<Mutex<Vec<Mail>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl SmtpReceiver {
    pub async fn start() -> SmtpReceiver {
        let python = std::env::var("IPVET_SMTP_PYTHON").expect(
            "IPVET_SMTP_PYTHON names a Python with aiosmtpd (.ci/install-tools.sh smtp-python)",
        );
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/smtp_receiver.py"
        );
        let mut child = Command::new(python)
            .arg(script)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the SMTP receiver starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("the receiver says its port");
            line.strip_prefix("listening ")
                .and_then(|p| p.trim().parse::<u16>().ok())
                .unwrap_or_else(|| panic!("unexpected first line {line}"))
        })
        .await
        .expect("the SMTP receiver listens within 30 s");
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        let reader = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let v: Value = serde_json::from_str(&line).expect("a JSON line per mail");
                let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                kept.lock().unwrap().push(Mail {
                    mail_from: text("mail_from"),
                    rcpt_tos: v["rcpt_tos"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|r| r.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default(),
                    subject: text("subject"),
                    from: text("from"),
                    to: text("to"),
                    body: text("body"),
                });
            }
        });
        SmtpReceiver {
            port,
            _child: child,
            mails,
            reader,
        }
    }

    /// Waits (at most `limit`) for `n` mails; every mail so far.
    pub async fn wait_mails(&self, n: usize, limit: Duration) -> Vec<Mail> {
        let start = Instant::now();
        loop {
            let got = self.mails.lock().unwrap().clone();
            if got.len() >= n || start.elapsed() > limit {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpReceiver {
    fn drop(&mut self) {
        self.reader.abort();
    }
}
