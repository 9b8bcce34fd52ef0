//! Secrets every instance shares, created on first use.

use diesel::prelude::*;

use crate::auth;
use crate::db::DbConnection;
use crate::db::schema::secrets;

/// The named 256-bit secret, made on first call; instances racing to make it
/// all end up with the one that was stored first.
pub fn get_or_create(conn: &mut DbConnection, name: &str) -> QueryResult<Vec<u8>> {
    let existing: Option<String> = secrets::table
        .find(name)
        .select(secrets::value)
        .first(conn)
        .optional()?;
    let hex = match existing {
        Some(value) => value,
        None => {
            let fresh: String = auth::random_bytes::<32>()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            match diesel::insert_into(secrets::table)
                .values((secrets::name.eq(name), secrets::value.eq(&fresh)))
                .execute(conn)
            {
                Ok(_) => fresh,
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => secrets::table
                    .find(name)
                    .select(secrets::value)
                    .first(conn)?,
                Err(e) => return Err(e),
            }
        }
    };
    Ok((0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok())
        .collect())
}
