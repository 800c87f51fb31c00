//! Named locks held across processes: one writer at a time for a resource that lives
//! outside the database (a tenant's vector table), whichever process or task writes it.
//!
//! On PostgreSQL the lock is a transaction-level advisory lock, held by an open
//! transaction until the [`WriteLock`] is dropped (a crashed holder's connection closes
//! and the lock goes with it). Within one process a mutex per name comes first, so local
//! writers queue without holding a pooled connection each; on SQLite (one process) that
//! mutex is the whole lock.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use copilot_core::Error;
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement, TransactionTrait};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::{Db, db_err};

/// Held while it lives; dropping it releases the lock.
pub struct WriteLock {
    // Dropped first: the transaction rolls back, releasing the advisory lock.
    _shared: Option<DatabaseTransaction>,
    _local: OwnedMutexGuard<()>,
}

fn local(name: &str) -> Arc<AsyncMutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<AsyncMutex<()>>>>> = OnceLock::new();
    let mut locks = LOCKS.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    locks.entry(name.to_owned()).or_default().clone()
}

/// Waits for the lock named `name` among the processes sharing `db` (within this process
/// alone when `db` is `None`).
pub async fn write_lock(db: Option<&Db>, name: &str) -> Result<WriteLock, Error> {
    let local = local(name).lock_owned().await;
    let shared = match db {
        Some(db) if db.backend() == DbBackend::Postgres => {
            let tx = db.unscoped().begin().await.map_err(db_err)?;
            tx.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                [name.into()],
            ))
            .await
            .map_err(db_err)?;
            Some(tx)
        }
        _ => None,
    };
    Ok(WriteLock { _shared: shared, _local: local })
}

/// Holds the lock named `name` of the transaction's tenant until the transaction ends, so
/// that a read-then-write (count, then insert) runs one at a time per tenant. On PostgreSQL a
/// transaction-level advisory lock; SQLite runs one writer at a time already.
pub async fn in_tenant(tx: &crate::TenantTx, name: &str) -> Result<(), Error> {
    if (**tx).get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    tx.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        [format!("{name}:{}", tx.tenant().0).into()],
    ))
    .await
    .map_err(db_err)?;
    Ok(())
}
