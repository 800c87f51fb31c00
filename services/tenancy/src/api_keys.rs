//! API keys: long-lived credentials for integrations and scripts, stored as hashes.

use chrono::{DateTime, Utc};
use copilot_core::{
    Actor, Error, Principal, Role,
    page::{Page, PageRequest},
    values::single_line,
};
use copilot_entities::api_key;
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::secrets::{new_api_key, sha256_hex};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// The visible start of the key.
    pub prefix: String,
    pub user_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<api_key::Model> for ApiKey {
    fn from(row: api_key::Model) -> Self {
        Self {
            id: row.id,
            name: row.name,
            role: row.role,
            prefix: row.prefix,
            user_id: row.user_id,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// Stores a new key; returns the secret key (shown once) and its record.
pub(crate) async fn insert(
    tx: &TenantTx,
    name: &str,
    role: Role,
    user_id: Option<Uuid>,
) -> Result<(String, ApiKey), Error> {
    let (key, prefix) = new_api_key();
    let row = api_key::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        user_id: Set(user_id),
        name: Set(name.to_owned()),
        role: Set(role),
        prefix: Set(prefix),
        key_hash: Set(sha256_hex(&key)),
        created_at: Set(copilot_core::now()),
        last_used_at: Set(None),
        revoked_at: Set(None),
    };
    let row = row.insert(&**tx).await.map_err(db_err)?;
    Ok((key, ApiKey::from(row)))
}

/// Creates a key with role admin, agent or integration (admins only). The key acts for
/// the person who made it (directly, or through a key of theirs): it never has more
/// rights than that person has now, and it is revoked when they are deactivated.
pub async fn create(tx: &TenantTx, by: &Principal, name: &str, role: Role) -> Result<(String, ApiKey), Error> {
    by.require_admin()?;
    let name = single_line("name", name, 1, 200)?;
    if role == Role::Owner {
        return Err(Error::validation("invalid_role", "API keys have the role admin, agent or integration"));
    }
    let owner = match by.actor {
        Actor::User(id) => Some(id),
        Actor::ApiKey(id) => api_key::Entity::scoped(tx.tenant())
            .filter(api_key::Column::Id.eq(id))
            .one(&**tx)
            .await
            .map_err(db_err)?
            .and_then(|key| key.user_id),
        Actor::Platform | Actor::Anonymous | Actor::InboundEmail | Actor::Service => None,
    };
    let (key, record) = insert(tx, &name, role, owner).await?;
    audit::record(
        tx,
        by.actor,
        "api_key.created",
        audit::Target::new("api_key", record.id).labelled(&record.prefix),
        serde_json::json!({ "name": record.name, "role": record.role }),
    )
    .await?;
    Ok((key, record))
}

pub async fn list(tx: &TenantTx, by: &Principal, page: PageRequest) -> Result<Page<ApiKey>, Error> {
    by.require_admin()?;
    let mut query = api_key::Entity::scoped(tx.tenant());
    if let Some(before) = page.cursor {
        query = query.filter(api_key::Column::Id.lt(before));
    }
    let rows = query.order_by_desc(api_key::Column::Id).limit(page.limit + 1).all(&**tx).await.map_err(db_err)?;
    let keys: Vec<ApiKey> = rows.into_iter().map(ApiKey::from).collect();
    Ok(Page::from_overfetch(keys, page.limit, |key| key.id))
}

/// Revokes every key that acts for `user_id` (when the user is deactivated); returns how many.
pub(crate) async fn revoke_of_user(tx: &TenantTx, user_id: Uuid) -> Result<u64, Error> {
    let revoked = api_key::Entity::update_many()
        .col_expr(api_key::Column::RevokedAt, sea_orm::sea_query::Expr::value(copilot_core::now()))
        .filter(api_key::Column::TenantId.eq(tx.tenant().0))
        .filter(api_key::Column::UserId.eq(user_id))
        .filter(api_key::Column::RevokedAt.is_null())
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    Ok(revoked.rows_affected)
}

/// Revokes a key; it fails authentication from the next request on. Revoking twice is a
/// no-op. Owner keys are revoked only by owners.
pub async fn revoke(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<(), Error> {
    by.require_admin()?;
    let row = api_key::Entity::scoped(tx.tenant())
        .filter(api_key::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("api key"))?;
    if row.role == Role::Owner && by.role != Role::Owner {
        return Err(Error::Forbidden("only an owner can revoke an owner key"));
    }
    if row.revoked_at.is_some() {
        return Ok(());
    }
    let prefix = row.prefix.clone();
    let mut change: api_key::ActiveModel = row.into();
    change.revoked_at = Set(Some(copilot_core::now()));
    change.update(&**tx).await.map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "api_key.revoked",
        audit::Target::new("api_key", id).labelled(&prefix),
        serde_json::json!({}),
    )
    .await
}
