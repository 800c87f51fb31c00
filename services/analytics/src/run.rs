//! Running a [`Plan`] in the tenant's transaction: the dataset's rows are read through the
//! entities (tenant-scoped; filters on plain columns go to the database as bound values),
//! then every filter is applied again, rows are grouped and measured here, so that both
//! databases give the same answer by one definition.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use copilot_core::{
    Error,
    model::{Author, Channel, DeliveryStatus, DraftMode, DraftStatus, EditClass, Priority, Sentiment, TicketStatus},
};
use copilot_entities::{csat_survey, delivery, draft, message, ticket, ticket_field, ticket_field_value, ticket_tag};
use copilot_store::{Scoped, TenantTx, db_err};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
    Select, Statement,
    sea_query::{Expr, SimpleExpr},
};
use serde::Serialize;
use uuid::Uuid;

use crate::{
    catalogue::{Bucket, Dataset, Field, Function, Kind, Op, Source},
    query::{Filter, Operand, Plan, Scalar},
    sql::{self, GroupKind, MeasureKind},
};

/// Groups a result may hold before it is refused as too broad.
pub const MAX_GROUPS: usize = 10_000;

/// One value of a row.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Null,
    Time(DateTime<Utc>),
    Number(f64),
    Text(String),
    Texts(Vec<String>),
}

type Record = HashMap<&'static str, Cell>;

/// A result column.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Column {
    pub name: String,
    /// `time`, `text`, `number` or `integer`.
    #[serde(rename = "type")]
    pub kind: &'static str,
}

/// What a query answers.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<serde_json::Value>>,
    pub row_count: usize,
    /// More rows matched than `limit`.
    pub truncated: bool,
}

/// Runs `plan` over the tenant's rows: grouped and measured by PostgreSQL where the
/// statement can express it (the same definitions, checked against the service's own in
/// the tests), else here.
pub async fn run(tx: &TenantTx, plan: &Plan) -> Result<Answer, Error> {
    if (**tx).get_database_backend() == DbBackend::Postgres
        && let Some(answer) = in_database(tx, plan).await?
    {
        return Ok(answer);
    }
    in_service(tx, plan).await
}

/// Reads the rows a plan needs and groups and measures them here (both databases).
pub async fn in_service(tx: &TenantTx, plan: &Plan) -> Result<Answer, Error> {
    let records = load(tx, plan).await?;
    aggregate(plan, records)
}

fn too_many_groups() -> Error {
    Error::unprocessable(
        "query_invalid",
        format!("group_by: more than {MAX_GROUPS} groups; add filters or group by a coarser bucket"),
    )
}

/// The PostgreSQL statement that answers `plan` for `tenant` and its bound values, when one
/// does (to explain it).
pub fn statement(plan: &Plan, tenant: copilot_core::TenantId) -> Option<(String, Vec<sea_orm::Value>)> {
    sql::compile(plan, tenant.0, MAX_GROUPS + 1).map(|(statement, _, _)| (statement.text, statement.values))
}

/// Groups and measures a plan in one PostgreSQL statement; none when the statement cannot
/// express a part of it.
pub async fn in_database(tx: &TenantTx, plan: &Plan) -> Result<Option<Answer>, Error> {
    let Some((statement, groups, measures)) = sql::compile(plan, tx.tenant().0, MAX_GROUPS + 1) else {
        return Ok(None);
    };
    let found = tx
        .query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, statement.text, statement.values))
        .await
        .map_err(db_err)?;
    if found.len() > MAX_GROUPS {
        return Err(too_many_groups());
    }
    let zone = plan.time_zone;
    let mut keyed = Vec::with_capacity(found.len());
    for row in &found {
        let mut key = Vec::with_capacity(groups.len());
        for (i, kind) in groups.iter().enumerate() {
            key.push(match kind {
                GroupKind::Time => {
                    row.try_get_by_index::<Option<DateTime<Utc>>>(i).map_err(db_err)?.map_or(Key::Empty, Key::Time)
                }
                GroupKind::Text => {
                    row.try_get_by_index::<Option<String>>(i).map_err(db_err)?.map_or(Key::Empty, Key::Text)
                }
            });
        }
        let mut figures = Vec::with_capacity(measures.len());
        for (j, kind) in measures.iter().enumerate() {
            let at = groups.len() + j;
            figures.push(match kind {
                MeasureKind::Integer => row.try_get_by_index::<i64>(at).map_err(db_err)?.into(),
                MeasureKind::Number => {
                    row.try_get_by_index::<Option<f64>>(at).map_err(db_err)?.map_or(serde_json::Value::Null, round)
                }
                MeasureKind::Time => row
                    .try_get_by_index::<Option<DateTime<Utc>>>(at)
                    .map_err(db_err)?
                    .and_then(sql::to_millis)
                    .map_or(serde_json::Value::Null, |t| t.with_timezone(&zone).to_rfc3339().into()),
            });
        }
        keyed.push((key, figures));
    }
    // In the order the service's own groups come in, before the query's order applies.
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let rows = keyed
        .into_iter()
        .map(|(key, figures)| key.into_iter().map(|part| key_value(part, zone)).chain(figures).collect())
        .collect();
    Ok(Some(finish(plan, rows)))
}

fn time(value: DateTime<Utc>) -> Cell {
    Cell::Time(value)
}

fn opt<T>(value: Option<T>, cell: impl Fn(T) -> Cell) -> Cell {
    value.map_or(Cell::Null, cell)
}

fn text(value: impl Into<String>) -> Cell {
    Cell::Text(value.into())
}

fn id(value: Uuid) -> Cell {
    Cell::Text(value.to_string())
}

/// The filters the database can apply: those on a column of the dataset's table (not
/// `contains`, whose case rules differ between databases).
fn pushed(plan: &Plan) -> impl Iterator<Item = (&'static str, &Filter)> {
    plan.filters.iter().filter_map(|f| match f.field.source {
        Source::Column(column) if f.op != Op::Contains => Some((column, f)),
        _ => None,
    })
}

fn to_value(scalar: &Scalar) -> sea_orm::Value {
    match scalar {
        Scalar::Time(t) => (*t).into(),
        Scalar::Number(n) => (*n).into(),
        Scalar::Text(t) => t.clone().into(),
        Scalar::Id(id) => (*id).into(),
    }
}

/// The database's form of a pushed filter on `column`.
fn condition<C: ColumnTrait>(column: C, filter: &Filter) -> SimpleExpr {
    match (&filter.op, &filter.operand) {
        (Op::IsNull, Operand::Null(true)) => column.is_null(),
        (Op::IsNull, _) => column.is_not_null(),
        (Op::In, Operand::Many(values)) => column.is_in(values.iter().map(to_value)),
        (Op::NotIn, Operand::Many(values)) => column.is_not_in(values.iter().map(to_value)),
        (Op::Between, Operand::Range(low, high)) => column.between(to_value(low), to_value(high)),
        (op, Operand::One(value)) => {
            let value = to_value(value);
            match op {
                Op::Ne => column.ne(value),
                Op::Gt => column.gt(value),
                Op::Gte => column.gte(value),
                Op::Lt => column.lt(value),
                Op::Lte => column.lte(value),
                _ => column.eq(value),
            }
        }
        // Shapes validation never makes: nothing is filtered here, the pass in Rust decides.
        _ => Expr::value(true),
    }
}

fn narrowed<E: EntityTrait>(mut select: Select<E>, plan: &Plan) -> Select<E>
where
    E::Column: std::str::FromStr,
{
    for (column, filter) in pushed(plan) {
        if let Ok(column) = column.parse::<E::Column>() {
            select = select.filter(condition(column, filter));
        }
    }
    select
}

/// The tenant's active custom ticket fields as catalogue fields (`fields.<key>`), each with
/// its label; multi-selects are not among them.
pub async fn custom_fields(tx: &TenantTx) -> Result<Vec<(&'static Field, String)>, Error> {
    let rows = ticket_field::Entity::scoped(tx.tenant())
        .filter(ticket_field::Column::Active.eq(true))
        .order_by_asc(ticket_field::Column::Position)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some((crate::catalogue::custom_field(&row.key, &row.kind)?, row.label)))
        .collect())
}

/// Every field the plan reads.
fn fields_of(plan: &Plan) -> impl Iterator<Item = &'static Field> + '_ {
    plan.filters
        .iter()
        .map(|f| f.field)
        .chain(plan.measures.iter().filter_map(|m| m.field))
        .chain(plan.measures.iter().filter_map(|m| m.condition.as_ref().map(|c| c.field)))
        .chain(plan.groups.iter().map(|g| g.field))
}

fn uses(plan: &Plan, source: Source) -> bool {
    fields_of(plan).any(|f: &Field| f.source == source)
}

/// The text of each ticket's value of the custom fields the plan reads, by ticket and field name.
async fn custom_values(tx: &TenantTx, plan: &Plan) -> Result<HashMap<(Uuid, &'static str), String>, Error> {
    let mut wanted: HashMap<&'static str, &'static Field> = HashMap::new();
    for field in fields_of(plan) {
        if let Source::TicketField(key) = field.source {
            wanted.insert(key, field);
        }
    }
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let fields: Vec<(Uuid, String)> = ticket_field::Entity::scoped(tx.tenant())
        .select_only()
        .columns([ticket_field::Column::Id, ticket_field::Column::Key])
        .filter(ticket_field::Column::Key.is_in(wanted.keys().copied()))
        .into_tuple()
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let names: HashMap<Uuid, &'static str> =
        fields.into_iter().filter_map(|(id, key)| Some((id, wanted.get(key.as_str())?.name))).collect();
    let rows: Vec<(Uuid, Uuid, String)> = ticket_field_value::Entity::scoped(tx.tenant())
        .select_only()
        .columns([
            ticket_field_value::Column::TicketId,
            ticket_field_value::Column::FieldId,
            ticket_field_value::Column::Text,
        ])
        .filter(ticket_field_value::Column::FieldId.is_in(names.keys().copied()))
        .into_tuple()
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().filter_map(|(ticket, field, text)| Some(((ticket, *names.get(&field)?), text))).collect())
}

async fn load(tx: &TenantTx, plan: &Plan) -> Result<Vec<Record>, Error> {
    let tenant = tx.tenant();
    match plan.dataset {
        Dataset::Tickets => {
            use ticket::Column as C;
            let rows = narrowed(ticket::Entity::scoped(tenant), plan)
                .select_only()
                .columns([
                    C::Id,
                    C::CreatedAt,
                    C::UpdatedAt,
                    C::Status,
                    C::Priority,
                    C::Channel,
                    C::Intent,
                    C::Sentiment,
                    C::SentimentScore,
                    C::Language,
                    C::AssigneeId,
                    C::CustomerId,
                    C::MessageCount,
                    C::FirstReplyAt,
                    C::SolvedAt,
                    C::SlaDueAt,
                ])
                .into_model::<TicketRow>()
                .all(&**tx)
                .await
                .map_err(db_err)?;
            let mut tags: HashMap<Uuid, Vec<String>> = HashMap::new();
            if uses(plan, Source::TicketTags) {
                let all: Vec<(Uuid, String)> = ticket_tag::Entity::scoped(tenant)
                    .select_only()
                    .columns([ticket_tag::Column::TicketId, ticket_tag::Column::Tag])
                    .into_tuple()
                    .all(&**tx)
                    .await
                    .map_err(db_err)?;
                for (ticket, tag) in all {
                    tags.entry(ticket).or_default().push(tag);
                }
                tags.values_mut().for_each(|t| t.sort_unstable());
            }
            let mut custom = custom_values(tx, plan).await?;
            let mut custom_fields: Vec<&'static Field> =
                fields_of(plan).filter(|f| matches!(f.source, Source::TicketField(_))).collect();
            custom_fields.sort_by_key(|f| f.name);
            custom_fields.dedup_by_key(|f| f.name);
            Ok(rows
                .into_iter()
                .map(|r| {
                    let mut record = HashMap::from([
                        ("created_at", time(r.created_at)),
                        ("updated_at", time(r.updated_at)),
                        ("status", text(r.status.as_str())),
                        ("priority", text(r.priority.as_str())),
                        ("channel", text(r.channel.as_str())),
                        ("intent", opt(r.intent, text)),
                        ("sentiment", opt(r.sentiment, |s| text(s.as_str()))),
                        ("sentiment_score", opt(r.sentiment_score, Cell::Number)),
                        ("language", opt(r.language, text)),
                        ("assignee", opt(r.assignee_id, id)),
                        ("customer", id(r.customer_id)),
                        ("tag", tags.remove(&r.id).map_or(Cell::Null, Cell::Texts)),
                        ("message_count", Cell::Number(r.message_count.into())),
                        ("first_reply_seconds", opt(r.first_reply_at, |at| seconds(r.created_at, at))),
                        ("solved_at", opt(r.solved_at, time)),
                        ("resolution_seconds", opt(r.solved_at, |at| seconds(r.created_at, at))),
                        ("sla_due_at", opt(r.sla_due_at, time)),
                    ]);
                    for field in &custom_fields {
                        let value = custom.remove(&(r.id, field.name)).map_or(Cell::Null, |value| match field.kind {
                            Kind::Number => value.parse().map_or(Cell::Null, Cell::Number),
                            _ => text(value),
                        });
                        record.insert(field.name, value);
                    }
                    record
                })
                .collect())
        }
        Dataset::Messages => {
            use message::Column as C;
            type Row = (DateTime<Utc>, Author, Uuid, Option<Uuid>, Option<String>);
            let rows: Vec<Row> = narrowed(message::Entity::scoped(tenant), plan)
                .select_only()
                .columns([C::CreatedAt, C::Author, C::TicketId, C::AuthorUserId, C::OriginalLanguage])
                .into_tuple()
                .all(&**tx)
                .await
                .map_err(db_err)?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    HashMap::from([
                        ("created_at", time(r.0)),
                        ("author", text(r.1.as_str())),
                        ("ticket", id(r.2)),
                        ("agent", opt(r.3, id)),
                        ("original_language", opt(r.4, text)),
                    ])
                })
                .collect())
        }
        Dataset::Drafts => {
            use draft::Column as C;
            // The columns a draft's fields read, not its text.
            let rows = narrowed(draft::Entity::scoped(tenant), plan)
                .select_only()
                .columns([
                    C::CreatedAt,
                    C::DecidedAt,
                    C::Status,
                    C::Mode,
                    C::EditClass,
                    C::EditDistance,
                    C::Intent,
                    C::Confidence,
                    C::Model,
                    C::LlmProfile,
                    C::Language,
                    C::PromptTokens,
                    C::CompletionTokens,
                    C::DecidedBy,
                    C::TicketId,
                ])
                .into_model::<DraftRow>()
                .all(&**tx)
                .await
                .map_err(db_err)?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    HashMap::from([
                        ("created_at", time(r.created_at)),
                        ("decided_at", opt(r.decided_at, time)),
                        ("status", text(r.status.as_str())),
                        ("mode", opt(r.mode, |m| text(m.as_str()))),
                        ("edit_class", opt(r.edit_class, |c| text(c.as_str()))),
                        ("edit_distance", opt(r.edit_distance, Cell::Number)),
                        ("intent", opt(r.intent, text)),
                        ("confidence", opt(r.confidence, Cell::Number)),
                        ("model", opt(r.model, text)),
                        ("llm_profile", opt(r.llm_profile, text)),
                        ("language", opt(r.language, text)),
                        ("prompt_tokens", Cell::Number(r.prompt_tokens.into())),
                        ("completion_tokens", Cell::Number(r.completion_tokens.into())),
                        ("agent", opt(r.decided_by, id)),
                        ("ticket", id(r.ticket_id)),
                        ("decision_seconds", opt(r.decided_at, |at| seconds(r.created_at, at))),
                    ])
                })
                .collect())
        }
        Dataset::Deliveries => {
            use delivery::Column as C;
            type Row = (DateTime<Utc>, Option<DateTime<Utc>>, Channel, DeliveryStatus, i32, Uuid);
            let rows: Vec<Row> = narrowed(delivery::Entity::scoped(tenant), plan)
                .select_only()
                .columns([C::CreatedAt, C::SentAt, C::Channel, C::Status, C::Attempts, C::TicketId])
                .into_tuple()
                .all(&**tx)
                .await
                .map_err(db_err)?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    HashMap::from([
                        ("created_at", time(r.0)),
                        ("sent_at", opt(r.1, time)),
                        ("channel", text(r.2.as_str())),
                        ("status", text(r.3.as_str())),
                        ("attempts", Cell::Number(r.4.into())),
                        ("ticket", id(r.5)),
                        ("send_seconds", opt(r.1, |at| seconds(r.0, at))),
                    ])
                })
                .collect())
        }
        Dataset::Surveys => {
            use csat_survey::Column as C;
            let rows = narrowed(csat_survey::Entity::scoped(tenant), plan)
                .select_only()
                .columns([
                    C::CreatedAt,
                    C::RequestedAt,
                    C::RatedAt,
                    C::Rating,
                    C::Scale,
                    C::Channel,
                    C::Intent,
                    C::AgentId,
                    C::TicketId,
                    C::AiDrafted,
                ])
                .into_model::<SurveyRow>()
                .all(&**tx)
                .await
                .map_err(db_err)?;
            Ok(rows
                .into_iter()
                .map(|r| {
                    HashMap::from([
                        ("created_at", time(r.created_at)),
                        ("requested_at", opt(r.requested_at, time)),
                        ("rated_at", opt(r.rated_at, time)),
                        ("rating", opt(r.rating, |rating| Cell::Number(rating.into()))),
                        ("scale", text(r.scale.as_str())),
                        ("channel", text(r.channel.as_str())),
                        ("intent", opt(r.intent, text)),
                        ("agent", opt(r.agent_id, id)),
                        ("ticket", id(r.ticket_id)),
                        ("reply", text(if r.ai_drafted { "ai_drafted" } else { "typed" })),
                    ])
                })
                .collect())
        }
    }
}

/// The columns of a survey the surveys dataset reads.
#[derive(FromQueryResult)]
struct SurveyRow {
    created_at: DateTime<Utc>,
    requested_at: Option<DateTime<Utc>>,
    rated_at: Option<DateTime<Utc>>,
    rating: Option<i16>,
    scale: copilot_core::model::CsatScale,
    channel: Channel,
    intent: Option<String>,
    agent_id: Option<Uuid>,
    ticket_id: Uuid,
    ai_drafted: bool,
}

/// The columns of a ticket the tickets dataset reads.
#[derive(FromQueryResult)]
struct TicketRow {
    id: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    status: TicketStatus,
    priority: Priority,
    channel: Channel,
    intent: Option<String>,
    sentiment: Option<Sentiment>,
    sentiment_score: Option<f64>,
    language: Option<String>,
    assignee_id: Option<Uuid>,
    customer_id: Uuid,
    message_count: i32,
    first_reply_at: Option<DateTime<Utc>>,
    solved_at: Option<DateTime<Utc>>,
    sla_due_at: Option<DateTime<Utc>>,
}

/// The columns of a draft the drafts dataset reads.
#[derive(FromQueryResult)]
struct DraftRow {
    created_at: DateTime<Utc>,
    decided_at: Option<DateTime<Utc>>,
    status: DraftStatus,
    mode: Option<DraftMode>,
    edit_class: Option<EditClass>,
    edit_distance: Option<f64>,
    intent: Option<String>,
    confidence: Option<f64>,
    model: Option<String>,
    llm_profile: Option<String>,
    language: Option<String>,
    prompt_tokens: i32,
    completion_tokens: i32,
    decided_by: Option<Uuid>,
    ticket_id: Uuid,
}

/// Seconds from `from` to `to`, to the millisecond.
fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> Cell {
    Cell::Number((to - from).num_milliseconds() as f64 / 1000.0)
}

/// Whether `cell` passes `filter`. An empty value passes only `is_null`.
fn passes(cell: &Cell, filter: &Filter) -> bool {
    let scalar_of = |cell: &Cell| -> Option<Scalar> {
        match cell {
            Cell::Time(t) => Some(Scalar::Time(*t)),
            Cell::Number(n) => Some(Scalar::Number(*n)),
            Cell::Text(t) => Some(Scalar::Text(t.clone())),
            _ => None,
        }
    };
    let same = |value: &Scalar, wanted: &Scalar| match (value, wanted) {
        (Scalar::Text(a), Scalar::Id(b)) => Uuid::parse_str(a).is_ok_and(|a| a == *b),
        _ => value == wanted,
    };
    let compare = |value: &Scalar, wanted: &Scalar| match (value, wanted) {
        (Scalar::Time(a), Scalar::Time(b)) => Some(a.cmp(b)),
        (Scalar::Number(a), Scalar::Number(b)) => a.partial_cmp(b),
        _ => None,
    };
    if let Operand::Null(empty) = filter.operand {
        let is_empty = matches!(cell, Cell::Null) || matches!(cell, Cell::Texts(t) if t.is_empty());
        return is_empty == empty;
    }
    // A ticket's tags: `eq`/`in` when one tag matches, `ne`/`not_in` when none does.
    if let Cell::Texts(tags) = cell {
        let values: Vec<Scalar> = tags.iter().cloned().map(Scalar::Text).collect();
        let any = |wanted: &[Scalar]| values.iter().any(|v| wanted.iter().any(|w| same(v, w)));
        return match (&filter.op, &filter.operand) {
            (Op::Eq, Operand::One(w)) => any(std::slice::from_ref(w)),
            (Op::Ne, Operand::One(w)) => !any(std::slice::from_ref(w)),
            (Op::In, Operand::Many(w)) => any(w),
            (Op::NotIn, Operand::Many(w)) => !any(w),
            _ => false,
        };
    }
    let Some(value) = scalar_of(cell) else { return false };
    use std::cmp::Ordering::*;
    match (&filter.op, &filter.operand) {
        (Op::Eq, Operand::One(w)) => same(&value, w),
        (Op::Ne, Operand::One(w)) => !same(&value, w),
        (Op::In, Operand::Many(w)) => w.iter().any(|w| same(&value, w)),
        (Op::NotIn, Operand::Many(w)) => !w.iter().any(|w| same(&value, w)),
        (Op::Gt, Operand::One(w)) => compare(&value, w) == Some(Greater),
        (Op::Gte, Operand::One(w)) => matches!(compare(&value, w), Some(Greater | Equal)),
        (Op::Lt, Operand::One(w)) => compare(&value, w) == Some(Less),
        (Op::Lte, Operand::One(w)) => matches!(compare(&value, w), Some(Less | Equal)),
        (Op::Between, Operand::Range(low, high)) => {
            matches!(compare(&value, low), Some(Greater | Equal)) && matches!(compare(&value, high), Some(Less | Equal))
        }
        (Op::Contains, Operand::One(Scalar::Text(w))) => match &value {
            Scalar::Text(t) => t.to_lowercase().contains(&w.to_lowercase()),
            _ => false,
        },
        _ => false,
    }
}

/// A group's key part: ordered so that empty values come last.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    Time(DateTime<Utc>),
    Text(String),
    Empty,
}

/// The start of `at`'s bucket in `zone`, as a UTC time.
fn bucket_start(at: DateTime<Utc>, bucket: Bucket, zone: Tz) -> DateTime<Utc> {
    let local = at.with_timezone(&zone).naive_local();
    let date = local.date();
    let start = match bucket {
        Bucket::Hour => date.and_hms_opt(local.hour(), 0, 0),
        Bucket::Day => date.and_hms_opt(0, 0, 0),
        Bucket::Week => (date - Duration::days(date.weekday().num_days_from_monday().into())).and_hms_opt(0, 0, 0),
        Bucket::Month => NaiveDate::from_ymd_opt(date.year(), date.month(), 1).and_then(|d| d.and_hms_opt(0, 0, 0)),
    }
    .unwrap_or(local);
    // A start the clock shows twice (it went back) is the later one not after `at`; one it
    // skips (it went forward) is the first time that exists.
    let start = match zone.from_local_datetime(&start) {
        chrono::LocalResult::Single(t) => Some(t),
        chrono::LocalResult::Ambiguous(first, second) => {
            Some(if second.with_timezone(&Utc) <= at { second } else { first })
        }
        chrono::LocalResult::None => zone.from_local_datetime(&(start + Duration::hours(1))).earliest(),
    };
    start.map_or(at, |t| t.with_timezone(&Utc))
}

/// What one group has seen so far: its rows, and per measure the values, the distinct
/// values or the rows that passed the measure's condition.
struct Tally {
    count: u64,
    values: Vec<Vec<f64>>,
    distinct: Vec<HashSet<String>>,
    hits: Vec<u64>,
}

impl Tally {
    fn new(measures: usize) -> Self {
        Self {
            count: 0,
            values: vec![Vec::new(); measures],
            distinct: vec![HashSet::new(); measures],
            hits: vec![0; measures],
        }
    }
}

fn key_parts(record: &Record, plan: &Plan) -> Vec<Vec<Key>> {
    let mut keys: Vec<Vec<Key>> = vec![Vec::new()];
    for group in &plan.groups {
        let parts: Vec<Key> = match (record.get(group.field.name).unwrap_or(&Cell::Null), group.bucket) {
            (Cell::Time(t), Some(bucket)) => vec![Key::Time(bucket_start(*t, bucket, plan.time_zone))],
            (Cell::Text(t), _) => vec![Key::Text(t.clone())],
            (Cell::Texts(tags), _) if !tags.is_empty() => tags.iter().cloned().map(Key::Text).collect(),
            _ => vec![Key::Empty],
        };
        keys =
            keys.into_iter().flat_map(|k| parts.iter().map(move |p| [k.clone(), vec![p.clone()]].concat())).collect();
    }
    keys
}

fn aggregate(plan: &Plan, records: Vec<Record>) -> Result<Answer, Error> {
    let m = plan.measures.len();
    let mut groups: BTreeMap<Vec<Key>, Tally> = BTreeMap::new();
    if plan.groups.is_empty() {
        groups.insert(Vec::new(), Tally::new(m));
    }
    for record in records {
        let cell = |name: &str| record.get(name).unwrap_or(&Cell::Null);
        if !plan.filters.iter().all(|f| passes(cell(f.field.name), f)) {
            continue;
        }
        for key in key_parts(&record, plan) {
            if !groups.contains_key(&key) && groups.len() >= MAX_GROUPS {
                return Err(too_many_groups());
            }
            let tally = groups.entry(key).or_insert_with(|| Tally::new(m));
            tally.count += 1;
            for (i, measure) in plan.measures.iter().enumerate() {
                if let Some(condition) = &measure.condition {
                    if passes(cell(condition.field.name), condition) {
                        tally.hits[i] += 1;
                    }
                    continue;
                }
                let Some(field) = measure.field else { continue };
                match (measure.function, cell(field.name)) {
                    (Function::CountDistinct, Cell::Texts(tags)) => tally.distinct[i].extend(tags.iter().cloned()),
                    (Function::CountDistinct, Cell::Text(t)) => {
                        tally.distinct[i].insert(t.clone());
                    }
                    (Function::CountDistinct, Cell::Time(t)) => {
                        tally.distinct[i].insert(t.to_rfc3339());
                    }
                    (Function::CountDistinct, Cell::Number(n)) => {
                        tally.distinct[i].insert(n.to_string());
                    }
                    (_, Cell::Number(n)) => tally.values[i].push(*n),
                    (_, Cell::Time(t)) => tally.values[i].push(t.timestamp_millis() as f64),
                    _ => {}
                }
            }
        }
    }
    let rows: Vec<Vec<serde_json::Value>> = groups
        .into_iter()
        .map(|(key, mut tally)| {
            let mut row: Vec<serde_json::Value> = key.into_iter().map(|part| key_value(part, plan.time_zone)).collect();
            for (i, measure) in plan.measures.iter().enumerate() {
                row.push(measure_value(measure.function, measure.field, &mut tally, i, plan.time_zone));
            }
            row
        })
        .collect();
    Ok(finish(plan, rows))
}

/// A group's key part as the answer prints it.
fn key_value(part: Key, zone: Tz) -> serde_json::Value {
    match part {
        Key::Time(t) => t.with_timezone(&zone).to_rfc3339().into(),
        Key::Text(t) => t.into(),
        Key::Empty => serde_json::Value::Null,
    }
}

/// The answer from its rows, one per group: named columns, the query's order, its limit.
fn finish(plan: &Plan, mut rows: Vec<Vec<serde_json::Value>>) -> Answer {
    let mut columns: Vec<Column> = plan
        .groups
        .iter()
        .map(|g| Column { name: g.name.clone(), kind: if g.bucket.is_some() { "time" } else { "text" } })
        .collect();
    columns.extend(plan.measures.iter().map(|measure| Column {
        name: measure.name.clone(),
        kind: match (measure.function, measure.field.map(|f| f.kind)) {
            (Function::Count | Function::CountDistinct, _) => "integer",
            (Function::Min | Function::Max, Some(Kind::Time)) => "time",
            _ => "number",
        },
    }));
    sort(&mut rows, plan);
    let row_count = rows.len().min(plan.limit);
    let truncated = rows.len() > plan.limit;
    rows.truncate(plan.limit);
    Answer { columns, rows, row_count, truncated }
}

/// A figure rounded to 4 decimals, so that both databases print the same.
fn round(value: f64) -> serde_json::Value {
    serde_json::Number::from_f64((value * 10_000.0).round() / 10_000.0).map_or(serde_json::Value::Null, Into::into)
}

fn measure_value(
    function: Function,
    field: Option<&Field>,
    tally: &mut Tally,
    i: usize,
    zone: Tz,
) -> serde_json::Value {
    let values = &mut tally.values[i];
    values.sort_by(f64::total_cmp);
    let as_time = |ms: f64| -> serde_json::Value {
        DateTime::<Utc>::from_timestamp_millis(ms as i64)
            .map_or(serde_json::Value::Null, |t| t.with_timezone(&zone).to_rfc3339().into())
    };
    let is_time = field.is_some_and(|f| f.kind == Kind::Time);
    match function {
        Function::Count => tally.count.into(),
        Function::CountDistinct => tally.distinct[i].len().into(),
        Function::Rate if tally.count > 0 => round(tally.hits[i] as f64 / tally.count as f64),
        // `+ 0.0`: an empty sum is -0.0 in Rust, 0 in SQL.
        Function::Sum => round(values.iter().sum::<f64>() + 0.0),
        _ if values.is_empty() => serde_json::Value::Null,
        Function::Avg => round(values.iter().sum::<f64>() / values.len() as f64),
        Function::Min if is_time => as_time(values[0]),
        Function::Max if is_time => as_time(values[values.len() - 1]),
        Function::Min => round(values[0]),
        Function::Max => round(values[values.len() - 1]),
        Function::P50 => round(percentile(values, 0.5)),
        Function::P90 => round(percentile(values, 0.9)),
        Function::Rate => serde_json::Value::Null,
    }
}

/// The `p` quantile of sorted `values`, interpolated between the nearest two (as
/// PostgreSQL's `percentile_cont`).
fn percentile(values: &[f64], p: f64) -> f64 {
    let position = p * (values.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    values[low] + (values[high] - values[low]) * (position - low as f64)
}

/// The query's order, else time groups oldest first, else the first measure largest
/// first; ties by the groups.
fn sort(rows: &mut [Vec<serde_json::Value>], plan: &Plan) {
    let groups = plan.groups.len();
    let order: Vec<(usize, bool)> = if !plan.order.is_empty() {
        plan.order.clone()
    } else if plan.groups.iter().any(|g| g.bucket.is_some()) {
        Vec::new()
    } else {
        vec![(groups, true)]
    };
    let cmp = |a: &serde_json::Value, b: &serde_json::Value| -> std::cmp::Ordering {
        use serde_json::Value::*;
        match (a, b) {
            (Null, Null) => std::cmp::Ordering::Equal,
            (Null, _) => std::cmp::Ordering::Greater,
            (_, Null) => std::cmp::Ordering::Less,
            (Number(x), Number(y)) => x.as_f64().unwrap_or(0.0).total_cmp(&y.as_f64().unwrap_or(0.0)),
            (String(x), String(y)) => x.cmp(y),
            _ => std::cmp::Ordering::Equal,
        }
    };
    rows.sort_by(|a, b| {
        for &(column, descending) in &order {
            let ordering = cmp(&a[column], &b[column]);
            let ordering =
                if descending && !(a[column].is_null() || b[column].is_null()) { ordering.reverse() } else { ordering };
            if ordering.is_ne() {
                return ordering;
            }
        }
        (0..groups).map(|c| cmp(&a[c], &b[c])).find(|o| o.is_ne()).unwrap_or(std::cmp::Ordering::Equal)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_start_at_local_boundaries_across_daylight_saving() {
        let berlin: Tz = "Europe/Berlin".parse().expect("valid");
        let at = |s: &str| DateTime::parse_from_rfc3339(s).expect("a time").with_timezone(&Utc);
        // 2026-03-29 02:00 local does not exist; the day starts at midnight (+01:00).
        assert_eq!(bucket_start(at("2026-03-29T12:00:00Z"), Bucket::Day, berlin), at("2026-03-28T23:00:00Z"));
        // Sunday 2026-10-25 (clocks go back that night) is in the week of Monday 19 October,
        // which began in summer time (+02:00); the next week begins in winter time (+01:00).
        assert_eq!(bucket_start(at("2026-10-25T10:00:00Z"), Bucket::Week, berlin), at("2026-10-18T22:00:00Z"));
        assert_eq!(bucket_start(at("2026-11-01T10:00:00Z"), Bucket::Week, berlin), at("2026-10-25T23:00:00Z"));
        assert_eq!(bucket_start(at("2026-12-01T00:30:00Z"), Bucket::Month, berlin), at("2026-11-30T23:00:00Z"));
        assert_eq!(bucket_start(at("2026-12-01T00:30:00Z"), Bucket::Hour, Tz::UTC), at("2026-12-01T00:00:00Z"));
        // Berlin shows 02:00–03:00 twice on 25 October 2026: each instant keeps its own hour.
        assert_eq!(bucket_start(at("2026-10-25T00:30:00Z"), Bucket::Hour, berlin), at("2026-10-25T00:00:00Z"));
        assert_eq!(bucket_start(at("2026-10-25T01:30:00Z"), Bucket::Hour, berlin), at("2026-10-25T01:00:00Z"));
    }

    #[test]
    fn every_column_a_field_names_is_a_column_of_its_table() {
        fn parses<E: EntityTrait>(name: &str) -> bool
        where
            E::Column: std::str::FromStr,
        {
            name.parse::<E::Column>().is_ok()
        }
        for dataset in Dataset::ALL {
            for field in dataset.fields() {
                let (Source::Column(column) | Source::SecondsUntil(column) | Source::Flag { column, .. }) =
                    field.source
                else {
                    continue;
                };
                let known = match dataset {
                    Dataset::Tickets => parses::<ticket::Entity>(column),
                    Dataset::Messages => parses::<message::Entity>(column),
                    Dataset::Drafts => parses::<draft::Entity>(column),
                    Dataset::Deliveries => parses::<delivery::Entity>(column),
                    Dataset::Surveys => parses::<csat_survey::Entity>(column),
                };
                // An unknown name would be filtered only after reading every row.
                assert!(known, "{}.{} names no column `{column}`", dataset.name(), field.name);
            }
        }
    }

    #[test]
    fn percentiles_interpolate_as_percentile_cont() {
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
        assert!((percentile(&[10.0, 20.0, 30.0, 40.0, 50.0], 0.9) - 46.0).abs() < 1e-9);
        assert_eq!(percentile(&[7.0], 0.9), 7.0);
    }
}
