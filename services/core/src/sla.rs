//! A ticket's service levels as every part of the service reads them: the policy that set
//! them and each target's clock (when it started, when it is due, whether it was met or
//! breached, whether it stands paused). `copilot-sla` computes them; the ticket keeps a
//! copy so that its readers need nothing else.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What a target measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// From the ticket's opening to its first public reply.
    FirstReply,
    /// From a customer's message after the first reply to the reply that answers it.
    NextReply,
    /// From the ticket's opening to its solving.
    Resolution,
}

impl TargetKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FirstReply => "first_reply",
            Self::NextReply => "next_reply",
            Self::Resolution => "resolution",
        }
    }
}

/// One target's clock on a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetClock {
    pub kind: TargetKind,
    /// The target's length and how it is counted.
    pub minutes: i64,
    pub business_hours: bool,
    pub started_at: DateTime<Utc>,
    /// When it falls due; while paused, when it would if the clock ran on now.
    pub due_at: DateTime<Utc>,
    /// When the warning falls (the policy's lead time before `due_at`); none without one.
    #[serde(default)]
    pub warn_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub warned_at: Option<DateTime<Utc>>,
    /// When it was met; the target is open until then.
    #[serde(default)]
    pub achieved_at: Option<DateTime<Utc>>,
    /// When it was missed (its due time).
    #[serde(default)]
    pub breached_at: Option<DateTime<Utc>>,
    /// The clock stands still (a pending ticket, where the policy says so).
    #[serde(default)]
    pub paused: bool,
    /// While paused: the time that was left, in milliseconds (of business time for a
    /// business-hours target).
    #[serde(default)]
    pub remaining_ms: Option<i64>,
}

impl TargetClock {
    /// Not met yet.
    pub fn is_open(&self) -> bool {
        self.achieved_at.is_none()
    }

    /// Running towards its due time: open and not paused.
    pub fn is_running(&self) -> bool {
        self.is_open() && !self.paused
    }
}

/// A ticket's service levels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketSla {
    pub policy_id: Uuid,
    pub policy_name: String,
    /// Every target the ticket has had, oldest first (one next-reply target per customer
    /// message waiting after the first reply).
    pub targets: Vec<TargetClock>,
    /// The earliest due time of a running target (past when one is breached); none when no
    /// clock runs.
    pub next_due_at: Option<DateTime<Utc>>,
}

impl TicketSla {
    /// The earliest due time of the running targets.
    pub fn earliest_due(targets: &[TargetClock]) -> Option<DateTime<Utc>> {
        targets.iter().filter(|target| target.is_running()).map(|target| target.due_at).min()
    }

    /// A running target is past its due time.
    pub fn is_breached(&self) -> bool {
        self.targets.iter().any(|target| target.is_running() && target.breached_at.is_some())
    }
}
