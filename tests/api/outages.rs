//! Outages: the store goes away or fills up while the server runs. Requests
//! get a JSON 503 within a second (no hang, no panic), /healthz says so, and
//! service comes back by itself when the store does.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use trustpulse::db::{self, DatabaseUrl, Store};

use crate::helpers::*;

/// A TCP proxy in front of PostgreSQL: `stop` closes every connection and
/// refuses new ones, as a stopped server does; `start` listens again.
struct Proxy {
    port: u16,
    upstream: String,
    accepting: Mutex<Option<tokio::task::JoinHandle<()>>>,
    links: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn new(upstream: &str) -> Arc<Proxy> {
        let port = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let proxy = Arc::new(Proxy {
            port,
            upstream: upstream.to_string(),
            accepting: Mutex::new(None),
            links: Arc::default(),
        });
        proxy.start().await;
        proxy
    }

    async fn start(&self) {
        // The stopped listener is dropped by its aborted task a moment later.
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(e) if tries < 100 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("the proxy's port {}: {e}", self.port),
            }
        };
        let (upstream, links) = (self.upstream.clone(), self.links.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                links.lock().unwrap().push(link);
            }
        });
        *self.accepting.lock().unwrap() = Some(task);
    }

    async fn stop(&self) {
        if let Some(task) = self.accepting.lock().unwrap().take() {
            task.abort();
        }
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
        // Let the aborted tasks drop their sockets (and the listener).
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn timed(request: reqwest::RequestBuilder) -> (u16, Value, Duration) {
    let started = Instant::now();
    let res = request.send().await.expect("an answer, not a hang");
    let status = res.status().as_u16();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    (status, body, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_postgres_stops_requests_get_a_json_503_within_a_second_and_service_resumes() {
    let Some(test_store) = TestStore::new(Backend::Postgres) else {
        return;
    };
    {
        let mut conn = Store::open(&test_store.url).unwrap().get().unwrap();
        db::seed::ensure_demo_survey(&mut conn).unwrap();
    }
    let DatabaseUrl::Postgres(url) = &test_store.url else {
        unreachable!()
    };
    let proxy = Proxy::new("127.0.0.1:5432").await;
    let proxied = url.replacen("127.0.0.1:5432", &format!("127.0.0.1:{}", proxy.port), 1);
    assert_ne!(&proxied, url, "the test store's URL names 127.0.0.1:5432");
    let server = ServerProcess::start_with(
        &test_store,
        "server.log",
        &[("TRUSTPULSE_SUBMIT_RATE", "1000000")],
        &proxied,
        None,
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let submit = || {
        client
            .post(format!("{}{SUBMIT}", server.address))
            .json(&json!({"answers": minimal_answers()}))
    };
    let series = || {
        client.get(format!(
            "{}/api/v1/surveys/digital-trust/series?question=portal_trust",
            server.address
        ))
    };
    let health = || client.get(format!("{}/healthz", server.address));
    assert_eq!(timed(submit()).await.0, 201);
    assert_eq!(timed(series()).await.0, 200);

    proxy.stop().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (what, request) in [
        ("submission", submit()),
        ("series", series()),
        ("health", health()),
    ] {
        let (status, body, took) = timed(request).await;
        assert_eq!(status, 503, "{what}: {body}");
        assert!(took < Duration::from_secs(1), "{what} took {took:?}");
        let field = if what == "health" {
            &body["status"]
        } else {
            &body["error"]
        };
        assert_eq!(field, "unavailable", "{what}: {body}");
    }

    proxy.start().await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _, _) = timed(submit()).await;
        if status == 201 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "service did not resume: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(timed(health()).await.0, 200);
    assert_eq!(timed(series()).await.0, 200);
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        log.contains("store is unavailable") || log.contains("cannot take the submission"),
        "the log says what failed: {log}"
    );
}

/// In the server process, before it starts: a file-size limit lifted
/// later, and SIGXFSZ ignored so that a write past the limit fails as on a
/// full disk instead of killing the process.
fn ignore_file_size_signal() -> std::io::Result<()> {
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    Ok(())
}

fn limit_file_size(pid: i32, bytes: u64) {
    let limit = libc::rlimit {
        rlim_cur: bytes,
        rlim_max: libc::RLIM_INFINITY,
    };
    assert_eq!(
        unsafe { libc::prlimit(pid, libc::RLIMIT_FSIZE, &limit, std::ptr::null_mut()) },
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_sqlite_file_cannot_grow_submissions_get_a_json_503_and_resume_after() {
    let test_store = TestStore::new(Backend::Sqlite).unwrap();
    {
        let mut conn = Store::open(&test_store.url).unwrap().get().unwrap();
        db::seed::ensure_demo_survey(&mut conn).unwrap();
    }
    let env = [("TRUSTPULSE_SUBMIT_RATE", "1000000"), ("RUST_LOG", "info")];
    let server = ServerProcess::start_with(
        &test_store,
        "server.log",
        &env,
        &test_store.url_string(),
        Some(ignore_file_size_signal),
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let submit = || {
        client
            .post(format!("{}{SUBMIT}", server.address))
            .json(&json!({"answers": minimal_answers()}))
    };
    assert_eq!(timed(submit()).await.0, 201);

    // No file of the process may grow past the store's size now (its small
    // log may, up to that size).
    let DatabaseUrl::Sqlite(path) = &test_store.url else {
        unreachable!()
    };
    let wal = std::fs::metadata(format!("{}-wal", path.display()))
        .map(|m| m.len())
        .unwrap_or(0);
    let main = std::fs::metadata(path).unwrap().len();
    limit_file_size(server.pid(), main.max(wal) + 8192);
    let mut refused = 0;
    for _ in 0..200 {
        let (status, body, took) = timed(submit()).await;
        assert!(took < Duration::from_secs(1), "took {took:?}");
        match status {
            201 => continue,
            503 => {
                assert_eq!(body["error"], "unavailable", "{body}");
                refused += 1;
                break;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!(refused, 1, "the file never filled up");
    let stored_before = {
        let mut conn = test_store.connect();
        let id = db::surveys::find_by_slug(&mut conn, "digital-trust")
            .unwrap()
            .unwrap()
            .id;
        db::responses::count(&mut conn, id).unwrap()
    };

    limit_file_size(server.pid(), libc::RLIM_INFINITY);
    let (status, body, _) = timed(submit()).await;
    assert_eq!(status, 201, "{body}");
    let mut conn = test_store.connect();
    let survey = db::surveys::find_by_slug(&mut conn, "digital-trust")
        .unwrap()
        .unwrap();
    assert_eq!(
        db::responses::count(&mut conn, survey.id).unwrap(),
        stored_before + 1
    );
    let kept = db::aggregates::stored(&mut conn, survey.id).unwrap();
    let scratch = db::aggregates::scan(&mut conn, survey.id, &survey.definition).unwrap();
    crate::analysis::assert_same(&kept, &scratch);
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        log.contains("the store cannot take the submission"),
        "{log}"
    );
}
