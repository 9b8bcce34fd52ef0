//! Logs and metrics. A request's log line names its id, route pattern,
//! method, status and latency: never the client's address, the raw path, a
//! query string (it may hold an invitation code) or any response id.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::db::Store;

/// Sets up the global log subscriber (once per process; later calls are no-ops).
pub fn init_logging(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

/// The service's Prometheus metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    responses_stored: IntCounterVec,
    pool_in_use: IntGauge,
    pool_max: IntGauge,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "trustpulse_http_requests_total",
                "HTTP requests by route pattern, method and status",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "trustpulse_http_request_duration_seconds",
                "HTTP request latency by route pattern, method and status",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let responses_stored = IntCounterVec::new(
            Opts::new(
                "trustpulse_responses_stored_total",
                "Survey responses stored by this process",
            ),
            &["survey"],
        )
        .expect("valid metric");
        let pool_in_use = IntGauge::new(
            "trustpulse_db_pool_connections_in_use",
            "Store connections handed out at scrape time",
        )
        .expect("valid metric");
        let pool_max = IntGauge::new(
            "trustpulse_db_pool_connections_max",
            "Size of the store connection pool",
        )
        .expect("valid metric");
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(responses_stored.clone()),
            Box::new(pool_in_use.clone()),
            Box::new(pool_max.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        Metrics {
            registry,
            requests,
            latency,
            responses_stored,
            pool_in_use,
            pool_max,
        }
    }

    pub fn response_stored(&self, survey: &str) {
        self.responses_stored.with_label_values(&[survey]).inc();
    }

    fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let mut digits = [0u8; 3];
        let status = status_label(status, &mut digits);
        let labels = [route, method, status];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition format, with the pool read at this moment.
    pub fn render(&self, store: &Store) -> String {
        self.pool_in_use.set(i64::from(store.connections_in_use()));
        self.pool_max.set(i64::from(store.max_connections()));
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// A status as a metric label, written into `digits` (no allocation).
fn status_label(status: u16, digits: &mut [u8; 3]) -> &str {
    let status = status.clamp(100, 999);
    for (i, digit) in digits.iter_mut().enumerate() {
        *digit = b'0' + (status / 10u16.pow(2 - i as u32) % 10) as u8;
    }
    std::str::from_utf8(digits).expect("ASCII digits")
}

/// A method as a metric label: the standard ones, else `other` (a label per
/// made-up method would grow the registry without bound).
fn method_label(method: &actix_web::http::Method) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let name = method.as_str();
    KNOWN
        .iter()
        .find(|known| **known == name)
        .unwrap_or(&"other")
}

/// The routes respondents use: the questionnaire and the submissions.
pub fn is_respondent_route(route: &str) -> bool {
    route.starts_with("/s/") || route == "/api/v1/surveys/{slug}/responses"
}

/// What the INFO log says about requests: one summary line a minute (counts
/// by status class, latency quantiles), written by the first request after
/// the minute is up; per-request lines are DEBUG. Respondents' requests are
/// left out (their count per minute would date answers; /metrics counts them).
pub struct RequestSummary {
    every: u64,
    started: Instant,
    /// Seconds since `started` when the current window began.
    window_start: AtomicU64,
    by_class: [AtomicU64; 5],
    /// Request counts by latency: bucket k holds latencies below 2^k µs.
    latency: [AtomicU64; 32],
}

impl RequestSummary {
    /// A summary line every `every` (at least a second).
    pub fn new(every: std::time::Duration) -> Self {
        RequestSummary {
            every: every.as_secs().max(1),
            started: Instant::now(),
            window_start: AtomicU64::new(0),
            by_class: Default::default(),
            latency: Default::default(),
        }
    }

    fn record(&self, status: u16, seconds: f64) {
        let class = usize::from((status / 100).clamp(1, 5)) - 1;
        self.by_class[class].fetch_add(1, Ordering::Relaxed);
        let micros = (seconds * 1e6) as u64;
        let bucket = (64 - micros.leading_zeros() as usize).min(31);
        self.latency[bucket].fetch_add(1, Ordering::Relaxed);
        let now = self.started.elapsed().as_secs();
        let start = self.window_start.load(Ordering::Relaxed);
        if now >= start + self.every
            && self
                .window_start
                .compare_exchange(start, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.flush(now - start);
        }
    }

    /// Logs the window's counts and starts the next (counts taken by swap:
    /// requests finishing meanwhile fall into one window or the next).
    fn flush(&self, seconds: u64) {
        let classes: Vec<u64> = self
            .by_class
            .iter()
            .map(|c| c.swap(0, Ordering::Relaxed))
            .collect();
        let buckets: Vec<u64> = self
            .latency
            .iter()
            .map(|c| c.swap(0, Ordering::Relaxed))
            .collect();
        let total: u64 = classes.iter().sum();
        // The upper bound of the bucket holding the q-th request, in ms.
        let quantile = |q: f64| {
            let rank = ((total as f64) * q).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (k, n) in buckets.iter().enumerate() {
                seen += n;
                if seen >= rank {
                    return (1u64 << k) as f64 / 1e3;
                }
            }
            f64::INFINITY
        };
        tracing::info!(
            seconds,
            requests = total,
            ok = classes[1] + classes[0],
            redirects = classes[2],
            client_errors = classes[3],
            server_errors = classes[4],
            p50_ms_at_most = quantile(0.5),
            p99_ms_at_most = quantile(0.99),
            "requests in the last window (respondents' requests not included)"
        );
    }
}

tokio::task_local! {
    static REQUEST_ID: RequestId;
}

/// The id of the request being served on this task, if any.
pub fn current_request_id() -> Option<RequestId> {
    REQUEST_ID.try_with(|id| *id).ok()
}

/// A request id: 128 random bits as 32 hex digits, kept on the stack.
#[derive(Clone, Copy)]
pub struct RequestId([u8; 32]);

impl RequestId {
    /// From a per-thread generator (drawing from the operating system per
    /// request cost a system call each).
    fn new() -> Self {
        use rand::{Rng, SeedableRng};
        thread_local! {
            static IDS: std::cell::RefCell<rand_chacha::ChaCha8Rng> = std::cell::RefCell::new({
                let mut seed = [0u8; 32];
                getrandom::fill(&mut seed).expect("the operating system's random source");
                rand_chacha::ChaCha8Rng::from_seed(seed)
            });
        }
        let bits: u128 = IDS.with(|ids| ids.borrow_mut().random());
        let mut hex = [0u8; 32];
        for (i, digit) in hex.iter_mut().enumerate() {
            *digit = b"0123456789abcdef"[((bits >> (124 - 4 * i)) & 0xf) as usize];
        }
        RequestId(hex)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Middleware: request id, a DEBUG line, the metrics and the INFO summary
/// for every request.
pub async fn observe_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let method = method_label(req.method());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let summary = req.app_data::<web::Data<RequestSummary>>().cloned();
    let request_id = RequestId::new();
    // A DEBUG span (free when not logged); an error logged at any level names
    // its request through the task-local id.
    let span =
        tracing::debug_span!("request", request_id = %request_id, route = %route, method = %method);
    let result = REQUEST_ID
        .scope(request_id, next.call(req).instrument(span.clone()))
        .await;
    let status = match &result {
        Ok(res) => res.status().as_u16(),
        Err(e) => e.as_response_error().status_code().as_u16(),
    };
    let seconds = started.elapsed().as_secs_f64();
    let latency_ms = (seconds * 1e6).round() / 1e3;
    span.in_scope(|| tracing::debug!(status, latency_ms, "request"));
    if let Some(summary) = summary.filter(|_| !is_respondent_route(&route)) {
        summary.record(status, seconds);
    }
    if let Some(metrics) = metrics {
        metrics.observe(&route, method, status, seconds);
    }
    let mut res = result?;
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        res.headers_mut()
            .insert(HeaderName::from_static("x-request-id"), value);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_labels_are_the_three_digits() {
        let mut digits = [0u8; 3];
        assert_eq!(status_label(201, &mut digits), "201");
        assert_eq!(status_label(404, &mut digits), "404");
        assert_eq!(status_label(503, &mut digits), "503");
    }

    #[test]
    fn request_ids_are_32_hex_digits_and_differ() {
        let (a, b) = (RequestId::new(), RequestId::new());
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(a.to_string(), a.as_str());
    }
}
