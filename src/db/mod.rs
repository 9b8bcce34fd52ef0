//! The store: a pool of connections to SQLite or PostgreSQL, its migrations, and
//! one module per table family. Nothing here knows about HTTP.

pub mod aggregates;
pub mod backup;
pub mod compaction;
pub mod connection;
pub mod events;
pub mod invitations;
pub mod responses;
pub mod schema;
pub mod secrets;
pub mod seed;
pub mod surveys;
pub mod targets;
pub mod tokens;

use std::time::Duration;

use anyhow::Context;
use diesel::prelude::*;
use diesel::r2d2::{Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use connection::{DatabaseUrl, DbConnection, StoreManager};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any number, the same in every instance: instances starting together take
/// turns running migrations.
const MIGRATION_LOCK_KEY: i64 = 0x7472_7573_7470;

pub type Conn = PooledConnection<StoreManager>;

/// How long a request waits for a pooled connection before it is told the
/// store is unavailable.
const POOL_WAIT: Duration = Duration::from_millis(750);

/// How long a request waits, in all, for a connection while the store is up
/// but every pooled connection is in use.
const BUSY_WAIT: Duration = Duration::from_secs(5);

/// The pool timed out with every connection busy, none having failed (r2d2
/// adds the last connection error to the message when one did).
fn is_busy(e: &diesel::r2d2::PoolError) -> bool {
    e.to_string() == "timed out waiting for connection"
}

/// Errors that say the store cannot serve or take writes now (gone, full,
/// read-only, locked too long), not that the request was wrong: 503.
pub fn is_unavailable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | Error::BrokenTransactionManager => true,
        Error::DatabaseError(_, info) => {
            let message = info.message();
            [
                "database or disk is full",
                "readonly database",
                "disk I/O error",
                "database is locked",
                "server closed the connection",
                "terminating connection",
                "no connection to the server",
                "could not send data to server",
                "connection to server",
                "Connection refused",
                "the database system is",
            ]
            .iter()
            .any(|needle| message.contains(needle))
        }
        _ => false,
    }
}

/// A pool of connections to one store.
#[derive(Clone)]
pub struct Store {
    pool: Pool<StoreManager>,
    url: DatabaseUrl,
}

impl Store {
    /// Opens the store the URL names, creating a SQLite file and its folder if
    /// needed, and runs pending migrations.
    pub fn open(url: &DatabaseUrl) -> anyhow::Result<Store> {
        if let DatabaseUrl::Sqlite(path) = url
            && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the data folder {}", dir.display()))?;
        }
        let mut first =
            connection::establish(url).with_context(|| format!("connecting to {url}"))?;
        // Migrations and the repair of aggregates a migration or a cut-short
        // load left behind, under one lock: instances starting together on
        // PostgreSQL take turns, and the second finds nothing left to do.
        let repaired = with_start_lock(&mut first, |conn| {
            run_migrations(conn).context("running migrations")?;
            aggregates::repair(conn).context("rebuilding aggregates")
        })?;
        if !repaired.is_empty() {
            tracing::warn!(surveys = ?repaired, "aggregates were rebuilt from stored responses");
        }
        drop(first);
        let size = 16;
        let pool = Pool::builder()
            .max_size(size)
            .min_idle(Some(1))
            // A request waits at most this for a connection: with the
            // store gone it answers 503 within a second instead of hanging.
            .connection_timeout(POOL_WAIT)
            .build(StoreManager::new(url.clone()))
            .with_context(|| format!("opening a connection pool to {url}"))?;
        Ok(Store {
            pool,
            url: url.clone(),
        })
    }

    /// A pooled connection. When the store cannot be reached the pool says
    /// so after `POOL_WAIT`; when it is only that every connection is busy
    /// (the pool's error then names no failed connection), the caller waits
    /// on, up to `BUSY_WAIT` in all, rather than being turned away.
    pub fn get(&self) -> Result<Conn, diesel::r2d2::PoolError> {
        let started = std::time::Instant::now();
        loop {
            match self.pool.get() {
                Err(e) if is_busy(&e) && started.elapsed() < BUSY_WAIT => continue,
                outcome => return outcome,
            }
        }
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Connections handed out right now (for /metrics).
    pub fn connections_in_use(&self) -> u32 {
        let state = self.pool.state();
        state.connections - state.idle_connections
    }

    pub fn max_connections(&self) -> u32 {
        self.pool.max_size()
    }
}

/// Runs `work` holding PostgreSQL's start-up advisory lock (SQLite: its own
/// write lock serialises writers already).
fn with_start_lock<T>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})")).execute(c)?;
    }
    let outcome = work(conn);
    if let DbConnection::Pg(c) = conn {
        diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})")).execute(c)?;
    }
    outcome
}

/// Runs pending migrations (the `migrate` command; `Store::open` runs them
/// under the start-up lock).
pub fn run_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| anyhow::anyhow!(e))
}

/// Reverts migrations newest first, down to and including `version` (tests
/// check an upgrade from an older release).
pub fn revert_migrations_through(conn: &mut DbConnection, version: &str) -> anyhow::Result<()> {
    loop {
        let reverted = match conn {
            DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE_MIGRATIONS),
            DbConnection::Pg(c) => c.revert_last_migration(POSTGRES_MIGRATIONS),
        }
        .map_err(|e| anyhow::anyhow!(e))?;
        if reverted.to_string() == version {
            return Ok(());
        }
    }
}

/// Reverts every migration (tests check up → down → up).
pub fn revert_all_migrations(conn: &mut DbConnection) -> anyhow::Result<()> {
    match conn {
        DbConnection::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(|_| ()),
        DbConnection::Pg(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(|_| ()),
    }
    .map_err(|e| anyhow::anyhow!(e))
}

/// A cheap query that proves the store answers.
pub fn ping(conn: &mut DbConnection) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("SELECT 1")
}

/// How a checkpoint of SQLite's write-ahead log may proceed.
#[derive(Debug, Clone, Copy)]
pub enum Checkpoint {
    /// Copies what it can without waiting for anyone (while serving).
    Passive,
    /// Waits for readers and writers, copies everything and empties the log
    /// file (at shutdown, and when a day's rows were compacted).
    Truncate,
}

/// Copies SQLite's write-ahead log into the database (nothing on PostgreSQL).
/// Returns whether every frame in the log is now in the database (then the
/// next commit starts the log from its beginning again).
pub fn checkpoint(conn: &mut DbConnection, mode: Checkpoint) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Outcome {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        log: i32,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        checkpointed: i32,
    }
    let DbConnection::Sqlite(c) = conn else {
        return Ok(true);
    };
    let sql = match mode {
        Checkpoint::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
        Checkpoint::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
    };
    let outcome: Outcome = diesel::sql_query(sql).get_result(c)?;
    Ok(outcome.log == outcome.checkpointed)
}

/// Runs `work` in a write transaction: on SQLite `BEGIN IMMEDIATE`, which
/// takes the write lock before the first read (so what `work` reads is what
/// it writes over, and a busy store is waited for by the busy timeout rather
/// than failing at the first write); on PostgreSQL an ordinary transaction.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    type Manager = <DbConnection as Connection>::TransactionManager;
    // Inside a transaction already: a savepoint of it (the lock, if any, is
    // the outer transaction's).
    let depth = match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()
        }
        DbConnection::Pg(c) => {
            AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()
        }
    };
    if depth.ok().flatten().is_some() {
        return conn.transaction(work);
    }
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(_) => Manager::begin_transaction(conn)?,
    }
    match work(conn) {
        Ok(value) => {
            Manager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            // The rollback's own failure would hide the cause: keep the cause.
            let _ = Manager::rollback_transaction(conn);
            Err(e)
        }
    }
}
