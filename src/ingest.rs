//! Group commit: every submission of a process is stored by one writer
//! thread, in batches. A request checks its answers on its own thread, puts
//! them on a bounded queue and waits; the writer takes what has queued (up to
//! `MAX_BATCH`, without waiting for more: a lone submission is stored at once,
//! and under load a batch fills while the previous one commits), stores the
//! batch in one durable transaction with its aggregate sums merged, and only
//! then answers each request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use diesel::result::Error as DieselError;
use tokio::sync::{mpsc, oneshot};

use crate::db::responses::{self, Stored};
use crate::db::{self, Checkpoint, DbConnection, Store};
use crate::submission::{self, Checked, Refusal};

/// At most this many submissions per transaction: a batch's aggregate rows
/// stay locked (PostgreSQL) or the store's write lock held (SQLite) for one
/// commit, so a bound keeps readers and other instances from waiting long.
const MAX_BATCH: usize = 256;

/// Submissions waiting beyond this many make new requests wait to be queued.
const QUEUE_LENGTH: usize = 4096;

struct Job {
    checked: Checked,
    reply: oneshot::Sender<Result<Stored, Refusal>>,
}

/// The way to the writer; cheap to clone. The writer stops when every
/// handle is dropped and the queue is empty.
#[derive(Clone)]
pub struct Ingest {
    queue: mpsc::Sender<Job>,
}

impl Ingest {
    /// Starts the writer thread for this store.
    pub fn start(store: Store) -> std::io::Result<Ingest> {
        let (queue, jobs) = mpsc::channel(QUEUE_LENGTH);
        let writing = Arc::new(AtomicBool::new(true));
        {
            let (store, writing) = (store.clone(), Arc::clone(&writing));
            std::thread::Builder::new()
                .name("trustpulse-maintenance".into())
                .spawn(move || maintain_while(&store, &writing))?;
        }
        std::thread::Builder::new()
            .name("trustpulse-writer".into())
            .spawn(move || {
                write_batches(&store, jobs);
                writing.store(false, Ordering::Relaxed);
                // Everything written is in the database file; the log is emptied.
                if let Err(e) = store.get().map_err(|e| e.to_string()).and_then(|mut conn| {
                    db::checkpoint(&mut conn, Checkpoint::Truncate)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                }) {
                    tracing::warn!(error = %e, "final checkpoint failed");
                }
            })?;
        Ok(Ingest { queue })
    }

    /// Stores one checked submission; answers once its batch is durable.
    pub async fn submit(&self, checked: Checked) -> Result<Stored, Refusal> {
        let (reply, answer) = oneshot::channel();
        if self.queue.send(Job { checked, reply }).await.is_err() {
            return Err(Refusal::Unavailable("the writer has stopped".into()));
        }
        answer.await.unwrap_or_else(|_| {
            Err(Refusal::Unavailable(
                "the writer stopped before storing".into(),
            ))
        })
    }
}

/// Upkeep beside the writer, on connections of its own: on SQLite the
/// write-ahead log is copied into the database every `CHECKPOINT_EVERY`, so
/// that commits never do it (a commit that had to checkpoint waited for it:
/// the slowest commits); every `COMPACT_EVERY` the days completed in each
/// survey's time zone are compacted (`db::compaction`); every
/// `RELEASE_EVERY` freed memory goes back to the system.
fn maintain_while(store: &Store, writing: &AtomicBool) {
    let mut own = OwnConnection { store, conn: None };
    let mut last_compaction: Option<std::time::Instant> = None;
    let mut last_release = std::time::Instant::now();
    while writing.load(Ordering::Relaxed) {
        std::thread::sleep(CHECKPOINT_EVERY);
        if store.url().is_sqlite() {
            // Under steady writes a checkpoint rarely catches up in one go
            // (frames arrive while it copies); the log only starts over once
            // one has, so a few quick follow-ups copy what came meanwhile.
            let done = own.get().and_then(|conn| {
                for _ in 0..4 {
                    if db::checkpoint(conn, Checkpoint::Passive).map_err(|e| e.to_string())? {
                        break;
                    }
                }
                Ok(())
            });
            if let Err(e) = done {
                tracing::warn!(error = %e, "checkpoint failed");
                own.conn = None;
            }
        }
        if last_release.elapsed() >= RELEASE_EVERY {
            last_release = std::time::Instant::now();
            crate::allocator::release_free_memory();
        }
        if last_compaction.is_none_or(|at| at.elapsed() >= COMPACT_EVERY) {
            last_compaction = Some(std::time::Instant::now());
            let compacted = own.get().and_then(|conn| {
                db::compaction::compact_completed(conn).map_err(|e| e.to_string())
            });
            match compacted {
                Ok(done) => {
                    for (survey, days, through) in done {
                        tracing::info!(%survey, days, %through, "stored rows compacted");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "compaction failed; it is tried again later");
                    own.conn = None;
                }
            }
        }
    }
}

const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(20);
const COMPACT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
const RELEASE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The writer's own connection, opened on first use and again after the
/// store failed: never one of the pool's, so that readers holding every
/// pooled connection cannot keep submissions waiting.
struct OwnConnection<'a> {
    store: &'a Store,
    conn: Option<DbConnection>,
}

impl OwnConnection<'_> {
    fn get(&mut self) -> Result<&mut DbConnection, String> {
        if self.conn.is_none() {
            let conn = db::connection::establish(self.store.url()).map_err(|e| e.to_string())?;
            self.conn = Some(conn);
        }
        Ok(self.conn.as_mut().expect("just opened"))
    }

    /// After an error that says the store is gone: open anew next time.
    fn forget_if_broken(&mut self, refusal: &Refusal) {
        if matches!(refusal, Refusal::Unavailable(_)) {
            self.conn = None;
        }
    }
}

fn write_batches(store: &Store, mut jobs: mpsc::Receiver<Job>) {
    let mut own = OwnConnection { store, conn: None };
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let checked: Vec<&Checked> = batch.iter().map(|job| &job.checked).collect();
        let outcomes = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store_all(&mut own, &checked)
        }))
        .unwrap_or_else(|_| {
            tracing::error!(
                submissions = checked.len(),
                "the writer panicked storing a batch"
            );
            vec![Err(Refusal::Store("the writer failed".into())); checked.len()]
        });
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            // The request may have gone (client closed): what is stored stays.
            let _ = job.reply.send(outcome);
        }
    }
}

/// Stores a batch; if the batch fails as a whole, each submission alone, so
/// that one bad submission fails alone.
fn store_all(own: &mut OwnConnection, batch: &[&Checked]) -> Vec<Result<Stored, Refusal>> {
    let outcomes = store_all_on(own, batch);
    if let Some(Err(refusal)) = outcomes.iter().find(|o| o.is_err()) {
        own.forget_if_broken(refusal);
    }
    outcomes
}

fn store_all_on(own: &mut OwnConnection, batch: &[&Checked]) -> Vec<Result<Stored, Refusal>> {
    let conn = match own.get() {
        Ok(conn) => conn,
        Err(e) => {
            tracing::error!(error = %e, submissions = batch.len(), "no connection to the store for a batch");
            return vec![Err(Refusal::Unavailable(e)); batch.len()];
        }
    };
    match submission::store_batch(conn, batch) {
        Ok(outcomes) => outcomes,
        Err(e) if batch.len() == 1 => vec![failed_alone(conn, batch[0], e)],
        Err(e) => {
            tracing::warn!(error = %e, submissions = batch.len(), "a batch failed; storing its submissions one by one");
            batch
                .iter()
                .map(|checked| match submission::store_batch(conn, &[checked]) {
                    Ok(mut outcome) => outcome.remove(0),
                    Err(e) => failed_alone(conn, checked, e),
                })
                .collect()
        }
    }
}

/// The outcome of a submission whose one-submission batch failed.
fn failed_alone(
    conn: &mut DbConnection,
    checked: &Checked,
    e: DieselError,
) -> Result<Stored, Refusal> {
    // Another process stored a twin (same submission id) between this
    // batch's read and its insert: the twin's receipt is the answer.
    if responses::is_duplicate(&e)
        && let Some(id) = checked.submission_id()
        && let Ok(Some(receipt)) = responses::find_by_submission(conn, checked.survey.id, id)
    {
        return Ok(Stored::Repeated(receipt));
    }
    Err(classify(e))
}

/// A store that is gone, full or read-only is unavailable (503, try later);
/// anything else is a failure of ours (500).
fn classify(e: DieselError) -> Refusal {
    if db::is_unavailable(&e) {
        tracing::error!(error = %e, "the store cannot take the submission");
        Refusal::Unavailable(e.to_string())
    } else {
        tracing::error!(error = %e, "storing a submission failed");
        Refusal::Store(e.to_string())
    }
}
