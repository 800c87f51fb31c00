//! Tickets: creation with the first customer message (idempotent), listing with filters
//! and cursor paging, reading and updating.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use copilot_core::{
    Error, Principal, TenantId,
    ids::TicketId,
    model::{Author, Channel, DraftStatus, Priority, Sentiment, TicketStatus},
    page::{Page, PageRequest, SortKey},
    sla::TicketSla,
    values::{self, Email, single_line},
};
use copilot_entities::{customer, draft, message, tenant, ticket, ticket_field_value, ticket_tag, user};
use copilot_store::{Scoped, TenantTx, audit, db_err, events};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
    sea_query::{Expr, ExprTrait, Func, LikeExpr, NullOrdering, Query},
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    customers::{self, Customer},
    messages::{self, Posted},
    rows::{find_row, find_row_for_update},
};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub number: i64,
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Priority,
    pub channel: Channel,
    pub customer: Customer,
    pub assignee_id: Option<Uuid>,
    pub tags: Vec<String>,
    /// The latest triage of the customer's messages.
    pub intent: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub language: Option<String>,
    /// Sentiment score (−1 to 1) of the latest triaged customer message.
    pub sentiment_score: Option<f64>,
    /// Since when the customer has been waiting for a public reply; `None` when answered.
    pub waiting_since: Option<DateTime<Utc>>,
    /// The start of the latest message the customer can see.
    pub preview: Option<String>,
    /// A draft is ready for an agent's review.
    pub draft_ready: bool,
    /// When the first public reply was written.
    pub first_reply_at: Option<DateTime<Utc>>,
    /// When it was last solved or closed.
    pub solved_at: Option<DateTime<Utc>>,
    /// Its service levels, when a policy applies.
    pub sla: Option<TicketSla>,
    /// The ticket it was merged into.
    pub merged_into_id: Option<TicketId>,
    /// Its custom fields' values by key.
    pub fields: std::collections::BTreeMap<String, serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new ticket and its first message, whose effects beyond the conversation the
/// caller applies (see [`Posted`]).
#[derive(Clone, Debug)]
pub struct Opened {
    pub ticket: Ticket,
    pub first: Posted,
}

#[derive(Clone, Debug, Serialize)]
pub struct NewTicket {
    pub subject: String,
    pub channel: Channel,
    pub customer_email: String,
    pub customer_name: Option<String>,
    pub body: String,
    pub priority: Option<Priority>,
    pub tags: Vec<String>,
}

/// The order of a ticket listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TicketOrder {
    /// Newest opened first.
    #[default]
    Newest,
    /// Oldest opened first (the longest waiting).
    Oldest,
    /// Most recently changed first (a new message, status, assignee…).
    Updated,
    /// Most urgent first; the oldest first within a priority.
    Priority,
    /// The customer waiting longest for a reply first; answered tickets last.
    Waiting,
    /// The most negative latest customer message first; untriaged tickets last.
    Sentiment,
    /// The earliest SLA due time first (breached ones, most overdue first); tickets with
    /// no running clock last.
    Due,
}

#[derive(Clone, Debug, Default)]
pub struct TicketFilter {
    pub status: Option<TicketStatus>,
    /// Only tickets still to be worked (new, open or pending).
    pub active: bool,
    /// Only tickets at least this urgent.
    pub min_priority: Option<Priority>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Uuid>,
    /// Only tickets nobody is assigned to.
    pub unassigned: bool,
    pub tag: Option<String>,
    pub channel: Option<Channel>,
    pub customer_email: Option<String>,
    /// Text searched, case-insensitively, in the subject and every message.
    pub q: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// The latest triage of the customer's messages.
    pub intent: Option<String>,
    pub sentiment: Option<Sentiment>,
    pub language: Option<String>,
    /// Only tickets with a running SLA clock due before this instant (past due: breached).
    pub due_before: Option<DateTime<Utc>>,
    /// Only tickets with this custom field value (see `fields::filter`).
    pub field: Option<crate::fields::FieldFilter>,
    pub order: TicketOrder,
}

/// A partial update; `None` leaves the field as it is, `Some(None)` clears the assignee.
#[derive(Clone, Debug, Default)]
pub struct TicketPatch {
    pub subject: Option<String>,
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    pub assignee_id: Option<Option<Uuid>>,
    pub tags: Option<Vec<String>>,
    /// Custom field values by key; `null` clears one.
    pub fields: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Validated fields of a new ticket: [`NewTicket::validate`], then [`open`].
#[derive(Clone, Debug)]
pub struct ValidTicket {
    subject: String,
    channel: Channel,
    email: Email,
    customer_name: Option<String>,
    body: String,
    priority: Priority,
    tags: Vec<String>,
}

impl NewTicket {
    /// Checks every field before anything is stored.
    pub fn validate(&self) -> Result<ValidTicket, Error> {
        Ok(ValidTicket {
            subject: single_line("subject", &self.subject, 1, 500)?,
            channel: self.channel,
            email: Email::parse(&self.customer_email)?,
            customer_name: self
                .customer_name
                .as_deref()
                .map(|name| single_line("customer.name", name, 1, 200))
                .transpose()?,
            body: messages::body(&self.body)?,
            priority: self.priority.unwrap_or(Priority::Normal),
            tags: values::tags(&self.tags)?,
        })
    }
}

/// Opens a ticket with its first (customer) message, inside the caller's transaction.
pub async fn open(tx: &TenantTx, by: &Principal, valid: ValidTicket) -> Result<Opened, Error> {
    let customer = customers::find_or_create(tx, &valid.email, valid.customer_name.as_deref()).await?;
    let number = next_number(tx).await?;
    let now = copilot_core::now();
    let id = TicketId::generate();
    let mut row = new_row(tx, id, number, valid.subject, valid.priority, valid.channel, customer.id, now);
    row.waiting_since = Set(Some(now));
    row.preview = Set(Some(messages::preview(&valid.body)));
    let row = row.insert(&**tx).await.map_err(db_err)?;
    insert_tags(tx, id, &valid.tags).await?;
    let message = messages::insert(tx, id, Author::Customer, None, valid.body, now).await?;
    let first = Posted { message, author: Author::Customer, channel: valid.channel };
    audit::record(
        tx,
        by.actor,
        "ticket.created",
        audit::Target::new("ticket", id).labelled(&format!("#{number}")),
        serde_json::json!({ "channel": valid.channel }),
    )
    .await?;
    let ticket = assemble(row, customer, valid.tags, false);
    events::emit(tx, "ticket.created", Some(ticket.id), &serde_json::json!({ "ticket": ticket })).await?;
    Ok(Opened { ticket, first })
}

/// A new ticket's row: status new, nobody assigned, nothing triaged, no messages yet (each
/// inserted counts itself).
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_row(
    tx: &TenantTx,
    id: TicketId,
    number: i64,
    subject: String,
    priority: Priority,
    channel: Channel,
    customer_id: Uuid,
    now: DateTime<Utc>,
) -> ticket::ActiveModel {
    ticket::ActiveModel {
        id: Set(id.0),
        tenant_id: Set(tx.tenant().0),
        number: Set(number),
        subject: Set(subject),
        status: Set(TicketStatus::New),
        priority: Set(priority),
        channel: Set(channel),
        customer_id: Set(customer_id),
        assignee_id: Set(None),
        intent: Set(None),
        sentiment: Set(None),
        language: Set(None),
        priority_rank: Set(priority.rank()),
        sentiment_score: Set(None),
        waiting_since: Set(None),
        preview: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        message_count: Set(0),
        first_reply_at: Set(None),
        solved_at: Set(None),
        sla: Set(None),
        sla_due_at: Set(None),
        merged_into_id: Set(None),
    }
}

/// Takes the tenant's next ticket number (the tenant row is locked until commit).
pub(crate) async fn next_number(tx: &TenantTx) -> Result<i64, Error> {
    let statement = Query::update()
        .table(tenant::Entity)
        .value(tenant::Column::TicketCounter, Expr::col(tenant::Column::TicketCounter).add(1))
        .and_where(Expr::col(tenant::Column::Id).eq(tx.tenant().0))
        .returning_col(tenant::Column::TicketCounter)
        .to_owned();
    let row = tx
        .query_one(&statement)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::internal("tenant row missing while numbering a ticket"))?;
    row.try_get::<i64>("", "ticket_counter").map_err(db_err)
}

fn assemble(row: ticket::Model, customer: Customer, tags: Vec<String>, draft_ready: bool) -> Ticket {
    let sla = row.sla.and_then(|sla| match serde_json::from_value::<TicketSla>(sla) {
        Ok(sla) => Some(sla),
        Err(error) => {
            tracing::warn!(ticket = %row.id, %error, "a ticket's stored service levels do not read");
            None
        }
    });
    Ticket {
        id: TicketId(row.id),
        number: row.number,
        subject: row.subject,
        status: row.status,
        priority: row.priority,
        channel: row.channel,
        customer,
        assignee_id: row.assignee_id,
        tags,
        intent: row.intent,
        sentiment: row.sentiment,
        language: row.language,
        sentiment_score: row.sentiment_score,
        waiting_since: row.waiting_since,
        preview: row.preview,
        draft_ready,
        first_reply_at: row.first_reply_at,
        solved_at: row.solved_at,
        sla,
        merged_into_id: row.merged_into_id.map(TicketId),
        fields: Default::default(),
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// Keeps the ticket's copy of its service levels and their earliest due time (the SLA use
/// cases', in the transaction of the change); the ticket's `updated_at` stays.
pub async fn set_sla(tx: &TenantTx, id: TicketId, sla: Option<&TicketSla>) -> Result<(), Error> {
    ticket::Entity::update_many()
        .col_expr(ticket::Column::Sla, Expr::value(sla.map(|sla| serde_json::json!(sla))))
        .col_expr(ticket::Column::SlaDueAt, Expr::value(sla.and_then(|sla| sla.next_due_at)))
        .filter(ticket::Column::TenantId.eq(tx.tenant().0))
        .filter(ticket::Column::Id.eq(id.0))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(crate) async fn replace_tags(tx: &TenantTx, ticket_id: TicketId, tags: &[String]) -> Result<(), Error> {
    ticket_tag::Entity::delete_many()
        .filter(ticket_tag::Column::TenantId.eq(tx.tenant().0))
        .filter(ticket_tag::Column::TicketId.eq(ticket_id.0))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    insert_tags(tx, ticket_id, tags).await
}

pub(crate) async fn insert_tags(tx: &TenantTx, ticket_id: TicketId, tags: &[String]) -> Result<(), Error> {
    if tags.is_empty() {
        return Ok(());
    }
    let rows = tags.iter().map(|tag| ticket_tag::ActiveModel {
        ticket_id: Set(ticket_id.0),
        tag: Set(tag.clone()),
        tenant_id: Set(tx.tenant().0),
    });
    ticket_tag::Entity::insert_many(rows).exec_without_returning(&**tx).await.map_err(db_err)?;
    Ok(())
}

/// Attaches customers and tags to ticket rows, keeping their order.
pub(crate) async fn hydrate(tx: &TenantTx, rows: Vec<ticket::Model>) -> Result<Vec<Ticket>, Error> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let customer_ids: Vec<Uuid> = rows.iter().map(|row| row.customer_id).collect();
    let customers: HashMap<Uuid, Customer> =
        customers::by_ids(tx, customer_ids).await?.into_iter().map(|c| (c.id, c)).collect();
    let mut tags: HashMap<Uuid, Vec<String>> = HashMap::new();
    let tag_rows = ticket_tag::Entity::scoped(tx.tenant())
        .filter(ticket_tag::Column::TicketId.is_in(ids.clone()))
        .order_by_asc(ticket_tag::Column::Tag)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    for row in tag_rows {
        tags.entry(row.ticket_id).or_default().push(row.tag);
    }
    let mut values = crate::fields::values_of(tx, &ids).await?;
    let with_drafts: HashSet<Uuid> = draft::Entity::scoped(tx.tenant())
        .select_only()
        .column(draft::Column::TicketId)
        .filter(draft::Column::TicketId.is_in(ids))
        .filter(draft::Column::Status.eq(DraftStatus::Ready.as_str()))
        .into_tuple::<Uuid>()
        .all(&**tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .collect();
    rows.into_iter()
        .map(|row| {
            let customer = customers
                .get(&row.customer_id)
                .cloned()
                .ok_or_else(|| Error::internal("ticket without its customer"))?;
            let ticket_tags = tags.remove(&row.id).unwrap_or_default();
            let draft_ready = with_drafts.contains(&row.id);
            let fields = values.remove(&row.id).unwrap_or_default();
            Ok(Ticket { fields, ..assemble(row, customer, ticket_tags, draft_ready) })
        })
        .collect()
}

pub async fn get(tx: &TenantTx, id: TicketId) -> Result<Ticket, Error> {
    let row = find_row(tx, id).await?;
    hydrate(tx, vec![row]).await?.pop().ok_or(Error::NotFound("ticket"))
}

/// The tenant's tickets that match the filter, in no order yet.
fn filtered(tenant: TenantId, filter: &TicketFilter) -> Select<ticket::Entity> {
    let mut query = ticket::Entity::scoped(tenant);
    let tenant = tenant.0;
    if let Some(status) = filter.status {
        query = query.filter(ticket::Column::Status.eq(status));
    }
    if filter.active {
        let active = TicketStatus::ALL.iter().copied().filter(|status| status.is_active());
        query = query.filter(ticket::Column::Status.is_in(active));
    }
    if let Some(priority) = filter.priority {
        query = query.filter(ticket::Column::Priority.eq(priority));
    }
    if let Some(priority) = filter.min_priority {
        query = query.filter(ticket::Column::PriorityRank.gte(priority.rank()));
    }
    if let Some(channel) = filter.channel {
        query = query.filter(ticket::Column::Channel.eq(channel));
    }
    if let Some(assignee) = filter.assignee_id {
        query = query.filter(ticket::Column::AssigneeId.eq(assignee));
    }
    if filter.unassigned {
        query = query.filter(ticket::Column::AssigneeId.is_null());
    }
    if let Some(intent) = &filter.intent {
        query = query.filter(ticket::Column::Intent.eq(intent.as_str()));
    }
    if let Some(sentiment) = filter.sentiment {
        query = query.filter(ticket::Column::Sentiment.eq(sentiment));
    }
    if let Some(language) = &filter.language {
        query = query.filter(ticket::Column::Language.eq(language.trim().to_lowercase()));
    }
    if let Some(tag) = &filter.tag {
        query = query.filter(
            ticket::Column::Id.in_subquery(
                Query::select()
                    .column(ticket_tag::Column::TicketId)
                    .from(ticket_tag::Entity)
                    .and_where(Expr::col(ticket_tag::Column::TenantId).eq(tenant))
                    .and_where(Expr::col(ticket_tag::Column::Tag).eq(tag.trim().to_lowercase()))
                    .to_owned(),
            ),
        );
    }
    if let Some(email) = &filter.customer_email {
        query = query.filter(
            ticket::Column::CustomerId.in_subquery(
                Query::select()
                    .column(customer::Column::Id)
                    .from(customer::Entity)
                    .and_where(Expr::col(customer::Column::TenantId).eq(tenant))
                    .and_where(Expr::col(customer::Column::Email).eq(email.trim().to_lowercase()))
                    .to_owned(),
            ),
        );
    }
    if let Some(text) = filter.q.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        let pattern = LikeExpr::new(copilot_store::like_contains(text)).escape('\\');
        // `42` or `#42` also finds ticket 42.
        let number = text.strip_prefix('#').unwrap_or(text).parse::<i64>().ok();
        let mut matches = Condition::any();
        if let Some(number) = number {
            matches = matches.add(ticket::Column::Number.eq(number));
        }
        query = query.filter(
            matches
                .add(
                    Expr::expr(Func::lower(Expr::col((ticket::Entity, ticket::Column::Subject)))).like(pattern.clone()),
                )
                .add(
                    ticket::Column::Id.in_subquery(
                        Query::select()
                            .column(message::Column::TicketId)
                            .from(message::Entity)
                            .and_where(Expr::col(message::Column::TenantId).eq(tenant))
                            .and_where(Expr::expr(Func::lower(Expr::col(message::Column::Body))).like(pattern))
                            .to_owned(),
                    ),
                ),
        );
    }
    if let Some(after) = filter.created_after {
        query = query.filter(ticket::Column::CreatedAt.gte(after));
    }
    if let Some(before) = filter.created_before {
        query = query.filter(ticket::Column::CreatedAt.lt(before));
    }
    if let Some(before) = filter.due_before {
        query = query.filter(ticket::Column::SlaDueAt.lt(before));
    }
    if let Some(field) = &filter.field {
        let text = Expr::col(ticket_field_value::Column::Text);
        let matches = if field.contains {
            text.like(LikeExpr::new(copilot_store::like_contains(&field.text)).escape('\\'))
        } else {
            text.eq(field.text.as_str())
        };
        query = query.filter(
            ticket::Column::Id.in_subquery(
                Query::select()
                    .column(ticket_field_value::Column::TicketId)
                    .from(ticket_field_value::Entity)
                    .and_where(Expr::col(ticket_field_value::Column::TenantId).eq(tenant))
                    .and_where(Expr::col(ticket_field_value::Column::FieldId).eq(field.field_id))
                    .and_where(matches)
                    .to_owned(),
            ),
        );
    }
    query
}

/// Lists tickets in the filter's order with the filter applied. The cursor is the last
/// ticket of the previous page and, for an order other than by id, its sort key then: a
/// ticket changed between two pages moves and is not seen again further on.
pub async fn list(tx: &TenantTx, filter: &TicketFilter, page: PageRequest) -> Result<Page<Ticket>, Error> {
    let query = filtered(tx.tenant(), filter);
    let key = page.cursor.map(|id| (page.key, id));
    let query = match filter.order {
        TicketOrder::Newest => {
            let query = match key {
                Some((_, cursor)) => query.filter(ticket::Column::Id.lt(cursor)),
                None => query,
            };
            query.order_by_desc(ticket::Column::Id)
        }
        TicketOrder::Oldest => {
            let query = match key {
                Some((_, cursor)) => query.filter(ticket::Column::Id.gt(cursor)),
                None => query,
            };
            query.order_by_asc(ticket::Column::Id)
        }
        TicketOrder::Updated => {
            let query =
                match key {
                    Some((key, cursor)) => {
                        let at = key.map(SortKey::time).transpose()?.flatten().ok_or_else(wrong_cursor)?;
                        query.filter(Condition::any().add(ticket::Column::UpdatedAt.lt(at)).add(
                            Condition::all().add(ticket::Column::UpdatedAt.eq(at)).add(ticket::Column::Id.lt(cursor)),
                        ))
                    }
                    None => query,
                };
            query.order_by_desc(ticket::Column::UpdatedAt).order_by_desc(ticket::Column::Id)
        }
        TicketOrder::Priority => {
            let after = match key {
                Some((Some(SortKey::Int(rank)), cursor)) => {
                    let rank = i16::try_from(rank).map_err(|_| wrong_cursor())?;
                    Some((Some(sea_orm::Value::from(rank)), cursor))
                }
                Some(_) => return Err(wrong_cursor()),
                None => None,
            };
            keyset(query, ticket::Column::PriorityRank, Order::Desc, after)
        }
        TicketOrder::Waiting => {
            let after = match key {
                Some((Some(key), cursor)) => Some((key.time()?.map(sea_orm::Value::from), cursor)),
                Some(_) => return Err(wrong_cursor()),
                None => None,
            };
            keyset(query, ticket::Column::WaitingSince, Order::Asc, after)
        }
        TicketOrder::Sentiment => {
            let after = match key {
                Some((Some(key), cursor)) => Some((key.float()?.map(sea_orm::Value::from), cursor)),
                Some(_) => return Err(wrong_cursor()),
                None => None,
            };
            keyset(query, ticket::Column::SentimentScore, Order::Asc, after)
        }
        TicketOrder::Due => {
            let after = match key {
                Some((Some(key), cursor)) => Some((key.time()?.map(sea_orm::Value::from), cursor)),
                Some(_) => return Err(wrong_cursor()),
                None => None,
            };
            keyset(query, ticket::Column::SlaDueAt, Order::Asc, after)
        }
    };
    let rows = query.limit(page.limit + 1).all(&**tx).await.map_err(db_err)?;
    let tickets = hydrate(tx, rows).await?;
    let key_of: fn(&Ticket) -> SortKey = match filter.order {
        TicketOrder::Newest | TicketOrder::Oldest => {
            return Ok(Page::from_overfetch(tickets, page.limit, |ticket| ticket.id.0));
        }
        TicketOrder::Updated => |t| SortKey::from_time(t.updated_at),
        TicketOrder::Priority => |t| SortKey::Int(t.priority.rank().into()),
        TicketOrder::Waiting => |t| SortKey::from_option(t.waiting_since, SortKey::from_time),
        TicketOrder::Sentiment => |t| SortKey::from_option(t.sentiment_score, SortKey::from_float),
        TicketOrder::Due => {
            |t| SortKey::from_option(t.sla.as_ref().and_then(|sla| sla.next_due_at), SortKey::from_time)
        }
    };
    Ok(Page::from_overfetch_keyed(tickets, page.limit, |ticket| (key_of(ticket), ticket.id.0)))
}

fn wrong_cursor() -> Error {
    Error::validation("invalid_cursor", "`cursor` is not a cursor of this sort")
}

/// Orders by a nullable `column` (its empty values last), then by id, continuing after
/// `after`: the key and id of the previous page's last ticket.
fn keyset(
    query: Select<ticket::Entity>,
    column: ticket::Column,
    order: Order,
    after: Option<(Option<sea_orm::Value>, Uuid)>,
) -> Select<ticket::Entity> {
    let query = match after {
        Some((Some(key), cursor)) => {
            let beyond = match order {
                Order::Asc => column.gt(key.clone()),
                _ => column.lt(key.clone()),
            };
            query.filter(
                Condition::any()
                    .add(beyond)
                    .add(Condition::all().add(column.eq(key)).add(ticket::Column::Id.gt(cursor)))
                    .add(column.is_null()),
            )
        }
        Some((None, cursor)) => query.filter(column.is_null()).filter(ticket::Column::Id.gt(cursor)),
        None => query,
    };
    query.order_by_with_nulls(column, order, NullOrdering::Last).order_by_asc(ticket::Column::Id)
}

/// The inbox's built-in views, each a filter of the tickets still to be worked: all of
/// them, the caller's (when the caller is a person), nobody's, the urgent (high or urgent
/// priority) and those whose customer's latest message is negative.
pub fn views(me: Option<Uuid>) -> Vec<(&'static str, TicketFilter)> {
    let active = TicketFilter { active: true, ..TicketFilter::default() };
    let mut views = vec![("active", active.clone())];
    if let Some(me) = me {
        views.push(("mine", TicketFilter { assignee_id: Some(me), ..active.clone() }));
    }
    views.extend([
        ("unassigned", TicketFilter { unassigned: true, ..active.clone() }),
        ("urgent", TicketFilter { min_priority: Some(Priority::High), ..active.clone() }),
        ("negative", TicketFilter { sentiment: Some(Sentiment::Negative), ..active }),
    ]);
    views
}

/// How many tickets match each filter (the counts of the inbox's views).
pub async fn count(tx: &TenantTx, filters: &[TicketFilter]) -> Result<Vec<u64>, Error> {
    let mut counts = Vec::with_capacity(filters.len());
    for filter in filters {
        counts.push(filtered(tx.tenant(), filter).count(&**tx).await.map_err(db_err)?);
    }
    Ok(counts)
}

/// Checks that `id` is an active person of this tenant who can work tickets.
async fn require_assignable(tx: &TenantTx, id: Uuid) -> Result<(), Error> {
    let assignee = user::Entity::scoped(tx.tenant())
        .filter(user::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::unprocessable("unknown_assignee", format!("no user {id} in this tenant")))?;
    let role = assignee.role;
    if !assignee.active || !role.is_human() {
        return Err(Error::unprocessable("unknown_assignee", "the assignee is deactivated"));
    }
    Ok(())
}

/// Changes a ticket's subject, status, priority, assignee or tags.
pub async fn update(tx: &TenantTx, by: &Principal, id: TicketId, patch: TicketPatch) -> Result<Ticket, Error> {
    // Status, priority, assignment and tags are the desk's decisions, not an integration's.
    by.require_human_role()?;
    let row = find_row_for_update(tx, id).await?;
    if let Some(into) = row.merged_into_id
        && patch.status.is_some_and(|status| status != row.status)
    {
        return Err(crate::rows::merged(into));
    }
    let old_status = row.status;
    let old_assignee = row.assignee_id;
    let mut change: ticket::ActiveModel = row.into();
    if let Some(subject) = &patch.subject {
        change.subject = Set(single_line("subject", subject, 1, 500)?);
    }
    if let Some(status) = patch.status {
        change.status = Set(status);
        if let Some(solved_at) = crate::rows::solved_at_after(old_status, status) {
            change.solved_at = Set(solved_at);
        }
    }
    if let Some(priority) = patch.priority {
        change.priority = Set(priority);
        change.priority_rank = Set(priority.rank());
    }
    if let Some(assignee) = patch.assignee_id {
        if let Some(user_id) = assignee {
            require_assignable(tx, user_id).await?;
        }
        change.assignee_id = Set(assignee);
    }
    let tags = patch.tags.as_deref().map(values::tags).transpose()?;
    change.updated_at = Set(copilot_core::now());
    let row = change.update(&**tx).await.map_err(db_err)?;
    if let Some(tags) = &tags {
        replace_tags(tx, id, tags).await?;
    }
    let fields_changed = crate::fields::set_values(tx, id, &patch.fields).await?;
    if row.status != old_status && matches!(row.status, TicketStatus::Solved | TicketStatus::Closed) {
        let missing = crate::fields::missing_for_solve(tx, id).await?;
        if !missing.is_empty() {
            return Err(Error::unprocessable(
                "fields_required",
                format!("set {} before the ticket is {}", missing.join(", "), row.status),
            ));
        }
    }
    let target = audit::Target::new("ticket", id);
    if row.status != old_status {
        audit::record(
            tx,
            by.actor,
            "ticket.status_changed",
            target.clone(),
            serde_json::json!({ "from": old_status, "to": row.status }),
        )
        .await?;
    }
    if !fields_changed.is_empty() {
        audit::record(
            tx,
            by.actor,
            "ticket.fields_changed",
            target.clone(),
            serde_json::json!({ "fields": fields_changed }),
        )
        .await?;
    }
    if row.assignee_id != old_assignee {
        audit::record(
            tx,
            by.actor,
            "ticket.assigned",
            target,
            serde_json::json!({ "from": old_assignee, "to": row.assignee_id }),
        )
        .await?;
    }
    let ticket = hydrate(tx, vec![row]).await?.pop().ok_or(Error::NotFound("ticket"))?;
    events::emit(tx, "ticket.updated", Some(ticket.id), &serde_json::json!({ "ticket": ticket })).await?;
    Ok(ticket)
}

/// The most tickets one bulk change may touch.
pub const MAX_BULK_TICKETS: usize = 100;

/// One change applied to many tickets: fields to set, tags to add and to remove.
#[derive(Clone, Debug, Default)]
pub struct BulkChange {
    pub status: Option<TicketStatus>,
    pub priority: Option<Priority>,
    /// `Some(None)` unassigns.
    pub assignee_id: Option<Option<Uuid>>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
}

/// Applies one change to each of `ids` (1 to [`MAX_BULK_TICKETS`]), all or none: a ticket
/// that is not found (or another tenant's) fails the whole change. Each ticket is audited
/// and announced as if it had been changed on its own.
pub async fn update_many(
    tx: &TenantTx,
    by: &Principal,
    ids: &[TicketId],
    change: BulkChange,
) -> Result<Vec<Ticket>, Error> {
    by.require_human_role()?;
    if ids.is_empty() || ids.len() > MAX_BULK_TICKETS {
        return Err(Error::validation(
            "invalid_ticket_ids",
            format!("`ticket_ids` needs 1 to {MAX_BULK_TICKETS} tickets"),
        ));
    }
    if ids.iter().collect::<HashSet<_>>().len() != ids.len() {
        return Err(Error::validation("invalid_ticket_ids", "`ticket_ids` names a ticket twice"));
    }
    let add = values::tags(&change.add_tags)?;
    let remove = values::tags(&change.remove_tags)?;
    let tags_change = !add.is_empty() || !remove.is_empty();
    if change.status.is_none() && change.priority.is_none() && change.assignee_id.is_none() && !tags_change {
        return Err(Error::validation("empty_change", "the change sets nothing"));
    }
    // Rows are locked in id order, so two bulk changes over the same tickets never wait
    // on each other in a circle; the answer keeps the order asked.
    let mut in_lock_order = ids.to_vec();
    in_lock_order.sort();
    let mut changed = HashMap::with_capacity(ids.len());
    for id in in_lock_order {
        let tags = if tags_change {
            // Locked before its tags are read, so a change made meanwhile is not lost.
            find_row_for_update(tx, id).await?;
            let current = ticket_tag::Entity::scoped(tx.tenant())
                .filter(ticket_tag::Column::TicketId.eq(id.0))
                .all(&**tx)
                .await
                .map_err(db_err)?;
            let mut tags: Vec<String> =
                current.into_iter().map(|row| row.tag).filter(|tag| !remove.contains(tag)).collect();
            let missing: Vec<String> = add.iter().filter(|tag| !tags.contains(tag)).cloned().collect();
            tags.extend(missing);
            Some(tags)
        } else {
            None
        };
        let patch = TicketPatch {
            subject: None,
            status: change.status,
            priority: change.priority,
            assignee_id: change.assignee_id,
            tags,
            fields: Default::default(),
        };
        changed.insert(id, update(tx, by, id, patch).await?);
    }
    Ok(ids.iter().filter_map(|id| changed.remove(id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_without_priority_is_normal() {
        let request = NewTicket {
            subject: "Where is my order?".into(),
            channel: Channel::Web,
            customer_email: "ann@example.com".into(),
            customer_name: None,
            body: "It has been a week.".into(),
            priority: None,
            tags: vec![],
        };
        assert_eq!(request.validate().ok().map(|v| v.priority), Some(Priority::Normal));
    }
}
