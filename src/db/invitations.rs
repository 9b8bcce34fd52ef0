//! Invitation codes for panel surveys. Only hashes are stored; spending a code
//! sets a flag and records nothing else (no time, no response).

use diesel::prelude::*;

use crate::auth;
use crate::db::DbConnection;
use crate::db::schema::invitations;

/// Creates `count` codes and returns them: the only time they are shown.
pub fn create(
    conn: &mut DbConnection,
    survey_id: i32,
    wave_id: Option<i32>,
    count: usize,
) -> QueryResult<Vec<String>> {
    conn.transaction(|conn| {
        let mut codes = Vec::with_capacity(count);
        while codes.len() < count {
            let code = auth::new_invitation_code();
            let inserted = diesel::insert_into(invitations::table)
                .values((
                    invitations::survey_id.eq(survey_id),
                    invitations::wave_id.eq(wave_id),
                    invitations::code_hash.eq(auth::invitation_hash(&code)),
                ))
                .execute(conn);
            match inserted {
                Ok(_) => codes.push(code),
                // A 60-bit collision: draw again.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(codes)
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    Unknown,
    Spent,
    /// Usable; bound to this wave if any.
    Open {
        wave_id: Option<i32>,
    },
}

pub fn state(conn: &mut DbConnection, survey_id: i32, code: &str) -> QueryResult<CodeState> {
    let row: Option<(bool, Option<i32>)> = invitations::table
        .filter(invitations::survey_id.eq(survey_id))
        .filter(invitations::code_hash.eq(auth::invitation_hash(code)))
        .select((invitations::spent, invitations::wave_id))
        .first(conn)
        .optional()?;
    Ok(match row {
        None => CodeState::Unknown,
        Some((true, _)) => CodeState::Spent,
        Some((false, wave_id)) => CodeState::Open { wave_id },
    })
}

/// Marks the code spent if it was open; false if another submission won.
pub fn spend(conn: &mut DbConnection, survey_id: i32, code: &str) -> QueryResult<bool> {
    let changed = diesel::update(
        invitations::table
            .filter(invitations::survey_id.eq(survey_id))
            .filter(invitations::code_hash.eq(auth::invitation_hash(code)))
            .filter(invitations::spent.eq(false)),
    )
    .set(invitations::spent.eq(true))
    .execute(conn)?;
    Ok(changed == 1)
}
