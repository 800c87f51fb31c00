//! The queue kit: every durable queue (triage, training, ingestion, drafts, e-mail,
//! webhooks) is a table described by a [`Queue`], claimed fairly ([`FairPick`]) with one
//! `UPDATE … WHERE id IN (SELECT … LIMIT n {lock}) RETURNING …` that pushes each claimed
//! item's lease out, so another worker takes it only when the
//! holder died. On PostgreSQL the inner select skips rows other workers are claiming.
//!
//! This is worker housekeeping across tenants, so it runs outside any tenant transaction;
//! everything done with a claimed item happens in its tenant's transaction.

use chrono::Duration;
use copilot_core::{Error, TenantId};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement};
use uuid::Uuid;

use crate::{Db, db_err};

/// The fair choice of a claim statement: which due rows of a queue to take so that one
/// group (a tenant, a webhook endpoint) cannot hold the queue. Conditions are written on a
/// row named `{row}`.
pub struct FairPick<'a> {
    pub queue: &'a Queue,
    /// The column rows are shared out by.
    pub group: &'a str,
    /// A row that may be claimed now (`$2` is now).
    pub due: &'a str,
    /// At most this many rows of one group per claim, each group's longest waiting first.
    pub per_group: usize,
    /// A row in flight, and how many of them keep a group out of this claim; with it, the
    /// group with the fewest in flight goes first.
    pub busy: Option<(&'a str, usize)>,
}

impl FairPick<'_> {
    /// `SELECT id … LIMIT $3 {lock}` for a claim statement's `WHERE id IN (…)`. The rows are
    /// ranked without locks, then locked with `{lock}` and their `due` condition checked
    /// again on the locked row, so a row another worker claimed meanwhile is not taken twice.
    pub fn sql(&self) -> String {
        let Self { group, per_group, .. } = *self;
        let Queue { table, id, .. } = *self.queue;
        let on = |row: &str, condition: &str| condition.replace("{row}", row);
        let (busy_groups, order) = match self.busy {
            Some((busy, cap)) => (
                format!(
                    " AND r.{group} NOT IN (SELECT f.{group} FROM {table} f WHERE {} GROUP BY f.{group} HAVING COUNT(*) >= {cap})",
                    on("f", busy)
                ),
                format!(
                    "(SELECT COUNT(*) FROM {table} f WHERE f.{group} = q.{group} AND {}), q.next_attempt_at",
                    on("f", busy)
                ),
            ),
            None => (String::new(), "q.next_attempt_at".to_owned()),
        };
        format!(
            "SELECT q.{id} FROM {table} q
             WHERE q.{id} IN (
                 SELECT {id} FROM (
                     SELECT r.{id}, ROW_NUMBER() OVER (PARTITION BY r.{group} ORDER BY r.next_attempt_at, r.{id}) AS position
                     FROM {table} r
                     WHERE {due_r}{busy_groups}
                 ) ranked WHERE position <= {per_group})
               AND {due_q}
             ORDER BY {order} LIMIT $3 {{lock}}",
            due_r = on("r", self.due),
            due_q = on("q", self.due),
        )
    }
}

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

/// An item of a queue as a claim or a cross-tenant select returns it: its `tenant_id`,
/// `id`, `attempts` and `created_at` columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Item {
    pub tenant_id: TenantId,
    pub id: Uuid,
    /// The attempt a claim made (fences what it records).
    pub attempt: i32,
    /// When it was queued.
    pub queued_at: chrono::DateTime<chrono::Utc>,
}

/// The rows of a claim or select returning `tenant_id, id, attempts, created_at`.
pub fn items(rows: Vec<QueryResult>) -> Result<Vec<Item>, Error> {
    rows.into_iter()
        .map(|row| {
            Ok(Item {
                tenant_id: TenantId(row.try_get("", "tenant_id").map_err(db_err)?),
                id: row.try_get("", "id").map_err(db_err)?,
                attempt: row.try_get("", "attempts").map_err(db_err)?,
                queued_at: row.try_get("", "created_at").map_err(db_err)?,
            })
        })
        .collect()
}

/// Runs a read-only statement across tenants (e.g. items whose holder's lease ran out):
/// in `sql`, `$1` is now and `$2` the most rows to return.
pub async fn select(db: &Db, sql: &str, limit: u64) -> Result<Vec<QueryResult>, Error> {
    let statement =
        Statement::from_sql_and_values(db.backend(), sql, [copilot_core::now().into(), (limit as i64).into()]);
    db.unscoped().query_all_raw(statement).await.map_err(db_err)
}

/// When the next open item of `queue` that no worker holds is due, across tenants (for a
/// worker's sleep); none when nothing waits. For queues whose lease is one column.
pub async fn next_due(db: &Db, queue: &Queue) -> Result<Option<chrono::DateTime<chrono::Utc>>, Error> {
    let Queue { table, open, lease_columns, .. } = *queue;
    let lease = lease_columns.first().copied().unwrap_or("lease_until");
    let sql = format!(
        "SELECT MIN(next_attempt_at) AS due FROM {table}
         WHERE {} AND ({lease} IS NULL OR {lease} <= $1) LIMIT $2",
        open.replace("{row}", table)
    );
    let rows = select(db, &sql, 1).await?;
    Ok(rows.first().and_then(|row| row.try_get::<Option<chrono::DateTime<chrono::Utc>>>("", "due").ok()).flatten())
}

/// A durable queue: rows of one table, each a work item that one worker at a time holds
/// under a lease and records an outcome for. How the rows are claimed (fairly, see
/// [`FairPick`]) is the owning capability's claim statement; the retry policy is the
/// application's (`copilot_core::retry::Backoff`).
#[derive(Clone, Copy, Debug)]
pub struct Queue {
    /// The queue's name in logs and metrics.
    pub name: &'static str,
    pub table: &'static str,
    /// The item's id column.
    pub id: &'static str,
    /// An item waiting or in progress, on a row named `{row}`.
    pub open: &'static str,
    /// An item a worker holds (claimed, no outcome recorded yet), on `{row}`.
    pub held: &'static str,
    /// The columns holding the end of the lease.
    pub lease_columns: &'static [&'static str],
}

impl Queue {
    /// Pushes the lease of an item out to now + `lease` while attempt `attempt` still holds
    /// it; false when it no longer does (finished, or claimed again after the lease ran out).
    pub async fn renew(
        &self,
        db: &Db,
        tenant: TenantId,
        id: Uuid,
        attempt: i32,
        lease: Duration,
    ) -> Result<bool, Error> {
        let Self { table, id: id_column, .. } = *self;
        let set: Vec<String> = self.lease_columns.iter().map(|column| format!("{column} = $1")).collect();
        let sql = format!(
            "UPDATE {table} SET {} WHERE tenant_id = $2 AND {id_column} = $3 AND attempts = $4 AND {}",
            set.join(", "),
            self.held.replace("{row}", table)
        );
        let until = copilot_core::now() + lease;
        let statement = Statement::from_sql_and_values(
            db.backend(),
            sql,
            [until.into(), tenant.0.into(), id.into(), attempt.into()],
        );
        let result = db.unscoped().execute_raw(statement).await.map_err(db_err)?;
        Ok(result.rows_affected() > 0)
    }
}

/// Work waiting or in progress in each queue, across tenants: what an autoscaler of worker
/// processes watches.
pub async fn depths(db: &Db, queues: &[Queue]) -> Result<Vec<(String, i64)>, Error> {
    let sql = queues
        .iter()
        .map(|queue| {
            format!(
                "SELECT '{}' AS queue, COUNT(*) AS depth FROM {} WHERE {}",
                queue.name,
                queue.table,
                queue.open.replace("{row}", queue.table)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let rows = db.unscoped().query_all_raw(Statement::from_string(db.backend(), sql)).await.map_err(db_err)?;
    rows.into_iter()
        .map(|row| Ok((row.try_get("", "queue").map_err(db_err)?, row.try_get("", "depth").map_err(db_err)?)))
        .collect()
}
