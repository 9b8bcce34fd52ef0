//! Compaction: once a day is over in the survey's time zone, its stored rows
//! are rewritten so that they keep no trace of the order or the batches in
//! which they arrived.
//!
//! What arrival leaves behind, and what compaction does about it:
//! - PostgreSQL stamps every row with the transaction that wrote it (`xmin`)
//!   and keeps rows in the order they were written. A day's responses are
//!   rewritten in one transaction in id order (random ids), so they share
//!   one `xmin` and their physical order is the ids'; the aggregate rows of
//!   the day, and of the week and month pieces holding it, are rewritten in
//!   the same transaction; spent invitation codes are rewritten in a
//!   transaction of their own, so no code shares a transaction id with any
//!   response. Dead row versions are then vacuumed.
//! - SQLite keeps responses in key order (survey, date, random id), so its
//!   tables hold no arrival order; its write-ahead log does (each commit's
//!   pages in turn): it is checkpointed and truncated.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::aggregates::{day_number, from_day_number};
use crate::db::schema::compactions;
use crate::db::{self, Checkpoint, DbConnection};

/// Any number, the same in every instance: one instance compacts at a time.
const COMPACTION_LOCK_KEY: i64 = 0x7470_636f_6d70;

/// Compacts, for every survey, the days before today in its time zone that
/// are not compacted yet. Returns (survey slug, days compacted, through).
/// On PostgreSQL an instance that finds another compacting leaves it to it.
pub fn compact_completed(conn: &mut DbConnection) -> QueryResult<Vec<(String, usize, NaiveDate)>> {
    if let DbConnection::Pg(c) = conn {
        #[derive(QueryableByName)]
        struct Locked {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            locked: bool,
        }
        let got: Locked = diesel::sql_query(format!(
            "SELECT pg_try_advisory_lock({COMPACTION_LOCK_KEY}) AS locked"
        ))
        .get_result(c)?;
        if !got.locked {
            return Ok(Vec::new());
        }
    }
    let outcome = compact_each(conn);
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_unlock({COMPACTION_LOCK_KEY})"))
            .execute(c)?;
    }
    outcome
}

fn compact_each(conn: &mut DbConnection) -> QueryResult<Vec<(String, usize, NaiveDate)>> {
    let mut done = Vec::new();
    for survey in db::surveys::list(conn)? {
        // A submission checked a moment before midnight may commit a moment
        // after: a day is compacted once it has been over for a while.
        let today = (chrono::Utc::now() - chrono::Duration::minutes(10))
            .with_timezone(&survey.definition.time_zone())
            .date_naive();
        let Some(yesterday) = today.pred_opt() else {
            continue;
        };
        if compacted_through(conn, survey.id)? >= Some(yesterday) {
            continue;
        }
        let days = compact_through(conn, survey.id, yesterday)?;
        done.push((survey.definition.slug.clone(), days, yesterday));
    }
    Ok(done)
}

/// The last day compacted (None: none yet).
pub fn compacted_through(
    conn: &mut DbConnection,
    survey_id: i32,
) -> QueryResult<Option<NaiveDate>> {
    let day: Option<i32> = compactions::table
        .find(survey_id)
        .select(compactions::through_day)
        .first(conn)
        .optional()?;
    Ok(day.map(from_day_number))
}

/// Compacts every day after the last compacted one up to `through`, a day at
/// a time (each in its own short transaction, so writers storing today's
/// submissions wait for one day's rows at most). Returns the days compacted.
pub fn compact_through(
    conn: &mut DbConnection,
    survey_id: i32,
    through: NaiveDate,
) -> QueryResult<usize> {
    let first_stored: Option<NaiveDate> = {
        use crate::db::schema::responses;
        responses::table
            .filter(responses::survey_id.eq(survey_id))
            .select(diesel::dsl::min(responses::submitted_date))
            .first(conn)?
    };
    let start = match (compacted_through(conn, survey_id)?, first_stored) {
        (Some(done), _) => done.succ_opt().unwrap_or(done),
        (None, Some(first)) => first,
        (None, None) => through,
    };
    // Every question with aggregate rows (retired ones and "" for everyone
    // included), read once.
    let questions: Vec<String> = match conn {
        DbConnection::Pg(_) if start <= through => {
            use crate::db::schema::agg_pieces;
            agg_pieces::table
                .filter(agg_pieces::survey_id.eq(survey_id))
                .select(agg_pieces::question)
                .distinct()
                .load(conn)?
        }
        _ => Vec::new(),
    };
    let mut days = 0;
    let mut day = start;
    while day <= through {
        if let DbConnection::Pg(_) = conn {
            rewrite_day(conn, survey_id, day, &questions)?;
        }
        record(conn, survey_id, day)?;
        days += 1;
        day = match day.succ_opt() {
            Some(next) => next,
            None => break,
        };
    }
    if days > 0 {
        match conn {
            DbConnection::Pg(_) => {
                rewrite_spent_codes(conn, survey_id)?;
                use diesel::connection::SimpleConnection;
                conn.batch_execute("VACUUM responses, invitations, agg_days, agg_pieces")?;
            }
            DbConnection::Sqlite(_) => {
                db::checkpoint(conn, Checkpoint::Truncate)?;
            }
        }
    }
    Ok(days)
}

fn record(conn: &mut DbConnection, survey_id: i32, day: NaiveDate) -> QueryResult<()> {
    let row = (
        compactions::survey_id.eq(survey_id),
        compactions::through_day.eq(day_number(day)),
    );
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_into(compactions::table)
            .values(row)
            .on_conflict(compactions::survey_id)
            .do_update()
            .set(compactions::through_day.eq(day_number(day)))
            .execute(c),
        DbConnection::Pg(c) => diesel::insert_into(compactions::table)
            .values(row)
            .on_conflict(compactions::survey_id)
            .do_update()
            .set(compactions::through_day.eq(day_number(day)))
            .execute(c),
    }
    .map(|_| ())
}

/// PostgreSQL: one day's aggregate rows rewritten, then its responses, in one
/// transaction, deleted and inserted again in id order.
fn rewrite_day(
    conn: &mut DbConnection,
    survey_id: i32,
    day: NaiveDate,
    questions: &[String],
) -> QueryResult<()> {
    let DbConnection::Pg(c) = conn else {
        return Ok(());
    };
    let (n, week, month) = (
        day_number(day),
        day_number(crate::aggregate::week_start(day)),
        day_number(crate::aggregate::month_start(day)),
    );
    use diesel::sql_types::{Array, Date, Integer, Text};
    c.transaction(|c| {
        // Locked in key order as the writer locks them, so the two never
        // wait on each other in a cycle. The questions are named so that the
        // primary key (survey, question, week, …) finds the rows.
        diesel::sql_query(
            "SELECT 1 FROM agg_pieces WHERE survey_id = $1 AND question = ANY($4) \
             AND (week_start = $2 OR week_start = $3) AND month_start = $3 \
             ORDER BY question, week_start, month_start, wave_id, cell FOR UPDATE",
        )
        .bind::<Integer, _>(survey_id)
        .bind::<Integer, _>(week)
        .bind::<Integer, _>(month)
        .bind::<Array<Text>, _>(questions)
        .execute(c)?;
        diesel::sql_query(
            "UPDATE agg_pieces SET sums = sums WHERE survey_id = $1 AND question = ANY($4) \
             AND (week_start = $2 OR week_start = $3) AND month_start = $3",
        )
        .bind::<Integer, _>(survey_id)
        .bind::<Integer, _>(week)
        .bind::<Integer, _>(month)
        .bind::<Array<Text>, _>(questions)
        .execute(c)?;
        diesel::sql_query("UPDATE agg_days SET sums = sums WHERE survey_id = $1 AND day = $2")
            .bind::<Integer, _>(survey_id)
            .bind::<Integer, _>(n)
            .execute(c)?;
        QueryResult::Ok(())
    })?;
    // One snapshot for the copy and the delete: a response of the day
    // committed between them (a late submission, an import) is neither
    // copied nor deleted, so it stays; under READ COMMITTED the delete saw it
    // and the copy did not, and it was lost.
    c.build_transaction().repeatable_read().run(|c| {
        diesel::sql_query(
            "CREATE TEMPORARY TABLE compacting ON COMMIT DROP AS \
             SELECT * FROM responses WHERE survey_id = $1 AND submitted_date = $2",
        )
        .bind::<Integer, _>(survey_id)
        .bind::<Date, _>(day)
        .execute(c)?;
        diesel::sql_query("DELETE FROM responses WHERE survey_id = $1 AND submitted_date = $2")
            .bind::<Integer, _>(survey_id)
            .bind::<Date, _>(day)
            .execute(c)?;
        diesel::sql_query("INSERT INTO responses SELECT * FROM compacting ORDER BY id")
            .execute(c)?;
        QueryResult::Ok(())
    })
}

/// PostgreSQL: every spent code of the survey rewritten in one transaction
/// of its own (after the responses'), so their `xmin` dates none of them and
/// matches no response's.
fn rewrite_spent_codes(conn: &mut DbConnection, survey_id: i32) -> QueryResult<()> {
    let DbConnection::Pg(c) = conn else {
        return Ok(());
    };
    c.transaction(|c| {
        diesel::sql_query("UPDATE invitations SET spent = spent WHERE survey_id = $1 AND spent")
            .bind::<diesel::sql_types::Integer, _>(survey_id)
            .execute(c)
            .map(|_| ())
    })
}
