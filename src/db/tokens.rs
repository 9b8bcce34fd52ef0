//! API tokens: only a hash of each secret is stored.

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::Serialize;

use crate::auth::{self, Role};
use crate::db::DbConnection;
use crate::db::schema::api_tokens;

#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct TokenInfo {
    pub id: i32,
    pub role: String,
    pub label: String,
    pub created_on: NaiveDate,
    pub last_used_on: Option<NaiveDate>,
}

/// Creates a token and returns it in full: the only time it is ever shown.
pub fn create(
    conn: &mut DbConnection,
    role: Role,
    label: &str,
    today: NaiveDate,
) -> QueryResult<(i32, String)> {
    let (token, key, hash) = auth::new_api_token();
    let id = diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::lookup_key.eq(&key),
            api_tokens::secret_hash.eq(&hash),
            api_tokens::role.eq(role.as_str()),
            api_tokens::label.eq(label),
            api_tokens::created_on.eq(today),
        ))
        .returning(api_tokens::id)
        .get_result(conn)?;
    Ok((id, token))
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<TokenInfo>> {
    api_tokens::table
        .order(api_tokens::id)
        .select(TokenInfo::as_select())
        .load(conn)
}

/// Removes a token; true if it existed.
pub fn revoke(conn: &mut DbConnection, id: i32) -> QueryResult<bool> {
    Ok(diesel::delete(api_tokens::table.find(id)).execute(conn)? > 0)
}

/// The role of a presented token, if it is a live one. Marks the day it was used.
pub fn authenticate(
    conn: &mut DbConnection,
    token: &str,
    today: NaiveDate,
) -> QueryResult<Option<Role>> {
    let Some((key, secret)) = auth::split_api_token(token) else {
        return Ok(None);
    };
    let row: Option<(i32, String, String, Option<NaiveDate>)> = api_tokens::table
        .filter(api_tokens::lookup_key.eq(key))
        .select((
            api_tokens::id,
            api_tokens::secret_hash,
            api_tokens::role,
            api_tokens::last_used_on,
        ))
        .first(conn)
        .optional()?;
    let Some((id, hash, role, last_used)) = row else {
        return Ok(None);
    };
    if !auth::secret_matches(secret, &hash) {
        return Ok(None);
    }
    if last_used != Some(today) {
        diesel::update(api_tokens::table.find(id))
            .set(api_tokens::last_used_on.eq(today))
            .execute(conn)?;
    }
    Ok(Role::parse(&role))
}
