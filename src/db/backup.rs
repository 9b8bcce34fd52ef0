//! Online backups of a SQLite store: `VACUUM INTO` writes a consistent copy
//! from one read transaction while the service keeps writing (WAL), and the
//! copy is compacted: no free pages, no `-wal` file, nothing of deleted rows.
//! PostgreSQL stores are backed up with `pg_dump` (see the README).

use std::path::Path;

use anyhow::{Context, bail};
use diesel::RunQueryDsl;

use crate::db::DbConnection;

/// Writes a consistent copy of the store to `out`, which must not exist.
pub fn backup(conn: &mut DbConnection, out: &Path) -> anyhow::Result<()> {
    let DbConnection::Sqlite(sqlite) = conn else {
        bail!(
            "a PostgreSQL store is backed up with pg_dump, e.g. pg_dump --format=custom --file=FILE 'postgres://…'"
        );
    };
    if out.exists() {
        bail!("{} exists: a backup never overwrites a file", out.display());
    }
    let path = out
        .to_str()
        .with_context(|| format!("{}: the path is not UTF-8", out.display()))?;
    // A string literal in SQL: quotes doubled (VACUUM INTO takes no bind parameter here).
    diesel::sql_query(format!("VACUUM INTO '{}'", path.replace('\'', "''")))
        .execute(sqlite)
        .with_context(|| format!("writing the backup to {}", out.display()))?;
    Ok(())
}
