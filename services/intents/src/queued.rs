//! Jobs that wait in their own table as `status = 'queued'` rows (a training, a
//! discovery run): claimed one at a time across tenants under a lease that
//! `next_attempt_at` carries, fenced by the attempt number.

use chrono::{DateTime, Duration, Utc};
use copilot_core::{Error, TenantId, retry::Backoff};
use copilot_store::{Db, db_err};
use sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

/// A claimed job: its tenant, its id and the claim's attempt number (only the holder of
/// that attempt stores the outcome).
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    pub tenant_id: TenantId,
    pub job: Uuid,
    pub attempt: i32,
    /// The `X-Request-Id` of the request that queued the job, when one did.
    pub request_id: Option<String>,
    /// When it was asked for.
    pub queued_at: DateTime<Utc>,
}

/// Claims the next due job of `table` across tenants, leased for `lease`. A job whose
/// worker died on every attempt (it never recorded a failure) is marked failed first.
pub(crate) async fn claim(
    db: &Db,
    table: &'static str,
    lease: Duration,
    policy: &Backoff,
) -> Result<Option<ClaimedJob>, Error> {
    let now = copilot_core::now();
    let abandoned = format!(
        "UPDATE {table} SET status = 'failed', error = 'the job was interrupted too often'
         WHERE status = 'queued' AND attempts >= $1 AND next_attempt_at <= $2"
    );
    db.unscoped()
        .execute_raw(Statement::from_sql_and_values(
            db.backend(),
            abandoned,
            [(policy.max_attempts() as i32).into(), now.into()],
        ))
        .await
        .map_err(db_err)?;
    let sql = format!(
        "UPDATE {table} SET next_attempt_at = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM {table} WHERE status = 'queued' AND next_attempt_at <= $2
                      ORDER BY next_attempt_at LIMIT $3 {{lock}})
         RETURNING tenant_id, id, attempts, request_id, created_at"
    );
    let row = copilot_store::jobs::claim(db, &sql, 1, lease).await?.into_iter().next();
    row.map(|row| {
        Ok(ClaimedJob {
            tenant_id: TenantId(row.try_get("", "tenant_id").map_err(db_err)?),
            job: row.try_get("", "id").map_err(db_err)?,
            attempt: row.try_get("", "attempts").map_err(db_err)?,
            request_id: row.try_get("", "request_id").map_err(db_err)?,
            queued_at: row.try_get("", "created_at").map_err(db_err)?,
        })
    })
    .transpose()
}
