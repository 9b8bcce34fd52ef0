//! The aggregate tables: kept current with every stored or removed response,
//! read by the series, shifts and change-point endpoints.
//!
//! Each write is read-modify-write of one row's sums. On PostgreSQL the row is
//! created if missing (ON CONFLICT DO NOTHING) and then locked (FOR UPDATE), so
//! concurrent submissions add up; on SQLite the write transaction already
//! holds the database lock. Rows are touched in key order, so two writers never
//! wait on each other in a cycle.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use chrono::NaiveDate;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use crate::aggregate;
use crate::db::DbConnection;
use crate::db::schema::{agg_days, agg_pieces, data_versions, responses, surveys};
use crate::stats::sums::{self, ANSWERED, AllSums, QuestionSums, Sums};
use crate::survey::QuestionKind;
use crate::survey::SurveyDefinition;

/// A piece of time: an ISO week cut at month ends, within one wave (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Piece {
    pub week_start: NaiveDate,
    pub month_start: NaiveDate,
    pub wave_id: i32,
}

impl Piece {
    pub fn of(day: NaiveDate, wave_id: Option<i32>) -> Piece {
        Piece {
            week_start: aggregate::week_start(day),
            month_start: aggregate::month_start(day),
            wave_id: wave_id.unwrap_or(0),
        }
    }
}

/// Interned (question, value) pairs: a bulk load meets a few dozen of them
/// millions of times, so sums are kept under small numbers, not strings.
#[derive(Debug, Default, Clone)]
struct Keys {
    ids: HashMap<String, HashMap<String, u32>>,
    names: Vec<(String, String)>,
}

impl Keys {
    fn id(&mut self, question: &str, value: &str) -> u32 {
        if let Some(id) = self.ids.get(question).and_then(|values| values.get(value)) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push((question.to_string(), value.to_string()));
        self.ids
            .entry(question.to_string())
            .or_default()
            .insert(value.to_string(), id);
        id
    }
}

/// The sums of one row, by interned key, sorted: no allocation per value.
#[derive(Debug, Default, Clone)]
struct Compact(Vec<(u32, Sums)>);

impl Compact {
    fn add(&mut self, key: u32, delta: &Sums, sign: i64) {
        match self.0.binary_search_by_key(&key, |(k, _)| *k) {
            Ok(i) => {
                self.0[i].1.add(delta, sign);
                if self.0[i].1.n == 0 {
                    self.0.remove(i);
                }
            }
            Err(i) => {
                let mut entry = Sums::default();
                entry.add(delta, sign);
                self.0.insert(i, (key, entry));
            }
        }
    }

    /// Question → its sums, by name.
    fn expand(&self, keys: &Keys) -> AllSums {
        let mut all = AllSums::new();
        for (key, sums) in &self.0 {
            let (question, value) = &keys.names[*key as usize];
            all.entry(question.clone())
                .or_default()
                .insert(value.clone(), *sums);
        }
        all
    }
}

/// Sums waiting to be written: per piece and cell, and per day, wave and cell.
#[derive(Debug, Default, Clone)]
pub struct Pending {
    keys: Keys,
    /// The cell of the response being added (a buffer kept between calls).
    cell: String,
    pieces: BTreeMap<Piece, HashMap<String, Compact>>,
    days: BTreeMap<(NaiveDate, i32), HashMap<String, Compact>>,
}

fn slot<'a>(map: &'a mut HashMap<String, Compact>, key: &str) -> &'a mut Compact {
    if !map.contains_key(key) {
        map.insert(key.to_string(), Compact::default());
    }
    map.get_mut(key).expect("just inserted")
}

impl Pending {
    /// Adds one response (sign −1: removes it): `respondent` is
    /// `Sums::keyed(base weight, record key)`.
    pub fn add_response(
        &mut self,
        def: &SurveyDefinition,
        day: NaiveDate,
        wave_id: Option<i32>,
        answers: &serde_json::Map<String, serde_json::Value>,
        respondent: Sums,
        sign: i64,
    ) {
        let Pending {
            keys,
            cell,
            pieces,
            days,
        } = self;
        aggregate::cell_into(def, answers, cell);
        let cell = cell.as_str();
        // Counts of who answered carry the record key (a published cell's key
        // is the sum of its respondents' keys); counts per value do not.
        let keyed = respondent;
        let one = Sums {
            key: 0,
            ..respondent
        };
        let piece = Piece::of(day, wave_id);
        // Everyone-sums only feed raking, which works per month or wave: they
        // are kept per month (week_start = month_start), 4-5x fewer rows.
        let everyone = keys.id(aggregate::EVERYONE, ANSWERED);
        let month_piece = Piece {
            week_start: piece.month_start,
            ..piece
        };
        slot(pieces.entry(month_piece).or_default(), cell).add(everyone, &keyed, sign);
        let day_sums = slot(days.entry((day, piece.wave_id)).or_default(), cell);
        day_sums.add(everyone, &keyed, sign);
        let piece_sums = slot(pieces.entry(piece).or_default(), cell);
        let mut codes: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(8);
        for question in def
            .questions
            .iter()
            .filter(|q| q.kind != QuestionKind::Text)
        {
            let Some(value) = answers.get(&question.code) else {
                continue;
            };
            codes.clear();
            aggregate::value_codes_into(question.kind, value, &mut codes);
            let answered = keys.id(&question.code, ANSWERED);
            piece_sums.add(answered, &keyed, sign);
            day_sums.add(answered, &keyed, sign);
            for code in &codes {
                let key = keys.id(&question.code, code);
                piece_sums.add(key, &one, sign);
                day_sums.add(key, &one, sign);
            }
        }
    }

    /// Adds stored piece sums (reading the tables back).
    fn add_piece(&mut self, piece: Piece, cell: &str, question: &str, sums: &QuestionSums) {
        let target = slot(self.pieces.entry(piece).or_default(), cell);
        for (value, s) in sums {
            target.add(self.keys.id(question, value), s, 1);
        }
    }

    fn add_day(&mut self, day: NaiveDate, wave_id: i32, cell: &str, all: &AllSums) {
        let target = slot(self.days.entry((day, wave_id)).or_default(), cell);
        for (question, sums) in all {
            for (value, s) in sums {
                target.add(self.keys.id(question, value), s, 1);
            }
        }
    }

    /// (piece, cell, question, sums) in key order: the order rows are locked in.
    pub fn piece_rows(&self) -> Vec<(Piece, String, String, QuestionSums)> {
        let mut rows = Vec::new();
        for (piece, cells) in &self.pieces {
            for (cell, compact) in cells {
                for (question, sums) in compact.expand(&self.keys) {
                    rows.push((*piece, cell.clone(), question, sums));
                }
            }
        }
        rows.sort_by(|a, b| (&a.2, a.0, &a.1).cmp(&(&b.2, b.0, &b.1)));
        rows
    }

    /// Every sum as (name, n, Σb, Σb², record-key sum), sorted: for
    /// comparing two sets of sums.
    pub fn entries(&self) -> Vec<(String, i64, f64, f64, u32)> {
        let mut out = Vec::new();
        for (piece, cell, question, sums) in self.piece_rows() {
            for (value, s) in sums {
                out.push((
                    format!("{piece:?}|{cell}|{question}|{value}"),
                    s.n,
                    s.sb,
                    s.sb2,
                    s.key,
                ));
            }
        }
        for (day, wave, cell, all) in self.day_rows() {
            for (question, sums) in all {
                for (value, s) in sums {
                    out.push((
                        format!("{day}|{wave}|{cell}|{question}|{value}"),
                        s.n,
                        s.sb,
                        s.sb2,
                        s.key,
                    ));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// (day, wave, cell, every question's sums) in key order.
    pub fn day_rows(&self) -> Vec<(NaiveDate, i32, String, AllSums)> {
        let mut rows = Vec::new();
        for ((day, wave), cells) in &self.days {
            for (cell, compact) in cells {
                rows.push((*day, *wave, cell.clone(), compact.expand(&self.keys)));
            }
        }
        rows.sort_by(|a, b| (a.0, a.1, &a.2).cmp(&(b.0, b.1, &b.2)));
        rows
    }
}

/// Dates are stored as day numbers (days since 1970-01-01).
pub fn day_number(day: NaiveDate) -> i32 {
    (day - NaiveDate::default()).num_days() as i32
}

pub fn from_day_number(n: i32) -> NaiveDate {
    NaiveDate::default() + chrono::Duration::days(i64::from(n))
}

fn corrupt(e: String) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("aggregate sums: {e}").into())
}

/// Writes a bulk load's sums (inside the caller's transaction): plain inserts
/// when the survey has no aggregates yet, else row by row. On PostgreSQL the
/// tables are locked against concurrent writers for the rest of the transaction.
pub fn apply_bulk(conn: &mut DbConnection, survey_id: i32, pending: &Pending) -> QueryResult<()> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query("LOCK TABLE agg_pieces, agg_days IN SHARE ROW EXCLUSIVE MODE")
            .execute(c)?;
    }
    bump_public(conn, survey_id)?;
    if has_any(conn, survey_id)? {
        apply(conn, survey_id, pending, 1)
    } else {
        insert_fresh(conn, survey_id, pending)
    }
}

/// Writes pending sums into the tables and marks the survey changed (inside
/// the caller's transaction).
pub fn apply(
    conn: &mut DbConnection,
    survey_id: i32,
    pending: &Pending,
    sign: i64,
) -> QueryResult<()> {
    write_sums(conn, survey_id, pending, sign)?;
    bump_version(conn, survey_id)
}

/// Writes pending sums into the tables (inside the caller's transaction), a
/// few statements per chunk of rows rather than per row: the chunk's missing
/// rows are created empty, the rows are read (on PostgreSQL locked, in key
/// order, so two writers never wait on each other in a cycle), merged here,
/// and written back in one UPDATE; a row left with nothing is deleted.
pub fn write_sums(
    conn: &mut DbConnection,
    survey_id: i32,
    pending: &Pending,
    sign: i64,
) -> QueryResult<()> {
    let pieces: Vec<(Vec<KeyValue>, QuestionSums)> = pending
        .piece_rows()
        .into_iter()
        .map(|(piece, cell, question, sums)| {
            let key = vec![
                KeyValue::Text(question),
                KeyValue::Int(day_number(piece.week_start)),
                KeyValue::Int(day_number(piece.month_start)),
                KeyValue::Int(piece.wave_id),
                KeyValue::Text(cell),
            ];
            (key, sums)
        })
        .collect();
    merge_rows(conn, &PIECE_TABLE, survey_id, &pieces, |current, delta| {
        let mut merged = sums::decode(current).map_err(corrupt)?;
        sums::merge(&mut merged, delta, sign);
        Ok((!merged.is_empty()).then(|| sums::encode(&merged)))
    })?;
    let days: Vec<(Vec<KeyValue>, AllSums)> = pending
        .day_rows()
        .into_iter()
        .map(|(day, wave_id, cell, all)| {
            let key = vec![
                KeyValue::Int(day_number(day)),
                KeyValue::Int(wave_id),
                KeyValue::Text(cell),
            ];
            (key, all)
        })
        .collect();
    merge_rows(conn, &DAY_TABLE, survey_id, &days, |current, delta| {
        let mut merged = sums::decode_all(current).map_err(corrupt)?;
        sums::merge_all(&mut merged, delta, sign);
        Ok((!merged.is_empty()).then(|| sums::encode_all(&merged)))
    })
}

/// One value of an aggregate row's key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum KeyValue {
    Int(i32),
    Text(String),
}

/// An aggregate table: its name and key columns after `survey_id`, in the
/// order of its primary key.
struct AggTable {
    name: &'static str,
    keys: &'static [&'static str],
}

const PIECE_TABLE: AggTable = AggTable {
    name: "agg_pieces",
    keys: &["question", "week_start", "month_start", "wave_id", "cell"],
};

const DAY_TABLE: AggTable = AggTable {
    name: "agg_days",
    keys: &["day", "wave_id", "cell"],
};

/// Rows per statement: 6 bound values a row stays far under SQLite's 32,766.
const MERGE_CHUNK: usize = 1000;

#[derive(QueryableByName)]
struct CurrentSums {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    idx: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    sums: String,
}

/// Placeholders as the backend writes them: `?` on SQLite, `$n` on PostgreSQL.
struct Placeholders {
    numbered: bool,
    next: usize,
}

impl Placeholders {
    fn for_conn(conn: &DbConnection) -> Self {
        Placeholders {
            numbered: matches!(conn, DbConnection::Pg(_)),
            next: 0,
        }
    }

    fn take(&mut self) -> String {
        self.next += 1;
        if self.numbered {
            format!("${}", self.next)
        } else {
            "?".to_string()
        }
    }

    /// `(p, p, …)` of `n` placeholders.
    fn tuple(&mut self, n: usize) -> String {
        let parts: Vec<String> = (0..n).map(|_| self.take()).collect();
        format!("({})", parts.join(", "))
    }
}

/// Runs raw SQL with a list of bound values on either backend; `$run` is
/// `execute` or `load::<T>`.
macro_rules! with_binds {
    ($conn:expr, $sql:expr, $binds:expr, $($run:tt)+) => {{
        macro_rules! bound {
            ($query:expr) => {{
                let mut query = $query;
                for value in $binds {
                    query = match value {
                        KeyValue::Int(i) => query.bind::<diesel::sql_types::Integer, _>(*i),
                        KeyValue::Text(t) => query.bind::<diesel::sql_types::Text, _>(t.as_str()),
                    };
                }
                query
            }};
        }
        match $conn {
            DbConnection::Sqlite(c) => {
                bound!(diesel::sql_query($sql).into_boxed::<diesel::sqlite::Sqlite>()).$($run)+(c)
            }
            DbConnection::Pg(c) => {
                bound!(diesel::sql_query($sql).into_boxed::<diesel::pg::Pg>()).$($run)+(c)
            }
        }
    }};
}

fn merge_rows<D>(
    conn: &mut DbConnection,
    table: &AggTable,
    survey_id: i32,
    rows: &[(Vec<KeyValue>, D)],
    merge: impl Fn(&str, &D) -> QueryResult<Option<String>>,
) -> QueryResult<()> {
    let (name, keys) = (table.name, table.keys);
    let key_list = keys.join(", ");
    let survey = KeyValue::Int(survey_id);
    for chunk in rows.chunks(MERGE_CHUNK) {
        // The rows that do not exist yet, created empty.
        let mut p = Placeholders::for_conn(conn);
        let values: Vec<String> = chunk.iter().map(|_| p.tuple(keys.len() + 2)).collect();
        let sql = format!(
            "INSERT INTO {name} (survey_id, {key_list}, sums) VALUES {} ON CONFLICT DO NOTHING",
            values.join(", ")
        );
        let empty = KeyValue::Text(String::new());
        let binds = chunk.iter().flat_map(|(key, _)| {
            std::iter::once(&survey)
                .chain(key.iter())
                .chain(std::iter::once(&empty))
        });
        with_binds!(conn, &sql, binds, execute)?;

        // Every row of the chunk, by its index in the chunk.
        let mut p = Placeholders::for_conn(conn);
        let values: Vec<String> = chunk.iter().map(|_| p.tuple(keys.len() + 1)).collect();
        let survey_placeholder = p.take();
        let on: Vec<String> = keys.iter().map(|k| format!("t.{k} = k.{k}")).collect();
        let order: Vec<String> = keys.iter().map(|k| format!("t.{k}")).collect();
        // SQLite: CROSS JOIN keeps k outside, so each row is one primary
        // key lookup (left to itself it scanned the table).
        let (join, lock) = match conn {
            DbConnection::Sqlite(_) => ("CROSS JOIN", ""),
            DbConnection::Pg(_) => (",", " FOR UPDATE OF t"),
        };
        let sql = format!(
            "WITH k (idx, {key_list}) AS (VALUES {}) \
             SELECT k.idx AS idx, t.sums AS sums FROM k {join} {name} t \
             WHERE t.survey_id = {survey_placeholder} AND {} ORDER BY {}{lock}",
            values.join(", "),
            on.join(" AND "),
            order.join(", "),
        );
        let indices: Vec<KeyValue> = (0..chunk.len() as i32).map(KeyValue::Int).collect();
        let binds = chunk
            .iter()
            .zip(&indices)
            .flat_map(|((key, _), idx)| std::iter::once(idx).chain(key.iter()))
            .chain(std::iter::once(&survey));
        let current: Vec<CurrentSums> = with_binds!(conn, &sql, binds, load::<CurrentSums>)?;
        if current.len() != chunk.len() {
            return Err(corrupt(format!(
                "{name}: {} of {} rows found after creating them",
                current.len(),
                chunk.len()
            )));
        }

        let mut updates: Vec<(usize, String)> = Vec::with_capacity(chunk.len());
        let mut emptied: Vec<usize> = Vec::new();
        for row in &current {
            let i = row.idx as usize;
            match merge(&row.sums, &chunk[i].1)? {
                Some(text) => updates.push((i, text)),
                None => emptied.push(i),
            }
        }
        if !updates.is_empty() {
            let mut p = Placeholders::for_conn(conn);
            let values: Vec<String> = updates.iter().map(|_| p.tuple(keys.len() + 1)).collect();
            let survey_placeholder = p.take();
            let on: Vec<String> = keys.iter().map(|k| format!("{name}.{k} = k.{k}")).collect();
            let sql = format!(
                "WITH k ({key_list}, sums) AS (VALUES {}) \
                 UPDATE {name} SET sums = k.sums FROM k \
                 WHERE {name}.survey_id = {survey_placeholder} AND {}",
                values.join(", "),
                on.join(" AND "),
            );
            let texts: Vec<KeyValue> = updates
                .iter()
                .map(|(_, text)| KeyValue::Text(text.clone()))
                .collect();
            let binds = updates
                .iter()
                .zip(&texts)
                .flat_map(|((i, _), text)| chunk[*i].0.iter().chain(std::iter::once(text)))
                .chain(std::iter::once(&survey));
            with_binds!(conn, &sql, binds, execute)?;
        }
        for i in emptied {
            let mut p = Placeholders::for_conn(conn);
            let survey_placeholder = p.take();
            let conditions: Vec<String> =
                keys.iter().map(|k| format!("{k} = {}", p.take())).collect();
            let sql = format!(
                "DELETE FROM {name} WHERE survey_id = {survey_placeholder} AND {}",
                conditions.join(" AND ")
            );
            let binds = std::iter::once(&survey).chain(chunk[i].0.iter());
            with_binds!(conn, &sql, binds, execute)?;
        }
    }
    Ok(())
}

fn has_any(conn: &mut DbConnection, survey_id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        agg_days::table.filter(agg_days::survey_id.eq(survey_id)),
    ))
    .get_result(conn)
}

/// Rows per multi-row INSERT (7 bound columns, under every backend's limit).
const INSERT_CHUNK: usize = 2000;

/// `rows` into `table`: one multi-row INSERT on SQLite, a binary COPY on
/// PostgreSQL.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        if !$rows.is_empty() {
            match $conn {
                DbConnection::Sqlite(c) => {
                    diesel::insert_into($table).values(&$rows[..]).execute(c)?
                }
                DbConnection::Pg(c) => diesel::copy_from($table)
                    .from_insertable(&$rows[..])
                    .execute(c)?,
            };
        }
    };
}

#[derive(Insertable)]
#[diesel(table_name = agg_pieces)]
#[diesel(treat_none_as_default_value = false)]
struct PieceRow {
    survey_id: i32,
    question: String,
    week_start: i32,
    month_start: i32,
    wave_id: i32,
    cell: String,
    sums: String,
}

#[derive(Insertable)]
#[diesel(table_name = agg_days)]
#[diesel(treat_none_as_default_value = false)]
struct DayRow {
    survey_id: i32,
    day: i32,
    wave_id: i32,
    cell: String,
    sums: String,
}

/// A chunk of encoded rows for one multi-row INSERT.
enum FreshChunk {
    Pieces(Vec<PieceRow>),
    Days(Vec<DayRow>),
}

/// A survey without aggregates yet (a first bulk load, a rebuild): plain
/// multi-row inserts instead of row-by-row read-modify-write. A second
/// thread encodes the next chunk while this one inserts, and only a few
/// chunks exist at a time (a big load's rows would not fit in memory at once).
fn insert_fresh(conn: &mut DbConnection, survey_id: i32, pending: &Pending) -> QueryResult<()> {
    let (chunks, encoded) = std::sync::mpsc::sync_channel::<FreshChunk>(2);
    std::thread::scope(|scope| {
        scope.spawn(move || encode_fresh(survey_id, pending, chunks));
        for chunk in encoded {
            match chunk {
                FreshChunk::Pieces(rows) => insert_rows!(conn, agg_pieces::table, rows),
                FreshChunk::Days(rows) => insert_rows!(conn, agg_days::table, rows),
            }
        }
        QueryResult::Ok(())
    })?;
    bump_version(conn, survey_id)
}

/// Encodes every pending row, a chunk at a time; stops when the inserter has gone.
fn encode_fresh(
    survey_id: i32,
    pending: &Pending,
    chunks: std::sync::mpsc::SyncSender<FreshChunk>,
) {
    let mut pieces = Vec::with_capacity(INSERT_CHUNK);
    for (piece, cells) in &pending.pieces {
        for (cell, compact) in cells {
            for (question, q) in compact.expand(&pending.keys) {
                pieces.push(PieceRow {
                    survey_id,
                    question,
                    week_start: day_number(piece.week_start),
                    month_start: day_number(piece.month_start),
                    wave_id: piece.wave_id,
                    cell: cell.clone(),
                    sums: sums::encode(&q),
                });
            }
            if pieces.len() >= INSERT_CHUNK {
                let full = std::mem::replace(&mut pieces, Vec::with_capacity(INSERT_CHUNK));
                if chunks.send(FreshChunk::Pieces(full)).is_err() {
                    return;
                }
            }
        }
    }
    if chunks.send(FreshChunk::Pieces(pieces)).is_err() {
        return;
    }
    let mut days = Vec::with_capacity(INSERT_CHUNK);
    for ((day, wave_id), cells) in &pending.days {
        for (cell, compact) in cells.iter().filter(|(_, c)| !c.0.is_empty()) {
            days.push(DayRow {
                survey_id,
                day: day_number(*day),
                wave_id: *wave_id,
                cell: cell.clone(),
                sums: sums::encode_all(&compact.expand(&pending.keys)),
            });
            if days.len() >= INSERT_CHUNK {
                let full = std::mem::replace(&mut days, Vec::with_capacity(INSERT_CHUNK));
                if chunks.send(FreshChunk::Days(full)).is_err() {
                    return;
                }
            }
        }
    }
    let _ = chunks.send(FreshChunk::Days(days));
}

/// Marks that the survey's responses changed: adds one to this process's
/// slot row (created on first use), so writers in different processes never
/// wait on one row. The survey's data version is the sum over its slots.
pub fn bump_version(conn: &mut DbConnection, survey_id: i32) -> QueryResult<()> {
    let row = (
        data_versions::survey_id.eq(survey_id),
        data_versions::slot.eq(version_slot()),
        data_versions::version.eq(1i64),
    );
    let add_one = data_versions::version.eq(data_versions::version + 1);
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(data_versions::table)
            .values(row)
            .on_conflict((data_versions::survey_id, data_versions::slot))
            .do_update()
            .set(add_one)
            .execute(c),
        DbConnection::Pg(c) => diesel::insert_into(data_versions::table)
            .values(row)
            .on_conflict((data_versions::survey_id, data_versions::slot))
            .do_update()
            .set(add_one)
            .execute(c),
    }
    .map(|_| ())
}

/// This process's slot: drawn once at random from 1024, so two instances
/// share a row only by a rare chance (and then merely wait, never miscount).
fn version_slot() -> i32 {
    static SLOT: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *SLOT.get_or_init(|| {
        let mut bytes = [0u8; 2];
        getrandom::fill(&mut bytes).expect("the operating system's random source");
        i32::from(u16::from_le_bytes(bytes) % 1024)
    })
}

/// Marks a change to what the public sees (a response on a completed day, a
/// bulk load, new targets): public data versions move with it.
pub fn bump_public(conn: &mut DbConnection, survey_id: i32) -> QueryResult<()> {
    diesel::update(surveys::table.find(survey_id))
        .set(surveys::public_changes.eq(surveys::public_changes + 1))
        .execute(conn)
        .map(|_| ())
}

/// (every change, changes to what the public sees).
pub fn versions(conn: &mut DbConnection, survey_id: i32) -> QueryResult<(i64, i64)> {
    let (base, public_changes): (i64, i64) = surveys::table
        .find(survey_id)
        .select((surveys::data_version, surveys::public_changes))
        .first(conn)?;
    // A row per process that ever wrote (a handful): summed here, as SUM's
    // type differs between the backends.
    let slots: Vec<i64> = data_versions::table
        .filter(data_versions::survey_id.eq(survey_id))
        .select(data_versions::version)
        .load(conn)?;
    Ok((base + slots.iter().sum::<i64>(), public_changes))
}

/// Rebuilds a survey's aggregates from its stored responses.
pub fn rebuild(conn: &mut DbConnection, survey_id: i32, def: &SurveyDefinition) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::delete(agg_pieces::table.filter(agg_pieces::survey_id.eq(survey_id)))
            .execute(conn)?;
        diesel::delete(agg_days::table.filter(agg_days::survey_id.eq(survey_id))).execute(conn)?;
        let pending = scan(conn, survey_id, def)?;
        apply_bulk(conn, survey_id, &pending)?;
        set_ok(conn, survey_id, true)
    })
}

/// (id, survey, date, wave, base weight, record key, answers) of a response.
type ScannedResponse = (String, i32, NaiveDate, Option<i32>, f64, i64, String);

/// The aggregates of every stored response, computed from scratch.
pub fn scan(
    conn: &mut DbConnection,
    survey_id: i32,
    def: &SurveyDefinition,
) -> QueryResult<Pending> {
    let mut pending = Pending::default();
    let mut after = String::new();
    loop {
        // Walks the primary key alone and skips other surveys' rows here: with
        // the survey in the WHERE clause SQLite picks the (survey, submission)
        // index and sorts every chunk, which made a 1M rebuild take minutes.
        let rows: Vec<ScannedResponse> = responses::table
            .filter(responses::id.gt(&after))
            .order(responses::id)
            .limit(10_000)
            .select((
                responses::id,
                responses::survey_id,
                responses::submitted_date,
                responses::wave_id,
                responses::base_weight,
                responses::record_key,
                responses::answers,
            ))
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.0.clone();
        for (_, survey, day, wave, weight, key, answers) in rows {
            if survey != survey_id {
                continue;
            }
            let answers: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&answers).map_err(|e| corrupt(e.to_string()))?;
            pending.add_response(def, day, wave, &answers, Sums::keyed(weight, key as u32), 1);
        }
    }
    Ok(pending)
}

/// Everything stored for a survey, as the tables hold it now (for checks).
pub fn stored(conn: &mut DbConnection, survey_id: i32) -> QueryResult<Pending> {
    let mut pending = Pending::default();
    let rows: Vec<(i32, i32, i32, String, String, String)> = agg_pieces::table
        .filter(agg_pieces::survey_id.eq(survey_id))
        .select((
            agg_pieces::week_start,
            agg_pieces::month_start,
            agg_pieces::wave_id,
            agg_pieces::cell,
            agg_pieces::question,
            agg_pieces::sums,
        ))
        .load(conn)?;
    for (week_start, month_start, wave_id, cell, question, text) in rows {
        let piece = Piece {
            week_start: from_day_number(week_start),
            month_start: from_day_number(month_start),
            wave_id,
        };
        let decoded = sums::decode(&text).map_err(corrupt)?;
        pending.add_piece(piece, &cell, &question, &decoded);
    }
    let rows: Vec<(i32, i32, String, String)> = agg_days::table
        .filter(agg_days::survey_id.eq(survey_id))
        .select((
            agg_days::day,
            agg_days::wave_id,
            agg_days::cell,
            agg_days::sums,
        ))
        .load(conn)?;
    for (day, wave_id, cell, text) in rows {
        let day = from_day_number(day);
        let decoded = sums::decode_all(&text).map_err(corrupt)?;
        pending.add_day(day, wave_id, &cell, &decoded);
    }
    Ok(pending)
}

/// One question's (or, with `EVERYONE`, all respondents') piece rows whose
/// month lies in [from_month, to_month] and that start by `up_to`, sums still
/// encoded (see `sums::for_each`). The public's reads stop at its last day, so
/// not even the time a request takes depends on today's answers.
pub fn pieces_raw(
    conn: &mut DbConnection,
    survey_id: i32,
    question: &str,
    from_month: NaiveDate,
    to_month: NaiveDate,
    up_to: NaiveDate,
) -> QueryResult<Vec<(Piece, String, String)>> {
    let mut out = Vec::new();
    for_each_piece(
        conn,
        survey_id,
        question,
        (from_month, to_month, up_to),
        |piece, cell, text| {
            out.push((piece, cell.to_string(), text.to_string()));
            Ok(())
        },
    )?;
    Ok(out)
}

/// The rows `pieces_raw` reads, handed to `each` one at a time as the store
/// returns them: on SQLite a question's 35,000 rows on the 1M store are never
/// all held as text at once (libpq receives a PostgreSQL result whole).
pub fn for_each_piece(
    conn: &mut DbConnection,
    survey_id: i32,
    question: &str,
    (from_month, to_month, up_to): (NaiveDate, NaiveDate, NaiveDate),
    mut each: impl FnMut(Piece, &str, &str) -> QueryResult<()>,
) -> QueryResult<()> {
    let rows = agg_pieces::table
        .filter(agg_pieces::survey_id.eq(survey_id))
        .filter(agg_pieces::question.eq(question))
        .filter(agg_pieces::month_start.between(day_number(from_month), day_number(to_month)))
        .filter(agg_pieces::week_start.le(day_number(up_to)))
        .select((
            agg_pieces::week_start,
            agg_pieces::month_start,
            agg_pieces::wave_id,
            agg_pieces::cell,
            agg_pieces::sums,
        ))
        .load_iter::<(i32, i32, i32, String, String), DefaultLoadingMode>(conn)?;
    for row in rows {
        let (week_start, month_start, wave_id, cell, text) = row?;
        let piece = Piece {
            week_start: from_day_number(week_start),
            month_start: from_day_number(month_start),
            wave_id,
        };
        each(piece, &cell, &text)?;
    }
    Ok(())
}

/// Day rows in [from, to] as pieces of one day each (`week_start` and the
/// day are one), with one question's sums still encoded (others dropped).
pub fn days_raw(
    conn: &mut DbConnection,
    survey_id: i32,
    question: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(Piece, String, String)>> {
    let mut out = Vec::new();
    for_each_day(
        conn,
        survey_id,
        question,
        (from, to),
        |piece, cell, part| {
            out.push((piece, cell.to_string(), part.to_string()));
            Ok(())
        },
    )?;
    Ok(out)
}

/// The rows `days_raw` reads, one at a time as the store returns them (a day
/// row holds every question's sums; only `question`'s part is handed on).
pub fn for_each_day(
    conn: &mut DbConnection,
    survey_id: i32,
    question: &str,
    (from, to): (NaiveDate, NaiveDate),
    mut each: impl FnMut(Piece, &str, &str) -> QueryResult<()>,
) -> QueryResult<()> {
    let rows = agg_days::table
        .filter(agg_days::survey_id.eq(survey_id))
        .filter(agg_days::day.between(day_number(from), day_number(to)))
        .select((
            agg_days::day,
            agg_days::wave_id,
            agg_days::cell,
            agg_days::sums,
        ))
        .load_iter::<(i32, i32, String, String), DefaultLoadingMode>(conn)?;
    for row in rows {
        let (day, wave_id, cell, text) = row?;
        let Some(part) = text
            .split(';')
            .find_map(|p| p.strip_prefix(question)?.strip_prefix('='))
        else {
            continue;
        };
        let day = from_day_number(day);
        let piece = Piece {
            week_start: day,
            month_start: crate::aggregate::month_start(day),
            wave_id,
        };
        each(piece, &cell, part)?;
    }
    Ok(())
}

/// Day rows in [from, to], each with one question's sums (others dropped).
pub fn days(
    conn: &mut DbConnection,
    survey_id: i32,
    question: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<(NaiveDate, i32, String, QuestionSums)>> {
    days_raw(conn, survey_id, question, from, to)?
        .into_iter()
        .map(|(piece, cell, part)| {
            let sums = sums::decode(&part).map_err(corrupt)?;
            Ok((piece.week_start, piece.wave_id, cell, sums))
        })
        .collect()
}

/// The first and last day with a response, up to `up_to` (the public's range
/// ends at its last completed day, so it does not move when someone answers
/// today).
pub fn date_range(
    conn: &mut DbConnection,
    survey_id: i32,
    up_to: NaiveDate,
) -> QueryResult<Option<(NaiveDate, NaiveDate)>> {
    // Two index seeks; min and max in one query would scan the survey's rows.
    let first: Option<i32> = agg_days::table
        .filter(agg_days::survey_id.eq(survey_id))
        .order(agg_days::day.asc())
        .select(agg_days::day)
        .first(conn)
        .optional()?;
    let last: Option<i32> = agg_days::table
        .filter(agg_days::survey_id.eq(survey_id))
        .filter(agg_days::day.le(day_number(up_to)))
        .order(agg_days::day.desc())
        .select(agg_days::day)
        .first(conn)
        .optional()?;
    Ok(first
        .zip(last)
        .map(|(a, b)| (from_day_number(a), from_day_number(b))))
}

/// Marks a survey's aggregates as behind its responses (a bulk load is running)
/// or caught up again.
pub fn set_ok(conn: &mut DbConnection, survey_id: i32, ok: bool) -> QueryResult<()> {
    diesel::update(surveys::table.find(survey_id))
        .set(surveys::aggregates_ok.eq(ok))
        .execute(conn)
        .map(|_| ())
}

/// Whether the aggregates cannot be trusted: a bulk load stopped half-way, or a
/// survey has responses and no aggregates (a store from before they existed).
pub fn needs_rebuild(conn: &mut DbConnection, survey_id: i32) -> QueryResult<bool> {
    let ok: bool = surveys::table
        .find(survey_id)
        .select(surveys::aggregates_ok)
        .first(conn)?;
    if !ok {
        return Ok(true);
    }
    let has_responses: bool = diesel::select(diesel::dsl::exists(
        responses::table.filter(responses::survey_id.eq(survey_id)),
    ))
    .get_result(conn)?;
    let has_aggregates: bool = diesel::select(diesel::dsl::exists(
        agg_days::table.filter(agg_days::survey_id.eq(survey_id)),
    ))
    .get_result(conn)?;
    Ok(has_responses && !has_aggregates)
}

/// Rebuilds the aggregates of every survey that needs it (run at start).
pub fn repair(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    let mut repaired = Vec::new();
    for survey in crate::db::surveys::list(conn)? {
        if needs_rebuild(conn, survey.id)? {
            rebuild(conn, survey.id, &survey.definition)?;
            repaired.push(survey.definition.slug);
        }
    }
    Ok(repaired)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::survey::demo;
    use proptest::prelude::*;
    use serde_json::json;

    fn response() -> impl Strategy<Value = (i64, serde_json::Value, (f64, u32), bool)> {
        (
            0i64..70,
            prop_oneof![(1i64..=5).prop_map(|v| json!(v)), Just(json!("dk"))],
            prop::sample::subsequence(vec!["data_leak", "surveillance", "hard_to_use"], 0..=3),
            prop::sample::select(vec!["18-24", "65+", "na"]),
            prop::sample::select(vec![1.0, 0.5, 2.25]),
            any::<bool>(),
        )
            .prop_map(|(day, trust, concerns, age, weight, keep)| {
                // A record key of the response's own (any u32 would do).
                let weight = (
                    weight,
                    (day as u32).wrapping_mul(2_654_435_761) ^ age.len() as u32,
                );
                let mut answers =
                    json!({"portal_account": "active", "portal_trust": trust, "age_band": age});
                if !concerns.is_empty() {
                    answers["concerns"] = json!(concerns);
                }
                (day, answers, weight, keep)
            })
    }

    proptest! {
        #[test]
        fn sums_kept_incrementally_equal_sums_built_from_scratch(responses in prop::collection::vec(response(), 1..60)) {
            let def = demo::definition();
            let start = NaiveDate::from_ymd_opt(2024, 1, 25).unwrap();
            let mut incremental = Pending::default();
            for (day, answers, (weight, key), _) in &responses {
                incremental.add_response(&def, start + chrono::Duration::days(*day), None, answers.as_object().unwrap(), Sums::keyed(*weight, *key), 1);
            }
            for (day, answers, (weight, key), keep) in &responses {
                if !keep {
                    incremental.add_response(&def, start + chrono::Duration::days(*day), None, answers.as_object().unwrap(), Sums::keyed(*weight, *key), -1);
                }
            }
            let mut scratch = Pending::default();
            for (day, answers, (weight, key), keep) in &responses {
                if *keep {
                    scratch.add_response(&def, start + chrono::Duration::days(*day), None, answers.as_object().unwrap(), Sums::keyed(*weight, *key), 1);
                }
            }
            let (a, b) = (incremental.entries(), scratch.entries());
            prop_assert_eq!(a.len(), b.len());
            for (x, y) in a.iter().zip(&b) {
                prop_assert_eq!((&x.0, x.1, x.4), (&y.0, y.1, y.4));
                prop_assert!((x.2 - y.2).abs() < 1e-9 && (x.3 - y.3).abs() < 1e-9);
            }
        }
    }
}
