//! Idempotency keys: the first result of an operation is stored with a hash of its
//! request, in the same transaction as the operation, and replayed for a repeat.

use chrono::Duration;
use copilot_core::Error;
use copilot_entities::idempotency_key;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::{Db, Scoped, TenantTx, db_err, is_unique_violation};

/// A validated `Idempotency-Key` together with the operation and request it guards.
#[derive(Clone, Debug)]
pub struct Guard {
    key: String,
    scope: &'static str,
    request_hash: String,
    ttl: Duration,
}

impl Guard {
    /// `scope` names the operation; `request` is the canonical request (same request, same JSON).
    pub fn new(key: &str, scope: &'static str, request: &impl Serialize, ttl_hours: i64) -> Result<Self, Error> {
        if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::validation(
                "invalid_idempotency_key",
                "`Idempotency-Key` must be 1 to 255 visible ASCII characters",
            ));
        }
        let canonical = serde_json::to_vec(request).map_err(Error::internal)?;
        Ok(Self {
            key: key.to_owned(),
            scope,
            request_hash: hex::encode(Sha256::digest(&canonical)),
            ttl: Duration::hours(ttl_hours),
        })
    }

    /// The stored result of an earlier identical request, if any.
    ///
    /// The same key with another request (or another operation) is `idempotency_key_reused`.
    pub async fn replay<T: DeserializeOwned>(&self, tx: &TenantTx) -> Result<Option<T>, Error> {
        let stored = idempotency_key::Entity::scoped(tx.tenant())
            .filter(idempotency_key::Column::Key.eq(self.key.as_str()))
            .filter(idempotency_key::Column::CreatedAt.gt(copilot_core::now() - self.ttl))
            .one(&**tx)
            .await
            .map_err(db_err)?;
        let Some(stored) = stored else { return Ok(None) };
        if stored.scope != self.scope || stored.request_hash != self.request_hash {
            return Err(Error::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was already used with a different request",
            ));
        }
        serde_json::from_value(stored.response).map(Some).map_err(Error::internal)
    }

    /// Stores `result` under the key. Returns `false` when a concurrent request stored
    /// first; the caller then rolls back and replays.
    pub async fn save(&self, tx: &TenantTx, result: &impl Serialize) -> Result<bool, Error> {
        // An expired record under the same key is replaced.
        idempotency_key::Entity::delete_many()
            .filter(idempotency_key::Column::TenantId.eq(tx.tenant().0))
            .filter(idempotency_key::Column::Key.eq(self.key.as_str()))
            .filter(idempotency_key::Column::CreatedAt.lte(copilot_core::now() - self.ttl))
            .exec(&**tx)
            .await
            .map_err(db_err)?;
        let record = idempotency_key::ActiveModel {
            tenant_id: Set(tx.tenant().0),
            key: Set(self.key.clone()),
            scope: Set(self.scope.to_owned()),
            request_hash: Set(self.request_hash.clone()),
            response: Set(serde_json::to_value(result).map_err(Error::internal)?),
            created_at: Set(copilot_core::now()),
        };
        match idempotency_key::Entity::insert(record).exec_without_returning(&**tx).await {
            Ok(_) => Ok(true),
            Err(error) if is_unique_violation(&error) => Ok(false),
            Err(error) => Err(db_err(error)),
        }
    }

    /// Stores `result` under the key and commits. When a concurrent request with the same
    /// key committed first, ours is rolled back and theirs is returned.
    pub async fn commit<T: Serialize + DeserializeOwned>(&self, db: &Db, tx: TenantTx, result: T) -> Result<T, Error> {
        if self.save(&tx, &result).await? {
            tx.commit().await?;
            return Ok(result);
        }
        let tenant = tx.tenant();
        drop(tx);
        let tx = db.tenant(tenant).await?;
        self.replay(&tx).await?.ok_or_else(|| Error::internal("idempotency record vanished"))
    }
}

/// Deletes records older than `ttl_hours` in every tenant (housekeeping).
pub async fn purge_expired(db: &crate::Db, ttl_hours: i64) -> Result<u64, Error> {
    let result = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lte(copilot_core::now() - Duration::hours(ttl_hours)))
        .exec(db.unscoped())
        .await
        .map_err(db_err)?;
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_request_gives_the_same_hash() {
        let a = Guard::new("k1", "tickets.create", &serde_json::json!({"a": 1}), 24).ok().map(|g| g.request_hash);
        let b = Guard::new("k1", "tickets.create", &serde_json::json!({"a": 1}), 24).ok().map(|g| g.request_hash);
        assert!(a.is_some());
        assert_eq!(a, b);
    }

    #[test]
    fn another_request_gives_another_hash() {
        let hash =
            |request: serde_json::Value| Guard::new("k1", "tickets.create", &request, 24).ok().map(|g| g.request_hash);
        let first = hash(serde_json::json!({"a": 1}));
        assert!(first.is_some());
        assert_ne!(first, hash(serde_json::json!({"a": 2})));
    }

    #[test]
    fn key_with_spaces_is_rejected() {
        let error = Guard::new("a b", "tickets.create", &1, 24).err().map(|e| e.code());
        assert_eq!(error, Some("invalid_idempotency_key"));
    }
}
