//! Which storage layout for answers: one compact JSON row per response (what
//! trustpulse uses) or one row per answer? Loads the same synthetic responses
//! both ways into fresh SQLite files, then reads them all back in export order.
//!
//!     cargo bench --bench storage_layout            # 200,000 responses
//!     BENCH_RESPONSES=1000000 cargo bench --bench storage_layout

use std::time::Instant;

use diesel::prelude::*;
use trustpulse::db::responses::NewResponse;
use trustpulse::db::{self, DatabaseUrl, DbConnection, Store};
use trustpulse::survey::demo::Generator;

diesel::table! {
    answer_rows (response_id, question) {
        response_id -> Text,
        question -> Text,
        value -> Text,
    }
}

#[derive(Insertable)]
#[diesel(table_name = answer_rows)]
struct AnswerRow {
    response_id: String,
    question: String,
    value: String,
}

fn file_size(path: &std::path::Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
        .map(|m| m.len())
        .sum()
}

fn main() -> anyhow::Result<()> {
    let count: usize = std::env::var("BENCH_RESPONSES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = tempfile::tempdir()?;
    let mut generator = Generator::new(1);
    let responses: Vec<NewResponse> = (0..count)
        .map(|_| {
            let r = generator.next_response();
            NewResponse {
                id: uuid::Uuid::new_v4().to_string(),
                survey_id: 1,
                wave_id: None,
                submitted_date: r.date,
                lang: r.lang.as_str().into(),
                submission_id: None,
                base_weight: 1.0,
                answers: serde_json::Value::Object(r.answers).to_string(),
                record_key: trustpulse::db::responses::new_record_key(),
            }
        })
        .collect();
    println!("{count} synthetic responses, release build, SQLite WAL synchronous=FULL");

    // Layout A: one row per response.
    let path_a = dir.path().join("compact.db");
    let store = Store::open(&DatabaseUrl::Sqlite(path_a.clone()))?;
    let mut conn = store.get()?;
    db::seed::ensure_demo_survey(&mut conn)?;
    let started = Instant::now();
    for batch in responses.chunks(10_000) {
        let mut sorted = batch.to_vec();
        sorted.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        db::responses::insert_many(&mut conn, &sorted)?;
    }
    let load_a = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let rows: Vec<(String, chrono::NaiveDate, String)> = {
        use trustpulse::db::schema::responses::dsl::*;
        responses
            .order((submitted_date, id))
            .select((id, submitted_date, answers))
            .load(&mut *conn)?
    };
    let mut cells = 0usize;
    for (_, _, answers) in &rows {
        let parsed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(answers)?;
        cells += parsed.len();
    }
    let read_a = started.elapsed().as_secs_f64();
    println!(
        "one row per response: load {load_a:.2} s ({:.0}/s), read+parse {read_a:.2} s ({:.0} rows/s), {cells} answers, {:.1} MB",
        count as f64 / load_a,
        count as f64 / read_a,
        file_size(&path_a) as f64 / 1e6
    );
    drop(conn);

    // Layout B: a header row per response plus one row per answer.
    let path_b = dir.path().join("per_answer.db");
    let store = Store::open(&DatabaseUrl::Sqlite(path_b.clone()))?;
    let mut conn = store.get()?;
    db::seed::ensure_demo_survey(&mut conn)?;
    diesel::sql_query(
        "CREATE TABLE answer_rows (response_id TEXT NOT NULL, question TEXT NOT NULL, value TEXT NOT NULL,
         PRIMARY KEY (response_id, question)) WITHOUT ROWID",
    )
    .execute(&mut *conn)?;
    let started = Instant::now();
    for batch in responses.chunks(10_000) {
        let mut headers = batch.to_vec();
        headers.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let mut answer_rows_batch = Vec::new();
        for h in headers.iter_mut() {
            let parsed: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&h.answers)?;
            for (question, value) in parsed {
                answer_rows_batch.push(AnswerRow {
                    response_id: h.id.clone(),
                    question,
                    value: value.to_string(),
                });
            }
            h.answers = String::new();
        }
        let DbConnection::Sqlite(c) = &mut *conn else {
            unreachable!()
        };
        c.transaction(|c| {
            for chunk in headers.chunks(2000) {
                diesel::insert_into(trustpulse::db::schema::responses::table)
                    .values(chunk)
                    .execute(c)?;
            }
            for chunk in answer_rows_batch.chunks(5000) {
                diesel::insert_into(answer_rows::table)
                    .values(chunk)
                    .execute(c)?;
            }
            diesel::QueryResult::Ok(())
        })?;
    }
    let load_b = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let rows: Vec<(String, String, String)> = diesel::sql_query(
        "SELECT r.id AS response_id, a.question AS question, a.value AS value
         FROM responses r JOIN answer_rows a ON a.response_id = r.id
         ORDER BY r.submitted_date, r.id",
    )
    .load::<RowB>(&mut *conn)?
    .into_iter()
    .map(|r| (r.response_id, r.question, r.value))
    .collect();
    let mut responses_seen = 0usize;
    let mut last = String::new();
    for (rid, _, value) in &rows {
        let _: serde_json::Value = serde_json::from_str(value)?;
        if *rid != last {
            responses_seen += 1;
            last.clone_from(rid);
        }
    }
    let read_b = started.elapsed().as_secs_f64();
    println!(
        "one row per answer:   load {load_b:.2} s ({:.0}/s), read+parse {read_b:.2} s ({:.0} rows/s), {} answers, {:.1} MB",
        count as f64 / load_b,
        responses_seen as f64 / read_b,
        rows.len(),
        file_size(&path_b) as f64 / 1e6
    );
    Ok(())
}

#[derive(QueryableByName)]
struct RowB {
    #[diesel(sql_type = diesel::sql_types::Text)]
    response_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    question: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}
