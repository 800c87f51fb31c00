//! The closed catalogue of what a query may read: datasets, their fields, each field's type
//! and the operators it accepts. Nothing outside it reaches the database.

use copilot_core::model::{
    Author, Channel, CsatScale, DeliveryStatus, DraftMode, DraftStatus, EditClass, Priority, Sentiment, TicketStatus,
};
use serde::Serialize;

/// What a query reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dataset {
    Tickets,
    Messages,
    Drafts,
    Deliveries,
    Surveys,
}

impl Dataset {
    pub const ALL: [Dataset; 5] =
        [Dataset::Tickets, Dataset::Messages, Dataset::Drafts, Dataset::Deliveries, Dataset::Surveys];

    pub fn name(self) -> &'static str {
        match self {
            Dataset::Tickets => "tickets",
            Dataset::Messages => "messages",
            Dataset::Drafts => "drafts",
            Dataset::Deliveries => "deliveries",
            Dataset::Surveys => "surveys",
        }
    }

    pub fn parse(name: &str) -> Option<Dataset> {
        Dataset::ALL.into_iter().find(|d| d.name() == name)
    }

    pub fn description(self) -> &'static str {
        match self {
            Dataset::Tickets => "One row per ticket; intent, sentiment and language are the latest triage.",
            Dataset::Messages => "One row per message of a ticket (customer messages, agents' replies, notes).",
            Dataset::Drafts => "One row per AI draft of a reply, with what the agent did with it.",
            Dataset::Deliveries => "One row per reply sent out (e-mail and other channels).",
            Dataset::Surveys => "One row per satisfaction survey of a solved ticket, with the customer's rating.",
        }
    }

    /// The fields of this dataset.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Dataset::Tickets => TICKETS,
            Dataset::Messages => MESSAGES,
            Dataset::Drafts => DRAFTS,
            Dataset::Deliveries => DELIVERIES,
            Dataset::Surveys => SURVEYS,
        }
    }

    pub fn field(self, name: &str) -> Option<&'static Field> {
        self.fields().iter().find(|f| f.name == name)
    }

    /// A field of the dataset, the tenant's custom `fields` included (tickets only).
    pub fn field_among(self, name: &str, custom: &[&'static Field]) -> Option<&'static Field> {
        self.field(name).or_else(|| match self {
            Dataset::Tickets => custom.iter().copied().find(|f| f.name == name),
            _ => None,
        })
    }
}

/// What a field holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A point in time (UTC, shown in the query's time zone when bucketed).
    Time,
    /// A number (integers included).
    Number,
    /// One of a closed list of names.
    Choice(&'static [&'static str]),
    /// Free text of bounded size (intent labels, languages, models).
    Text,
    /// An identifier (a person, a customer, a ticket): counted and grouped, never summed.
    Id,
    /// Several texts per row (a ticket's tags): a row counts once in each of its groups.
    Tags,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Time => "time",
            Kind::Number => "number",
            Kind::Choice(_) => "choice",
            Kind::Text => "text",
            Kind::Id => "id",
            Kind::Tags => "tags",
        }
    }

    /// The operators a filter on this kind takes.
    pub fn operators(self) -> &'static [Op] {
        use Op::*;
        match self {
            Kind::Time | Kind::Number => &[Eq, Ne, Gt, Gte, Lt, Lte, Between, IsNull],
            Kind::Choice(_) | Kind::Id => &[Eq, Ne, In, NotIn, IsNull],
            Kind::Text => &[Eq, Ne, In, NotIn, Contains, IsNull],
            Kind::Tags => &[Eq, Ne, In, NotIn, IsNull],
        }
    }

    /// The measures that take this kind as their field.
    pub fn measures(self) -> &'static [Function] {
        use Function::*;
        match self {
            Kind::Number => &[CountDistinct, Avg, Sum, P50, P90, Min, Max],
            Kind::Time => &[CountDistinct, Min, Max],
            Kind::Choice(_) | Kind::Text | Kind::Id | Kind::Tags => &[CountDistinct],
        }
    }
}

/// Where a field's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// A column of the dataset's table, by name.
    Column(&'static str),
    /// The ticket's tags.
    TicketTags,
    /// Seconds from a row's `created_at` to another time column of it.
    SecondsUntil(&'static str),
    /// A yes/no column read as one of two names.
    Flag { column: &'static str, yes: &'static str, no: &'static str },
    /// The ticket's value of the tenant's custom field with this key (its text form).
    TicketField(&'static str),
}

/// One field of a dataset.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    pub source: Source,
    pub description: &'static str,
}

const fn field(name: &'static str, kind: Kind, source: Source, description: &'static str) -> Field {
    Field { name, kind, source, description }
}

const fn column(name: &'static str, kind: Kind, description: &'static str) -> Field {
    field(name, kind, Source::Column(name), description)
}

macro_rules! names {
    ($vocabulary:ty) => {{
        const NAMES: &[&str] = &{
            let all = <$vocabulary>::ALL;
            let mut names = [""; <$vocabulary>::ALL.len()];
            let mut i = 0;
            while i < all.len() {
                names[i] = all[i].as_str();
                i += 1;
            }
            names
        };
        NAMES
    }};
}

const STATUS: &[&str] = names!(TicketStatus);
const PRIORITY: &[&str] = names!(Priority);
const CHANNEL: &[&str] = names!(Channel);
const SENTIMENT: &[&str] = names!(Sentiment);
const AUTHOR: &[&str] = names!(Author);
const DRAFT_STATUS: &[&str] = names!(DraftStatus);
const DRAFT_MODE: &[&str] = names!(DraftMode);
const EDIT_CLASS: &[&str] = names!(EditClass);
const DELIVERY_STATUS: &[&str] = names!(DeliveryStatus);
const CSAT_SCALE: &[&str] = names!(CsatScale);
const REPLY: &[&str] = &["ai_drafted", "typed"];

const TICKETS: &[Field] = &[
    column("created_at", Kind::Time, "When the ticket was opened."),
    column("updated_at", Kind::Time, "When the ticket last changed."),
    column("status", Kind::Choice(STATUS), "Where the ticket stands."),
    column("priority", Kind::Choice(PRIORITY), "How urgent the ticket is."),
    column("channel", Kind::Choice(CHANNEL), "How the ticket came in."),
    column("intent", Kind::Text, "The intent of its latest customer message (a label of the taxonomy)."),
    column("sentiment", Kind::Choice(SENTIMENT), "The sentiment of its latest customer message."),
    column("sentiment_score", Kind::Number, "That sentiment as a score from -1 (angry) to 1 (happy)."),
    column("language", Kind::Text, "The language of its latest customer message (ISO 639-1)."),
    field("assignee", Kind::Id, Source::Column("assignee_id"), "The person the ticket is assigned to."),
    field("customer", Kind::Id, Source::Column("customer_id"), "The customer who opened it."),
    field("tag", Kind::Tags, Source::TicketTags, "Its tags."),
    column("message_count", Kind::Number, "Its messages, notes included."),
    field(
        "first_reply_seconds",
        Kind::Number,
        Source::SecondsUntil("first_reply_at"),
        "Seconds from opening to the first agent reply (empty until there is one).",
    ),
    column("solved_at", Kind::Time, "When it was last solved or closed (empty while it is open)."),
    field(
        "resolution_seconds",
        Kind::Number,
        Source::SecondsUntil("solved_at"),
        "Seconds from opening to when it was last solved or closed (empty while it is open).",
    ),
    column(
        "sla_due_at",
        Kind::Time,
        "When its next SLA target falls due; before now is breached (empty when no SLA clock runs).",
    ),
];

const MESSAGES: &[Field] = &[
    column("created_at", Kind::Time, "When the message was written."),
    column("author", Kind::Choice(AUTHOR), "Who wrote it: customer, agent (a reply) or note."),
    field("ticket", Kind::Id, Source::Column("ticket_id"), "Its ticket."),
    field("agent", Kind::Id, Source::Column("author_user_id"), "The person who wrote a reply or note."),
    column("original_language", Kind::Text, "For a reply sent translated: the language the agent wrote in."),
];

const DRAFTS: &[Field] = &[
    column("created_at", Kind::Time, "When the draft was asked for."),
    column("decided_at", Kind::Time, "When an agent approved or rejected it."),
    column("status", Kind::Choice(DRAFT_STATUS), "What became of it."),
    column("mode", Kind::Choice(DRAFT_MODE), "Written by the LLM or extracted from the knowledge base."),
    column("edit_class", Kind::Choice(EDIT_CLASS), "How much the agent changed it before sending."),
    column("edit_distance", Kind::Number, "How much the agent changed it (0 unchanged, 1 rewritten)."),
    column("intent", Kind::Text, "The intent of the message it answers."),
    column("confidence", Kind::Number, "The draft's confidence from 0 to 1."),
    column("model", Kind::Text, "The model that wrote it."),
    column("llm_profile", Kind::Text, "The tenant's model profile that wrote it."),
    column("language", Kind::Text, "The language it is written in."),
    column("prompt_tokens", Kind::Number, "Tokens sent to the LLM."),
    column("completion_tokens", Kind::Number, "Tokens the LLM wrote."),
    field("agent", Kind::Id, Source::Column("decided_by"), "The person who approved or rejected it."),
    field("ticket", Kind::Id, Source::Column("ticket_id"), "Its ticket."),
    field(
        "decision_seconds",
        Kind::Number,
        Source::SecondsUntil("decided_at"),
        "Seconds from asking for the draft to the agent's decision.",
    ),
];

const DELIVERIES: &[Field] = &[
    column("created_at", Kind::Time, "When the reply was queued."),
    column("sent_at", Kind::Time, "When the channel took it."),
    column("channel", Kind::Choice(CHANNEL), "Where it went."),
    column("status", Kind::Choice(DELIVERY_STATUS), "Queued, sending, sent or failed."),
    column("attempts", Kind::Number, "Attempts made to send it."),
    field("ticket", Kind::Id, Source::Column("ticket_id"), "Its ticket."),
    field("send_seconds", Kind::Number, Source::SecondsUntil("sent_at"), "Seconds from queued to sent."),
];

const SURVEYS: &[Field] = &[
    column("created_at", Kind::Time, "When the ticket was solved and its survey made."),
    column("requested_at", Kind::Time, "When the survey was sent (empty until then)."),
    column("rated_at", Kind::Time, "When the customer first rated (empty until then)."),
    column(
        "rating",
        Kind::Number,
        "The customer's rating: 1 to 5, or on the good-or-bad scale 1 (bad) or 2 (good); 4 or more is satisfied on 1 to 5.",
    ),
    column("scale", Kind::Choice(CSAT_SCALE), "The survey's scale: five (1 to 5) or two (good or bad)."),
    column("channel", Kind::Choice(CHANNEL), "The ticket's channel."),
    column("intent", Kind::Text, "The ticket's intent when it was solved."),
    field("agent", Kind::Id, Source::Column("agent_id"), "The person rated: the assignee, else the last to reply."),
    field("ticket", Kind::Id, Source::Column("ticket_id"), "Its ticket."),
    field(
        "reply",
        Kind::Choice(REPLY),
        Source::Flag { column: "ai_drafted", yes: "ai_drafted", no: "typed" },
        "Whether the ticket's replies included an approved AI draft (ai_drafted) or were all typed.",
    ),
];

/// The prefix of a custom field's name in the tickets dataset: `fields.plan`.
pub const CUSTOM_PREFIX: &str = "fields.";
const CHECKBOX: &[&str] = &["true", "false"];

/// A tenant's custom ticket field as a field of the tickets dataset, `fields.<key>`: text,
/// select and date fields as text (dates as YYYY-MM-DD), numbers as numbers, checkboxes as
/// `true` or `false`; none for a multi-select, a kind not known, or a key that is not 1 to
/// 40 of `a-z`, `0-9`, `_`.
///
/// Made once per key and kind for the life of the process and kept (the plan refers to
/// catalogue fields for its whole run): what is kept is bounded by the distinct keys
/// tenants define, never by the requests.
pub fn custom_field(key: &str, kind: &str) -> Option<&'static Field> {
    use std::{
        collections::HashMap,
        sync::{Mutex, OnceLock},
    };
    static MADE: OnceLock<Mutex<HashMap<(String, &'static str), &'static Field>>> = OnceLock::new();
    let valid =
        (1..=40).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        return None;
    }
    let (kind, field_kind, description): (&'static str, Kind, &'static str) = match kind {
        "text" => ("text", Kind::Text, "A custom field of the tenant's tickets (text)."),
        "select" => ("select", Kind::Text, "A custom field of the tenant's tickets (one of its options)."),
        "date" => ("date", Kind::Text, "A custom field of the tenant's tickets (a date, YYYY-MM-DD)."),
        "number" => ("number", Kind::Number, "A custom field of the tenant's tickets (a number)."),
        "checkbox" => ("checkbox", Kind::Choice(CHECKBOX), "A custom field of the tenant's tickets (checked or not)."),
        _ => return None,
    };
    let mut made = MADE.get_or_init(Default::default).lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let field = made.entry((key.to_owned(), kind)).or_insert_with(|| {
        let name: &'static str = Box::leak(format!("{CUSTOM_PREFIX}{key}").into_boxed_str());
        let key: &'static str = Box::leak(key.to_owned().into_boxed_str());
        Box::leak(Box::new(Field { name, kind: field_kind, source: Source::TicketField(key), description }))
    });
    Some(*field)
}

/// The catalogue as text for a planning prompt: each dataset, then each field with its type,
/// its values where it has a closed set, and what it holds; `intents` are the labels the
/// tenant's `intent` fields take.
pub fn describe(intents: &[String]) -> String {
    describe_with(intents, &[])
}

/// [`describe`] with the tenant's custom fields (`labels` beside each, as the tenant named them).
pub fn describe_with(intents: &[String], custom: &[(&'static Field, String)]) -> String {
    let mut text = String::new();
    for dataset in Dataset::ALL {
        text.push_str(&format!("dataset {}: {}\n", dataset.name(), dataset.description()));
        let extra = custom.iter().filter(|_| dataset == Dataset::Tickets);
        for (field, label) in dataset.fields().iter().map(|f| (f, None)).chain(extra.map(|(f, l)| (*f, Some(l)))) {
            let kind = match field.kind {
                Kind::Choice(values) => format!("choice: {}", values.join(", ")),
                Kind::Text if field.name == "intent" && !intents.is_empty() => {
                    format!("text, one of: {}", intents.join(", "))
                }
                kind => kind.name().to_owned(),
            };
            match label {
                Some(label) => {
                    text.push_str(&format!("  - {} ({kind}): \"{label}\". {}\n", field.name, field.description))
                }
                None => text.push_str(&format!("  - {} ({kind}): {}\n", field.name, field.description)),
            }
        }
    }
    text
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Gt,
    Gte,
    Lt,
    Lte,
    Between,
    Contains,
    IsNull,
}

impl Op {
    pub const ALL: [Op; 11] =
        [Op::Eq, Op::Ne, Op::In, Op::NotIn, Op::Gt, Op::Gte, Op::Lt, Op::Lte, Op::Between, Op::Contains, Op::IsNull];

    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::In => "in",
            Op::NotIn => "not_in",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Between => "between",
            Op::Contains => "contains",
            Op::IsNull => "is_null",
        }
    }

    pub fn parse(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// Measure functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    Count,
    CountDistinct,
    Avg,
    Sum,
    Min,
    Max,
    P50,
    P90,
    Rate,
}

impl Function {
    pub const ALL: [Function; 9] = [
        Function::Count,
        Function::CountDistinct,
        Function::Avg,
        Function::Sum,
        Function::Min,
        Function::Max,
        Function::P50,
        Function::P90,
        Function::Rate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::Count => "count",
            Function::CountDistinct => "count_distinct",
            Function::Avg => "avg",
            Function::Sum => "sum",
            Function::Min => "min",
            Function::Max => "max",
            Function::P50 => "p50",
            Function::P90 => "p90",
            Function::Rate => "rate",
        }
    }

    pub fn parse(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Time buckets of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bucket {
    Hour,
    Day,
    Week,
    Month,
}

impl Bucket {
    pub const ALL: [Bucket; 4] = [Bucket::Hour, Bucket::Day, Bucket::Week, Bucket::Month];

    pub fn name(self) -> &'static str {
        match self {
            Bucket::Hour => "hour",
            Bucket::Day => "day",
            Bucket::Week => "week",
            Bucket::Month => "month",
        }
    }

    pub fn parse(name: &str) -> Option<Bucket> {
        Bucket::ALL.into_iter().find(|b| b.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_takes_operators_and_names_are_unique() {
        for dataset in Dataset::ALL {
            let mut names: Vec<&str> = dataset.fields().iter().map(|f| f.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{} has a duplicate field", dataset.name());
            assert!(dataset.field("created_at").is_some_and(|f| f.kind == Kind::Time));
            assert_eq!(Dataset::parse(dataset.name()), Some(dataset));
        }
        assert_eq!(STATUS, ["new", "open", "pending", "solved", "closed"]);
        assert!(Op::ALL.iter().all(|op| Op::parse(op.name()) == Some(*op)));
        assert!(Function::ALL.iter().all(|f| Function::parse(f.name()) == Some(*f)));
    }
}
