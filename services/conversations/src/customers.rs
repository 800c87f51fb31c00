//! Customers: the end users who write in, found or created by e-mail address per tenant.

use copilot_core::{Error, values::Email};
use copilot_entities::customer;
use copilot_store::{Scoped, TenantTx, db_err};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, sea_query::OnConflict};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
}

impl From<customer::Model> for Customer {
    fn from(row: customer::Model) -> Self {
        Self { id: row.id, email: row.email, name: row.name }
    }
}

/// The tenant's customer with this address, created if new. A name given for a
/// customer who has none yet is kept.
pub(crate) async fn find_or_create(tx: &TenantTx, email: &Email, name: Option<&str>) -> Result<Customer, Error> {
    let row = customer::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        email: Set(email.as_str().to_owned()),
        name: Set(name.map(str::to_owned)),
        created_at: Set(copilot_core::now()),
    };
    customer::Entity::insert(row)
        .on_conflict(OnConflict::columns([customer::Column::TenantId, customer::Column::Email]).do_nothing().to_owned())
        .exec_without_returning(&**tx)
        .await
        .map_err(db_err)?;
    let found = customer::Entity::scoped(tx.tenant())
        .filter(customer::Column::Email.eq(email.as_str()))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal("customer vanished after upsert"))?;
    if found.name.is_none() && name.is_some() {
        customer::Entity::update_many()
            .col_expr(customer::Column::Name, sea_orm::sea_query::Expr::value(name.map(str::to_owned)))
            .filter(customer::Column::Id.eq(found.id))
            .filter(customer::Column::TenantId.eq(tx.tenant().0))
            .exec(&**tx)
            .await
            .map_err(db_err)?;
        return Ok(Customer { name: name.map(str::to_owned), ..found.into() });
    }
    Ok(found.into())
}

/// Loads customers by id, for attaching them to listed tickets.
pub(crate) async fn by_ids(tx: &TenantTx, ids: Vec<Uuid>) -> Result<Vec<Customer>, Error> {
    let rows = customer::Entity::scoped(tx.tenant())
        .filter(customer::Column::Id.is_in(ids))
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(Customer::from).collect())
}
