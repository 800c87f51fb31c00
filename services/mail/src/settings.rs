//! A tenant's e-mail channel settings: its support addresses (the first is the From of
//! replies; mail from any of them is never taken as a customer's), the From name, its
//! own SMTP server (the URL, which may hold credentials, sealed and write-only; unset
//! falls back to the service's), and the secret of its inbound URL (only its SHA-256 is
//! kept; a new one is shown once). The shared mail server sends a tenant's replies only
//! from a verified address: one the tenant proved it reads by giving back a code mailed to
//! it (`start_verification`, `confirm_verification`); a tenant's own SMTP server needs none.

use chrono::{DateTime, Utc};
use copilot_channels::OutboundEmail;
use copilot_core::{
    Error, Principal, TenantId,
    values::{Email, KeyChange, single_line},
};
use copilot_entities::{email_settings, sender_verification};
use copilot_store::{Db, Scoped, TenantTx, audit, db_err, sealed::Sealer};
use rand::Rng;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::{Deserialize, Serialize};
use sha2::Digest;

/// Prefix of inbound URL secrets.
pub const INBOUND_TOKEN_PREFIX: &str = "cpi_";

/// Most support addresses a tenant may list.
const MAX_ADDRESSES: usize = 20;

/// The settings as shown (the SMTP URL only as "set or not").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EmailSettings {
    pub addresses: Vec<String>,
    pub from_name: Option<String>,
    pub smtp_url_set: bool,
    /// The first characters of the inbound secret, when one is set.
    pub inbound_token_prefix: Option<String>,
    /// The addresses the tenant proved it reads (the shared mail server sends only from these).
    pub verified_addresses: Vec<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Option<email_settings::Model>> for EmailSettings {
    fn from(row: Option<email_settings::Model>) -> Self {
        match row {
            None => Self::default(),
            Some(row) => Self {
                addresses: addresses_of(&row),
                from_name: row.from_name,
                smtp_url_set: row.smtp_url_sealed.is_some(),
                inbound_token_prefix: row.inbound_token_prefix,
                verified_addresses: Vec::new(),
                updated_at: Some(row.updated_at),
            },
        }
    }
}

/// Prefix of the codes mailed to addresses being verified.
const CODE_PREFIX: &str = "cpv_";
/// Wrong codes accepted for one mailed code before a new one must be mailed.
const MAX_CODE_ATTEMPTS: i32 = 5;

/// The settings with the tenant's verified addresses.
async fn with_verified(tx: &TenantTx, mut settings: EmailSettings) -> Result<EmailSettings, Error> {
    settings.verified_addresses = sender_verification::Entity::scoped(tx.tenant())
        .filter(sender_verification::Column::VerifiedAt.is_not_null())
        .all(&**tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .map(|row| row.address)
        .filter(|address| settings.addresses.contains(address))
        .collect();
    Ok(settings)
}

/// How long after a code was mailed to an address a new one may be: a tenant can list any
/// address, so its owner must not be flooded with codes.
const RESEND_AFTER_SECONDS: i64 = 60;

/// Starts verifying one of the tenant's addresses (admins only): returns the mail that
/// carries the code (only its hash is kept; a new code replaces an earlier one, at most
/// one a minute, and a verified address stays verified until it is confirmed again).
pub async fn start_verification(tx: &TenantTx, by: &Principal, address: &str) -> Result<OutboundEmail, Error> {
    by.require_admin()?;
    let address = Email::parse(address)?.as_str().to_owned();
    if !identity(tx).await?.is_ours(&address) {
        return Err(Error::unprocessable("address_not_listed", "verify one of the tenant's support addresses"));
    }
    let previous = sender_verification::Entity::scoped(tx.tenant())
        .filter(sender_verification::Column::Address.eq(address.as_str()))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    if let Some(previous) = previous {
        let wait = RESEND_AFTER_SECONDS - (copilot_core::now() - previous.created_at).num_seconds();
        if wait > 0 {
            return Err(Error::RateLimited { retry_after_seconds: wait as u64 });
        }
    }
    let code = format!("{CODE_PREFIX}{}", hex_of(&rand::rng().random::<[u8; 16]>()));
    let now = copilot_core::now();
    let row = sender_verification::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        address: Set(address.clone()),
        code_hash: Set(token_hash(&code)),
        attempts: Set(0),
        created_at: Set(now),
        verified_at: Set(None),
    };
    sender_verification::Entity::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::columns([
                sender_verification::Column::TenantId,
                sender_verification::Column::Address,
            ])
            .update_columns([
                sender_verification::Column::CodeHash,
                sender_verification::Column::Attempts,
                sender_verification::Column::CreatedAt,
            ])
            .to_owned(),
        )
        .exec_without_returning(&**tx)
        .await
        .map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "email.address_verification_sent",
        audit::Target { kind: "email_address", id: None, label: Some(&address) },
        serde_json::json!({}),
    )
    .await?;
    Ok(verification_mail(&address, &code))
}

/// The test mail an admin sends to check that replies can go out: from `from` (the first
/// support address, as replies are) to `to`.
pub fn test_mail(settings: &EmailSettings, from: &str, to: &Email) -> OutboundEmail {
    OutboundEmail {
        from_name: settings.from_name.clone().unwrap_or_default(),
        from_address: from.to_owned(),
        to_name: None,
        to_address: to.as_str().to_owned(),
        subject: "Test e-mail from your customer-service copilot".into(),
        message_id: copilot_channels::new_message_id(from),
        in_reply_to: None,
        references: Vec::new(),
        text: format!("This is a test e-mail. Replies to your customers will be sent the same way, from {from}."),
    }
}

/// The mail that carries a verification code, from and to the address.
fn verification_mail(address: &str, code: &str) -> OutboundEmail {
    let text = format!(
        "Someone asked to send customer-service replies from {address}.\n\n\
         If that was your team, give this code back in the console's e-mail settings (or to \
         POST /v1/settings/email/verifications/confirm):\n\n{code}\n\n\
         If not, ignore this mail: nothing is sent from {address} until the code is given back."
    );
    OutboundEmail {
        from_name: "Customer-service copilot".into(),
        from_address: address.to_owned(),
        to_name: None,
        to_address: address.to_owned(),
        subject: "Verify your support address".into(),
        message_id: copilot_channels::new_message_id(address),
        in_reply_to: None,
        references: Vec::new(),
        text,
    }
}

/// Confirms an address with the code mailed to it (admins only); returns the settings.
pub async fn confirm_verification(
    tx: &TenantTx,
    by: &Principal,
    address: &str,
    code: &str,
) -> Result<EmailSettings, Error> {
    by.require_admin()?;
    let address = Email::parse(address)?.as_str().to_owned();
    let row = sender_verification::Entity::scoped(tx.tenant())
        .filter(sender_verification::Column::Address.eq(address.as_str()))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::unprocessable("verification_not_started", "no code was mailed to this address"))?;
    if row.attempts >= MAX_CODE_ATTEMPTS {
        return Err(Error::unprocessable("verification_code_spent", "too many wrong codes: mail a new one"));
    }
    let right = row.code_hash == token_hash(code.trim());
    let attempts = row.attempts;
    let mut change: sender_verification::ActiveModel = row.into();
    if right {
        change.verified_at = Set(Some(copilot_core::now()));
        change.attempts = Set(MAX_CODE_ATTEMPTS);
    } else {
        change.attempts = Set(attempts + 1);
    }
    change.update(&**tx).await.map_err(db_err)?;
    if !right {
        // The failed attempt counts even though the request fails: the caller commits it.
        return Err(Error::unprocessable("verification_code_wrong", "the code is not the one mailed to this address"));
    }
    audit::record(
        tx,
        by.actor,
        "email.address_verified",
        audit::Target { kind: "email_address", id: None, label: Some(&address) },
        serde_json::json!({}),
    )
    .await?;
    get(tx).await
}

/// Whether the tenant verified `address`.
pub(crate) async fn is_verified(tx: &TenantTx, address: &str) -> Result<bool, Error> {
    let found = sender_verification::Entity::scoped(tx.tenant())
        .filter(sender_verification::Column::Address.eq(address.to_lowercase()))
        .filter(sender_verification::Column::VerifiedAt.is_not_null())
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(found.is_some())
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn addresses_of(row: &email_settings::Model) -> Vec<String> {
    serde_json::from_value(row.addresses.clone()).unwrap_or_default()
}

/// The settings replaced as a whole (except the SMTP URL, see [`KeyChange`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EmailUpdate {
    pub addresses: Vec<String>,
    pub from_name: Option<String>,
    pub smtp_url: KeyChange,
}

async fn row(tx: &TenantTx) -> Result<Option<email_settings::Model>, Error> {
    email_settings::Entity::scoped(tx.tenant()).one(&**tx).await.map_err(db_err)
}

pub async fn get(tx: &TenantTx) -> Result<EmailSettings, Error> {
    let settings = row(tx).await.map(EmailSettings::from)?;
    with_verified(tx, settings).await
}

/// The tenant's SMTP URL, opened, when it set one.
pub async fn smtp_url(tx: &TenantTx, sealer: &Sealer) -> Result<Option<String>, Error> {
    match row(tx).await?.and_then(|row| row.smtp_url_sealed) {
        Some(sealed) => sealer.open(tx.tenant(), &sealed).map(Some),
        None => Ok(None),
    }
}

/// Validates an SMTP URL: `smtp://` or `smtps://` with a host, on a public address
/// unless `allow_private` (a name is checked again when the sender connects).
fn check_smtp_url(url: &str, allow_private: bool) -> Result<String, Error> {
    let url = url.trim();
    if let Err(copilot_core::net::UrlError::Private(address)) =
        copilot_core::net::check_url(url, &["smtp", "smtps"], allow_private)
    {
        return Err(Error::validation(
            "invalid_smtp_url",
            format!("`smtp_url` points at {address}, a loopback, private or otherwise non-public address"),
        ));
    }
    let rest = url.strip_prefix("smtp://").or_else(|| url.strip_prefix("smtps://"));
    let host = rest
        .map(|rest| rest.rsplit_once('@').map_or(rest, |(_, host)| host))
        .map(|h| h.split(['/', '?']).next().unwrap_or_default());
    match host {
        Some(host)
            if !host.is_empty()
                && !host.starts_with(':')
                && !url.chars().any(char::is_whitespace)
                && url.len() <= 1000 =>
        {
            Ok(url.to_owned())
        }
        _ => Err(Error::validation(
            "invalid_smtp_url",
            "`smtp_url` must look like smtp://host:587?tls=required or smtps://user:password@host:465",
        )),
    }
}

/// Replaces the tenant's e-mail settings (admins only).
pub async fn put(
    tx: &TenantTx,
    by: &Principal,
    update: EmailUpdate,
    sealer: &Sealer,
    allow_private: bool,
) -> Result<EmailSettings, Error> {
    by.require_admin()?;
    if update.addresses.len() > MAX_ADDRESSES {
        return Err(Error::validation("invalid_setting", format!("at most {MAX_ADDRESSES} addresses")));
    }
    let mut addresses: Vec<String> = Vec::new();
    for address in &update.addresses {
        let address = Email::parse(address)?.as_str().to_owned();
        if !addresses.contains(&address) {
            addresses.push(address);
        }
    }
    let from_name = update
        .from_name
        .as_deref()
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| single_line("from_name", name, 1, 200))
        .transpose()?;
    let sealed_url = match &update.smtp_url {
        KeyChange::Set(url) => Some(Some(sealer.seal(tx.tenant(), &check_smtp_url(url, allow_private)?)?)),
        KeyChange::Clear => Some(None),
        KeyChange::Keep => None,
    };
    let mut change = start_change(tx, row(tx).await?, by);
    change.addresses = Set(serde_json::json!(addresses));
    change.from_name = Set(from_name);
    if let Some(sealed) = sealed_url {
        change.smtp_url_sealed = Set(sealed);
    }
    let settings = save(tx, change).await?;
    audit::record(
        tx,
        by.actor,
        "settings.email_updated",
        audit::Target { kind: "settings", id: None, label: Some("email") },
        serde_json::json!({
            "addresses": settings.addresses,
            "smtp_url": match update.smtp_url { KeyChange::Keep => "kept", KeyChange::Clear => "cleared", KeyChange::Set(_) => "replaced" },
        }),
    )
    .await?;
    Ok(settings)
}

/// Creates a new inbound secret (the previous one stops working) and returns it; it is
/// shown this once (admins only).
pub async fn rotate_inbound_token(tx: &TenantTx, by: &Principal) -> Result<String, Error> {
    by.require_admin()?;
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let random: String = {
        let mut rng = rand::rng();
        (0..40).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
    };
    let token = format!("{INBOUND_TOKEN_PREFIX}{random}");
    let mut change = start_change(tx, row(tx).await?, by);
    change.inbound_token_hash = Set(Some(token_hash(&token)));
    change.inbound_token_prefix = Set(Some(token[..INBOUND_TOKEN_PREFIX.len() + 6].to_owned()));
    save(tx, change).await?;
    audit::record(
        tx,
        by.actor,
        "settings.inbound_email_token_rotated",
        audit::Target { kind: "settings", id: None, label: Some("email") },
        serde_json::json!({}),
    )
    .await?;
    Ok(token)
}

fn token_hash(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The tenant whose inbound secret this is (a credential lookup by hash, before any
/// tenant is known).
pub async fn tenant_of_inbound_token(db: &Db, token: &str) -> Result<Option<TenantId>, Error> {
    if !token.starts_with(INBOUND_TOKEN_PREFIX) || token.len() > 100 {
        return Ok(None);
    }
    let found = email_settings::Entity::find()
        .filter(email_settings::Column::InboundTokenHash.eq(token_hash(token)))
        .one(db.unscoped())
        .await
        .map_err(db_err)?;
    Ok(found.map(|row| TenantId(row.tenant_id)))
}

fn start_change(tx: &TenantTx, existing: Option<email_settings::Model>, by: &Principal) -> email_settings::ActiveModel {
    let mut change = match existing {
        Some(row) => row.into(),
        None => email_settings::ActiveModel {
            tenant_id: Set(tx.tenant().0),
            addresses: Set(serde_json::json!([])),
            from_name: Set(None),
            smtp_url_sealed: Set(None),
            inbound_token_hash: Set(None),
            inbound_token_prefix: Set(None),
            updated_by: Set(None),
            updated_at: Set(copilot_core::now()),
        },
    };
    change.updated_by = Set(by.actor.user_id());
    change.updated_at = Set(copilot_core::now());
    change
}

async fn save(tx: &TenantTx, change: email_settings::ActiveModel) -> Result<EmailSettings, Error> {
    let saved = if change.tenant_id.is_unchanged() { change.update(&**tx).await } else { change.insert(&**tx).await };
    with_verified(tx, EmailSettings::from(Some(saved.map_err(db_err)?))).await
}

/// What sending and receiving need: the addresses, the From of replies.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Identity {
    pub addresses: Vec<String>,
    pub from_name: Option<String>,
}

impl Identity {
    /// The From address of replies, if the tenant set one.
    pub fn from_address(&self) -> Option<&str> {
        self.addresses.first().map(String::as_str)
    }

    pub fn is_ours(&self, address: &str) -> bool {
        self.addresses.iter().any(|ours| ours.eq_ignore_ascii_case(address))
    }
}

/// The tenant's From identity and whether its From address is verified (the service's mail
/// server sends only then): what every sender of the tenant's mail needs.
pub async fn sender(tx: &TenantTx) -> Result<(Identity, bool), Error> {
    let identity = identity(tx).await?;
    let verified = match identity.from_address() {
        Some(from) => is_verified(tx, from).await?,
        None => false,
    };
    Ok((identity, verified))
}

pub(crate) async fn identity(tx: &TenantTx) -> Result<Identity, Error> {
    Ok(row(tx)
        .await?
        .map(|row| Identity { addresses: addresses_of(&row), from_name: row.from_name.clone() })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_are_checked() {
        assert!(check_smtp_url("smtp://127.0.0.1:2525", true).is_ok());
        assert!(check_smtp_url("smtps://user:p%40ss@mail.example.com:465", false).is_ok());
        assert!(check_smtp_url("smtp://mail.example.com:587?tls=required", false).is_ok());
        for bad in ["http://mail.example.com", "smtp://", "smtp://:25", "smtp://a b", "mail.example.com"] {
            assert!(check_smtp_url(bad, true).is_err(), "{bad}");
        }
        for private in ["smtp://127.0.0.1:1", "smtp://[::1]:25", "smtps://10.0.0.5:465", "smtp://169.254.169.254"] {
            assert!(check_smtp_url(private, false).is_err(), "{private}");
            assert!(check_smtp_url(private, true).is_ok(), "{private} when allowed");
        }
    }
}
