//! Relative dates in a query ("last week", "since Monday"), resolved to times in the
//! query's time zone before it is checked, so that the query shown and run names real
//! dates while a saved one stays relative and moves with the calendar.
//!
//! A time field's value may be a period: `today`, `yesterday`, `this_week`, `last_week`,
//! `this_month`, `last_month`, `this_year`, `last_year`, `last_N_days`, `last_N_weeks`,
//! `last_N_months` (N days, weeks or months up to and including today), or a weekday
//! (`monday` … `sunday`: the latest such day, today included). Weeks start on Monday.
//! `eq` or `between` a period keeps its rows (as `gte` its start and `lt` its end), `gte`
//! and `gt` start at it, `lt` ends before it, `lte` ends with it.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, SecondsFormat, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use copilot_core::Error;
use serde_json::Value;

use crate::{
    catalogue::{Dataset, Kind},
    query::{FilterIn, Query},
};

/// The most days, weeks and months a `last_N_…` period may span.
const MAX_DAYS: u32 = 3660;
const MAX_WEEKS: u32 = 520;
const MAX_MONTHS: u32 = 120;

/// The periods and weekdays a time value may name, for prompts and errors.
pub const NAMES: &str = "today, yesterday, this_week, last_week, this_month, last_month, this_year, last_year, \
                         last_N_days, last_N_weeks, last_N_months, monday … sunday";

/// Today in `time_zone` as a planner reads it, `2026-12-05 (Saturday)`; none for a zone
/// that does not exist.
pub fn today(now: DateTime<Utc>, time_zone: &str) -> Option<String> {
    let zone: Tz = time_zone.parse().ok()?;
    Some(now.with_timezone(&zone).format("%Y-%m-%d (%A)").to_string())
}

/// `[start, end)` in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The period or weekday `name` as of `now` in `time_zone`; none when it names neither.
pub fn span(name: &str, now: DateTime<Utc>, time_zone: Tz) -> Option<Span> {
    let today = now.with_timezone(&time_zone).date_naive();
    let week = today.week(Weekday::Mon).first_day();
    let month = today.with_day(1)?;
    let year = NaiveDate::from_ymd_opt(today.year(), 1, 1)?;
    let (first, last_exclusive) = match name {
        "today" => (today, today + Days::new(1)),
        "yesterday" => (today - Days::new(1), today),
        "this_week" => (week, week + Days::new(7)),
        "last_week" => (week - Days::new(7), week),
        "this_month" => (month, month + Months::new(1)),
        "last_month" => (month - Months::new(1), month),
        "this_year" => (year, year + Months::new(12)),
        "last_year" => (year - Months::new(12), year),
        _ => match weekday(name) {
            Some(day) => {
                let back = (7 + today.weekday().num_days_from_monday() - day.num_days_from_monday()) % 7;
                let first = today - Days::new(u64::from(back));
                (first, first + Days::new(1))
            }
            None => {
                let (count, unit) = counted(name)?;
                let first = match unit {
                    "days" if count <= MAX_DAYS => today - Days::new(u64::from(count) - 1),
                    "weeks" if count <= MAX_WEEKS => today - Days::new(u64::from(count) * 7 - 1),
                    "months" if count <= MAX_MONTHS => today.checked_sub_months(Months::new(count))? + Days::new(1),
                    _ => return None,
                };
                (first, today + Days::new(1))
            }
        },
    };
    Some(Span { start: midnight(first, time_zone)?, end: midnight(last_exclusive, time_zone)? })
}

fn weekday(name: &str) -> Option<Weekday> {
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
        .iter()
        .position(|day| *day == name)
        .and_then(|i| Weekday::try_from(i as u8).ok())
}

/// `last_14_days` → (14, "days").
fn counted(name: &str) -> Option<(u32, &str)> {
    let (count, unit) = name.strip_prefix("last_")?.split_once('_')?;
    let count: u32 = count.parse().ok().filter(|n| *n >= 1)?;
    matches!(unit, "days" | "weeks" | "months").then_some((count, unit))
}

/// The first instant of `date` in `time_zone` (the earliest, where a clock change repeats
/// midnight; the first after it, where one skips it).
fn midnight(date: NaiveDate, time_zone: Tz) -> Option<DateTime<Utc>> {
    let local = date.and_time(NaiveTime::MIN);
    (0..=3)
        .find_map(|hour| time_zone.from_local_datetime(&(local + chrono::Duration::hours(hour))).earliest())
        .map(|t| t.with_timezone(&Utc))
}

/// A time as the resolved query shows it: RFC 3339 in the query's time zone.
fn shown(time: DateTime<Utc>, time_zone: Tz) -> Value {
    Value::String(time.with_timezone(&time_zone).to_rfc3339_opts(SecondsFormat::AutoSi, false))
}

/// The query with every relative value of a time field replaced by times as of `now`;
/// the query as it was where its dataset, a field or its time zone is unknown (checking it
/// names the part). A period where a single time is needed is refused naming the part.
pub fn resolve(query: &Query, now: DateTime<Utc>) -> Result<Query, Error> {
    let Some(dataset) = Dataset::parse(&query.dataset) else { return Ok(query.clone()) };
    let time_zone = match &query.time_zone {
        None => Tz::UTC,
        Some(name) => match name.parse::<Tz>() {
            Ok(zone) => zone,
            Err(_) => return Ok(query.clone()),
        },
    };
    let relative = |filter: &FilterIn| -> Option<Span> {
        dataset.field(&filter.field).filter(|f| f.kind == Kind::Time)?;
        span(filter.value.as_str()?, now, time_zone)
    };
    let invalid = |part: String, op: &str| {
        Error::unprocessable(
            "query_invalid",
            format!("{part}.value: `{op}` takes a time, not a period; use between, gte, gt, lt or lte"),
        )
    };
    let with = |filter: &FilterIn, op: &str, time: DateTime<Utc>| FilterIn {
        field: filter.field.clone(),
        op: op.to_owned(),
        value: shown(time, time_zone),
    };
    let mut filters = Vec::with_capacity(query.filters.len());
    for (i, filter) in query.filters.iter().enumerate() {
        let Some(period) = relative(filter) else {
            filters.push(filter.clone());
            continue;
        };
        match filter.op.as_str() {
            "eq" | "between" => {
                filters.push(with(filter, "gte", period.start));
                filters.push(with(filter, "lt", period.end));
            }
            "gte" | "gt" => filters.push(with(filter, "gte", period.start)),
            "lt" => filters.push(with(filter, "lt", period.start)),
            "lte" => filters.push(with(filter, "lt", period.end)),
            op => return Err(invalid(format!("filters[{i}]"), op)),
        }
    }
    let mut measures = query.measures.clone();
    for (i, measure) in measures.iter_mut().enumerate() {
        let Some(condition) = measure.condition.as_mut() else { continue };
        let Some(period) = relative(condition) else { continue };
        // One condition: the period's last instant closes `between`.
        let last = period.end - chrono::Duration::milliseconds(1);
        let (op, value) = match condition.op.as_str() {
            "eq" | "between" => ("between", Value::Array(vec![shown(period.start, time_zone), shown(last, time_zone)])),
            "gte" | "gt" => ("gte", shown(period.start, time_zone)),
            "lt" => ("lt", shown(period.start, time_zone)),
            "lte" => ("lte", shown(last, time_zone)),
            op => return Err(invalid(format!("measures[{i}].condition"), op)),
        };
        condition.op = op.to_owned();
        condition.value = value;
    }
    Ok(Query { filters, measures, ..query.clone() })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a time").with_timezone(&Utc)
    }

    fn local(span: Span, zone: Tz) -> (String, String) {
        let show = |t: DateTime<Utc>| t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string();
        (show(span.start), show(span.end))
    }

    #[test]
    fn periods_are_calendar_periods_in_the_time_zone() {
        // Saturday 5 December 2026, 01:30 in Shanghai (Friday 17:30 UTC).
        let now = at("2026-12-04T17:30:00Z");
        let zone: Tz = "Asia/Shanghai".parse().expect("a zone");
        let of = |name: &str| local(span(name, now, zone).expect("a period"), zone);
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        assert_eq!(of("today"), pair("2026-12-05 00:00", "2026-12-06 00:00"));
        assert_eq!(of("yesterday"), pair("2026-12-04 00:00", "2026-12-05 00:00"));
        assert_eq!(of("this_week"), pair("2026-11-30 00:00", "2026-12-07 00:00"));
        assert_eq!(of("last_week"), pair("2026-11-23 00:00", "2026-11-30 00:00"));
        assert_eq!(of("last_month"), pair("2026-11-01 00:00", "2026-12-01 00:00"));
        assert_eq!(of("this_year"), pair("2026-01-01 00:00", "2027-01-01 00:00"));
        assert_eq!(of("last_7_days"), pair("2026-11-29 00:00", "2026-12-06 00:00"));
        assert_eq!(of("last_2_weeks"), pair("2026-11-22 00:00", "2026-12-06 00:00"));
        assert_eq!(of("last_3_months"), pair("2026-09-06 00:00", "2026-12-06 00:00"));
        assert_eq!(of("monday"), pair("2026-11-30 00:00", "2026-12-01 00:00"));
        assert_eq!(of("saturday"), pair("2026-12-05 00:00", "2026-12-06 00:00"));
        // In UTC the same instant is still Friday.
        assert_eq!(local(span("today", now, Tz::UTC).expect("a period"), Tz::UTC).0, "2026-12-04 00:00");
        for name in ["last_0_days", "last_99999_days", "next_week", "last_3_fortnights", "2026-11-01", "Monday"] {
            assert_eq!(span(name, now, zone), None, "{name}");
        }
    }

    #[test]
    fn a_day_that_skips_its_midnight_starts_when_it_begins() {
        // São Paulo skipped midnight on 4 November 2018: the day began at 01:00.
        let zone: Tz = "America/Sao_Paulo".parse().expect("a zone");
        let day = span("yesterday", at("2018-11-05T12:00:00Z"), zone).expect("a period");
        assert_eq!(day.start, at("2018-11-04T03:00:00Z"));
        assert_eq!(day.end, at("2018-11-05T02:00:00Z"));
    }

    fn query(value: Value) -> Query {
        serde_json::from_value(value).expect("a query")
    }

    #[test]
    fn filters_with_periods_become_bounds_shown_in_the_time_zone() {
        let now = at("2026-12-04T17:30:00Z");
        let asked = query(json!({
            "dataset": "tickets",
            "measures": [{"fn": "count"},
                         {"fn": "rate", "condition": {"field": "created_at", "op": "eq", "value": "yesterday"}}],
            "filters": [{"field": "created_at", "op": "between", "value": "last_week"},
                        {"field": "channel", "op": "eq", "value": "today"},
                        {"field": "updated_at", "op": "gte", "value": "monday"}],
            "time_zone": "Asia/Shanghai",
        }));
        let resolved = resolve(&asked, now).expect("resolved");
        let shown: Vec<(String, String, Value)> =
            resolved.filters.iter().map(|f| (f.field.clone(), f.op.clone(), f.value.clone())).collect();
        assert_eq!(
            shown,
            [
                ("created_at".into(), "gte".into(), json!("2026-11-23T00:00:00+08:00")),
                ("created_at".into(), "lt".into(), json!("2026-11-30T00:00:00+08:00")),
                // Not a time field: left for the check to judge.
                ("channel".into(), "eq".into(), json!("today")),
                ("updated_at".into(), "gte".into(), json!("2026-11-30T00:00:00+08:00")),
            ]
        );
        let condition = resolved.measures[1].condition.as_ref().expect("a condition");
        assert_eq!(
            (condition.op.as_str(), &condition.value),
            ("between", &json!(["2026-12-04T00:00:00+08:00", "2026-12-04T23:59:59.999+08:00"]))
        );
        let refused = resolved.plan().expect_err("`today` is no channel");
        assert!(refused.to_string().contains("filters[2].value"), "{refused}");
    }

    #[test]
    fn a_period_where_one_time_is_needed_is_refused() {
        let asked = query(json!({
            "dataset": "tickets", "measures": [{"fn": "count"}],
            "filters": [{"field": "created_at", "op": "ne", "value": "last_week"}],
        }));
        let refused = resolve(&asked, at("2026-12-04T17:30:00Z")).expect_err("refused");
        assert!(refused.to_string().contains("filters[0].value"), "{refused}");
    }
}
