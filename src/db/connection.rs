//! The connection enum over both backends (diesel's MultiConnection, whose
//! shared types include Bool, Date and Timestamp), the pool manager that picks the
//! backend from the URL scheme, and the per-connection SQLite settings.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

/// Where the data lives, parsed once from `--database-url`.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// `sqlite://relative/path`, `sqlite:///abs/path`, `postgres://…`, `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self, String> {
        if let Some(rest) = url.strip_prefix("sqlite://") {
            if rest.is_empty() || rest == "/" {
                return Err("sqlite:// needs a file path, e.g. sqlite://data/trustpulse.db".into());
            }
            Ok(DatabaseUrl::Sqlite(PathBuf::from(rest)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_string()))
        } else {
            Err(format!(
                "unsupported database URL {:?}: use sqlite://PATH or postgres://…",
                redact(url)
            ))
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self, DatabaseUrl::Sqlite(_))
    }
}

/// Never print a password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***{}", &url[..scheme_end], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(path) => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How long a SQLite writer waits for the lock before giving up.
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Durable commits: with `synchronous=FULL` in WAL mode every commit is fsynced
/// before it is acknowledged, so it survives a crash of the machine, not only of
/// the process (NORMAL would lose the last commits on power loss). The busy
/// timeout comes first: switching to WAL takes a lock, and another process
/// opening the same file at that moment (a server starting while a command
/// still holds it) must wait, not fail with "database is locked".
///
/// A commit that finds the write-ahead log over `wal_autocheckpoint` pages
/// copies it into the database first, inside that commit: a server keeps its
/// log well under the bound with its own checkpoints (`db::checkpoint`) off
/// the commit path, so the bound (40 MB) only matters if those fall behind.
fn sqlite_settings() -> String {
    format!(
        "PRAGMA busy_timeout = {};
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA wal_autocheckpoint = 10000;
         PRAGMA foreign_keys = ON;",
        SQLITE_BUSY_TIMEOUT.as_millis()
    )
}

/// Opens a connection to the backend the URL names. Errors keep the backend's
/// own message (a wrong password stays "password authentication failed").
pub fn establish(url: &DatabaseUrl) -> Result<DbConnection, ConnectionError> {
    match url {
        DatabaseUrl::Sqlite(path) => {
            let path = path.to_str().ok_or_else(|| {
                ConnectionError::BadConnection("the SQLite path is not valid UTF-8".into())
            })?;
            let mut conn = diesel::SqliteConnection::establish(path)?;
            conn.batch_execute(&sqlite_settings())
                .map_err(ConnectionError::CouldntSetupConfiguration)?;
            Ok(DbConnection::Sqlite(conn))
        }
        DatabaseUrl::Postgres(url) => Ok(DbConnection::Pg(diesel::PgConnection::establish(url)?)),
    }
}

/// r2d2 manager: one URL, the backend fixed by its scheme.
#[derive(Debug, Clone)]
pub struct StoreManager {
    url: DatabaseUrl,
}

impl StoreManager {
    pub fn new(url: DatabaseUrl) -> Self {
        StoreManager { url }
    }
}

impl ManageConnection for StoreManager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        establish(&self.url).map_err(r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_the_backend_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db").unwrap(),
            DatabaseUrl::Sqlite("data/x.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgresql://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn printed_urls_hide_the_password() {
        let url = DatabaseUrl::parse("postgres://alice:s3cret@db.example/tp").unwrap();
        assert_eq!(url.to_string(), "postgres://alice:***@db.example/tp");
        assert!(!format!("{url:?}").contains("s3cret"));
    }
}
