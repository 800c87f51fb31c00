//! The `email_settings` table: a tenant's e-mail channel (support addresses, From name,
//! its own SMTP server with the URL sealed, the hashed secret of its inbound URL).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_settings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: Uuid,
    /// A JSON array of lower-cased addresses; the first is the From of replies.
    pub addresses: Json,
    pub from_name: Option<String>,
    /// The SMTP URL (it may hold credentials), encrypted with the service's secret key.
    pub smtp_url_sealed: Option<String>,
    /// SHA-256 (hex) of the secret in the tenant's inbound URL.
    pub inbound_token_hash: Option<String>,
    /// The secret's first characters, shown so people can tell which one is set.
    pub inbound_token_prefix: Option<String>,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
