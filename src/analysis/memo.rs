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
    /// The value entries of every row, each row's in one stretch.
    pub entries: Vec<Entry>,
    /// (Σb, Σb²) of the entries whose base weights are not all 1.
    weights: Vec<(f64, f64)>,
}

/// One value's sums in a decoded row, in 16 bytes rather than 40: a piece
/// row counts one cell in one week, so its n fits an i32, and Σb, Σb² are
/// kept apart only where some base weight is not 1 (otherwise both are n).
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub value: u32,
    key: u32,
    n: i32,
    /// Index into `weights`, or `UNIT` when every base weight is 1.
    weights: u32,
}

const UNIT: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
pub struct DecodedRow {
    pub piece: Piece,
    pub cell: u32,
    pub entries: (u32, u32),
}

impl Decoded {
    /// The entries of one row.
    pub fn entries_of(&self, row: &DecodedRow) -> &[Entry] {
        &self.entries[row.entries.0 as usize..row.entries.1 as usize]
    }

    /// An entry's sums, exactly as stored.
    pub fn sums(&self, entry: &Entry) -> Sums {
        let n = i64::from(entry.n);
        let (sb, sb2) = match entry.weights {
            UNIT => (n as f64, n as f64),
            index => self.weights[index as usize],
        };
        Sums {
            n,
            sb,
            sb2,
            key: entry.key,
        }
    }

    /// The bytes it holds, as allocated: the memo's budget is resident memory.
    fn size(&self) -> usize {
        self.rows.capacity() * std::mem::size_of::<DecodedRow>()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.weights.capacity() * std::mem::size_of::<(f64, f64)>()
            + self
                .cells
                .iter()
                .chain(&self.values)
                .map(|s| s.capacity() + std::mem::size_of::<String>())
                .sum::<usize>()
    }
}

/// Builds a `Decoded` a row at a time, as the store hands rows over.
#[derive(Default)]
pub struct Decoder {
    out: Decoded,
    cells: FxHashMap<String, u32>,
    values: FxHashMap<String, u32>,
}

impl Decoder {
    pub fn push(&mut self, piece: Piece, cell: &str, text: &str) -> Result<(), String> {
        let Decoder { out, cells, values } = self;
        let cell = match cells.get(cell) {
            Some(&index) => index,
            None => {
                let index = out.cells.len() as u32;
                cells.insert(cell.to_string(), index);
                out.cells.push(cell.to_string());
                index
            }
        };
        let first = out.entries.len() as u32;
        let mut too_large = None;
        sums::for_each(text, |value, s| {
            let value = match values.get(value) {
                Some(&index) => index,
                None => {
                    let index = out.values.len() as u32;
                    values.insert(value.to_string(), index);
                    out.values.push(value.to_string());
                    index
                }
            };
            let Ok(n) = i32::try_from(s.n) else {
                too_large = Some(s.n);
                return;
            };
            let weights = if s.sb == s.n as f64 && s.sb2 == s.n as f64 {
                UNIT
            } else {
                out.weights.push((s.sb, s.sb2));
                (out.weights.len() - 1) as u32
            };
            out.entries.push(Entry {
                value,
                key: s.key,
                n,
                weights,
            });
        })?;
        if let Some(n) = too_large {
            return Err(format!("a count of {n} in one piece row"));
        }
        out.rows.push(DecodedRow {
            piece,
            cell,
            entries: (first, out.entries.len() as u32),
        });
        Ok(())
    }

    /// The rows decoded, holding no more memory than they fill.
    pub fn finish(self) -> Decoded {
        let mut out = self.out;
        out.rows.shrink_to_fit();
        out.entries.shrink_to_fit();
        out.weights.shrink_to_fit();
        out.cells.shrink_to_fit();
        out.values.shrink_to_fit();
        out
    }
}

pub type Rows = Arc<Decoded>;

/// (version, question, (first month, last month, up to))
type RowsKey = (Version, String, (NaiveDate, NaiveDate, NaiveDate));
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

/// What the server's memo may hold.
pub const BUDGET: usize = 48 << 20;

impl Memo {
    /// A memo holding about `budget` bytes.
    pub fn new(budget: usize) -> Memo {
        // A question's whole history on the 1M demo store decodes to 3.7 MB:
        // the rows' share holds every question of the demo survey.
        Memo {
            rows: Lru::new(budget * 6 / 10),
            days: Lru::new(budget * 25 / 100),
            weights: Lru::new(budget * 15 / 100),
        }
    }

    /// A question's piece rows of a range: months [first, last], starting by
    /// `up to`. The public's range is its whole completed history: one entry
    /// serves every range and interval, each request skipping the rows
    /// outside its own.
    pub fn rows<E>(
        &self,
        version: Version,
        question: &str,
        range: (NaiveDate, NaiveDate, NaiveDate),
        read: impl FnOnce() -> Result<Decoded, E>,
    ) -> Result<Rows, E> {
        let key = (version, question.to_string(), range);
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
    fn a_question_as_large_as_on_the_1m_store_is_kept() {
        // 35,000 piece rows of five entries: what one question of the demo
        // survey holds on the 1M store (3.7 MB decoded). An entry over a
        // quarter of its share was once refused, so every request read again.
        let question = || {
            let mut decoder = Decoder::default();
            for i in 0..35_000u32 {
                let piece = Piece {
                    week_start: day(1),
                    month_start: day(1),
                    wave_id: 0,
                };
                let cell = format!("region={}|age={}", i % 300, i % 7);
                decoder
                    .push(piece, &cell, "1:3,2:4,3:1,4:2,*:10@123")
                    .unwrap();
            }
            decoder.finish()
        };
        assert!(question().size() > 3 << 20, "{}", question().size());
        let memo = Memo::new(BUDGET);
        let v = Version {
            survey_id: 1,
            public: true,
            data_version: 7,
        };
        let mut reads = 0;
        for code in ["a", "b", "c", "a", "b", "c"] {
            memo.rows::<()>(v, code, (day(1), day(1), day(20)), || {
                reads += 1;
                Ok(question())
            })
            .unwrap();
        }
        assert_eq!(reads, 3);
    }

    fn decode(rows: &[(Piece, String, String)]) -> Result<Decoded, String> {
        let mut decoder = Decoder::default();
        for (piece, cell, text) in rows {
            decoder.push(*piece, cell, text)?;
        }
        Ok(decoder.finish())
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
        let d = decode(&rows).unwrap();
        assert_eq!(d.cells, vec!["a", "b"]);
        assert_eq!(d.values, vec!["1", "2"]);
        assert_eq!(
            d.rows.iter().map(|r| r.cell).collect::<Vec<_>>(),
            vec![0, 1, 0]
        );
        assert_eq!(d.rows[0].entries, (0, 2));
        let entry = d.entries_of(&d.rows[0])[1];
        let s = d.sums(&entry);
        assert_eq!((entry.value, s.n, s.sb, s.sb2), (1, 1, 1.5, 2.25));
        let unit = d.sums(&d.entries[0]);
        assert_eq!((unit.n, unit.sb, unit.sb2), (2, 2.0, 2.0));
        assert_eq!(d.entries[3].value, 0);
        assert_eq!(std::mem::size_of::<Entry>(), 16);
        assert!(decode(&[(piece, "a".into(), "1:x".into())]).is_err());
    }
}
