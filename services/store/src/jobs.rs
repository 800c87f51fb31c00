//! Claiming due work items across tenants (triage, drafts, ingestion, training): one
//! `UPDATE … WHERE id IN (SELECT … LIMIT n {lock}) RETURNING …` that pushes each claimed
//! item's `next_attempt_at` out by a lease, so another worker takes it only when the
//! holder died. On PostgreSQL the inner select skips rows other workers are claiming.
//!
//! This is worker housekeeping across tenants, so it runs outside any tenant transaction;
//! everything done with a claimed item happens in its tenant's transaction.

use chrono::Duration;
use copilot_core::Error;
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement};

use crate::{Db, db_err};

/// Runs a claim statement and returns the rows it claimed. In `sql`, `$1` is the end of the
/// lease, `$2` now, `$3` the most rows to claim, and `{lock}` marks where the inner select
/// takes its row locks.
pub async fn claim(db: &Db, sql: &str, limit: u64, lease: Duration) -> Result<Vec<QueryResult>, Error> {
    let now = copilot_core::now();
    let backend = db.backend();
    let lock = if backend == DbBackend::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
    let statement = Statement::from_sql_and_values(
        backend,
        sql.replace("{lock}", lock),
        [(now + lease).into(), now.into(), (limit as i64).into()],
    );
    db.unscoped().query_all_raw(statement).await.map_err(db_err)
}

/// Runs a read-only statement across tenants (e.g. items whose holder's lease ran out):
/// in `sql`, `$1` is now and `$2` the most rows to return.
pub async fn select(db: &Db, sql: &str, limit: u64) -> Result<Vec<QueryResult>, Error> {
    let statement =
        Statement::from_sql_and_values(db.backend(), sql, [copilot_core::now().into(), (limit as i64).into()]);
    db.unscoped().query_all_raw(statement).await.map_err(db_err)
}

/// Work waiting or in progress in each queue, across tenants: `triage` (messages),
/// `knowledge` (document versions), `drafts`, `email` (replies), `webhooks` (attempts).
/// What an autoscaler of worker processes watches.
pub async fn depths(db: &Db) -> Result<Vec<(String, i64)>, Error> {
    let sql = "SELECT 'triage' AS queue, COUNT(*) AS depth FROM message_triage WHERE status = 'pending'
         UNION ALL SELECT 'knowledge', COUNT(*) FROM knowledge_documents WHERE status IN ('queued', 'processing')
         UNION ALL SELECT 'drafts', COUNT(*) FROM drafts WHERE status = 'generating'
         UNION ALL SELECT 'email', COUNT(*) FROM deliveries WHERE status IN ('queued', 'sending')
         UNION ALL SELECT 'webhooks', COUNT(*) FROM webhook_deliveries WHERE status IN ('pending', 'sending')";
    let rows = db.unscoped().query_all_raw(Statement::from_string(db.backend(), sql)).await.map_err(db_err)?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("", "queue").map_err(db_err)?, row.try_get("", "depth").map_err(db_err)?)))
        .collect()
}
