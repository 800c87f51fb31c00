//! Request and response bodies of the API, and their conversions to and from the domain.

use chrono::{DateTime, Utc};
use copilot_core::{model, page::Page as DomainPage};
use poem_openapi::{
    Object,
    types::{ParseFromJSON, ToJSON, Type},
};
use uuid::Uuid;

/// Declares an API enum mirroring a domain enum, with conversions both ways.
macro_rules! mirror_enum {
    ($(#[$meta:meta])* $api:ident => $domain:path { $($(#[$vmeta:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, poem_openapi::Enum)]
        #[oai(rename_all = "snake_case")]
        pub enum $api { $($(#[$vmeta])* $variant),+ }

        impl From<$api> for $domain {
            fn from(value: $api) -> Self {
                match value { $($api::$variant => <$domain>::$variant),+ }
            }
        }

        impl From<$domain> for $api {
            fn from(value: $domain) -> Self {
                match value { $(<$domain>::$variant => $api::$variant),+ }
            }
        }
    };
}

mirror_enum!(
    /// Where a ticket stands: new, open, pending (waiting on the customer), solved or closed.
    TicketStatus => model::TicketStatus { New, Open, Pending, Solved, Closed }
);
mirror_enum!(
    /// How urgent a ticket is.
    Priority => model::Priority { Low, Normal, High, Urgent }
);
mirror_enum!(
    /// Where a ticket came from and where replies go.
    Channel => model::Channel { Email, Web, Api, Chat }
);
mirror_enum!(
    /// Who wrote a message: the customer, an agent (public) or an internal note.
    Author => model::Author { Customer, Agent, Note }
);
mirror_enum!(
    /// What a credential may do.
    Role => copilot_core::Role { Owner, Admin, Agent, Integration }
);
mirror_enum!(
    /// What kind of identity acted.
    ActorKind => copilot_core::ActorKind { User, ApiKey, Platform, Anonymous, InboundEmail, Service }
);
mirror_enum!(
    /// How a satisfaction survey asks: a rating from 1 to 5, or good (2) or bad (1).
    CsatScale => model::CsatScale { Five, Two }
);
mirror_enum!(
    /// Where a survey stands: `due` (goes out at `send_at`), `waiting` (the ticket was
    /// reopened first), `mail_queued`/`mail_sending` (its e-mail in the outbox),
    /// `mail_failed`, or `requested` (out: mailed, or its link given in `csat.requested`).
    SurveyStage => model::SurveyStage { Waiting, Due, MailQueued, MailSending, MailFailed, Requested }
);
mirror_enum!(
    /// What an SLA target measures: the time to the first reply, to each next reply, to
    /// resolution.
    SlaTargetKind => copilot_core::sla::TargetKind { FirstReply, NextReply, Resolution }
);
mirror_enum!(
    /// What a custom ticket field holds.
    FieldKindIo => copilot_conversations::fields::FieldKind { Text, Number, Select, MultiSelect, Date, Checkbox }
);
mirror_enum!(
    /// How a message reads.
    Sentiment => model::Sentiment { Negative, Neutral, Positive }
);
pub(crate) use mirror_enum;

/// One page of a listing; pass `next_cursor` as `cursor` to get the next page.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Page<T: ParseFromJSON + ToJSON + Type + Send + Sync> {
    pub data: Vec<T>,
    /// Absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T: ParseFromJSON + ToJSON + Type + Send + Sync> Page<T> {
    pub fn from_domain<D>(page: DomainPage<D>, convert: impl FnMut(D) -> T) -> Self {
        let page = page.map(convert);
        Self { data: page.data, next_cursor: page.next_cursor }
    }

    pub fn try_from_domain<D, E>(page: DomainPage<D>, convert: impl FnMut(D) -> Result<T, E>) -> Result<Self, E> {
        let data = page.data.into_iter().map(convert).collect::<Result<Vec<_>, E>>()?;
        Ok(Self { data, next_cursor: page.next_cursor })
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TenantOut {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub created_at: DateTime<Utc>,
}

impl From<copilot_tenancy::Tenant> for TenantOut {
    fn from(tenant: copilot_tenancy::Tenant) -> Self {
        Self { id: tenant.id.0, name: tenant.name, slug: tenant.slug, created_at: tenant.created_at }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    /// Deactivated users cannot sign in and their sessions end.
    pub active: bool,
    /// The language the person reads and writes (ISO 639-1): messages are translated into it.
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<copilot_tenancy::User> for UserOut {
    fn from(user: copilot_tenancy::User) -> Self {
        Self {
            id: user.id,
            email: user.email,
            name: user.name,
            role: user.role.into(),
            active: user.active,
            language: user.language,
            created_at: user.created_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ApiKeyOut {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
    /// The visible start of the key, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<copilot_tenancy::ApiKey> for ApiKeyOut {
    fn from(key: copilot_tenancy::ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name,
            role: key.role.into(),
            prefix: key.prefix,
            created_at: key.created_at,
            last_used_at: key.last_used_at,
            revoked_at: key.revoked_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CustomerOut {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TicketOut {
    pub id: Uuid,
    /// Per-tenant number shown to people.
    pub number: i64,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub channel: Channel,
    pub customer: CustomerOut,
    pub assignee_id: Option<Uuid>,
    pub tags: Vec<String>,
    /// Intent of the latest triaged customer message.
    pub intent: Option<String>,
    /// Sentiment of the latest triaged customer message.
    pub sentiment: Option<Sentiment>,
    /// Language of the latest triaged customer message.
    pub language: Option<String>,
    /// Sentiment score of the latest triaged customer message: −1 (negative) to 1 (positive).
    pub sentiment_score: Option<f64>,
    /// Since when the customer has been waiting for a public reply; absent once answered.
    pub waiting_since: Option<DateTime<Utc>>,
    /// The start (up to 200 characters, on one line) of the latest message the customer can see.
    pub preview: Option<String>,
    /// A draft reply is ready for an agent's review.
    pub draft_ready: bool,
    /// When the first public reply was written.
    pub first_reply_at: Option<DateTime<Utc>>,
    /// When it was last solved or closed.
    pub solved_at: Option<DateTime<Utc>>,
    /// Its service levels, when an SLA policy applies.
    pub sla: Option<TicketSlaOut>,
    /// The ticket it was merged into (it is closed and takes no more messages).
    pub merged_into_id: Option<Uuid>,
    /// Custom field values by key.
    pub fields: std::collections::BTreeMap<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One SLA target's clock on a ticket.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SlaTargetOut {
    pub kind: SlaTargetKind,
    pub minutes: i64,
    /// Counted in the default schedule's business hours (else on the calendar).
    pub business_hours: bool,
    pub started_at: DateTime<Utc>,
    /// When it falls due; while paused, when it would if the clock ran on now.
    pub due_at: DateTime<Utc>,
    /// When `sla.warning` falls (the policy's lead time before `due_at`).
    pub warn_at: Option<DateTime<Utc>>,
    pub warned_at: Option<DateTime<Utc>>,
    /// When it was met; the target is open until then.
    pub achieved_at: Option<DateTime<Utc>>,
    /// When it was missed (its due time).
    pub breached_at: Option<DateTime<Utc>>,
    /// The clock stands still (a pending ticket, where the policy says so).
    pub paused: bool,
}

/// A ticket's service levels.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TicketSlaOut {
    pub policy_id: Uuid,
    pub policy_name: String,
    /// Every target the ticket has had, oldest first (a next-reply target for each customer
    /// message waiting after the first reply).
    pub targets: Vec<SlaTargetOut>,
    /// The earliest due time of a running target (past: breached); absent when no clock runs.
    pub next_due_at: Option<DateTime<Utc>>,
    /// A running target is past its due time.
    pub breached: bool,
}

impl From<copilot_core::sla::TicketSla> for TicketSlaOut {
    fn from(sla: copilot_core::sla::TicketSla) -> Self {
        let breached = sla.is_breached();
        Self {
            policy_id: sla.policy_id,
            policy_name: sla.policy_name,
            targets: sla
                .targets
                .into_iter()
                .map(|t| SlaTargetOut {
                    kind: t.kind.into(),
                    minutes: t.minutes,
                    business_hours: t.business_hours,
                    started_at: t.started_at,
                    due_at: t.due_at,
                    warn_at: t.warn_at,
                    warned_at: t.warned_at,
                    achieved_at: t.achieved_at,
                    breached_at: t.breached_at,
                    paused: t.paused,
                })
                .collect(),
            next_due_at: sla.next_due_at,
            breached,
        }
    }
}

/// A stored name as the API enum that lists it; a name outside it is an internal error.
pub(crate) fn stored_enum<T: ParseFromJSON>(value: &str) -> Result<T, copilot_core::Error> {
    T::parse_from_json(Some(serde_json::Value::String(value.to_owned())))
        .map_err(|_| copilot_core::Error::internal(format!("unexpected stored value `{value}`")))
}

impl From<copilot_conversations::Ticket> for TicketOut {
    fn from(ticket: copilot_conversations::Ticket) -> Self {
        Self {
            id: ticket.id.0,
            number: ticket.number,
            subject: ticket.subject,
            status: ticket.status.into(),
            priority: ticket.priority.into(),
            channel: ticket.channel.into(),
            customer: CustomerOut { id: ticket.customer.id, email: ticket.customer.email, name: ticket.customer.name },
            assignee_id: ticket.assignee_id,
            tags: ticket.tags,
            intent: ticket.intent,
            sentiment: ticket.sentiment.map(Into::into),
            sentiment_score: ticket.sentiment_score,
            waiting_since: ticket.waiting_since,
            preview: ticket.preview,
            draft_ready: ticket.draft_ready,
            first_reply_at: ticket.first_reply_at,
            solved_at: ticket.solved_at,
            sla: ticket.sla.map(Into::into),
            merged_into_id: ticket.merged_into_id.map(|id| id.0),
            fields: ticket.fields,
            language: ticket.language,
            created_at: ticket.created_at,
            updated_at: ticket.updated_at,
        }
    }
}

/// The intent of a message and the model's confidence (0–1).
#[derive(Debug, Object)]
pub struct IntentOut {
    pub label: String,
    pub confidence: f64,
}

/// The sentiment of a message and a score from -1 (negative) to 1 (positive).
#[derive(Debug, Object)]
pub struct SentimentOut {
    pub label: Sentiment,
    pub score: f64,
}

/// The triage of a customer message.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MessageTriageOut {
    pub status: TriageStatus,
    /// The agent's correction when there is one, else the model's intent.
    pub intent: Option<IntentOut>,
    pub sentiment: Option<SentimentOut>,
    pub language: Option<String>,
    pub attempts: i32,
    /// Why the last attempt failed.
    pub error: Option<String>,
}

mirror_enum!(
    /// Where the triage of a message stands.
    TriageStatus => copilot_intents::triage::Progress {
        Pending,
        /// An attempt failed; it will be retried.
        Retrying,
        Done,
        Failed,
    }
);

impl From<copilot_intents::triage::MessageTriage> for MessageTriageOut {
    fn from(triage: copilot_intents::triage::MessageTriage) -> Self {
        let intent = triage.shown_intent().map(|(label, confidence)| IntentOut { label: label.to_owned(), confidence });
        Self {
            status: triage.status.into(),
            intent,
            sentiment: triage
                .sentiment
                .map(|label| SentimentOut { label: label.into(), score: triage.sentiment_score.unwrap_or(0.0) }),
            language: triage.language,
            attempts: triage.attempts,
            error: triage.error,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MessageOut {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub author: Author,
    /// The agent who wrote an agent message or a note.
    pub author_user_id: Option<Uuid>,
    pub body: String,
    /// Sent translated: what the agent wrote (agents only; `body` is what was sent).
    pub original_body: Option<String>,
    pub original_language: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Present on customer messages.
    pub triage: Option<MessageTriageOut>,
    /// Present on agent replies of e-mail tickets: where sending them stands.
    pub delivery: Option<DeliveryOut>,
    /// Files that came with a received mail.
    pub attachments: Vec<AttachmentOut>,
    /// The mail the message came in as (customer) or went out as (agent reply).
    pub email: Option<EmailInfoOut>,
    /// The languages the message has been translated into (by request, or in the background
    /// with `auto_translate`): `GET …/messages/{id}/translations/{lang}` returns each at once.
    pub translations: Vec<String>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EmailInfoOut {
    pub direction: MailDirection,
    /// The Message-ID header, without angle brackets.
    pub message_id: String,
    pub from: Option<String>,
    pub subject: Option<String>,
    /// Whether the raw original can be downloaded (`GET …/messages/{message_id}/raw`).
    pub raw: bool,
}

mirror_enum!(
    /// Whether a mail came in (a customer's) or went out (a reply).
    MailDirection => model::MailDirection { In, Out }
);

impl From<copilot_mail::email::EmailInfo> for EmailInfoOut {
    fn from(info: copilot_mail::email::EmailInfo) -> Self {
        Self {
            direction: info.direction.into(),
            message_id: info.message_id,
            from: info.from,
            subject: info.subject,
            raw: info.raw,
        }
    }
}

mirror_enum!(
    /// Where a reply's delivery stands.
    DeliveryStatus => model::DeliveryStatus { Queued, Sending, Sent, Failed }
);

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DeliveryOut {
    /// How the reply goes out.
    pub channel: Channel,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The last failure: the server's answer, `bounced: …`, or `delivery_outcome_unknown: …`
    /// when the sender stopped mid-send (never sent again by itself; resend after checking).
    pub last_error: Option<String>,
    /// When the next attempt is due, while queued.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl From<copilot_mail::deliveries::Delivery> for DeliveryOut {
    fn from(delivery: copilot_mail::deliveries::Delivery) -> Self {
        Self {
            channel: delivery.channel.into(),
            status: delivery.status.into(),
            attempts: delivery.attempts,
            last_error: delivery.last_error,
            next_attempt_at: delivery.next_attempt_at,
            sent_at: delivery.sent_at,
            updated_at: delivery.updated_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AttachmentOut {
    pub id: Uuid,
    pub filename: Option<String>,
    pub content_type: String,
    pub size_bytes: i64,
    /// Whether the file can be downloaded (it was within the size limit; the raw mail holds it either way).
    pub stored: bool,
}

impl From<copilot_mail::email::AttachmentInfo> for AttachmentOut {
    fn from(info: copilot_mail::email::AttachmentInfo) -> Self {
        Self {
            id: info.id,
            filename: info.filename,
            content_type: info.content_type,
            size_bytes: info.size_bytes,
            stored: info.stored,
        }
    }
}

impl From<copilot_pipeline::conversations::ThreadMessage> for MessageOut {
    fn from(shown: copilot_pipeline::conversations::ThreadMessage) -> Self {
        let message = shown.message;
        Self {
            id: message.id.0,
            ticket_id: message.ticket_id.0,
            author: message.author.into(),
            author_user_id: message.author_user_id,
            body: message.body,
            original_body: message.original_body,
            original_language: message.original_language,
            created_at: message.created_at,
            triage: shown.triage.map(MessageTriageOut::from),
            delivery: shown.delivery.map(DeliveryOut::from),
            attachments: shown.attachments.into_iter().map(AttachmentOut::from).collect(),
            email: shown.email.map(EmailInfoOut::from),
            translations: shown.translations,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AuditEventOut {
    pub id: Uuid,
    pub actor_kind: ActorKind,
    pub actor_id: Option<Uuid>,
    /// What happened, e.g. `ticket.status_changed`, `auth.login`, `api_key.revoked`.
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<Uuid>,
    pub target_label: Option<String>,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<copilot_store::entities::audit_event::Model> for AuditEventOut {
    fn from(row: copilot_store::entities::audit_event::Model) -> Self {
        Self {
            id: row.id,
            actor_kind: row.actor_kind.into(),
            actor_id: row.actor_id,
            action: row.action,
            target_kind: row.target_kind,
            target_id: row.target_id,
            target_label: row.target_label,
            data: row.data,
            created_at: row.created_at,
        }
    }
}
