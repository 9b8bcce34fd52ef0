//! Loading the demo tracker into a store: its definition and events once, then
//! any number of synthetic responses in bulk.

use anyhow::Context;
use rand::Rng;
use uuid::Uuid;

use crate::bulk::{self, BulkResponse};
use crate::db::{DbConnection, events, surveys, targets};
use crate::survey::demo::{self, Generator};

/// Adds the demo survey and its events unless present; returns the survey's id.
pub fn ensure_demo_survey(conn: &mut DbConnection) -> anyhow::Result<i32> {
    // Read, then write: the write lock first (see `db::write_transaction`).
    crate::db::write_transaction(conn, |conn| {
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

/// Loads `count` synthetic responses drawn with `seed`, in one transaction,
/// calling `progress` with the number prepared so far.
pub fn load_demo(
    conn: &mut DbConnection,
    count: u64,
    seed: u64,
    progress: impl FnMut(u64),
) -> anyhow::Result<i32> {
    let survey_id = ensure_demo_survey(conn)?;
    if count == 0 {
        return Ok(survey_id);
    }
    surveys::mark_synthetic(conn, survey_id)?;
    let definition = demo::definition();
    // Random UUIDv4 ids, handed out in ascending order to responses that come
    // in date order: the table (kept in date, then id order) and the id index
    // then fill page after page. Ids are never derived from the seed, so
    // loading twice with one seed adds rows instead of colliding.
    let mut random = bulk::os_seeded_rng();
    let mut ids: Vec<Uuid> = (0..count)
        .map(|_| uuid::Builder::from_random_bytes(random.random()).into_uuid())
        .collect();
    ids.sort_unstable();
    let rows = Generator::new(seed)
        .responses(count)
        .zip(ids)
        .map(|(response, id)| {
            Ok::<_, std::convert::Infallible>(BulkResponse {
                id: id.to_string(),
                date: response.date,
                wave_id: None,
                lang: response.lang,
                base_weight: 1.0,
                answers: response.answers,
            })
        });
    bulk::load(conn, survey_id, &definition, rows, progress).context("storing demo responses")?;
    Ok(survey_id)
}
