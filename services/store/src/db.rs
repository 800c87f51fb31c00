//! Connecting, migrating, and opening transactions scoped to one tenant.

use std::{ops::Deref, path::Path, time::Duration};

use copilot_core::{Error, TenantId};
use copilot_migration::{APP_ROLE, Migrator, MigratorTrait};
use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    RuntimeErr, SqlErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

/// A pool of connections to PostgreSQL or SQLite.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
}

/// A transaction in which every statement sees only one tenant's rows.
///
/// On PostgreSQL it runs as the application role with `app.tenant_id` set for this
/// transaction only, so row-level security applies even if a query forgets its filter.
pub struct TenantTx {
    txn: DatabaseTransaction,
    tenant: TenantId,
}

/// How long a request waits for a connection by default: when the database is down,
/// requests fail fast with `503 service_unavailable` instead of hanging.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a caller is asked to wait before retrying when the database is unreachable.
const RETRY_AFTER_SECONDS: u64 = 5;

/// Opens the pool with the default [`ACQUIRE_TIMEOUT`]. A SQLite database file and its
/// folder are created when missing.
pub async fn connect(url: &str, max_connections: u32) -> Result<Db, Error> {
    connect_with(url, max_connections, ACQUIRE_TIMEOUT).await
}

/// Opens the pool; a connection not available within `acquire_timeout` is
/// [`Error::Unavailable`].
pub async fn connect_with(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<Db, Error> {
    if let Some(parent) =
        sqlite_path(url).and_then(|path| Path::new(path).parent()).filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(Error::internal)?;
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(0)
        .connect_timeout(acquire_timeout)
        .acquire_timeout(acquire_timeout)
        .sqlx_logging(false);
    let conn = Database::connect(options).await.map_err(db_err)?;
    if conn.get_database_backend() == DbBackend::Sqlite {
        conn.execute_unprepared("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;").await.map_err(db_err)?;
    }
    Ok(Db { conn })
}

fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Applies pending migrations. On PostgreSQL they run in one transaction under an
/// advisory lock, so replicas starting together migrate once.
pub async fn migrate(db: &Db) -> Result<(), Error> {
    match db.backend() {
        DbBackend::Postgres => {
            let txn = db.conn.begin().await.map_err(db_err)?;
            txn.execute_unprepared("SELECT pg_advisory_xact_lock(7264783621)").await.map_err(db_err)?;
            Migrator::up(&txn, None).await.map_err(db_err)?;
            txn.commit().await.map_err(db_err)
        }
        _ => Migrator::up(&db.conn, None).await.map_err(db_err),
    }
}

impl Db {
    pub fn backend(&self) -> DbBackend {
        self.conn.get_database_backend()
    }

    /// Begins a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`),
    /// so a transaction that reads and then writes waits for other writers (up to the busy
    /// timeout) instead of failing when one commits in between.
    async fn begin(&self) -> Result<DatabaseTransaction, Error> {
        let options = TransactionOptions {
            isolation_level: None,
            access_mode: None,
            sqlite_transaction_mode: (self.backend() == DbBackend::Sqlite).then_some(SqliteTransactionMode::Immediate),
        };
        self.conn.begin_with_options(options).await.map_err(db_err)
    }

    /// Begins a transaction that sees only `tenant`'s rows.
    pub async fn tenant(&self, tenant: TenantId) -> Result<TenantTx, Error> {
        let txn = self.begin().await?;
        if self.backend() == DbBackend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true)",
                [APP_ROLE.into(), tenant.0.to_string().into()],
            ))
            .await
            .map_err(db_err)?;
        }
        Ok(TenantTx { txn, tenant })
    }

    /// A read-only transaction that sees only `tenant`'s rows, for reports and questions:
    /// on PostgreSQL the transaction refuses writes and every statement stops after
    /// `statement_timeout`; on SQLite it takes no write lock.
    pub async fn tenant_read_only(&self, tenant: TenantId, statement_timeout: Duration) -> Result<TenantTx, Error> {
        let postgres = self.backend() == DbBackend::Postgres;
        let options = TransactionOptions {
            isolation_level: None,
            access_mode: postgres.then_some(AccessMode::ReadOnly),
            sqlite_transaction_mode: (!postgres).then_some(SqliteTransactionMode::Deferred),
        };
        let txn = self.conn.begin_with_options(options).await.map_err(db_err)?;
        if postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true), \
                 set_config('statement_timeout', $3, true)",
                [APP_ROLE.into(), tenant.0.to_string().into(), statement_timeout.as_millis().to_string().into()],
            ))
            .await
            .map_err(db_err)?;
        }
        Ok(TenantTx { txn, tenant })
    }

    /// A transaction for `tenant` with the connection owner's rights, which row-level
    /// security does not restrict: for creating the tenant itself and for credential
    /// lookups that find the tenant. Never for serving a tenant's request.
    pub async fn platform(&self, tenant: TenantId) -> Result<TenantTx, Error> {
        let txn = self.begin().await?;
        Ok(TenantTx { txn, tenant })
    }

    /// The raw pool, outside any tenant: only for credential lookups by hash, platform
    /// operations and housekeeping that must span tenants.
    pub fn unscoped(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), Error> {
        self.conn.ping().await.map_err(db_err)
    }
}

impl TenantTx {
    pub fn tenant(&self) -> TenantId {
        self.tenant
    }

    /// Serialises transactions that name the same `key` until this one ends.
    /// On SQLite every write transaction is already serialised, so this is a no-op there.
    pub async fn lock(&self, key: &str) -> Result<(), Error> {
        if self.txn.get_database_backend() == DbBackend::Postgres {
            self.txn
                .execute_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                    [format!("{}:{key}", self.tenant).into()],
                ))
                .await
                .map_err(db_err)?;
        }
        Ok(())
    }

    pub async fn commit(self) -> Result<(), Error> {
        self.txn.commit().await.map_err(db_err)
    }
}

impl Deref for TenantTx {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &Self::Target {
        &self.txn
    }
}

/// True when the error is a unique-key violation.
pub fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// The SQLSTATE code of a database error, when the database sent one.
fn sql_state(error: &DbErr) -> Option<String> {
    match error {
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => {
            match inner.as_ref() {
                sea_orm::sqlx::Error::Database(database) => database.code().map(|code| code.into_owned()),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether the error says the database could not be reached (no connection within the
/// acquire timeout, a refused or broken connection), rather than that a statement failed.
fn is_unreachable(error: &DbErr) -> bool {
    match error {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(inner)) | DbErr::Query(RuntimeErr::SqlxError(inner)) => matches!(
            inner.as_ref(),
            sea_orm::sqlx::Error::Io(_)
                | sea_orm::sqlx::Error::Tls(_)
                | sea_orm::sqlx::Error::PoolTimedOut
                | sea_orm::sqlx::Error::PoolClosed
        ),
        _ => false,
    }
}

/// The one place a database error becomes a domain error.
pub fn db_err(error: DbErr) -> Error {
    if is_unreachable(&error) {
        tracing::warn!(%error, "the database cannot be reached");
        return Error::Unavailable {
            detail: "the database cannot be reached now; nothing was changed, retry shortly".into(),
            retry_after_seconds: RETRY_AFTER_SECONDS,
        };
    }
    match sql_state(&error).as_deref() {
        // PostgreSQL text cannot hold NUL characters.
        Some("22021") => return Error::validation("invalid_text", "text must not contain NUL (\\u0000) characters"),
        Some("22001") => return Error::validation("value_too_long", "a value is longer than its field allows"),
        // A statement stopped by its transaction's `statement_timeout` (`tenant_read_only`).
        Some("57014") => {
            return Error::unprocessable(
                "statement_timeout",
                "the query ran past its time limit and was stopped; nothing was changed; narrow it with filters",
            );
        }
        // A deadlock or serialization failure rolled the transaction back: nothing was
        // changed and the same request can succeed when retried.
        Some("40P01" | "40001") => {
            tracing::warn!(%error, "a transaction met a concurrent one and was rolled back");
            return Error::Unavailable {
                detail: "the change met a concurrent one and was rolled back; nothing was changed, retry".into(),
                retry_after_seconds: 1,
            };
        }
        _ => {}
    }
    match error.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            Error::conflict("already_exists", "a resource with these values already exists")
        }
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            Error::unprocessable("invalid_reference", "the request refers to a resource that does not exist")
        }
        _ => Error::internal(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_path_is_read_from_the_url() {
        assert_eq!(sqlite_path("sqlite://data/copilot.db?mode=rwc"), Some("data/copilot.db"));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://localhost/x"), None);
    }
}
