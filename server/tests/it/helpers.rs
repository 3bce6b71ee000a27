//! Test harness: the real application on port 0 with a fresh database per test — SQLite by
//! default, PostgreSQL when `IPVET_TEST_POSTGRES` names a server — driven over HTTP.

use std::net::SocketAddr;

use app::model::Role;
use app::server::config::{Config, ConfigValue, DatabaseUrl, ProgramPath};
use app::server::{admin::users, AppState};
use sea_orm::{ConnectionTrait, Database};
use server::startup::Application;
use tokio::sync::oneshot;

/// A database that exists for one test and is removed after it.
pub enum TestDb {
    /// Held so the directory lives as long as the test.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        server: String,
        name: String,
    },
}

impl TestDb {
    pub async fn new() -> (TestDb, DatabaseUrl) {
        match std::env::var("IPVET_TEST_POSTGRES")
            .ok()
            .filter(|s| !s.is_empty())
        {
            Some(server) => {
                let server = server.trim_end_matches('/').to_string();
                let name = format!("ipvet_test_{}", uuid_like());
                let admin = Database::connect(format!("{server}/postgres"))
                    .await
                    .expect("connect to PostgreSQL");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let url = DatabaseUrl::parse_value(&format!("{server}/{name}")).unwrap();
                (TestDb::Postgres { server, name }, url)
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = DatabaseUrl::parse_value(&format!(
                    "sqlite://{}",
                    dir.path().join("ipvet.db").display()
                ))
                .unwrap();
                (TestDb::Sqlite(dir), url)
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { server, name } = self {
            let (server, name) = (server.clone(), name.clone());
            // Drop runs inside the test's runtime; use a thread with a runtime of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(format!("{server}/postgres")).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

/// Unique enough for database names within one machine.
pub fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A script under `server/tests/fixtures`, as a config value.
pub fn fixture_program(name: &str) -> ProgramPath {
    ProgramPath(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _db: TestDb,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app with a configuration adjusted by `tweak`.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let (db, url) = TestDb::new().await;
        let mut config = Config {
            database: url,
            listen: "127.0.0.1:0".parse().unwrap(),
            secure_cookies: false,
            // Tests send nothing into the network unless they set up their own: the
            // availability check is a script that finds every address free.
            ip_checker_script: Some(fixture_program("always-free.sh")),
            // Nor DNS: a test that asks a zone without its own server gets "connection
            // refused" from a closed loopback port, never the machine's resolver.
            dns_resolver: Some("127.0.0.1:9".parse().unwrap()),
            ..Default::default()
        };
        tweak(&mut config);
        let app = Application::build(config)
            .await
            .expect("application starts");
        let addr = app.addr;
        let state = app.state.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.serve(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestApp {
            addr,
            base: format!("http://{addr}"),
            state,
            shutdown: Some(tx),
            server: Some(server),
            _db: db,
        }
    }

    /// Creates a user directly in the database and returns its password.
    pub async fn add_user(&self, name: &str, role: Role) -> String {
        let password = format!("{name} pass phrase 123");
        users::create(&self.state.db, name, role, password.clone())
            .await
            .expect("create user");
        password
    }

    /// A client that keeps cookies and does not follow redirects (so they can be asserted).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    /// Calls a server function as the hydrated app does: form-encoded, JSON back.
    pub async fn call(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(format!("{}{}", self.base, path))
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn login(
        &self,
        client: &reqwest::Client,
        name: &str,
        password: &str,
    ) -> reqwest::Response {
        self.call(
            client,
            "/api/auth/login",
            &[("name", name), ("password", password)],
        )
        .await
    }

    /// A signed-in client for a new user of `role`.
    pub async fn signed_in(&self, name: &str, role: Role) -> reqwest::Client {
        let password = self.add_user(name, role).await;
        let client = self.client();
        let res = self.login(&client, name, &password).await;
        assert_signed_in(&res);
        client
    }

    /// Who the server thinks `client` is.
    pub async fn whoami(&self, client: &reqwest::Client) -> Option<String> {
        let res = self.call(client, "/api/auth/me", &[]).await;
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        body.get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// The `error` of a failed server function call, as JSON.
pub async fn error_of(res: reqwest::Response) -> (u16, serde_json::Value) {
    let status = res.status().as_u16();
    let body = res.text().await.unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
    )
}

/// A server-function client (JSON) that signed in gets 200 and is told to go to "/".
pub fn assert_signed_in(res: &reqwest::Response) {
    assert_eq!(res.status(), 200, "sign-in refused");
    assert_eq!(
        res.headers().get("location").map(|l| l.to_str().unwrap()),
        Some("/")
    );
}
