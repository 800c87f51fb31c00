//! The `email_messages` table: every mail received or sent, with its Message-ID (threading
//! and deduplication) and, for received mail, the raw original.

use copilot_core::model::{MailDirection, MailKind};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "email_messages")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The ticket the mail joined or opened; none for mail that opened nothing.
    pub ticket_id: Option<Uuid>,
    /// The thread message the mail became (received) or carries (sent).
    pub message_id: Option<Uuid>,
    pub direction: MailDirection,
    /// The Message-ID header without angle brackets.
    pub header_message_id: String,
    pub kind: MailKind,
    pub from_address: Option<String>,
    pub subject: Option<String>,
    /// The message exactly as received.
    pub raw: Option<Vec<u8>>,
    /// Why the mail opened nothing, or what it did (a bounce's effect).
    pub note: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
