//! The test harness: a fresh database per test (a temp SQLite file or a new PostgreSQL
//! database), the real application on port 0, and a real HTTP receiver that records what
//! it gets and answers as scripted. Waiting is always on a condition with a deadline.
//! Its modules hold the helpers that tests of more than one file share; a test module
//! imports from here and from the library, never from another test module.

pub mod auth;
pub mod browser;
pub mod check;
pub mod console;
pub mod contracts;
pub mod egress;
pub mod gateway;
pub mod listen;
pub mod netpay;
pub mod outbox;
pub mod payment_notices;
pub mod payments;
pub mod platform;
pub mod process;
pub mod receiver;
pub mod rotation;
pub mod triggers;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use ums_notify::clock::Clock;
use ums_notify::config::ServeArgs;
use ums_notify::delivery::Dispatcher;
use ums_notify::outbox::{Store, StoreOptions};
use ums_notify::startup::Application;

pub use receiver::{Receiver, Reply};

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// Runs each named test function once per backend, with the same code, handing it a
/// fresh database. Without a PostgreSQL server (and not required), the PostgreSQL run
/// says it skipped on the terminal instead of passing silently.
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::TestDb::new($crate::common::Backend::Sqlite).await {
                        super::$name(db).await
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::common::TestDb::new($crate::common::Backend::Postgres).await {
                        super::$name(db).await
                    }
                }
            )*
        }
    };
}

/// Says a test skipped, on the terminal: libtest captures `eprintln!`, not writes to the
/// stderr handle.
pub fn say_skipped(why: &str) {
    use std::io::Write as _;
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {why}");
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server the tests create their databases on.
pub fn postgres_server_url() -> String {
    std::env::var("UMS_NOTIFY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A connection pool to the PostgreSQL server itself, for what only a superuser does to a
/// test database (ending its connections, closing it to new ones).
pub async fn postgres_server() -> sqlx::PgPool {
    sqlx::PgPool::connect(&postgres_server_url())
        .await
        .expect("the PostgreSQL server")
}

/// Whether a missing PostgreSQL server fails the tests instead of skipping them.
pub fn postgres_required() -> bool {
    std::env::var("UMS_NOTIFY_REQUIRE_POSTGRES").is_ok_and(|v| v == "1" || v == "true")
}

fn database_url(server: &str, name: &str) -> String {
    let mut url = url::Url::parse(server).expect("UMS_NOTIFY_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// Drops the databases earlier runs left behind, once per test binary.
async fn clean_old_databases(admin: &sqlx::PgPool) {
    static ONCE: OnceCell<()> = OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT datname FROM pg_database WHERE datname LIKE 'ums_test_%' \
             AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = pg_database.datname)",
        )
        .fetch_all(admin)
        .await
        .unwrap_or_default();
        for name in names {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
                .execute(admin)
                .await;
        }
    })
    .await;
}

/// A fresh database. Dropping it removes an SQLite file; PostgreSQL databases are
/// removed by the next test run.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A new empty database, or `None` (after saying so) when the backend is PostgreSQL
    /// and no server is reachable and it is not required.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                Some(Self {
                    backend,
                    url,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let server = postgres_server_url();
                let admin = match sqlx::postgres::PgPoolOptions::new()
                    .max_connections(2)
                    .acquire_timeout(Duration::from_secs(5))
                    .connect(&server)
                    .await
                {
                    Ok(pool) => pool,
                    Err(error) => {
                        if postgres_required() {
                            panic!("PostgreSQL is required but {server} is not reachable: {error}");
                        }
                        say_skipped(&format!("PostgreSQL not reachable at {server}: {error}"));
                        return None;
                    }
                };
                clean_old_databases(&admin).await;
                let name = format!("ums_test_{}", uuid_like());
                sqlx::query(&format!("CREATE DATABASE \"{name}\""))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                Some(Self {
                    backend,
                    url: database_url(&server, &name),
                    _dir: None,
                })
            }
        }
    }

    /// The name of this database on its server (PostgreSQL).
    pub fn database_name(&self) -> String {
        url::Url::parse(&self.url)
            .expect("a database URL")
            .path()
            .trim_start_matches('/')
            .to_owned()
    }

    /// A store on this database, migrated, for checks the API does not show.
    pub async fn store(&self) -> Arc<dyn Store> {
        ums_notify::outbox::open(&self.url, &StoreOptions::default())
            .await
            .expect("open store")
    }

    /// The settings a test app starts from: port 0, this database, an admin token, and
    /// fast timings.
    pub fn settings(&self) -> ServeArgs {
        let mut args = ServeArgs::from_env().expect("default settings");
        args.listen = "127.0.0.1:0".parse().expect("addr");
        args.database.database_url = self.url.clone();
        args.admin_token = Some(ADMIN_TOKEN.to_owned());
        args.request_timeout = Duration::from_secs(5);
        args.lease = Duration::from_secs(30);
        args.shutdown_grace = Duration::from_secs(5);
        args
    }

    pub async fn spawn(&self, configure: impl FnOnce(&mut ServeArgs)) -> TestApp {
        self.spawn_with_clock(Clock::system(), configure).await
    }

    pub async fn spawn_with_clock(
        &self,
        clock: Clock,
        configure: impl FnOnce(&mut ServeArgs),
    ) -> TestApp {
        let mut settings = self.settings();
        configure(&mut settings);
        let app = Application::build(settings, clock.clone())
            .await
            .expect("application builds");
        start(app, clock)
    }

    /// The application without its dispatcher loop, and a dispatcher to step by hand:
    /// nothing is delivered but what [`Dispatcher::step`] tries.
    pub async fn spawn_stepped(&self, clock: Clock) -> (TestApp, Dispatcher) {
        let app = Application::build(self.settings(), clock.clone())
            .await
            .expect("application builds");
        let dispatcher = app.dispatcher().expect("a dispatcher");
        (start(app.without_dispatcher(), clock), dispatcher)
    }
}

/// Runs a built application in the background.
fn start(app: Application, clock: Clock) -> TestApp {
    {
        let addr = app.local_addr().expect("bound");
        let store = app.store();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.run(shutdown.clone()));
        TestApp {
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
            shutdown,
            handle: Some(handle),
            store,
            clock,
        }
    }
}

/// A random suffix for database names.
pub fn uuid_like() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect()
}

/// A running application.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub shutdown: CancellationToken,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
    pub store: Arc<dyn Store>,
    pub clock: Clock,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An admin request with the token.
    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(ADMIN_TOKEN)
    }

    /// POSTs JSON to the admin API and returns status and body.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    /// PATCHes JSON to the admin API and returns status and body.
    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::PATCH, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.admin(method, path);
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// How many notifications are stored in every status, by `GET /admin/v1/stats`.
    pub async fn stored_total(&self) -> u64 {
        let (status, stats) = self.get("/admin/v1/stats").await;
        assert_eq!(status, 200, "{stats}");
        ["pending", "delivering", "delivered", "failed", "cancelled"]
            .iter()
            .map(|s| stats[s].as_u64().unwrap())
            .sum()
    }

    /// Enqueues a notification and returns its id.
    pub async fn enqueue(&self, body: Value) -> i64 {
        let (status, created) = self.post("/admin/v1/notifications", body).await;
        assert_eq!(status, 201, "enqueue failed: {created}");
        created["id"].as_i64().expect("id")
    }

    /// Sends a batch that must be accepted; returns the answer.
    pub async fn enqueue_batch(&self, items: Vec<Value>) -> Value {
        let body = serde_json::json!({ "notifications": items });
        let (status, answer) = self.post("/admin/v1/notifications/batch", body).await;
        assert_eq!(status, 201, "batch enqueue failed: {answer}");
        answer
    }

    pub async fn notification(&self, id: i64) -> Value {
        let (status, body) = self.get(&format!("/admin/v1/notifications/{id}")).await;
        assert_eq!(status, 200, "{body}");
        body
    }

    /// Polls the notification until `done` holds, and returns it; fails after `within`
    /// saying what was awaited and what was last seen.
    async fn wait_until(
        &self,
        id: i64,
        what: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let last = self.notification(id).await;
            if done(&last) {
                return last;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "notification {id}: {what} did not happen within {within:?}; last seen: {last:#}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until the notification has the status, and returns it.
    pub async fn wait_for_status(&self, id: i64, status: &str, within: Duration) -> Value {
        self.wait_until(id, &format!("status {status}"), within, |n| {
            n["status"] == status
        })
        .await
    }

    /// Waits until the notification is pending again after exactly `attempts` tries (a
    /// try recorded, not merely a notification not yet tried).
    pub async fn wait_for_retry(&self, id: i64, attempts: u64, within: Duration) -> Value {
        self.wait_until(
            id,
            &format!("pending after {attempts} tries"),
            within,
            |n| n["status"] == "pending" && n["attempts"] == attempts,
        )
        .await
    }

    pub async fn metrics(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text")
    }

    /// Stops the application as SIGTERM would and waits for it to finish.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            tokio::time::timeout(Duration::from_secs(30), handle)
                .await
                .expect("application stops within 30s")
                .expect("application task")
                .expect("application exits cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Polls `condition` until it holds or `within` passes; returns whether it held.
pub async fn eventually<F, Fut>(within: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The value of a metric series in Prometheus text, such as
/// `ums_notify_attempts_total{outcome="success"}`.
pub fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
}
