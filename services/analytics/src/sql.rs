//! A plan answered by PostgreSQL itself: filters, groups and measures compiled to one
//! grouped statement over the dataset's table (values bound, names only from the
//! catalogue), so a tenant with many tickets is not read row by row. Its groups come back
//! to [`crate::run`], which orders, cuts and prints them as it does its own. A plan with a
//! part the statement does not express the same way (`contains`, which folds case
//! differently, and measures of tags) is answered in the service instead.

use chrono::{DateTime, Utc};
use sea_orm::Value;

use crate::{
    catalogue::{Bucket, Dataset, Field, Function, Kind, Op, Source},
    query::{Filter, Operand, Plan, Scalar},
};

/// A statement and its bound values, `$1` the tenant.
#[derive(Debug)]
pub(crate) struct Statement {
    pub text: String,
    pub values: Vec<Value>,
}

impl Statement {
    fn bind(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }
}

/// What a group's value is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupKind {
    Time,
    Text,
}

/// What a measure's value is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MeasureKind {
    Integer,
    Number,
    Time,
}

/// The statement for `plan` over `tenant`'s rows, and how to read its columns; none when
/// the plan is answered in the service.
pub(crate) fn compile(
    plan: &Plan,
    tenant: uuid::Uuid,
    limit: usize,
) -> Option<(Statement, Vec<GroupKind>, Vec<MeasureKind>)> {
    let mut sql = Statement { text: String::new(), values: vec![tenant.into()] };
    let zone = sql.bind(plan.time_zone.name().to_owned().into());
    let mut columns = Vec::new();
    let mut groups = Vec::new();
    let mut joins_tags = false;
    for group in &plan.groups {
        let (column, kind) = match (group.field.source, group.bucket) {
            (Source::TicketTags, _) => {
                joins_tags = true;
                ("g.tag".to_owned(), GroupKind::Text)
            }
            (_, Some(bucket)) => {
                let e = expr(group.field)?;
                (
                    format!("(date_trunc('{}', {e} AT TIME ZONE {zone}) AT TIME ZONE {zone})", unit(bucket)),
                    GroupKind::Time,
                )
            }
            // Ids print as the service prints them: lower-case, hyphenated.
            (_, None) => (format!("{}::text", expr(group.field)?), GroupKind::Text),
        };
        columns.push(column);
        groups.push(kind);
    }
    let mut measures = Vec::new();
    for measure in &plan.measures {
        let (column, kind) = match (measure.function, measure.field, &measure.condition) {
            (Function::Count, _, _) => ("count(*)".to_owned(), MeasureKind::Integer),
            (Function::Rate, _, Some(condition)) => {
                let test = condition_sql(&mut sql, condition)?;
                (format!("avg(CASE WHEN {test} THEN 1.0 ELSE 0.0 END)::float8"), MeasureKind::Number)
            }
            (function, Some(field), None) if field.source != Source::TicketTags => {
                let e = expr(field)?;
                let time = field.kind == Kind::Time;
                match function {
                    Function::CountDistinct => (format!("count(DISTINCT {e})"), MeasureKind::Integer),
                    Function::Min | Function::Max if time => (format!("{}({e})", function.name()), MeasureKind::Time),
                    Function::Min | Function::Max | Function::Avg => {
                        (format!("{}({e})::float8", function.name()), MeasureKind::Number)
                    }
                    Function::Sum => (format!("COALESCE(sum({e}), 0)::float8"), MeasureKind::Number),
                    Function::P50 => {
                        (format!("percentile_cont(0.5) WITHIN GROUP (ORDER BY {e})::float8"), MeasureKind::Number)
                    }
                    Function::P90 => {
                        (format!("percentile_cont(0.9) WITHIN GROUP (ORDER BY {e})::float8"), MeasureKind::Number)
                    }
                    Function::Count | Function::Rate => return None,
                }
            }
            _ => return None,
        };
        columns.push(column);
        measures.push(kind);
    }
    let mut conditions = vec!["t.tenant_id = $1".to_owned()];
    for filter in &plan.filters {
        conditions.push(condition_sql(&mut sql, filter)?);
    }
    let join =
        if joins_tags { " LEFT JOIN ticket_tags g ON g.tenant_id = t.tenant_id AND g.ticket_id = t.id" } else { "" };
    let grouped = if plan.groups.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {}", (1..=plan.groups.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", "))
    };
    sql.text = format!(
        "SELECT {} FROM {} t{join} WHERE {}{grouped} LIMIT {}",
        columns.join(", "),
        table(plan.dataset),
        conditions.join(" AND "),
        limit
    );
    Some((sql, groups, measures))
}

fn table(dataset: Dataset) -> &'static str {
    match dataset {
        Dataset::Tickets => "tickets",
        Dataset::Messages => "messages",
        Dataset::Drafts => "drafts",
        Dataset::Deliveries => "deliveries",
        Dataset::Surveys => "csat_surveys",
    }
}

fn unit(bucket: Bucket) -> &'static str {
    match bucket {
        Bucket::Hour => "hour",
        Bucket::Day => "day",
        Bucket::Week => "week",
        Bucket::Month => "month",
    }
}

/// A field's value on the row `t`; none for tags, which live in their own table.
fn expr(field: &Field) -> Option<String> {
    match field.source {
        Source::Column(column) => Some(format!("t.{column}")),
        // To the millisecond, as the service counts.
        Source::SecondsUntil(column) => {
            Some(format!("(trunc(extract(epoch FROM (t.{column} - t.created_at)) * 1000) / 1000.0)::float8"))
        }
        // The names are the catalogue's own, never the caller's.
        Source::Flag { column, yes, no } => Some(format!("(CASE WHEN t.{column} THEN '{yes}' ELSE '{no}' END)")),
        // The key is checked to be `[a-z0-9_]{1,40}` when the field is made.
        Source::TicketField(key) => {
            let value = format!(
                "(SELECT v.text FROM ticket_field_values v JOIN ticket_fields f ON f.id = v.field_id \
                 WHERE v.tenant_id = t.tenant_id AND v.ticket_id = t.id AND f.tenant_id = t.tenant_id AND f.key = '{key}')"
            );
            Some(if field.kind == Kind::Number { format!("({value})::float8") } else { value })
        }
        Source::TicketTags => None,
    }
}

fn value(scalar: &Scalar) -> Value {
    match scalar {
        Scalar::Time(t) => (*t).into(),
        Scalar::Number(n) => (*n).into(),
        Scalar::Text(t) => t.clone().into(),
        Scalar::Id(id) => (*id).into(),
    }
}

/// A filter as a condition on the row `t`; none for `contains`.
fn condition_sql(sql: &mut Statement, filter: &Filter) -> Option<String> {
    if filter.field.source == Source::TicketTags {
        return Some(tags(sql, filter));
    }
    if filter.op == Op::Contains {
        return None;
    }
    let e = expr(filter.field)?;
    let list = |sql: &mut Statement, values: &[Scalar]| {
        values.iter().map(|v| sql.bind(value(v))).collect::<Vec<_>>().join(", ")
    };
    Some(match (&filter.op, &filter.operand) {
        (Op::IsNull, Operand::Null(true)) => format!("{e} IS NULL"),
        (Op::IsNull, _) => format!("{e} IS NOT NULL"),
        (Op::In, Operand::Many(values)) => format!("{e} IN ({})", list(sql, values)),
        (Op::NotIn, Operand::Many(values)) => format!("{e} NOT IN ({})", list(sql, values)),
        (Op::Between, Operand::Range(low, high)) => {
            format!("{e} BETWEEN {} AND {}", sql.bind(value(low)), sql.bind(value(high)))
        }
        (op, Operand::One(one)) => {
            let sign = match op {
                Op::Eq => "=",
                Op::Ne => "<>",
                Op::Gt => ">",
                Op::Gte => ">=",
                Op::Lt => "<",
                Op::Lte => "<=",
                _ => return None,
            };
            format!("{e} {sign} {}", sql.bind(value(one)))
        }
        _ => return None,
    })
}

/// A filter on a ticket's tags: `eq`/`in` when one tag matches, `ne`/`not_in` when the
/// ticket has tags and none matches; `is_null` when it has none.
fn tags(sql: &mut Statement, filter: &Filter) -> String {
    let any = "EXISTS (SELECT 1 FROM ticket_tags a WHERE a.tenant_id = t.tenant_id AND a.ticket_id = t.id)";
    let mut matching = |values: &[Scalar]| {
        let list: Vec<String> = values.iter().map(|v| sql.bind(value(v))).collect();
        format!(
            "EXISTS (SELECT 1 FROM ticket_tags a WHERE a.tenant_id = t.tenant_id AND a.ticket_id = t.id AND a.tag IN ({}))",
            list.join(", ")
        )
    };
    match (&filter.op, &filter.operand) {
        (Op::IsNull, Operand::Null(true)) => format!("NOT {any}"),
        (Op::IsNull, _) => any.to_owned(),
        (Op::Eq, Operand::One(one)) => matching(std::slice::from_ref(one)),
        (Op::In, Operand::Many(values)) => matching(values),
        (Op::Ne, Operand::One(one)) => format!("{any} AND NOT {}", matching(std::slice::from_ref(one))),
        (Op::NotIn, Operand::Many(values)) => format!("{any} AND NOT {}", matching(values)),
        _ => "FALSE".to_owned(),
    }
}

/// A time as the service prints it: to the millisecond.
pub(crate) fn to_millis(time: DateTime<Utc>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(time.timestamp_millis())
}
