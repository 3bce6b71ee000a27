//! Test harness, shared by the integration tests and the benchmarks: the real application
//! on port 0 with a fresh database per test — SQLite by default, PostgreSQL when
//! `IPVET_TEST_POSTGRES` names a server — driven over HTTP by [`TestApp`], one method per
//! thing a test does to it, and the fixtures around it: checker scripts, a DNS server
//! ([`dns`]), network namespaces ([`netns`]) and `ipvet` processes ([`process`]).
//!
//! A benchmark includes this file with `#[path]`, so it names its own submodules by
//! `self::` and `super::` only, never by `crate::`.

pub mod dns;
pub mod netns;
pub mod process;
pub mod receivers;
pub mod tls;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use app::model::{AddressStatus, Role, Trigger, ZoneHealth};
use app::server::auth::guard::Caller;
use app::server::check::dnsbl::resolver;
use app::server::check::probe::Prober;
use app::server::check::{cycle, Checker, Engine};
use app::server::config::{Config, ConfigValue, DatabaseUrl, ProgramPath};
use app::server::entities::{address, check_run, dnsbl_zone, network_count};
use app::server::{admin::users, AppState};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait,
    QueryFilter, Set,
};
use serde_json::Value;
use server::startup::Application;
use tokio::sync::oneshot;

/// A database that exists for one test and is removed after it.
pub struct TestDb {
    kind: TestDbKind,
    #[cfg(test)]
    _watched: watchdog::Watched,
}

enum TestDbKind {
    /// Held so the directory lives as long as the test.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        server: String,
        name: String,
    },
}

impl TestDbKind {
    fn watched(self) -> TestDb {
        TestDb {
            kind: self,
            #[cfg(test)]
            _watched: watchdog::Watched::start(),
        }
    }
}

impl TestDb {
    /// SQLite, or PostgreSQL when `IPVET_TEST_POSTGRES` names a server.
    pub async fn new() -> (TestDb, DatabaseUrl) {
        let postgres = std::env::var("IPVET_TEST_POSTGRES")
            .ok()
            .filter(|s| !s.is_empty());
        Self::on(postgres.as_deref()).await
    }

    /// A new database on the PostgreSQL server `postgres` (a URL without a database
    /// name), or in a temporary directory of its own with SQLite when `None`: a benchmark
    /// that measures both backends in one run picks each in turn.
    pub async fn on(postgres: Option<&str>) -> (TestDb, DatabaseUrl) {
        match postgres {
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
                (TestDbKind::Postgres { server, name }.watched(), url)
            }
            None => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = DatabaseUrl::parse_value(&format!(
                    "sqlite://{}",
                    dir.path().join("ipvet.db").display()
                ))
                .unwrap();
                (TestDbKind::Sqlite(dir).watched(), url)
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDbKind::Postgres { server, name } = &self.kind {
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
fn uuid_like() -> String {
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

/// A checker script written for one test; removed with the value.
pub struct Script {
    _dir: tempfile::TempDir,
    pub path: ProgramPath,
}

/// Writes `body` as a shell script of its own.
pub fn script(body: &str) -> Script {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checker.sh");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    Script {
        _dir: dir,
        path: ProgramPath(path),
    }
}

/// How many processes of this machine have `marker` in their command line.
pub fn processes_running(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| {
            String::from_utf8_lossy(c)
                .replace('\0', " ")
                .contains(marker)
        })
        .count()
}

/// Creates a user directly in the database and returns its password.
pub async fn add_user(db: &DatabaseConnection, name: &str, role: Role) -> String {
    let password = format!("{name} pass phrase 123");
    users::create(db, name, role, password.clone())
        .await
        .expect("create user");
    password
}

/// The user "admin" (made with [`add_user`]), acting in this process on the database at
/// `url` that other instances share.
pub async fn admin_caller(url: &DatabaseUrl) -> Caller {
    let config = Config {
        database: url.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        disable_ip_allocation_checking: true,
        ..Default::default()
    };
    let state = server::startup::prepare(config).await.unwrap();
    let user = users::find_by_name(&state.db, "admin").await.unwrap();
    Caller {
        user,
        state,
        client_addr: "test".into(),
    }
}

/// Asks `probe` every `every`, at most `limit / every` times, until it answers `Some`;
/// `None` if it never did. The one wait of the tests: each says what it waits for.
pub async fn poll<T>(
    limit: Duration,
    every: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> Option<T> {
    let tries = (limit.as_millis() / every.as_millis().max(1)).max(1);
    for _ in 0..tries {
        if let Some(found) = probe().await {
            return Some(found);
        }
        tokio::time::sleep(every).await;
    }
    None
}

/// How long any one request of a test may take before the test fails: the slowest
/// legitimate answer (a cycle started, a page of a large network) takes a second or two,
/// and a hung request must fail its test rather than hold up the whole run.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Where every test's HTTP client of the server at `base` (`http://host:port`) starts:
/// redirects are the tests' to follow, no request waits forever, and each request carries
/// the `Origin` a browser showing the server's pages sends, without which the pages and
/// server functions refuse a state change.
pub fn http_client(base: &str) -> reqwest::ClientBuilder {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ORIGIN,
        base.parse()
            .expect("a server's base address is a header value"),
    );
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .default_headers(headers)
}

/// The addresses of a page of rows (an address list or the Problem IPs), in order.
pub fn row_addresses(page: &Value) -> Vec<String> {
    page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap().to_string())
        .collect()
}

/// The networks' counts match the rows: nothing was left half-written.
pub async fn assert_counts_match_rows(db: &DatabaseConnection) {
    let mut counted: BTreeMap<(i64, AddressStatus), i64> = BTreeMap::new();
    for c in network_count::Entity::find().all(db).await.unwrap() {
        if c.n != 0 {
            counted.insert((c.network_id, c.status), c.n);
        }
    }
    let mut actual: BTreeMap<(i64, AddressStatus), i64> = BTreeMap::new();
    // Free addresses are not counted: a network's free count is its size less the rest.
    for row in address::Entity::find()
        .filter(address::Column::Status.ne(AddressStatus::Free))
        .all(db)
        .await
        .unwrap()
    {
        *actual.entry((row.network_id, row.status)).or_default() += 1;
    }
    assert_eq!(counted, actual, "network counts against the rows");
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    db: Option<TestDb>,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Starts the app with a configuration adjusted by `tweak`.
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_on(TestDb::new().await, tweak).await
    }

    /// Starts the app on the database `db` (from [`TestDb`]), which it keeps and removes
    /// when it stops.
    pub async fn spawn_on(db: (TestDb, DatabaseUrl), tweak: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_listening(db, None, tweak).await
    }

    /// Starts the app on a fresh database, serving on `listener` (bound in another network
    /// namespace, say).
    pub async fn spawn_on_listener(
        listener: std::net::TcpListener,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        Self::spawn_listening(TestDb::new().await, Some(listener), tweak).await
    }

    async fn spawn_listening(
        (db, url): (TestDb, DatabaseUrl),
        listener: Option<std::net::TcpListener>,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        log_when_asked();
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
        let app = match listener {
            None => Application::build(config).await,
            Some(listener) => {
                listener.set_nonblocking(true).unwrap();
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                Application::build_on(config, listener).await
            }
        }
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
            db: Some(db),
        }
    }

    /// Stops the server as a service manager would (in-flight requests get to finish) and
    /// starts it again on the same database, serving on what `listen` binds once the old
    /// server is gone (its port, say), configured by `tweak`. What it ran in the
    /// background outside the server (a cycle) is not stopped.
    pub async fn restart_on(
        mut self,
        listen: impl FnOnce() -> std::net::TcpListener,
        tweak: impl FnOnce(&mut Config),
    ) -> TestApp {
        let url = self.state.config().database.clone();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("the server stops");
        }
        let db = self.db.take().expect("the app's database");
        Self::spawn_listening((db, url), Some(listen()), tweak).await
    }

    /// Creates a user directly in the database and returns its password.
    pub async fn add_user(&self, name: &str, role: Role) -> String {
        add_user(&self.state.db, name, role).await
    }

    /// A client that keeps cookies and does not follow redirects (so they can be asserted).
    pub fn client(&self) -> reqwest::Client {
        http_client(&self.base).cookie_store(true).build().unwrap()
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

    /// [`TestApp::call`], answering the status and the JSON body: the function's value,
    /// or its error.
    pub async fn call_fn(
        &self,
        client: &reqwest::Client,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        error_of(self.call(client, path, form).await).await
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

    /// Imports `csv` into network `net` as `client`, through the page's server function;
    /// fails the test unless every line is taken.
    pub async fn import_csv(&self, client: &reqwest::Client, net: &str, csv: &str) {
        let (status, report) = self
            .call_fn(
                client,
                "/api/addresses/import",
                &[("network_id", net), ("csv", csv)],
            )
            .await;
        assert_eq!(status, 200, "{report}");
    }

    /// Network `net`'s CSV export, as `client` downloads it.
    pub async fn export_csv(&self, client: &reqwest::Client, net: &str) -> String {
        client
            .get(format!("{}/networks/{net}/addresses.csv", self.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// The secret of a new API token of the existing user `name`.
    pub async fn token_of(&self, name: &str) -> String {
        let user = users::find_by_name(&self.state.db, name).await.unwrap();
        app::server::auth::tokens::create(&self.state.db, &user, "tests")
            .await
            .unwrap()
            .secret
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

    /// Asks the server to create the network `cidr`, named "test net"; its answer.
    pub async fn create_network(&self, admin: &reqwest::Client, cidr: &str) -> (u16, Value) {
        self.call_fn(
            admin,
            "/api/networks/create",
            &[("cidr", cidr), ("name", "test net"), ("description", "")],
        )
        .await
    }

    /// Creates the network `cidr` and returns its id, as the allocation forms send it.
    pub async fn new_network(&self, admin: &reqwest::Client, cidr: &str) -> String {
        let (status, net) = self.create_network(admin, cidr).await;
        assert_eq!(status, 200, "{net}");
        net["id"].to_string()
    }

    /// Creates the network `cidr` with each of `ips` allocated and released, so they are
    /// being checked; returns the network's id.
    pub async fn network_with_released(
        &self,
        admin: &reqwest::Client,
        cidr: &str,
        ips: &[&str],
    ) -> String {
        let id = self.new_network(admin, cidr).await;
        for ip in ips {
            let form = [
                ("network_id", id.as_str()),
                ("address", ip),
                ("owner", "o"),
                ("hostname", ""),
                ("note", ""),
            ];
            let (status, body) = self.call_fn(admin, "/api/addresses/allocate", &form).await;
            assert_eq!(status, 200, "{body}");
            let (status, body) = self
                .call_fn(admin, "/api/addresses/release", &[("address", ip)])
                .await;
            assert_eq!(status, 200, "{body}");
        }
        id
    }

    /// After an allocation that was cut off (its checks ran out of time): network `net`
    /// still has `free` free addresses, and within `within` no process with `marker` in its
    /// command line (the checker script's) is left.
    pub async fn assert_cut_off_cleanly(
        &self,
        client: &reqwest::Client,
        net: &str,
        free: &str,
        marker: &str,
        within: Duration,
    ) {
        let (status, got) = self
            .call_fn(client, "/api/networks/get", &[("network_id", net)])
            .await;
        assert_eq!(status, 200, "{got}");
        assert_eq!(got["free"], free, "nothing was allocated: {got}");
        let gone = poll(within, Duration::from_millis(100), async || {
            (processes_running(marker) == 0).then_some(())
        })
        .await;
        assert!(
            gone.is_some(),
            "a checker script ({marker}) outlived the request that started it"
        );
    }

    /// An address's detail: its row, its network and its history, newest first.
    pub async fn detail(&self, client: &reqwest::Client, ip: &str) -> Value {
        let (status, body) = self
            .call_fn(client, "/api/addresses/detail", &[("address", ip)])
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Adds the DNSBL zone `zone`, enabled and not yet tested, straight to the database:
    /// the first cycle self-tests it.
    pub async fn add_zone(&self, zone: &str) {
        dnsbl_zone::ActiveModel {
            zone: Set(zone.into()),
            enabled: Set(true),
            health: Set(ZoneHealth::NeverTested),
            created_at: Set(time::OffsetDateTime::now_utc()),
            ipv6: Set(false),
            ..Default::default()
        }
        .insert(&self.state.db)
        .await
        .unwrap();
    }

    /// Starts a cycle through the server function and waits (bounded) for it to finish.
    pub async fn run_cycle(&self, client: &reqwest::Client) -> check_run::Model {
        let (status, id) = self.call_fn(client, "/api/checks/run_now", &[]).await;
        assert_eq!(status, 200, "{id}");
        self.wait_for_run(id.as_i64().unwrap()).await
    }

    /// Runs one cycle to its end here, on an engine around `prober` (one whose sockets
    /// were opened inside a test network, say).
    pub async fn run_cycle_with(&self, prober: Prober) -> cycle::Ended {
        let checker = Checker {
            prober,
            dnsbl: resolver::Client::from_config(&self.state.config()),
            disable_ipv6: false,
            counters: Default::default(),
        };
        let engine = Engine::with_checker(checker, 64);
        let started = cycle::start(&self.state, &engine, Trigger::Manual)
            .await
            .unwrap();
        cycle::run(&self.state, &engine, started, |_| {})
            .await
            .unwrap()
    }

    /// Waits up to a minute for cycle `id` to finish.
    pub async fn wait_for_run(&self, id: i64) -> check_run::Model {
        self.wait_for_run_within(id, Duration::from_secs(60)).await
    }

    /// Waits up to `limit` for cycle `id` to finish, and fails the test if it does not.
    pub async fn wait_for_run_within(&self, id: i64, limit: Duration) -> check_run::Model {
        poll(limit, Duration::from_millis(100), async || {
            let run = check_run::Entity::find_by_id(id)
                .one(&self.state.db)
                .await
                .unwrap()
                .unwrap();
            run.finished_at.is_some().then_some(run)
        })
        .await
        .unwrap_or_else(|| panic!("check cycle {id} did not finish in {limit:?}"))
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

/// The status and JSON body of a server function's answer: its value, or its error.
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

/// With `IPVET_TEST_LOG` set (an env-filter, e.g. `ipvet::statements=trace`), a test prints
/// the server's log: what a failing test did, without a debugger.
fn log_when_asked() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(filter) = std::env::var("IPVET_TEST_LOG") {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
                .with_test_writer()
                .try_init();
        }
    });
}

/// Ends the whole test run when one test has hung. A test that waits on something that
/// never comes (a request never answered, a lock never released) would otherwise hold up
/// the run until CI's own limit kills it, with no word of which test it was; every test
/// with a database is watched from the moment it makes one.
#[cfg(test)]
mod watchdog {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, Once};
    use std::time::{Duration, Instant};

    /// Far beyond the slowest test (the shared cycle of 20,000 addresses on two
    /// processes takes under a minute).
    const LIMIT: Duration = Duration::from_secs(600);

    static RUNNING: Mutex<BTreeMap<u64, (String, Instant)>> = Mutex::new(BTreeMap::new());
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static STARTED: Once = Once::new();

    /// One test under watch, until dropped.
    pub struct Watched(u64);

    impl Watched {
        pub fn start() -> Watched {
            STARTED.call_once(|| {
                std::thread::spawn(watch);
            });
            let id = NEXT.fetch_add(1, Ordering::Relaxed);
            // libtest names each test's thread after the test.
            let name = std::thread::current()
                .name()
                .unwrap_or("a test")
                .to_string();
            running().insert(id, (name, Instant::now()));
            Watched(id)
        }
    }

    impl Drop for Watched {
        fn drop(&mut self) {
            running().remove(&self.0);
        }
    }

    fn running() -> std::sync::MutexGuard<'static, BTreeMap<u64, (String, Instant)>> {
        RUNNING.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lives as long as the test process.
    fn watch() {
        loop {
            std::thread::sleep(Duration::from_secs(5));
            let hung: Vec<String> = running()
                .values()
                .filter(|(_, since)| since.elapsed() > LIMIT)
                .map(|(name, _)| name.clone())
                .collect();
            if !hung.is_empty() {
                eprintln!(
                    "test(s) {} ran for over {LIMIT:?} and must have hung; ending the test run",
                    hung.join(", ")
                );
                std::process::exit(101);
            }
        }
    }
}
