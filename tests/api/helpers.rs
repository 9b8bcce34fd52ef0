//! Starting the real server against a fresh store, in process or as the
//! built binary, and talking HTTP to it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::Duration;

use diesel::prelude::*;
use trustpulse::config::Settings;
use trustpulse::db::{self, DatabaseUrl, DbConnection, Store};

pub use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh store that cleans up after itself: a temp SQLite file, or a new
/// PostgreSQL database that is dropped at the end of the test.
pub struct TestStore {
    pub url: DatabaseUrl,
    pub dir: tempfile::TempDir,
    pg_admin: Option<(String, String)>,
}

static SKIP_NOTICE: Once = Once::new();

impl TestStore {
    pub fn new(backend: Backend) -> Option<TestStore> {
        let dir = tempfile::tempdir().expect("a temp dir");
        match backend {
            Backend::Sqlite => Some(TestStore {
                url: DatabaseUrl::Sqlite(dir.path().join("trustpulse.db")),
                dir,
                pg_admin: None,
            }),
            Backend::Postgres => {
                let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
                    SKIP_NOTICE.call_once(|| {
                        // Straight to the process's stderr: libtest hides println! of passing tests.
                        let _ = writeln!(
                            std::io::stderr(),
                            "\n*** PostgreSQL suite SKIPPED: set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) to run it ***\n"
                        );
                    });
                    return None;
                };
                let name = format!("trustpulse_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin)
                    .unwrap_or_else(|e| panic!("TEST_DATABASE_URL is set but unreachable: {e}"));
                diesel::sql_query(format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .expect("creating a test database");
                Some(TestStore {
                    url: DatabaseUrl::Postgres(with_database(&admin, &name)),
                    dir,
                    pg_admin: Some((admin, name)),
                })
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self.url {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn url_string(&self) -> String {
        match &self.url {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => url.clone(),
        }
    }

    pub fn sqlite_path(&self) -> Option<&Path> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => Some(path),
            DatabaseUrl::Postgres(_) => None,
        }
    }

    /// A direct connection for inspecting what the server stored.
    pub fn connect(&self) -> DbConnection {
        db::connection::establish(&self.url).expect("connecting to the test store")
    }

    /// Drops the PostgreSQL database now, even with the server connected.
    pub fn drop_database(&mut self) {
        if let Some((admin, name)) = self.pg_admin.take() {
            let mut conn = PgConnection::establish(&admin).expect("admin connection");
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .expect("dropping the test database");
        }
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        self.drop_database();
    }
}

/// The same server URL with another database name (keeps any `?params`).
fn with_database(url: &str, name: &str) -> String {
    let (base, params) = match url.split_once('?') {
        Some((b, p)) => (b, format!("?{p}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_part = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    format!("{host_part}/{name}{params}")
}

/// The server, in this process, on a free port.
pub struct TestApp {
    pub address: String,
    /// Where /metrics is served when it has its own listener.
    pub metrics_address: Option<String>,
    pub client: reqwest::Client,
    pub store: Store,
    pub test_store: TestStore,
}

/// The server with a submission limit high enough not to get in the way.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, |s| s.submit_rate = 100_000).await
}

pub async fn spawn_app_with(
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> Option<TestApp> {
    let test_store = TestStore::new(backend)?;
    if std::env::var("TEST_LOG").is_ok() {
        trustpulse::telemetry::init_logging(false);
    }
    let mut settings = Settings::new(test_store.url.clone());
    // Tests run side by side: each server's metrics on a port of its own.
    settings.metrics_bind = Some("127.0.0.1:0".into());
    settings.charts_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/charts").into();
    adjust(&mut settings);
    let store = Store::open(&test_store.url).expect("opening the test store");
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let address = format!("http://{}", listener.local_addr().unwrap());
    let metrics_listener = settings
        .metrics_bind
        .as_ref()
        .map(|addr| TcpListener::bind(addr).expect("a free metrics port"));
    let metrics_address = metrics_listener
        .as_ref()
        .map(|l| format!("http://{}", l.local_addr().unwrap()));
    for server in trustpulse::start_server(settings, store.clone(), listener, metrics_listener)
        .expect("starting the server")
    {
        tokio::spawn(server);
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Some(TestApp {
        address,
        metrics_address,
        client,
        store,
        test_store,
    })
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let body = serde_urlencoded::to_string(fields).unwrap();
        self.client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST form")
    }

    pub async fn submit(&self, answers: Value) -> reqwest::Response {
        self.post_json(SUBMIT, &json!({ "answers": answers })).await
    }

    /// Loads the demo survey (no responses) straight into the store.
    pub fn with_demo_survey(&self) -> i32 {
        let mut conn = self.store.get().unwrap();
        db::seed::ensure_demo_survey(&mut conn).unwrap()
    }

    pub fn response_count(&self, survey_id: i32) -> i64 {
        let mut conn = self.store.get().unwrap();
        db::responses::count(&mut conn, survey_id).unwrap()
    }
}

/// The hidden fields of a rendered form.
pub struct Rendered {
    pub html: String,
    pub submission_id: String,
    pub form_token: String,
}

pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!(r#"name="{name}" value=""#);
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_string())
}

impl TestApp {
    /// GETs a form page and reads its submission id and form token.
    pub async fn render_form(&self, path: &str) -> Rendered {
        let html = self.get(path).await.text().await.unwrap();
        Rendered {
            submission_id: hidden_field(&html, "submission_id").expect("a submission_id field"),
            form_token: hidden_field(&html, "form_token").expect("a form_token field"),
            html,
        }
    }

    /// Posts answers through a freshly rendered form, as a browser would.
    pub async fn post_rendered(&self, path: &str, extra: &[(&str, &str)]) -> reqwest::Response {
        let form = self.render_form(path).await;
        let mut fields = vec![
            ("submission_id", form.submission_id.as_str()),
            ("form_token", form.form_token.as_str()),
        ];
        fields.extend_from_slice(extra);
        self.post_form(path.split('?').next().unwrap(), &fields)
            .await
    }
}

pub const SUBMIT: &str = "/api/v1/surveys/digital-trust/responses";

pub fn minimal_answers() -> Value {
    json!({"portal_account": "active", "portal_trust": 4})
}

/// Runs a test body on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
#[macro_export]
macro_rules! on_both_stores {
    ($(async fn $name:ident($app:ident) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;
                #[allow(unused_mut)]
                async fn run(mut $app: $crate::helpers::TestApp) $body

                #[tokio::test]
                async fn sqlite() {
                    run($crate::helpers::spawn_app($crate::helpers::Backend::Sqlite).await.unwrap()).await
                }

                #[tokio::test]
                async fn postgres() {
                    if let Some(app) = $crate::helpers::spawn_app($crate::helpers::Backend::Postgres).await {
                        run(app).await
                    }
                }
            }
        )*
    };
}

/// The built `trustpulse` binary, serving one store, with its logs in a file.
pub struct ServerProcess {
    pub child: Child,
    pub address: String,
    pub log_path: PathBuf,
}

impl ServerProcess {
    pub fn start(store: &TestStore, log_name: &str, env: &[(&str, &str)]) -> ServerProcess {
        Self::start_with(store, log_name, env, &store.url_string(), None)
    }

    /// As `start`, on another URL for the same store (a proxy in front of
    /// it), running `before_exec` in the child before the binary starts.
    pub fn start_with(
        store: &TestStore,
        log_name: &str,
        env: &[(&str, &str)],
        url: &str,
        before_exec: Option<fn() -> std::io::Result<()>>,
    ) -> ServerProcess {
        let log_path = store.dir.path().join(log_name);
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_trustpulse"));
        if let Some(hook) = before_exec {
            use std::os::unix::process::CommandExt;
            // Only async-signal-safe calls happen in the hook (signal, setrlimit).
            unsafe { command.pre_exec(hook) };
        }
        command
            .args(["--database-url", url, "serve", "--bind", "127.0.0.1:0"])
            .env_remove("TRUSTPULSE_DATABASE_URL")
            .env_remove("TRUSTPULSE_BIND")
            .env("TRUSTPULSE_METRICS_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(log);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("starting the trustpulse binary");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the server's first line");
        let address = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| {
                panic!(
                    "no address in {line:?}; log: {}",
                    std::fs::read_to_string(&log_path).unwrap_or_default()
                )
            })
            .to_string();
        ServerProcess {
            child,
            address: format!("http://{address}"),
            log_path,
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, signal: i32) {
        let pid = self.child.id() as i32;
        assert_eq!(
            unsafe { libc::kill(pid, signal) },
            0,
            "sending signal {signal}"
        );
    }

    /// Waits for the process to exit; None if it is still running after `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
