//! A typed query as it arrives, and its validation against the catalogue into a [`Plan`]:
//! every name is looked up, every value parsed to its field's type, every size bounded.
//! An error names the part at fault (`filters[1].value`).

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use copilot_core::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::catalogue::{Bucket, Dataset, Field, Function, Kind, Op};

/// Rows a query may return.
pub const MAX_LIMIT: usize = 1000;
/// Rows when the query does not say.
pub const DEFAULT_LIMIT: usize = 100;
/// Values of one `in` or `not_in` filter.
pub const MAX_VALUES: usize = 100;
pub const MAX_MEASURES: usize = 8;
pub const MAX_FILTERS: usize = 20;
pub const MAX_GROUPS: usize = 3;
/// Characters of one text value.
pub const MAX_TEXT: usize = 200;
/// Times a query may name: from 2000 to 2100.
const EARLIEST_YEAR: i32 = 2000;
const LATEST_YEAR: i32 = 2100;

/// A query as sent.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    pub dataset: String,
    pub measures: Vec<MeasureIn>,
    #[serde(default)]
    pub filters: Vec<FilterIn>,
    #[serde(default)]
    pub group_by: Vec<GroupIn>,
    #[serde(default)]
    pub order_by: Vec<OrderIn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// `{fn: "count"}`, `{fn: "avg", field}`, `{fn: "rate", condition: {field, op, value}}`.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureIn {
    #[serde(rename = "fn")]
    pub function: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<FilterIn>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FilterIn {
    pub field: String,
    pub op: String,
    #[serde(default)]
    pub value: Value,
}

/// A field, or a time field cut into buckets.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GroupIn {
    pub field: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
}

/// A result column (a group's or a measure's name) and its direction.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrderIn {
    pub column: String,
    #[serde(default)]
    pub descending: bool,
}

/// A value a filter compares with, of its field's type.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    Time(DateTime<Utc>),
    Number(f64),
    Text(String),
    Id(Uuid),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    One(Scalar),
    Many(Vec<Scalar>),
    Range(Scalar, Scalar),
    /// `is_null`: true for "is empty", false for "has a value".
    Null(bool),
}

#[derive(Clone, Debug)]
pub struct Filter {
    pub field: &'static Field,
    pub op: Op,
    pub operand: Operand,
}

#[derive(Clone, Debug)]
pub struct Measure {
    pub function: Function,
    pub field: Option<&'static Field>,
    pub condition: Option<Filter>,
    /// The result column's name: `count`, `avg(first_reply_seconds)`, `rate(sentiment eq negative)`.
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub field: &'static Field,
    pub bucket: Option<Bucket>,
    /// `channel`, or `created_at_week`.
    pub name: String,
}

/// A validated query.
#[derive(Clone, Debug)]
pub struct Plan {
    pub dataset: Dataset,
    pub measures: Vec<Measure>,
    pub filters: Vec<Filter>,
    pub groups: Vec<Group>,
    /// Result columns (groups first, then measures) by index, and whether descending.
    pub order: Vec<(usize, bool)>,
    pub limit: usize,
    pub time_zone: Tz,
}

fn invalid(part: impl std::fmt::Display, detail: impl std::fmt::Display) -> Error {
    Error::unprocessable("query_invalid", format!("{part}: {detail}"))
}

impl Query {
    /// Checks the query against the catalogue.
    pub fn plan(&self) -> Result<Plan, Error> {
        self.plan_with(&[])
    }

    /// Checks the query against the catalogue and the tenant's custom ticket fields
    /// (`catalogue::custom_field`).
    pub fn plan_with(&self, custom: &[&'static Field]) -> Result<Plan, Error> {
        let dataset = Dataset::parse(&self.dataset).ok_or_else(|| {
            let known: Vec<&str> = Dataset::ALL.iter().map(|d| d.name()).collect();
            invalid("dataset", format!("unknown dataset `{}`; one of {}", clip(&self.dataset), known.join(", ")))
        })?;
        let time_zone = match &self.time_zone {
            None => Tz::UTC,
            Some(name) => name
                .parse::<Tz>()
                .map_err(|_| invalid("time_zone", format!("`{}` is not an IANA time zone", clip(name))))?,
        };
        if self.measures.is_empty() || self.measures.len() > MAX_MEASURES {
            return Err(invalid("measures", format!("between 1 and {MAX_MEASURES} measures")));
        }
        if self.filters.len() > MAX_FILTERS {
            return Err(invalid("filters", format!("at most {MAX_FILTERS} filters")));
        }
        if self.group_by.len() > MAX_GROUPS {
            return Err(invalid("group_by", format!("at most {MAX_GROUPS} groups")));
        }
        let filters = self
            .filters
            .iter()
            .enumerate()
            .map(|(i, f)| filter(dataset, custom, f, time_zone, &format!("filters[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let measures = self
            .measures
            .iter()
            .enumerate()
            .map(|(i, m)| measure(dataset, custom, m, time_zone, &format!("measures[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let groups = self
            .group_by
            .iter()
            .enumerate()
            .map(|(i, g)| group(dataset, custom, g, &format!("group_by[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let names: Vec<&str> =
            groups.iter().map(|g| g.name.as_str()).chain(measures.iter().map(|m| m.name.as_str())).collect();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(invalid("measures", format!("`{name}` is asked for twice")));
            }
        }
        let order = self
            .order_by
            .iter()
            .enumerate()
            .map(|(i, o)| {
                names.iter().position(|n| *n == o.column).map(|c| (c, o.descending)).ok_or_else(|| {
                    invalid(
                        format!("order_by[{i}].column"),
                        format!("`{}` is not a column of the result ({})", clip(&o.column), names.join(", ")),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let limit = match self.limit {
            None => DEFAULT_LIMIT,
            Some(n) if (1..=MAX_LIMIT as i64).contains(&n) => n as usize,
            Some(_) => return Err(invalid("limit", format!("between 1 and {MAX_LIMIT}"))),
        };
        Ok(Plan { dataset, measures, filters, groups, order, limit, time_zone })
    }
}

/// A user's text, cut for an error message.
fn clip(text: &str) -> String {
    let cut: String = text.chars().take(60).collect();
    if cut.len() < text.len() { format!("{cut}…") } else { cut }
}

fn lookup(dataset: Dataset, custom: &[&'static Field], name: &str, part: &str) -> Result<&'static Field, Error> {
    dataset.field_among(name, custom).ok_or_else(|| {
        let mut known: Vec<&str> = dataset.fields().iter().map(|f| f.name).collect();
        if dataset == Dataset::Tickets {
            known.extend(custom.iter().map(|f| f.name));
        }
        invalid(part, format!("`{}` is not a field of {}; one of {}", clip(name), dataset.name(), known.join(", ")))
    })
}

fn filter(
    dataset: Dataset,
    custom: &[&'static Field],
    input: &FilterIn,
    time_zone: Tz,
    part: &str,
) -> Result<Filter, Error> {
    let field = lookup(dataset, custom, &input.field, &format!("{part}.field"))?;
    let op = Op::parse(&input.op).filter(|op| field.kind.operators().contains(op)).ok_or_else(|| {
        let allowed: Vec<&str> = field.kind.operators().iter().map(|o| o.name()).collect();
        invalid(
            format!("{part}.op"),
            format!(
                "`{}` does not apply to {} (a {}); one of {}",
                clip(&input.op),
                field.name,
                field.kind.name(),
                allowed.join(", ")
            ),
        )
    })?;
    let at = format!("{part}.value");
    let operand = match op {
        Op::IsNull => match &input.value {
            Value::Bool(empty) => Operand::Null(*empty),
            Value::Null => Operand::Null(true),
            _ => return Err(invalid(at, "`is_null` takes true or false")),
        },
        Op::In | Op::NotIn => {
            let Value::Array(values) = &input.value else {
                return Err(invalid(at, format!("`{}` takes a list", op.name())));
            };
            if values.is_empty() || values.len() > MAX_VALUES {
                return Err(invalid(at, format!("between 1 and {MAX_VALUES} values")));
            }
            Operand::Many(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| scalar(field, v, time_zone, &format!("{at}[{i}]")))
                    .collect::<Result<_, _>>()?,
            )
        }
        Op::Between => {
            let Value::Array(values) = &input.value else {
                return Err(invalid(at, "`between` takes [low, high]"));
            };
            let [low, high] = values.as_slice() else {
                return Err(invalid(at, "`between` takes [low, high]"));
            };
            let (low, high) = (
                scalar(field, low, time_zone, &format!("{at}[0]"))?,
                scalar(field, high, time_zone, &format!("{at}[1]"))?,
            );
            if order(&low, &high) == Some(std::cmp::Ordering::Greater) {
                return Err(invalid(at, "the low end is above the high end"));
            }
            Operand::Range(low, high)
        }
        _ => Operand::One(scalar(field, &input.value, time_zone, &at)?),
    };
    Ok(Filter { field, op, operand })
}

fn order(a: &Scalar, b: &Scalar) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Scalar::Time(a), Scalar::Time(b)) => Some(a.cmp(b)),
        (Scalar::Number(a), Scalar::Number(b)) => a.partial_cmp(b),
        _ => None,
    }
}

/// A JSON value as a value of `field`'s type.
fn scalar(field: &Field, value: &Value, time_zone: Tz, part: &str) -> Result<Scalar, Error> {
    match field.kind {
        Kind::Time => {
            let text = value.as_str().ok_or_else(|| invalid(part, "a time is a string (2026-11-30 or RFC 3339)"))?;
            let time = parse_time(text, time_zone).ok_or_else(|| {
                invalid(
                    part,
                    format!(
                        "`{}` is not a date, an RFC 3339 time or a period (today, last_week, last_7_days, monday, …)",
                        clip(text)
                    ),
                )
            })?;
            if !(EARLIEST_YEAR..=LATEST_YEAR).contains(&time.with_timezone(&time_zone).year()) {
                return Err(invalid(part, format!("times from {EARLIEST_YEAR} to {LATEST_YEAR} only")));
            }
            Ok(Scalar::Time(time))
        }
        Kind::Number => value
            .as_f64()
            .filter(|n| n.is_finite() && n.abs() < 1e15)
            .map(Scalar::Number)
            .ok_or_else(|| invalid(part, format!("{} takes a number", field.name))),
        Kind::Id => value
            .as_str()
            .and_then(|text| Uuid::parse_str(text).ok())
            .map(Scalar::Id)
            .ok_or_else(|| invalid(part, format!("{} takes an id (a UUID)", field.name))),
        Kind::Choice(names) => {
            let text = value.as_str().ok_or_else(|| invalid(part, format!("{} takes a name", field.name)))?;
            if !names.contains(&text) {
                return Err(invalid(
                    part,
                    format!("`{}` is not a {}; one of {}", clip(text), field.name, names.join(", ")),
                ));
            }
            Ok(Scalar::Text(text.to_owned()))
        }
        Kind::Text | Kind::Tags => {
            let text = value.as_str().ok_or_else(|| invalid(part, format!("{} takes a string", field.name)))?;
            if text.chars().count() > MAX_TEXT {
                return Err(invalid(part, format!("at most {MAX_TEXT} characters")));
            }
            Ok(Scalar::Text(text.to_owned()))
        }
    }
}

/// `2026-11-30` (midnight in the query's time zone) or an RFC 3339 time.
pub fn parse_time(text: &str, time_zone: Tz) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    time_zone.from_local_datetime(&date.and_time(NaiveTime::MIN)).earliest().map(|t| t.with_timezone(&Utc))
}

fn measure(
    dataset: Dataset,
    custom: &[&'static Field],
    input: &MeasureIn,
    time_zone: Tz,
    part: &str,
) -> Result<Measure, Error> {
    let function = Function::parse(&input.function).ok_or_else(|| {
        let known: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
        invalid(
            format!("{part}.fn"),
            format!("unknown measure `{}`; one of {}", clip(&input.function), known.join(", ")),
        )
    })?;
    match function {
        Function::Count => {
            if input.field.is_some() || input.condition.is_some() {
                return Err(invalid(part, "`count` takes no field and no condition"));
            }
            Ok(Measure { function, field: None, condition: None, name: "count".into() })
        }
        Function::Rate => {
            let condition = input
                .condition
                .as_ref()
                .ok_or_else(|| invalid(format!("{part}.condition"), "`rate` takes a condition {field, op, value}"))?;
            if input.field.is_some() {
                return Err(invalid(format!("{part}.field"), "`rate` takes a condition, not a field"));
            }
            let condition = filter(dataset, custom, condition, time_zone, &format!("{part}.condition"))?;
            let name =
                format!("rate({} {} {})", condition.field.name, condition.op.name(), describe(&condition.operand));
            Ok(Measure { function, field: None, condition: Some(condition), name })
        }
        _ => {
            let name = input
                .field
                .as_deref()
                .ok_or_else(|| invalid(format!("{part}.field"), format!("`{}` takes a field", function.name())))?;
            let field = lookup(dataset, custom, name, &format!("{part}.field"))?;
            if !field.kind.measures().contains(&function) {
                return Err(invalid(
                    format!("{part}.fn"),
                    format!("`{}` does not apply to {} (a {})", function.name(), field.name, field.kind.name()),
                ));
            }
            if input.condition.is_some() {
                return Err(invalid(format!("{part}.condition"), "only `rate` takes a condition"));
            }
            Ok(Measure {
                function,
                field: Some(field),
                condition: None,
                name: format!("{}({})", function.name(), field.name),
            })
        }
    }
}

/// A filter's operand in a column name.
fn describe(operand: &Operand) -> String {
    let one = |s: &Scalar| match s {
        Scalar::Time(t) => t.to_rfc3339(),
        Scalar::Number(n) => n.to_string(),
        Scalar::Text(t) => t.clone(),
        Scalar::Id(id) => id.to_string(),
    };
    match operand {
        Operand::One(s) => one(s),
        Operand::Many(values) => format!("[{}]", values.iter().map(one).collect::<Vec<_>>().join(", ")),
        Operand::Range(low, high) => format!("[{}, {}]", one(low), one(high)),
        Operand::Null(empty) => empty.to_string(),
    }
}

fn group(dataset: Dataset, custom: &[&'static Field], input: &GroupIn, part: &str) -> Result<Group, Error> {
    let field = lookup(dataset, custom, &input.field, &format!("{part}.field"))?;
    match (field.kind, &input.bucket) {
        (Kind::Time, Some(bucket)) => {
            let bucket = Bucket::parse(bucket).ok_or_else(|| {
                invalid(format!("{part}.bucket"), format!("`{}` is not hour, day, week or month", clip(bucket)))
            })?;
            Ok(Group { field, bucket: Some(bucket), name: format!("{}_{}", field.name, bucket.name()) })
        }
        (Kind::Time, None) => {
            Err(invalid(format!("{part}.bucket"), "a time field is grouped by hour, day, week or month"))
        }
        (Kind::Number, _) => {
            Err(invalid(format!("{part}.field"), format!("{} is a number: measure it, do not group by it", field.name)))
        }
        (_, Some(_)) => Err(invalid(format!("{part}.bucket"), "only time fields take a bucket")),
        (_, None) => Ok(Group { field, bucket: None, name: field.name.to_owned() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query(value: Value) -> Result<Plan, Error> {
        serde_json::from_value::<Query>(value).map_err(|e| invalid("query", e))?.plan()
    }

    fn refused(value: Value) -> String {
        match query(value) {
            Err(Error::Unprocessable { code: "query_invalid", detail }) => detail,
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn a_good_query_plans_with_named_columns() {
        let plan = query(json!({
            "dataset": "tickets",
            "measures": [{"fn": "count"}, {"fn": "avg", "field": "first_reply_seconds"},
                         {"fn": "rate", "condition": {"field": "sentiment", "op": "eq", "value": "negative"}}],
            "filters": [{"field": "created_at", "op": "between", "value": ["2026-11-01", "2026-12-01"]},
                        {"field": "channel", "op": "in", "value": ["email", "chat"]}],
            "group_by": [{"field": "created_at", "bucket": "week"}, {"field": "intent"}],
            "order_by": [{"column": "count", "descending": true}],
            "time_zone": "Asia/Shanghai"
        }))
        .expect("valid");
        let names: Vec<&str> =
            plan.groups.iter().map(|g| g.name.as_str()).chain(plan.measures.iter().map(|m| m.name.as_str())).collect();
        assert_eq!(
            names,
            ["created_at_week", "intent", "count", "avg(first_reply_seconds)", "rate(sentiment eq negative)"]
        );
        assert_eq!(plan.order, [(2, true)]);
        assert_eq!(plan.limit, DEFAULT_LIMIT);
        // A date is midnight in the query's time zone.
        let Operand::Range(Scalar::Time(from), _) = &plan.filters[0].operand else { panic!() };
        assert_eq!(from.to_rfc3339(), "2026-10-31T16:00:00+00:00");
    }

    #[test]
    fn each_bad_part_is_named() {
        let base = |patch: Value| {
            let mut q = json!({"dataset": "tickets", "measures": [{"fn": "count"}]});
            for (k, v) in patch.as_object().expect("an object") {
                q[k] = v.clone();
            }
            q
        };
        assert!(
            refused(json!({"dataset": "users", "measures": [{"fn": "count"}]}))
                .starts_with("dataset: unknown dataset `users`")
        );
        assert!(
            refused(base(json!({"filters": [{"field": "password_hash", "op": "eq", "value": "x"}]})))
                .starts_with("filters[0].field")
        );
        assert!(
            refused(base(json!({"filters": [{"field": "status", "op": "contains", "value": "x"}]})))
                .starts_with("filters[0].op")
        );
        assert!(
            refused(base(json!({"filters": [{"field": "status", "op": "eq", "value": "'; DROP TABLE tickets; --"}]})))
                .starts_with("filters[0].value")
        );
        assert!(
            refused(base(json!({"filters": [{"field": "message_count", "op": "gt", "value": "3"}]})))
                .starts_with("filters[0].value")
        );
        assert!(
            refused(base(json!({"filters": [{"field": "created_at", "op": "gt", "value": "1066-10-14"}]})))
                .contains("from 2000 to 2100")
        );
        assert!(
            refused(base(json!({"filters": [{"field": "channel", "op": "in", "value": vec!["email"; 101]}]})))
                .contains("between 1 and 100")
        );
        assert!(
            refused(base(
                json!({"filters": [{"field": "created_at", "op": "between", "value": ["2026-12-01", "2026-11-01"]}]})
            ))
            .contains("low end")
        );
        assert!(refused(base(json!({"limit": 1001}))).starts_with("limit"));
        assert!(refused(base(json!({"limit": 0}))).starts_with("limit"));
        assert!(refused(base(json!({"time_zone": "Mars/Olympus_Mons"}))).starts_with("time_zone"));
        assert!(refused(base(json!({"group_by": [{"field": "created_at"}]}))).starts_with("group_by[0].bucket"));
        assert!(refused(base(json!({"group_by": [{"field": "message_count"}]}))).starts_with("group_by[0].field"));
        assert!(
            refused(base(json!({"group_by": [{"field": "a"}, {"field": "b"}, {"field": "c"}, {"field": "d"}]})))
                .starts_with("group_by")
        );
        assert!(refused(base(json!({"measures": [{"fn": "sum", "field": "status"}]}))).starts_with("measures[0].fn"));
        assert!(refused(base(json!({"measures": [{"fn": "drop"}]}))).starts_with("measures[0].fn"));
        assert!(refused(base(json!({"measures": []}))).starts_with("measures"));
        assert!(refused(base(json!({"measures": [{"fn": "count"}, {"fn": "count"}]}))).contains("twice"));
        assert!(refused(base(json!({"order_by": [{"column": "1; DELETE"}]}))).starts_with("order_by[0].column"));
        assert!(refused(base(json!({"filters": [{"field": "assignee", "op": "eq", "value": "me"}]}))).contains("UUID"));
        assert!(
            refused(base(json!({"filters": [{"field": "intent", "op": "eq", "value": "x".repeat(201)}]})))
                .contains("200")
        );
    }
}
