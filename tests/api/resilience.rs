//! The server under load as processes fail and multiply: killed (SIGKILL)
//! or stopped (SIGTERM) mid-run, and two instances on one PostgreSQL
//! database. Each run prints its figures (`-- --nocapture` shows them).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trustpulse::auth::Role;
use trustpulse::db::{self, Store, aggregates};

use crate::analysis::assert_same;
use crate::helpers::*;

/// What the load saw: submission id → the response id of its 201, and the
/// submission ids whose request got no answer (cut off, or never taken).
#[derive(Default)]
struct Seen {
    acknowledged: BTreeMap<String, String>,
    unanswered: BTreeSet<String>,
    other: usize,
}

/// `clients` tasks each sending fresh submissions to the servers in turn
/// until `stop` is set; returns what they saw.
async fn drive(
    addresses: Vec<String>,
    clients: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> Seen {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (seen, stop, addresses) = (seen.clone(), stop.clone(), addresses.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(20))
                    .build()
                    .unwrap();
                let mut i = 0usize;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let sid = uuid::Uuid::new_v4().to_string();
                    let address = &addresses[(c + i) % addresses.len()];
                    let region = ["volga", "south", "ural"][i % 3];
                    let body = json!({"submission_id": sid, "answers": {"portal_account": "active",
                        "portal_trust": 1 + (c + i) % 5, "region": region}});
                    i += 1;
                    match client
                        .post(format!("{address}{SUBMIT}"))
                        .json(&body)
                        .send()
                        .await
                    {
                        Ok(res) if res.status() == 201 => {
                            let id = res.json::<Value>().await.unwrap()["id"]
                                .as_str()
                                .unwrap()
                                .to_string();
                            seen.lock().unwrap().acknowledged.insert(sid, id);
                        }
                        Ok(_) => seen.lock().unwrap().other += 1,
                        Err(_) => {
                            seen.lock().unwrap().unanswered.insert(sid);
                            // The server is gone: stop this client.
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    Arc::try_unwrap(seen).ok().unwrap().into_inner().unwrap()
}

fn stored_submission_ids(conn: &mut db::DbConnection) -> BTreeMap<String, String> {
    use diesel::prelude::*;
    use trustpulse::db::schema::responses;
    responses::table
        .filter(responses::submission_id.is_not_null())
        .select((responses::submission_id.assume_not_null(), responses::id))
        .load::<(String, String)>(conn)
        .unwrap()
        .into_iter()
        .collect()
}

fn assert_aggregates_exact(conn: &mut db::DbConnection) {
    let survey = db::surveys::find_by_slug(conn, "digital-trust")
        .unwrap()
        .unwrap();
    let kept = aggregates::stored(conn, survey.id).unwrap();
    let scratch = aggregates::scan(conn, survey.id, &survey.definition).unwrap();
    assert_same(&kept, &scratch);
}

/// Loads under 16 clients, sends `signal` mid-run, restarts, retries every
/// unanswered submission: each submission is stored exactly once.
async fn stopped_mid_run(backend: Backend, signal: i32) {
    let Some(test_store) = TestStore::new(backend) else {
        return;
    };
    {
        let mut conn = Store::open(&test_store.url).unwrap().get().unwrap();
        db::seed::ensure_demo_survey(&mut conn).unwrap();
    }
    let rate = [("TRUSTPULSE_SUBMIT_RATE", "1000000")];
    let mut server = ServerProcess::start(&test_store, "first.log", &rate);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = tokio::spawn(drive(vec![server.address.clone()], 16, stop.clone()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stopped_at = Instant::now();
    server.signal(signal);
    let status = tokio::task::spawn_blocking(move || {
        let status = server.wait_exit(Duration::from_secs(15));
        (status, server)
    })
    .await
    .unwrap();
    let (status, server) = status;
    let exited_after = stopped_at.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = load.await.unwrap();
    let status = status.expect("the server exits");
    if signal == libc::SIGTERM {
        assert!(status.success(), "{status:?}: {}", server.log());
    }
    drop(server);

    let mut conn = test_store.connect();
    let stored = stored_submission_ids(&mut conn);
    for (sid, id) in &seen.acknowledged {
        assert_eq!(
            stored.get(sid),
            Some(id),
            "acknowledged submission {sid} lost"
        );
    }
    let stored_unanswered = seen
        .unanswered
        .iter()
        .filter(|s| stored.contains_key(*s))
        .count();
    if signal == libc::SIGTERM {
        // In-flight requests were answered before the exit: nothing was
        // stored that its client did not hear about.
        assert_eq!(stored_unanswered, 0, "stored without an answer");
    }
    assert_eq!(stored.len(), seen.acknowledged.len() + stored_unanswered);
    assert_eq!(seen.other, 0);
    assert_aggregates_exact(&mut conn);

    // After a restart, every unanswered submission sent again is stored once.
    let restarted = ServerProcess::start(&test_store, "second.log", &rate);
    let client = reqwest::Client::new();
    let (mut created, mut repeated) = (0, 0);
    for sid in &seen.unanswered {
        let body = json!({"submission_id": sid, "answers": {"portal_account": "active", "portal_trust": 3}});
        let res = client
            .post(format!("{}{SUBMIT}", restarted.address))
            .json(&body)
            .send()
            .await
            .unwrap();
        match res.status().as_u16() {
            201 => created += 1,
            200 => repeated += 1,
            other => panic!("retry answered {other}"),
        }
    }
    let after = stored_submission_ids(&mut conn);
    assert_eq!(
        after.len(),
        seen.acknowledged.len() + seen.unanswered.len(),
        "each submission stored exactly once"
    );
    assert_eq!(repeated, stored_unanswered);
    assert_aggregates_exact(&mut conn);
    println!(
        "{} on {backend:?}: {} acknowledged before the signal, {} unanswered (in flight or refused at the door), \
         {stored_unanswered} of those stored; exit after {exited_after:?} ({status}); after restart their retries: \
         {created} stored, {repeated} answered as repeats; lost 0, duplicated 0; aggregates equal a rebuild",
        if signal == libc::SIGKILL {
            "SIGKILL"
        } else {
            "SIGTERM"
        },
        seen.acknowledged.len(),
        seen.unanswered.len(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_run_loses_no_acknowledged_submission_on_sqlite() {
    stopped_mid_run(Backend::Sqlite, libc::SIGKILL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_mid_run_loses_no_acknowledged_submission_on_postgres() {
    stopped_mid_run(Backend::Postgres, libc::SIGKILL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_mid_run_answers_what_it_took_and_exits_on_sqlite() {
    stopped_mid_run(Backend::Sqlite, libc::SIGTERM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigterm_mid_run_answers_what_it_took_and_exits_on_postgres() {
    stopped_mid_run(Backend::Postgres, libc::SIGTERM).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_database_store_each_submission_once_and_agree() {
    let Some(test_store) = TestStore::new(Backend::Postgres) else {
        return;
    };
    let token = {
        let mut conn = Store::open(&test_store.url).unwrap().get().unwrap();
        db::seed::ensure_demo_survey(&mut conn).unwrap();
        let today = chrono::Utc::now().date_naive();
        db::tokens::create(&mut conn, Role::Researcher, "test", today)
            .unwrap()
            .1
    };
    let rate = [("TRUSTPULSE_SUBMIT_RATE", "1000000")];
    let a = ServerProcess::start(&test_store, "a.log", &rate);
    let b = ServerProcess::start(&test_store, "b.log", &rate);
    let client = reqwest::Client::new();

    // The same submission sent to both at once: one response.
    for _ in 0..20 {
        let body = json!({"submission_id": uuid::Uuid::new_v4(), "answers": {"portal_account": "never", "portal_trust": 2}});
        let (x, y) = tokio::join!(
            client
                .post(format!("{}{SUBMIT}", a.address))
                .json(&body)
                .send(),
            client
                .post(format!("{}{SUBMIT}", b.address))
                .json(&body)
                .send(),
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        let mut statuses = [x.status().as_u16(), y.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [200, 201]);
        let (x, y): (Value, Value) = (x.json().await.unwrap(), y.json().await.unwrap());
        assert_eq!(x["id"], y["id"]);
    }

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = tokio::spawn(drive(
        vec![a.address.clone(), b.address.clone()],
        16,
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = load.await.unwrap();
    assert!(seen.unanswered.is_empty() && seen.other == 0);

    let mut conn = test_store.connect();
    let stored = stored_submission_ids(&mut conn);
    assert_eq!(stored.len(), seen.acknowledged.len() + 20);
    for (sid, id) in &seen.acknowledged {
        assert_eq!(stored.get(sid), Some(id));
    }
    assert_aggregates_exact(&mut conn);
    // Either instance gives the same figures, today's answers included.
    let series = |address: String| {
        let (client, token) = (client.clone(), token.clone());
        async move {
            let url = format!(
                "{address}/api/v1/surveys/digital-trust/series?question=portal_trust&interval=day&by=region"
            );
            let res = client.get(url).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status(), 200);
            let mut body: Value = res.json().await.unwrap();
            body["meta"]["generated_at"] = Value::Null;
            body
        }
    };
    let (from_a, from_b) = (
        series(a.address.clone()).await,
        series(b.address.clone()).await,
    );
    assert_eq!(from_a, from_b);
    let total: i64 = from_a["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["n"].as_i64())
        .sum();
    assert!(total > 0, "{from_a}");
    println!(
        "two instances on one PostgreSQL database: {} submissions acknowledged (+20 sent to both at once, each stored once), \
         {} stored, aggregates equal a rebuild, the series from each instance identical",
        seen.acknowledged.len(),
        stored.len()
    );
}
