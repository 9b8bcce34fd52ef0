//! Settings from the command line and the environment, validated once and
//! passed to the app (no globals, so every test builds its own).

use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::db::DatabaseUrl;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/trustpulse.db";
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_METRICS_BIND: &str = "127.0.0.1:9464";

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub bind: String,
    /// Where /metrics is served (never on the public port: its counters show
    /// submissions arriving); None: not served.
    pub metrics_bind: Option<String>,
    /// Largest accepted request body, in bytes.
    pub max_body: usize,
    /// Smallest published cell (METHODS: never below 10).
    pub min_cell: u32,
    /// Submissions a minute per client address.
    pub submit_rate: u32,
    /// The one proxy whose X-Forwarded-For is believed.
    pub trusted_proxy: Option<IpAddr>,
    /// Log lines as JSON objects (for collectors) instead of text.
    pub log_json: bool,
    /// How long a client may take to send a request's headers (slow clients).
    pub request_timeout: Duration,
    /// How long an idle keep-alive connection stays open.
    pub keep_alive: Duration,
    /// The chart catalogue's folder (one TOML file per chart).
    pub charts_dir: std::path::PathBuf,
    /// How often the INFO log sums up the requests served.
    pub log_summary: Duration,
}

impl Settings {
    /// Defaults for everything but the store (tests and library users).
    pub fn new(database_url: DatabaseUrl) -> Self {
        Settings {
            database_url,
            bind: DEFAULT_BIND.into(),
            metrics_bind: Some(DEFAULT_METRICS_BIND.into()),
            max_body: 65_536,
            min_cell: 30,
            submit_rate: 30,
            trusted_proxy: None,
            log_json: false,
            request_timeout: Duration::from_secs(10),
            keep_alive: Duration::from_secs(30),
            charts_dir: "charts".into(),
            log_summary: Duration::from_secs(60),
        }
    }

    /// Reads the `TRUSTPULSE_*` variables that have no command-line flag.
    pub fn from_env(database_url: DatabaseUrl, bind: String) -> anyhow::Result<Self> {
        let mut settings = Settings::new(database_url);
        settings.bind = bind;
        settings.metrics_bind = match var("TRUSTPULSE_METRICS_BIND").as_deref() {
            None | Some("") => Some(DEFAULT_METRICS_BIND.into()),
            Some("off") => None,
            Some(addr) => Some(addr.to_string()),
        };
        if let Some(v) = var("TRUSTPULSE_MAX_BODY") {
            settings.max_body = parse("TRUSTPULSE_MAX_BODY", &v)?;
            if settings.max_body < 1024 {
                bail!("TRUSTPULSE_MAX_BODY must be at least 1024 bytes, got {v}");
            }
        }
        if let Some(v) = var("TRUSTPULSE_MIN_CELL") {
            settings.min_cell = parse("TRUSTPULSE_MIN_CELL", &v)?;
            if settings.min_cell < 10 {
                bail!(
                    "TRUSTPULSE_MIN_CELL must be 10 or more (smaller cells can reveal single answers), got {v}"
                );
            }
        }
        if let Some(v) = var("TRUSTPULSE_SUBMIT_RATE") {
            settings.submit_rate = parse("TRUSTPULSE_SUBMIT_RATE", &v)?;
            if settings.submit_rate == 0 {
                bail!("TRUSTPULSE_SUBMIT_RATE must be at least 1 a minute");
            }
        }
        if let Some(v) = var("TRUSTPULSE_TRUSTED_PROXY").filter(|v| !v.is_empty()) {
            settings.trusted_proxy = Some(parse("TRUSTPULSE_TRUSTED_PROXY", &v)?);
        }
        if let Some(v) = var("TRUSTPULSE_REQUEST_TIMEOUT") {
            settings.request_timeout =
                Duration::from_secs(parse("TRUSTPULSE_REQUEST_TIMEOUT", &v)?);
        }
        if let Some(v) = var("TRUSTPULSE_KEEP_ALIVE") {
            settings.keep_alive = Duration::from_secs(parse("TRUSTPULSE_KEEP_ALIVE", &v)?);
        }
        if let Some(v) = var("TRUSTPULSE_LOG_SUMMARY") {
            let seconds: u64 = parse("TRUSTPULSE_LOG_SUMMARY", &v)?;
            if seconds == 0 {
                bail!("TRUSTPULSE_LOG_SUMMARY must be at least 1 second");
            }
            settings.log_summary = Duration::from_secs(seconds);
        }
        if let Some(v) = var("TRUSTPULSE_CHARTS").filter(|v| !v.is_empty()) {
            settings.charts_dir = v.into();
        }
        settings.log_json = match var("TRUSTPULSE_LOG_FORMAT").as_deref() {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => bail!("TRUSTPULSE_LOG_FORMAT must be text or json, got {other:?}"),
        };
        Ok(settings)
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn parse<T: std::str::FromStr>(name: &str, value: &str) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    value
        .trim()
        .parse()
        .with_context(|| format!("{name} has an invalid value {value:?}"))
}
