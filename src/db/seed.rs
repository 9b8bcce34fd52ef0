//! Loading the demo tracker into a store: its definition and events once, then
//! any number of synthetic responses in bulk.

use anyhow::Context;
use diesel::Connection;
use uuid::Uuid;

use crate::db::{DbConnection, aggregates, events, responses, surveys, targets};
use crate::stats::sums::Sums;
use crate::survey::demo::{self, Generator};

/// Responses generated and stored per transaction.
const BATCH: usize = 10_000;

/// Adds the demo survey and its events unless present; returns the survey's id.
pub fn ensure_demo_survey(conn: &mut DbConnection) -> anyhow::Result<i32> {
    conn.transaction(|conn| {
        for event in demo::events() {
            let event = events::NewEvent {
                event_date: event.date,
                label_ru: event.label_ru,
                label_en: event.label_en,
                source_url: event.source_url,
            };
            events::insert_if_missing(conn, &event)?;
        }
        match surveys::find_by_slug(conn, demo::SLUG)? {
            Some(survey) => diesel::QueryResult::Ok(survey.id),
            None => {
                let id = surveys::insert(conn, &demo::definition())?;
                targets::replace(conn, id, &demo::targets(), Some(demo::TARGETS_SOURCE))?;
                Ok(id)
            }
        }
    })
    .context("storing the demo survey")
}

/// Loads `count` synthetic responses drawn with `seed`, calling `progress`
/// with the number stored so far after each batch.
pub fn load_demo(
    conn: &mut DbConnection,
    count: u64,
    seed: u64,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<i32> {
    let survey_id = ensure_demo_survey(conn)?;
    if count == 0 {
        return Ok(survey_id);
    }
    surveys::mark_synthetic(conn, survey_id)?;
    let definition = demo::definition();
    // Responses go in batch by batch; their sums once at the end. Until then
    // the survey is marked, so a load cut short is repaired at the next start.
    aggregates::set_ok(conn, survey_id, false)?;
    let mut sums = aggregates::Pending::default();
    let mut generator = Generator::new(seed);
    // Random UUIDv4 ids, handed out in ascending order: the B-tree then fills
    // page after page instead of rewriting random pages in every commit (7x
    // faster on SQLite). Which response gets which id is still random, since
    // the generator draws responses in random date order.
    let mut ids: Vec<Uuid> = (0..count).map(|_| Uuid::new_v4()).collect();
    ids.sort_unstable();
    let mut ids = ids.into_iter();
    let mut stored = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    while stored < count {
        batch.clear();
        let size = BATCH.min((count - stored) as usize);
        for _ in 0..size {
            let response = generator.next_response();
            let record_key = responses::new_record_key();
            sums.add_response(
                &definition,
                response.date,
                None,
                &response.answers,
                Sums::keyed(1.0, record_key as u32),
                1,
            );
            batch.push(responses::NewResponse {
                // Ids are never derived from the seed, so loading twice with one
                // seed adds rows instead of colliding.
                id: ids.next().unwrap_or_else(Uuid::new_v4).to_string(),
                survey_id,
                wave_id: None,
                submitted_date: response.date,
                lang: response.lang.as_str().to_string(),
                submission_id: None,
                base_weight: 1.0,
                answers: serde_json::Value::Object(response.answers).to_string(),
                record_key,
            });
        }
        responses::insert_many(conn, &batch).context("storing demo responses")?;
        stored += size as u64;
        progress(stored);
    }
    conn.transaction(|conn| {
        aggregates::apply_bulk(conn, survey_id, &sums)?;
        aggregates::set_ok(conn, survey_id, true)
    })
    .context("storing demo aggregates")?;
    Ok(survey_id)
}
