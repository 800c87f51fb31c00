//! Custom ticket fields: defined by admins (text, number, select, multi-select, date,
//! checkbox; some required before a ticket is solved), set on tickets, read with them and
//! filtered on. A field is retired (inactive), never deleted, so values stay readable.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use copilot_core::{Error, Principal, ids::TicketId, values};
use copilot_entities::{ticket_field, ticket_field_value};
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

/// Fields one tenant may define.
pub const MAX_FIELDS: usize = 100;
/// Options of one select field.
pub const MAX_OPTIONS: usize = 200;
/// The longest text value.
pub const MAX_TEXT_CHARS: usize = 1_000;
/// What separates the options of a multi-select value in its text form (for filtering).
const SEPARATOR: char = '\u{1f}';

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Number,
    Select,
    MultiSelect,
    Date,
    Checkbox,
}

impl FieldKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Number => "number",
            Self::Select => "select",
            Self::MultiSelect => "multi_select",
            Self::Date => "date",
            Self::Checkbox => "checkbox",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Text, Self::Number, Self::Select, Self::MultiSelect, Self::Date, Self::Checkbox]
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    fn has_options(self) -> bool {
        matches!(self, Self::Select | Self::MultiSelect)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Field {
    pub id: Uuid,
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    pub options: Vec<String>,
    /// A ticket is solved or closed only with a value.
    pub required_on_solve: bool,
    pub active: bool,
    pub position: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new field, or the parts of one to change (its key and kind never change).
#[derive(Clone, Debug, Default)]
pub struct FieldIn {
    pub key: Option<String>,
    pub label: Option<String>,
    pub kind: Option<FieldKind>,
    pub options: Option<Vec<String>>,
    pub required_on_solve: Option<bool>,
    pub active: Option<bool>,
    pub position: Option<i32>,
}

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::validation("invalid_field", detail.to_string())
}

fn read(row: ticket_field::Model) -> Field {
    Field {
        id: row.id,
        kind: FieldKind::parse(&row.kind).unwrap_or(FieldKind::Text),
        options: serde_json::from_value(row.options).unwrap_or_default(),
        key: row.key,
        label: row.label,
        required_on_solve: row.required_on_solve,
        active: row.active,
        position: row.position,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

/// The tenant's fields in order, retired ones included.
pub async fn list(tx: &TenantTx) -> Result<Vec<Field>, Error> {
    let rows = ticket_field::Entity::scoped(tx.tenant())
        .order_by_asc(ticket_field::Column::Position)
        .order_by_asc(ticket_field::Column::Key)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().map(read).collect())
}

fn checked_options(kind: FieldKind, options: Vec<String>) -> Result<Vec<String>, Error> {
    if !kind.has_options() {
        return if options.is_empty() { Ok(options) } else { Err(invalid("only select fields have options")) };
    }
    if options.is_empty() || options.len() > MAX_OPTIONS {
        return Err(invalid(format!("a select field has 1 to {MAX_OPTIONS} options")));
    }
    let mut checked: Vec<String> = Vec::with_capacity(options.len());
    for option in options {
        let option = values::single_line("options", &option, 1, 200)?;
        if option.contains(SEPARATOR) || checked.contains(&option) {
            return Err(invalid(format!("option `{option}` is listed twice or unreadable")));
        }
        checked.push(option);
    }
    Ok(checked)
}

/// Adds a field (admins).
pub async fn create(tx: &TenantTx, by: &Principal, input: FieldIn) -> Result<Field, Error> {
    by.require_admin()?;
    let key = input.key.unwrap_or_default();
    let ok_key = (1..=40).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok_key {
        return Err(invalid(format!("`{key}` is not a key: 1 to 40 lowercase letters, digits or `_`, from a letter")));
    }
    let label = values::single_line("label", input.label.as_deref().unwrap_or_default(), 1, 100)?;
    let kind =
        input.kind.ok_or_else(|| invalid("`kind` is one of text, number, select, multi_select, date, checkbox"))?;
    let options = checked_options(kind, input.options.unwrap_or_default())?;
    copilot_store::locks::in_tenant(tx, "ticket_fields").await?;
    let fields = list(tx).await?;
    if fields.len() >= MAX_FIELDS {
        return Err(Error::conflict("too_many_fields", format!("at most {MAX_FIELDS} fields")));
    }
    if fields.iter().any(|field| field.key == key) {
        return Err(Error::conflict("field_exists", format!("a field's key is already `{key}`")));
    }
    let now = copilot_core::now();
    let row = ticket_field::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        key: Set(key.clone()),
        label: Set(label),
        kind: Set(kind.as_str().to_owned()),
        options: Set(json!(options)),
        required_on_solve: Set(input.required_on_solve.unwrap_or(false)),
        active: Set(true),
        position: Set(input.position.unwrap_or(fields.len() as i32)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "ticket_field.created",
        audit::Target::new("ticket_field", row.id).labelled(&key),
        json!({}),
    )
    .await?;
    Ok(read(row))
}

/// Changes a field's label, options, requirement, order or whether it is active (admins).
/// An option removed stays on the tickets that have it until they change.
pub async fn update(tx: &TenantTx, by: &Principal, id: Uuid, patch: FieldIn) -> Result<Field, Error> {
    by.require_admin()?;
    let row = ticket_field::Entity::scoped(tx.tenant())
        .filter(ticket_field::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("ticket field"))?;
    let field = read(row.clone());
    if patch.key.as_ref().is_some_and(|key| *key != field.key) || patch.kind.is_some_and(|kind| kind != field.kind) {
        return Err(invalid("a field's key and kind do not change: retire it and add another"));
    }
    let mut change: ticket_field::ActiveModel = row.into();
    if let Some(label) = &patch.label {
        change.label = Set(values::single_line("label", label, 1, 100)?);
    }
    if let Some(options) = patch.options {
        change.options = Set(json!(checked_options(field.kind, options)?));
    }
    if let Some(required) = patch.required_on_solve {
        change.required_on_solve = Set(required);
    }
    if let Some(active) = patch.active {
        change.active = Set(active);
    }
    if let Some(position) = patch.position {
        change.position = Set(position);
    }
    change.updated_at = Set(copilot_core::now());
    let row = change.update(&**tx).await.map_err(db_err)?;
    audit::record(
        tx,
        by.actor,
        "ticket_field.updated",
        audit::Target::new("ticket_field", id).labelled(&field.key),
        json!({}),
    )
    .await?;
    Ok(read(row))
}

/// A value checked against its field, and its text form for filtering.
fn checked_value(field: &Field, value: &Value) -> Result<(Value, String), Error> {
    let wrong = |expected: &str| Error::validation("invalid_field_value", format!("`{}` takes {expected}", field.key));
    match field.kind {
        FieldKind::Text => {
            let text = value.as_str().ok_or_else(|| wrong("text"))?;
            let text = values::bounded_text(&field.key, text, 1, MAX_TEXT_CHARS)
                .map_err(|_| wrong("1 to 1,000 characters"))?;
            Ok((json!(text), text))
        }
        FieldKind::Number => {
            let number = value.as_f64().filter(|n| n.is_finite()).ok_or_else(|| wrong("a number"))?;
            Ok((json!(number), number.to_string()))
        }
        FieldKind::Select => {
            let option = value
                .as_str()
                .filter(|o| field.options.iter().any(|x| x == o))
                .ok_or_else(|| wrong(&format!("one of: {}", field.options.join(", "))))?;
            Ok((json!(option), option.to_owned()))
        }
        FieldKind::MultiSelect => {
            let chosen: Vec<&str> =
                value.as_array().ok_or_else(|| wrong("a list of options"))?.iter().filter_map(Value::as_str).collect();
            let all_known = chosen.len() == value.as_array().map_or(0, Vec::len)
                && chosen.iter().all(|o| field.options.iter().any(|x| x == o));
            if chosen.is_empty() || !all_known {
                return Err(wrong(&format!("a list of: {}", field.options.join(", "))));
            }
            let mut unique: Vec<&str> = Vec::new();
            for option in chosen {
                if !unique.contains(&option) {
                    unique.push(option);
                }
            }
            let text = format!("{SEPARATOR}{}{SEPARATOR}", unique.join(&SEPARATOR.to_string()));
            Ok((json!(unique), text))
        }
        FieldKind::Date => {
            let date = value
                .as_str()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| wrong("a date (YYYY-MM-DD)"))?;
            Ok((json!(date.to_string()), date.to_string()))
        }
        FieldKind::Checkbox => {
            let checked = value.as_bool().ok_or_else(|| wrong("true or false"))?;
            Ok((json!(checked), checked.to_string()))
        }
    }
}

/// Sets (or, with `null`, clears) a ticket's values by field key, checked against the
/// active fields. Returns what changed, for the audit.
pub async fn set_values(
    tx: &TenantTx,
    ticket: TicketId,
    values: &BTreeMap<String, Value>,
) -> Result<Vec<String>, Error> {
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let fields: HashMap<String, Field> =
        list(tx).await?.into_iter().filter(|field| field.active).map(|field| (field.key.clone(), field)).collect();
    let mut changed = Vec::new();
    for (key, value) in values {
        let field = fields.get(key).ok_or_else(|| {
            Error::validation("unknown_field", format!("no active ticket field `{key}`; see GET /v1/ticket-fields"))
        })?;
        ticket_field_value::Entity::delete_many()
            .filter(ticket_field_value::Column::TenantId.eq(tx.tenant().0))
            .filter(ticket_field_value::Column::TicketId.eq(ticket.0))
            .filter(ticket_field_value::Column::FieldId.eq(field.id))
            .exec(&**tx)
            .await
            .map_err(db_err)?;
        if !value.is_null() {
            let (stored, text) = checked_value(field, value)?;
            ticket_field_value::ActiveModel {
                tenant_id: Set(tx.tenant().0),
                ticket_id: Set(ticket.0),
                field_id: Set(field.id),
                value: Set(stored),
                text: Set(text),
            }
            .insert(&**tx)
            .await
            .map_err(db_err)?;
        }
        changed.push(key.clone());
    }
    Ok(changed)
}

/// Each ticket's values by field key.
pub(crate) async fn values_of(
    tx: &TenantTx,
    tickets: &[Uuid],
) -> Result<HashMap<Uuid, BTreeMap<String, Value>>, Error> {
    let rows = ticket_field_value::Entity::scoped(tx.tenant())
        .filter(ticket_field_value::Column::TicketId.is_in(tickets.iter().copied()))
        .all(&**tx)
        .await
        .map_err(db_err)?;
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let keys: HashMap<Uuid, String> = list(tx).await?.into_iter().map(|field| (field.id, field.key)).collect();
    let mut values: HashMap<Uuid, BTreeMap<String, Value>> = HashMap::new();
    for row in rows {
        if let Some(key) = keys.get(&row.field_id) {
            values.entry(row.ticket_id).or_default().insert(key.clone(), row.value);
        }
    }
    Ok(values)
}

/// The labels of the required-on-solve fields a ticket has no value for.
pub(crate) async fn missing_for_solve(tx: &TenantTx, ticket: TicketId) -> Result<Vec<String>, Error> {
    let required: Vec<Field> = list(tx).await?.into_iter().filter(|f| f.active && f.required_on_solve).collect();
    if required.is_empty() {
        return Ok(Vec::new());
    }
    let have = values_of(tx, &[ticket.0]).await?.remove(&ticket.0).unwrap_or_default();
    Ok(required.into_iter().filter(|field| !have.contains_key(&field.key)).map(|field| field.label).collect())
}

/// A filter on a field: `key:value` (for a multi-select, tickets that have that option).
#[derive(Clone, Debug)]
pub struct FieldFilter {
    pub field_id: Uuid,
    /// A pattern on the value's text form (`LIKE`), or the text itself.
    pub text: String,
    pub contains: bool,
}

/// Reads `key:value` against the tenant's fields.
pub async fn filter(tx: &TenantTx, raw: &str) -> Result<FieldFilter, Error> {
    filter_among(&list(tx).await?, raw)
}

/// Reads `key:value` against `fields` (the tenant's, read once by the caller).
pub fn filter_among(fields: &[Field], raw: &str) -> Result<FieldFilter, Error> {
    let (key, value) = raw
        .split_once(':')
        .ok_or_else(|| Error::validation("invalid_parameter", "`field` is `key:value`, e.g. `plan:enterprise`"))?;
    let field = fields.iter().find(|field| field.key == key).ok_or_else(|| {
        Error::validation("unknown_field", format!("no ticket field `{key}`; see GET /v1/ticket-fields"))
    })?;
    let (text, contains) = match field.kind {
        FieldKind::MultiSelect => (format!("{SEPARATOR}{value}{SEPARATOR}"), true),
        FieldKind::Checkbox | FieldKind::Number => {
            let parsed: Value = serde_json::from_str(value).map_err(|_| {
                Error::validation("invalid_parameter", format!("`{key}` is matched by a {}", field.kind.as_str()))
            })?;
            (checked_value(field, &parsed)?.1, false)
        }
        _ => (value.to_owned(), false),
    };
    Ok(FieldFilter { field_id: field.id, text, contains })
}
