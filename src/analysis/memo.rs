//! What the analysis service may keep between requests: the piece rows it
//! read for a question, the day rows of the shifts' windows and the raking
//! weights of a range, each named by the
//! store's version as the caller's audience sees it. A profile of the weekly
//! series by region on the 1M store: reading the question's 35,000 piece
//! rows took 18–23 ms, the everyone rows 6–10 ms and raking them 7–11 ms,
//! of a 44 ms request, and all of it was the same for every request until
//! the data changed.
//!
//! Names use the audience's data version: a public entry changes only when
//! what the public sees does (a completed day, a late answer to a past day),
//! so neither the figures nor the time a public request takes depend on
//! today's answers.

use std::sync::Arc;

use chrono::NaiveDate;
use rustc_hash::FxHashMap;

use crate::analysis::weighting::Weights;
use crate::cache::Lru;
use crate::db::aggregates::Piece;
use crate::stats::sums::{self, Sums};

/// Piece rows with their sums decoded, cells and value codes interned: a
/// request then looks each cell and code up once, not once per row.
#[derive(Debug, Default)]
pub struct Decoded {
    pub cells: Vec<String>,
    pub values: Vec<String>,
    pub rows: Vec<DecodedRow>,
    /// (value code, sums) of every row, each row's in one stretch.
    pub entries: Vec<(u32, Sums)>,
}

#[derive(Debug, Clone, Copy)]
pub struct DecodedRow {
    pub piece: Piece,
    pub cell: u32,
    pub entries: (u32, u32),
}

impl Decoded {
    pub fn new(rows: &[(Piece, String, String)]) -> Result<Decoded, String> {
        let mut out = Decoded::default();
        let mut cells: FxHashMap<&str, u32> = FxHashMap::default();
        let mut values: FxHashMap<&str, u32> = FxHashMap::default();
        for (piece, cell, text) in rows {
            let next = cells.len() as u32;
            let cell = *cells.entry(cell.as_str()).or_insert_with(|| {
                out.cells.push(cell.clone());
                next
            });
            let first = out.entries.len() as u32;
            sums::for_each(text, |value, s| {
                let next = values.len() as u32;
                let value = *values.entry(value).or_insert_with(|| {
                    out.values.push(value.to_string());
                    next
                });
                out.entries.push((value, s));
            })?;
            out.rows.push(DecodedRow {
                piece: *piece,
                cell,
                entries: (first, out.entries.len() as u32),
            });
        }
        Ok(out)
    }

    fn size(&self) -> usize {
        self.rows.len() * std::mem::size_of::<DecodedRow>()
            + self.entries.len() * std::mem::size_of::<(u32, Sums)>()
            + self
                .cells
                .iter()
                .chain(&self.values)
                .map(|s| s.len() + 24)
                .sum::<usize>()
    }
}

pub type Rows = Arc<Decoded>;

/// (version, question, first month, last month, up to)
type RowsKey = (Version, String, NaiveDate, NaiveDate, NaiveDate);
/// (version, question, first day, last day)
type DaysKey = (Version, String, NaiveDate, NaiveDate);
/// (version, weighted, first month, last month, last day, digest of the
/// targets and waves)
type WeightsKey = (Version, bool, NaiveDate, NaiveDate, NaiveDate, u64);

pub struct Memo {
    rows: Lru<RowsKey, Rows>,
    days: Lru<DaysKey, Rows>,
    weights: Lru<WeightsKey, Arc<Weights>>,
}

/// Who the figures are for and which version of the store they saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version {
    pub survey_id: i32,
    pub public: bool,
    pub data_version: i64,
}

impl Memo {
    /// A memo holding about `budget` bytes.
    pub fn new(budget: usize) -> Memo {
        Memo {
            rows: Lru::new(budget * 4 / 10),
            days: Lru::new(budget * 4 / 10),
            weights: Lru::new(budget * 2 / 10),
        }
    }

    pub fn rows<E>(
        &self,
        version: Version,
        question: &str,
        (from, to, up_to): (NaiveDate, NaiveDate, NaiveDate),
        read: impl FnOnce() -> Result<Decoded, E>,
    ) -> Result<Rows, E> {
        let key = (version, question.to_string(), from, to, up_to);
        kept(&self.rows, key, read)
    }

    /// The day rows of a question over [from, to] (the shifts' windows),
    /// decoded like piece rows (a piece of one day each).
    pub fn days<E>(
        &self,
        version: Version,
        question: &str,
        (from, to): (NaiveDate, NaiveDate),
        read: impl FnOnce() -> Result<Decoded, E>,
    ) -> Result<Rows, E> {
        let key = (version, question.to_string(), from, to);
        kept(&self.days, key, read)
    }

    pub fn weights<E>(
        &self,
        version: Version,
        weighted: bool,
        (from, to, last_day): (NaiveDate, NaiveDate, NaiveDate),
        setting: u64,
        rake: impl FnOnce() -> Result<Weights, E>,
    ) -> Result<Arc<Weights>, E> {
        let key = (version, weighted, from, to, last_day, setting);
        self.weights.get_or_try_insert_with(
            key,
            |w| 1024 + w.reports.len() * 256 + w.size_hint(),
            || rake().map(Arc::new),
        )
    }
}

/// The decoded rows under `key`, read (and kept) when absent.
fn kept<K: std::hash::Hash + Eq + Clone, E>(
    lru: &Lru<K, Rows>,
    key: K,
    read: impl FnOnce() -> Result<Decoded, E>,
) -> Result<Rows, E> {
    lru.get_or_try_insert_with(key, |rows| rows.size(), || read().map(Arc::new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, d).unwrap()
    }

    #[test]
    fn rows_are_read_once_per_version_and_audience() {
        let memo = Memo::new(1 << 20);
        let mut reads = 0;
        let v = Version {
            survey_id: 1,
            public: true,
            data_version: 7,
        };
        let range = (day(1), day(1), day(20));
        for _ in 0..3 {
            let rows = memo
                .rows::<()>(v, "q", range, || {
                    reads += 1;
                    Ok(Decoded::default())
                })
                .unwrap();
            assert!(rows.rows.is_empty());
        }
        assert_eq!(reads, 1);
        // Another version, another audience, another range: read again.
        for (version, range) in [
            (
                Version {
                    data_version: 8,
                    ..v
                },
                range,
            ),
            (Version { public: false, ..v }, range),
            (v, (day(1), day(1), day(21))),
        ] {
            memo.rows::<()>(version, "q", range, || {
                reads += 1;
                Ok(Decoded::default())
            })
            .unwrap();
        }
        assert_eq!(reads, 4);
        // A failed read is not kept.
        assert!(memo.rows(v, "other", range, || Err("down")).is_err());
        assert!(
            memo.rows::<()>(v, "other", range, || Ok(Decoded::default()))
                .is_ok()
        );
    }

    #[test]
    fn decoding_interns_cells_and_codes_and_keeps_every_entry() {
        let piece = Piece {
            week_start: day(1),
            month_start: day(1),
            wave_id: 0,
        };
        let rows = vec![
            (piece, "a".to_string(), "1:2,2:1:1.5:2.25".to_string()),
            (piece, "b".to_string(), "2:3".to_string()),
            (piece, "a".to_string(), "1:1".to_string()),
        ];
        let d = Decoded::new(&rows).unwrap();
        assert_eq!(d.cells, vec!["a", "b"]);
        assert_eq!(d.values, vec!["1", "2"]);
        assert_eq!(
            d.rows.iter().map(|r| r.cell).collect::<Vec<_>>(),
            vec![0, 1, 0]
        );
        assert_eq!(d.rows[0].entries, (0, 2));
        let (value, s) = d.entries[1];
        assert_eq!((value, s.n, s.sb, s.sb2), (1, 1, 1.5, 2.25));
        assert_eq!(d.entries[3].0, 0);
        assert!(Decoded::new(&[(piece, "a".into(), "1:x".into())]).is_err());
    }
}
