//! Dated events (a law passed, an election), shared by all surveys.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::DbConnection;
use crate::db::schema::events;

#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Queryable, Selectable, utoipa::ToSchema,
)]
#[diesel(table_name = events)]
pub struct Event {
    pub id: i32,
    #[serde(rename = "date")]
    pub event_date: NaiveDate,
    pub label_ru: String,
    pub label_en: String,
    pub source_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Insertable, utoipa::ToSchema)]
#[diesel(table_name = events)]
#[diesel(treat_none_as_default_value = false)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    #[serde(rename = "date")]
    pub event_date: NaiveDate,
    #[schema(min_length = 1, max_length = 200)]
    pub label_ru: String,
    #[schema(min_length = 1, max_length = 200)]
    pub label_en: String,
    #[serde(default)]
    #[schema(pattern = "^https?://")]
    pub source_url: Option<String>,
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Event>> {
    events::table
        .order((events::event_date, events::id))
        .select(Event::as_select())
        .load(conn)
}

/// Adds the event unless one with the same date and English label exists.
pub fn insert_if_missing(conn: &mut DbConnection, event: &NewEvent) -> QueryResult<bool> {
    // Read, then write: the write lock first (see `db::write_transaction`).
    crate::db::write_transaction(conn, |conn| {
        let exists = diesel::select(diesel::dsl::exists(
            events::table
                .filter(events::event_date.eq(event.event_date))
                .filter(events::label_en.eq(&event.label_en)),
        ))
        .get_result::<bool>(conn)?;
        if !exists {
            diesel::insert_into(events::table)
                .values(event)
                .execute(conn)?;
        }
        Ok(!exists)
    })
}

/// Removes an event; true if it existed.
pub fn delete(conn: &mut DbConnection, id: i32) -> QueryResult<bool> {
    Ok(diesel::delete(events::table.find(id)).execute(conn)? > 0)
}
