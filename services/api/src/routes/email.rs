//! The e-mail channel: raw mail in (with an integration key, or at the tenant's secret
//! inbound URL for mail providers that forward raw MIME), the tenant's e-mail settings,
//! and what agents do with a ticket's mail (the raw original, attachments, resending a
//! failed reply).

use chrono::{DateTime, Utc};
use copilot_core::{Actor, Principal, Role, TenantId};
use copilot_core::{
    ids::{MessageId, TicketId},
    values::KeyChange,
};
use copilot_mail::{
    deliveries,
    email::{self, Limits, Received},
    settings::{self as email_settings, EmailSettings, EmailUpdate},
};
use poem_openapi::{
    ApiRequest, ApiResponse, Object, OpenApi,
    param::Path,
    payload::{Attachment, Binary, Json},
    types::MaybeUndefined,
};
use uuid::Uuid;

use super::Tag;
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{DeliveryOut, mirror_enum},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct EmailApi {
    pub state: AppState,
}

/// A raw RFC 5322 message, exactly as received.
#[derive(ApiRequest)]
pub enum RawEmail {
    #[oai(content_type = "message/rfc822")]
    Rfc822(Binary<Vec<u8>>),
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ReceivedOut {
    /// The stored mail (its raw original is kept).
    pub email_id: Uuid,
    pub outcome: ReceivedOutcome,
    pub kind: MailKind,
    pub ticket_id: Option<Uuid>,
    /// The customer message it became; for a bounce, the reply whose delivery failed.
    pub message_id: Option<Uuid>,
    pub note: Option<String>,
}

mirror_enum!(
    /// What became of a received mail.
    ReceivedOutcome => copilot_mail::email::Outcome {
        /// It opened a ticket.
        Created,
        /// It joined a ticket.
        Added,
        /// This Message-ID was received before.
        Duplicate,
        /// An auto-reply, bulk mail or a loop: kept, not a message.
        Ignored,
        /// A bounce of a reply.
        Bounce,
    }
);
mirror_enum!(
    /// What kind of mail it was.
    MailKind => copilot_core::model::MailKind {
        Personal,
        AutoReply,
        Bulk,
        Bounce,
        /// Sent from one of the tenant's own addresses.
        Loop,
        /// Could not be read as MIME.
        Unparseable,
        /// A reply the desk sent.
        Reply,
    }
);

impl From<Received> for ReceivedOut {
    fn from(received: Received) -> Self {
        Self {
            email_id: received.email_id,
            outcome: received.outcome.into(),
            kind: received.kind.into(),
            ticket_id: received.ticket_id,
            message_id: received.message_id,
            note: received.note,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EmailSettingsOut {
    /// Support addresses; the first is the From of replies. Mail from any of them is never taken as a customer's.
    pub addresses: Vec<String>,
    pub from_name: Option<String>,
    /// Whether the tenant has its own SMTP server (the URL is never returned).
    pub smtp_url_set: bool,
    /// Whether replies can go out now: a From address and an SMTP server (the tenant's, or
    /// the service's with the From address verified).
    pub sending_ready: bool,
    /// Addresses the tenant proved it reads; the service's mail server sends only from these.
    pub verified_addresses: Vec<String>,
    /// Whether the service has a mail server of its own that replies can go through.
    pub service_smtp: bool,
    /// The first characters of the inbound URL's secret, when one is set.
    pub inbound_token_prefix: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Object)]
pub struct EmailSettingsIn {
    #[oai(default)]
    pub addresses: Vec<String>,
    pub from_name: Option<String>,
    /// Write-only. Absent: keep; null: remove (use the service's server); a string: replace,
    /// e.g. `smtps://user:password@mail.example.com:465`.
    pub smtp_url: MaybeUndefined<String>,
}

#[derive(Debug, Object)]
pub struct EmailTestIn {
    /// Where to send the test e-mail.
    pub to: String,
}

/// What became of a test e-mail.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EmailTestOut {
    /// Whether the mail server accepted the test e-mail: replies can be sent.
    pub sent: bool,
    /// `tenant` (the tenant's own SMTP server) or `service` (the service's); absent when
    /// there is none.
    pub server: Option<String>,
    /// The sending address (the first support address).
    pub from: Option<String>,
    pub to: String,
    /// What the server answered, or why nothing was sent.
    pub detail: String,
}

#[derive(Debug, Object)]
pub struct VerificationIn {
    /// One of the tenant's support addresses.
    pub address: String,
}

#[derive(Debug, Object)]
pub struct VerificationStartedOut {
    /// Where the code was mailed.
    pub address: String,
}

#[derive(Debug, Object)]
pub struct VerificationConfirmIn {
    pub address: String,
    /// The code from the mail (`cpv_…`).
    pub code: String,
}

#[derive(Debug, Object)]
pub struct InboundTokenOut {
    /// Shown once. Mail providers POST raw MIME to `inbound_path` (no other credential).
    pub token: String,
    /// `/v1/inbound/email/{token}`.
    pub inbound_path: String,
}

#[derive(ApiResponse)]
pub enum RawMail {
    /// The mail exactly as received.
    #[oai(status = 200, content_type = "message/rfc822")]
    Ok(Binary<Vec<u8>>),
}

impl EmailApi {
    fn limits(&self) -> Limits {
        Limits { attachment_max_bytes: self.state.pipeline.settings.email_attachment_max_bytes as usize }
    }

    /// Parses and takes in one mail for `principal`'s tenant (mail over the size limit was
    /// refused with 413 before it got here). Mail that cannot be read is
    /// kept as it came and refused with its error code; a duplicate delivered at the same
    /// moment loses the race and is answered as the duplicate it is.
    async fn receive(&self, principal: Principal, raw: Vec<u8>) -> ApiResult<Json<ReceivedOut>> {
        // Parsing a large mail takes CPU time: on the blocking pool, so requests and
        // probes served by the async workers never wait on it.
        let (raw, parsed) = tokio::task::spawn_blocking(move || {
            let parsed = copilot_channels::parse(&raw);
            (raw, parsed)
        })
        .await
        .map_err(copilot_core::Error::internal)?;
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
                let id = email::keep_unparseable(&tx, &copilot_channels::inbound::raw_id(&raw), &raw, &error).await?;
                tx.commit().await?;
                return Err(copilot_core::Error::unprocessable(error.code(), format!("{error} (kept as {id})")).into());
            }
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
            match copilot_pipeline::conversations::receive_email(&tx, &principal, &parsed, &raw, self.limits()).await {
                Ok(received) => {
                    tx.commit().await?;
                    if received.kind == copilot_core::model::MailKind::Personal {
                        self.state.pipeline.triage_wakeup.notify_one();
                    }
                    return Ok(Json(received.into()));
                }
                Err(copilot_core::Error::Conflict { .. }) if attempt == 1 => continue,
                Err(error) => return Err(error.into()),
            }
        }
    }

    fn settings_out(&self, settings: EmailSettings) -> EmailSettingsOut {
        let service_smtp =
            !secrecy::ExposeSecret::expose_secret(&self.state.pipeline.settings.smtp_url).trim().is_empty();
        EmailSettingsOut {
            sending_ready: settings.addresses.first().is_some_and(|from| {
                settings.smtp_url_set || (service_smtp && settings.verified_addresses.contains(from))
            }),
            verified_addresses: settings.verified_addresses,
            service_smtp,
            addresses: settings.addresses,
            from_name: settings.from_name,
            smtp_url_set: settings.smtp_url_set,
            inbound_token_prefix: settings.inbound_token_prefix,
            updated_at: settings.updated_at,
        }
    }
}

#[OpenApi(tag = "Tag::Email")]
impl EmailApi {
    /// Take in a raw RFC 5322 message (`Content-Type: message/rfc822`) with an API key: it
    /// opens a ticket, joins one (by `In-Reply-To`/`References`, else the `[#42]` token of a
    /// ticket of the same sender), or is set aside (auto-reply, bulk, bounce, loop, duplicate).
    #[oai(path = "/inbound/email", method = "post", operation_id = "email.inbound")]
    async fn inbound(&self, auth: TenantAuth, body: RawEmail) -> ApiResult<Json<ReceivedOut>> {
        let principal = auth.0.principal;
        if !matches!(principal.actor, Actor::ApiKey(_)) {
            return Err(copilot_core::Error::Forbidden("inbound mail is posted with an integration API key").into());
        }
        let RawEmail::Rfc822(raw) = body;
        self.receive(principal, raw.0).await
    }

    /// Take in a raw message at the tenant's secret inbound URL (for mail providers that
    /// forward raw MIME and cannot send a bearer token). An unknown secret is 404.
    #[oai(path = "/inbound/email/:token", method = "post", operation_id = "email.inbound_with_token")]
    async fn inbound_with_token(&self, token: Path<String>, body: RawEmail) -> ApiResult<Json<ReceivedOut>> {
        let tenant: TenantId = email_settings::tenant_of_inbound_token(&self.state.pipeline.db, token.0.trim())
            .await?
            .ok_or(copilot_core::Error::NotFound("inbound address"))?;
        let principal = Principal { tenant_id: tenant, actor: Actor::InboundEmail, role: Role::Integration };
        let RawEmail::Rfc822(raw) = body;
        self.receive(principal, raw.0).await
    }

    /// The tenant's e-mail settings (people only, not integration keys).
    #[oai(path = "/settings/email", method = "get", operation_id = "settings.email.get")]
    async fn get_settings(&self, auth: TenantAuth) -> ApiResult<Json<EmailSettingsOut>> {
        auth.0.principal.require_human_role()?;
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(self.settings_out(email_settings::get(&tx).await?)))
    }

    /// Replace the tenant's e-mail settings (admins only). The SMTP URL is encrypted at rest and never returned.
    #[oai(path = "/settings/email", method = "put", operation_id = "settings.email.put")]
    async fn put_settings(
        &self,
        auth: TenantAuth,
        body: JsonBody<EmailSettingsIn>,
    ) -> ApiResult<Json<EmailSettingsOut>> {
        let principal = auth.0.principal;
        let body = body.0;
        let update = EmailUpdate {
            addresses: body.addresses,
            from_name: body.from_name,
            smtp_url: match body.smtp_url {
                MaybeUndefined::Undefined => KeyChange::Keep,
                MaybeUndefined::Null => KeyChange::Clear,
                MaybeUndefined::Value(url) => KeyChange::Set(url),
            },
        };
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let allow_private = self.state.pipeline.settings.tenant_endpoints_allow_private;
        let settings = email_settings::put(&tx, &principal, update, &self.state.pipeline.sealer, allow_private).await?;
        tx.commit().await?;
        Ok(Json(self.settings_out(settings)))
    }

    /// Send a test e-mail now, the way replies go out (admins only): through the tenant's
    /// SMTP server, else the service's, from the first support address. The answer says
    /// whether the server took it and what it said, so a wrong server, port, password or
    /// sender shows before a customer's reply fails.
    #[oai(path = "/settings/email/test", method = "post", operation_id = "settings.email.test")]
    async fn test_mail(&self, auth: TenantAuth, body: JsonBody<EmailTestIn>) -> ApiResult<Json<EmailTestOut>> {
        let principal = auth.0.principal;
        principal.require_admin()?;
        let to = copilot_core::values::Email::parse(&body.0.to)?;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let settings = email_settings::get(&tx).await?;
        let route = copilot_pipeline::delivery::mail_route(
            &self.state.pipeline,
            email_settings::smtp_url(&tx, &self.state.pipeline.sealer).await?,
        );
        drop(tx);
        let server = route.as_ref().map(|route| if route.shared_relay { "service" } else { "tenant" }.to_owned());
        let from = settings.addresses.first().cloned();
        let verified = from.as_ref().is_some_and(|from| settings.verified_addresses.contains(from));
        let outcome = match copilot_pipeline::delivery::sendable(route, from.as_deref(), verified) {
            Ok((route, from)) => {
                let email = email_settings::test_mail(&settings, from, &to);
                copilot_pipeline::delivery::send_now(&self.state.pipeline, &route, &email).await
            }
            Err(error) => Err(error),
        };
        let to = to.as_str().to_owned();
        let (sent, detail) = match outcome {
            Ok(()) => (true, format!("the server accepted the test e-mail to {to}")),
            Err(error) => (false, error.reason().to_owned()),
        };
        Ok(Json(EmailTestOut { sent, server, from, to, detail }))
    }

    /// Mail a verification code to one of the tenant's addresses (admins only), through the
    /// service's mail server. The service's server sends replies only from verified
    /// addresses, so no tenant sends as another's; a tenant's own SMTP server needs none.
    #[oai(path = "/settings/email/verifications", method = "post", operation_id = "settings.email.verifications.start")]
    async fn start_verification(
        &self,
        auth: TenantAuth,
        body: JsonBody<VerificationIn>,
    ) -> ApiResult<Json<VerificationStartedOut>> {
        let principal = auth.0.principal;
        let service_smtp =
            secrecy::ExposeSecret::expose_secret(&self.state.pipeline.settings.smtp_url).trim().to_owned();
        if service_smtp.is_empty() {
            return Err(copilot_core::Error::unprocessable(
                "smtp_not_configured",
                "the service has no mail server of its own (COPILOT_SMTP_URL); with the tenant's own SMTP server no verification is needed",
            )
            .into());
        }
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let email = email_settings::start_verification(&tx, &principal, &body.0.address).await?;
        tx.commit().await?;
        let route =
            copilot_pipeline::delivery::MailRoute { url: service_smtp, shared_relay: true, allow_private: true };
        copilot_pipeline::delivery::send_now(&self.state.pipeline, &route, &email)
            .await
            .map_err(|error| copilot_core::Error::unprocessable("verification_mail_failed", error.to_string()))?;
        Ok(Json(VerificationStartedOut { address: email.to_address }))
    }

    /// Confirm an address with the code mailed to it (admins only).
    #[oai(
        path = "/settings/email/verifications/confirm",
        method = "post",
        operation_id = "settings.email.verifications.confirm"
    )]
    async fn confirm_verification(
        &self,
        auth: TenantAuth,
        body: JsonBody<VerificationConfirmIn>,
    ) -> ApiResult<Json<EmailSettingsOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let confirmed = email_settings::confirm_verification(&tx, &principal, &body.0.address, &body.0.code).await;
        // A wrong code counts against the mailed one: kept even though the request fails.
        tx.commit().await?;
        Ok(Json(self.settings_out(confirmed?)))
    }

    /// Create a new secret inbound URL (admins only); the previous one stops working. The secret is shown once.
    #[oai(
        path = "/settings/email/inbound-token",
        method = "post",
        operation_id = "settings.email.rotate_inbound_token"
    )]
    async fn rotate_inbound_token(&self, auth: TenantAuth) -> ApiResult<Json<InboundTokenOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let token = email_settings::rotate_inbound_token(&tx, &principal).await?;
        tx.commit().await?;
        Ok(Json(InboundTokenOut { inbound_path: format!("/v1/inbound/email/{token}"), token }))
    }

    /// The raw mail a customer message came from.
    #[oai(path = "/tickets/:id/messages/:message_id/raw", method = "get", operation_id = "tickets.messages.raw")]
    async fn raw(&self, auth: TenantAuth, id: Path<Uuid>, message_id: Path<Uuid>) -> ApiResult<RawMail> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(RawMail::Ok(Binary(email::raw_of_message(&tx, TicketId(id.0), MessageId(message_id.0)).await?)))
    }

    /// Download an attachment of a customer message.
    #[oai(
        path = "/tickets/:id/messages/:message_id/attachments/:attachment_id",
        method = "get",
        operation_id = "tickets.messages.attachment"
    )]
    async fn attachment(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        message_id: Path<Uuid>,
        attachment_id: Path<Uuid>,
    ) -> ApiResult<Attachment<Vec<u8>>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let (filename, _content_type, content) =
            email::attachment(&tx, TicketId(id.0), MessageId(message_id.0), attachment_id.0).await?;
        let mut attachment = Attachment::new(content);
        if let Some(name) = filename {
            attachment = attachment.filename(name);
        }
        Ok(attachment)
    }

    /// Send a failed reply again, after checking it did not reach the customer (agents and admins).
    #[oai(path = "/tickets/:id/messages/:message_id/resend", method = "post", operation_id = "tickets.messages.resend")]
    async fn resend(&self, auth: TenantAuth, id: Path<Uuid>, message_id: Path<Uuid>) -> ApiResult<Json<DeliveryOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let delivery = deliveries::resend(&tx, &principal, TicketId(id.0), MessageId(message_id.0)).await?;
        tx.commit().await?;
        Ok(Json(DeliveryOut::from(delivery)))
    }
}
