//! Creating a tenant with its first owner and the owner's API key (platform operation).

use chrono::{DateTime, Utc};
use copilot_core::{
    Actor, Error, Role, TenantId,
    values::{Email, Slug, password, single_line},
};
use copilot_entities::tenant;
use copilot_store::{Db, Scoped, audit, db_err, is_unique_violation};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{api_keys, users};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

impl From<tenant::Model> for Tenant {
    fn from(row: tenant::Model) -> Self {
        Self { id: TenantId(row.id), name: row.name, slug: row.slug, created_at: row.created_at }
    }
}

/// What the operator asks for.
#[derive(Clone, Debug)]
pub struct NewTenant {
    pub name: String,
    pub slug: Option<String>,
    pub owner_email: String,
    pub owner_password: Option<String>,
}

/// A created tenant, its owner and the owner's API key (shown once).
#[derive(Clone, Debug)]
pub struct CreatedTenant {
    pub tenant: Tenant,
    pub owner: users::User,
    pub api_key: String,
}

/// Creates the tenant, its owner and an owner API key in one transaction.
pub async fn create(db: &Db, request: NewTenant) -> Result<CreatedTenant, Error> {
    let name = single_line("name", &request.name, 1, 200)?;
    let slug = match &request.slug {
        Some(slug) => Slug::parse(slug)?,
        None => Slug::from_name(&name)?,
    };
    let email = Email::parse(&request.owner_email)?;
    let password_hash = match request.owner_password {
        Some(raw) => Some(crate::secrets::hash_password(password(&raw)?.to_owned()).await?),
        None => None,
    };
    let tenant_id = TenantId(Uuid::now_v7());
    let tenant = Tenant { id: tenant_id, name, slug: slug.as_str().to_owned(), created_at: copilot_core::now() };
    let tx = db.platform(tenant_id).await?;
    let row = tenant::ActiveModel {
        id: Set(tenant.id.0),
        name: Set(tenant.name.clone()),
        slug: Set(tenant.slug.clone()),
        ticket_counter: Set(0),
        created_at: Set(tenant.created_at),
    };
    match tenant::Entity::insert(row).exec_without_returning(&*tx).await {
        Ok(_) => {}
        Err(error) if is_unique_violation(&error) => {
            return Err(Error::conflict("slug_taken", format!("the slug `{}` is taken", slug.as_str())));
        }
        Err(error) => return Err(db_err(error)),
    }
    let owner = users::insert(&tx, &email, None, Role::Owner, password_hash).await?;
    let (api_key, _) = api_keys::insert(&tx, "Owner key", Role::Owner, Some(owner.id)).await?;
    audit::record(
        &tx,
        Actor::Platform,
        "tenant.created",
        audit::Target::new("tenant", tenant_id.0).labelled(slug.as_str()),
        serde_json::json!({ "owner_email": email.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedTenant { tenant, owner, api_key })
}

/// Finds a tenant by slug (for login, before the tenant is known).
pub async fn find_by_slug(db: &Db, slug: &str) -> Result<Option<Tenant>, Error> {
    let row = tenant::Entity::find()
        .filter(tenant::Column::Slug.eq(slug.trim().to_lowercase()))
        .one(db.unscoped())
        .await
        .map_err(db_err)?;
    Ok(row.map(Tenant::from))
}

/// The caller's own tenant.
pub async fn get(tx: &copilot_store::TenantTx) -> Result<Tenant, Error> {
    tenant::Entity::scoped(tx.tenant())
        .one(&**tx)
        .await
        .map_err(db_err)?
        .map(Tenant::from)
        .ok_or(Error::NotFound("tenant"))
}
