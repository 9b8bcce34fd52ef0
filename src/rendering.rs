//! Charts against the store, for the CLI and HTTP alike: the name of one
//! rendering (a digest of everything that went into it), a bounded cache of
//! rendered bytes, and rendering on a miss.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

use actix_web::web::Bytes;
use sha2::{Digest, Sha256};

use crate::analysis::charts as chart_service;
use crate::analysis::memo::{self, Memo};
use crate::analysis::service::Reader;
use crate::cache::BytesCache;
use crate::db::{DbConnection, events};
use crate::error::AppResult;
use crate::plot::{self, Format};

/// Which picture of a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Series,
    Shifts,
}

/// What a process keeps between requests: rendered charts and pages, and
/// the analysis service's store reads and raking.
pub struct Caches {
    pub charts: BytesCache,
    pub pages: BytesCache,
    /// The analysis service's store reads and raking.
    pub figures: Memo,
    drawing: Turns,
}

/// At most as many drawings at once as there are cores: drawing is all CPU,
/// and a drawing more at once only holds one more bitmap (8 MB at
/// 2400 × 1200) while the others slow down as much. Turns go in arrival
/// order (a ticket each), so no drawing is passed over for ever.
struct Turns {
    limit: u64,
    /// (tickets handed out, drawings finished)
    counts: Mutex<(u64, u64)>,
    finished: Condvar,
}

impl Turns {
    fn new(limit: usize) -> Turns {
        Turns {
            limit: limit.max(1) as u64,
            counts: Mutex::new((0, 0)),
            finished: Condvar::new(),
        }
    }

    fn take<T>(&self, work: impl FnOnce() -> T) -> T {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let ticket = counts.0;
        counts.0 += 1;
        // Ticket t may start once all but `limit` of those before it finished.
        while ticket >= counts.1 + self.limit {
            counts = self
                .finished
                .wait(counts)
                .unwrap_or_else(|e| e.into_inner());
        }
        drop(counts);
        // Counted on the way out, also if the drawing panics.
        struct Done<'a>(&'a Turns);
        impl Drop for Done<'_> {
            fn drop(&mut self) {
                self.0.counts.lock().unwrap_or_else(|e| e.into_inner()).1 += 1;
                self.0.finished.notify_all();
            }
        }
        let _done = Done(self);
        work()
    }
}

impl Caches {
    pub fn new() -> Caches {
        Caches {
            charts: BytesCache::new(16 << 20),
            pages: BytesCache::new(8 << 20),
            figures: Memo::new(memo::BUDGET),
            drawing: Turns::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
        }
    }
}

impl Default for Caches {
    fn default() -> Self {
        Self::new()
    }
}

/// A digest naming one rendering: two requests with the same name get the
/// same bytes. The caller's audience is in it (through `data_version` and
/// `public`), so an exact chart is never served to the public.
pub fn fingerprint(
    conn: &mut DbConnection,
    reader: &Reader,
    data_version: i64,
    what: &str,
    query: &HashMap<String, String>,
) -> AppResult<String> {
    let mut hash = Sha256::new();
    let mut line = |s: &str| {
        hash.update(s.as_bytes());
        hash.update([0]);
    };
    line(env!("CARGO_PKG_VERSION"));
    line(what);
    line(&reader.loaded.survey.definition.slug);
    line(if reader.audience.is_public() {
        "public"
    } else {
        "exact"
    });
    line(&data_version.to_string());
    // The public's last day moves every midnight without the data version
    // (which follows whole weeks and months): the date range, the pending
    // shifts and the weights' open periods follow it.
    line(&reader.audience.last_day().to_string());
    line(&format!("{:?}", reader.loaded.waves));
    line(&reader.min_cell.to_string());
    line(&serde_json::to_string(&reader.loaded.targets.shares).unwrap_or_default());
    for e in events::list(conn)? {
        line(&format!(
            "{}|{}|{}|{}",
            e.id, e.event_date, e.label_en, e.label_ru
        ));
    }
    let mut pairs: Vec<_> = query.iter().collect();
    pairs.sort();
    for (k, v) in pairs {
        line(&format!("{k}={v}"));
    }
    let digest = hash.finalize();
    Ok(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}

/// One chart: its tag, the data version it shows, and its bytes (none
/// when the client's copy is current).
pub struct Rendered {
    pub etag: String,
    pub data_version: i64,
    pub bytes: Option<Bytes>,
}

/// Renders (or finds) one chart.
pub fn chart_bytes(
    conn: &mut DbConnection,
    reader: &Reader,
    caches: &Caches,
    kind: Kind,
    format: Format,
    query: &HashMap<String, String>,
    if_none_match: Option<&str>,
) -> AppResult<Rendered> {
    let data_version = reader.data_version(conn)?;
    let what = format!("{kind:?}.{}", format.extension());
    let etag = format!(
        "\"{}\"",
        fingerprint(conn, reader, data_version, &what, query)?
    );
    let found = |bytes| Rendered {
        etag: etag.clone(),
        data_version,
        bytes,
    };
    // Only the exact tag: `*` would answer 304 before the parameters and the
    // caller's rights were checked.
    if if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag)) {
        return Ok(found(None));
    }
    if let Some(bytes) = caches.charts.get(&etag) {
        return Ok(found(Some(bytes)));
    }
    let bytes = Bytes::from(match kind {
        Kind::Series => {
            let (picture, look) = chart_service::series_picture(reader, conn, query)?;
            let draw = || plot::series::render(&picture.chart, look.size, format);
            caches.drawing.take(draw)
        }
        Kind::Shifts => {
            let (chart, look, _) = chart_service::shift_picture(reader, conn, query)?;
            caches
                .drawing
                .take(|| plot::shifts::render(&chart, look.size, format))
        }
    });
    caches.charts.insert(etag.clone(), bytes.clone());
    Ok(found(Some(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn no_more_drawings_at_once_than_turns_and_every_one_runs() {
        let turns = Arc::new(Turns::new(2));
        let (now, most, done) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (turns, now, most, done) =
                    (turns.clone(), now.clone(), most.clone(), done.clone());
                std::thread::spawn(move || {
                    turns.take(|| {
                        let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(running, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        now.fetch_sub(1, Ordering::SeqCst);
                        done.fetch_add(1, Ordering::SeqCst);
                    })
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(done.load(Ordering::SeqCst), 8);
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
