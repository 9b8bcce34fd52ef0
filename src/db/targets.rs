//! Weighting targets: population shares per option of demographic questions.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{surveys, targets};

pub use crate::survey::targets::Targets;

/// A survey's targets and where they come from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoredTargets {
    pub shares: Targets,
    pub source: Option<String>,
}

pub fn get(conn: &mut DbConnection, survey_id: i32) -> QueryResult<StoredTargets> {
    let rows: Vec<(String, String, f64)> = targets::table
        .filter(targets::survey_id.eq(survey_id))
        .select((targets::dimension, targets::option_code, targets::share))
        .load(conn)?;
    let mut out = Targets::new();
    for (dimension, option, share) in rows {
        out.entry(dimension).or_default().insert(option, share);
    }
    let source = surveys::table
        .find(survey_id)
        .select(surveys::targets_source)
        .first(conn)?;
    Ok(StoredTargets {
        shares: out,
        source,
    })
}

/// Replaces every target of the survey (an empty map removes them).
pub fn replace(
    conn: &mut DbConnection,
    survey_id: i32,
    new: &Targets,
    source: Option<&str>,
) -> QueryResult<()> {
    conn.transaction(|conn| {
        // New targets move weighted figures: both data versions say so.
        diesel::update(surveys::table.find(survey_id))
            .set((
                surveys::targets_source.eq(source),
                surveys::data_version.eq(surveys::data_version + 1),
                surveys::public_changes.eq(surveys::public_changes + 1),
            ))
            .execute(conn)?;
        diesel::delete(targets::table.filter(targets::survey_id.eq(survey_id))).execute(conn)?;
        for (dimension, shares) in new {
            for (option, share) in shares {
                diesel::insert_into(targets::table)
                    .values((
                        targets::survey_id.eq(survey_id),
                        targets::dimension.eq(dimension),
                        targets::option_code.eq(option),
                        targets::share.eq(share),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}
