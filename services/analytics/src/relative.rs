//! Relative dates in a query ("last week", "since Monday"), resolved to times in the
//! query's time zone before it is checked, so that the query shown and run names real
//! dates while a saved one stays relative and moves with the calendar.
//!
//! A time field's value may be a period: `today`, `yesterday`, `this_week`, `last_week`,
//! `this_month`, `last_month`, `this_year`, `last_year`, `last_N_days`, `last_N_weeks`,
//! `last_N_months` (N days, weeks or months up to and including today), or a weekday
//! (`monday` … `sunday`: the latest such day, today included), or a date (that day).
//! Weeks start on Monday. `eq` or `between` a period keeps its rows (`between` its first
//! and last instant; `between [a, b]` from the start of `a` to the end of `b`), `gte`
//! starts at it, `gt` after it, `lt` ends before it, `lte` ends with it. Each filter stays
//! one filter, so an error still names the part as it was sent.

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
        _ if NaiveDate::parse_from_str(name, "%Y-%m-%d").is_ok() => {
            let date = NaiveDate::parse_from_str(name, "%Y-%m-%d").ok()?;
            (date, date.succ_opt()?)
        }
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
    let is_time = |filter: &FilterIn| dataset.field(&filter.field).is_some_and(|f| f.kind == Kind::Time);
    let period = |value: &Value| value.as_str().and_then(|name| span(name, now, time_zone));
    // The last instant of a period: stored times count microseconds.
    let last = |span: Span| span.end - chrono::Duration::microseconds(1);
    let resolved = |filter: &FilterIn, part: String| -> Result<FilterIn, Error> {
        if !is_time(filter) {
            return Ok(filter.clone());
        }
        let with = |op: &str, value: Value| FilterIn { field: filter.field.clone(), op: op.to_owned(), value };
        if let (Some(whole), "eq" | "between") = (period(&filter.value), filter.op.as_str()) {
            return Ok(with(
                "between",
                Value::Array(vec![shown(whole.start, time_zone), shown(last(whole), time_zone)]),
            ));
        }
        if let (Value::Array(ends), "between") = (&filter.value, filter.op.as_str())
            && let [low, high] = ends.as_slice()
        {
            let low = period(low).map_or(low.clone(), |p| shown(p.start, time_zone));
            let high = period(high).map_or(high.clone(), |p| shown(last(p), time_zone));
            return Ok(with("between", Value::Array(vec![low, high])));
        }
        let Some(whole) = period(&filter.value) else { return Ok(filter.clone()) };
        Ok(match filter.op.as_str() {
            "gte" => with("gte", shown(whole.start, time_zone)),
            "gt" => with("gte", shown(whole.end, time_zone)),
            "lt" => with("lt", shown(whole.start, time_zone)),
            "lte" => with("lt", shown(whole.end, time_zone)),
            op => {
                return Err(Error::unprocessable(
                    "query_invalid",
                    format!("{part}.value: `{op}` takes a time, not a period; use between, gte, gt, lt or lte"),
                ));
            }
        })
    };
    let filters = query
        .filters
        .iter()
        .enumerate()
        .map(|(i, filter)| resolved(filter, format!("filters[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut measures = query.measures.clone();
    for (i, measure) in measures.iter_mut().enumerate() {
        if let Some(condition) = measure.condition.as_mut() {
            *condition = resolved(condition, format!("measures[{i}].condition"))?;
        }
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
        for name in ["last_0_days", "last_99999_days", "next_week", "last_3_fortnights", "2026-13-01", "Monday"] {
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
                (
                    "created_at".into(),
                    "between".into(),
                    json!(["2026-11-23T00:00:00+08:00", "2026-11-29T23:59:59.999999+08:00"])
                ),
                // Not a time field: left for the check to judge.
                ("channel".into(), "eq".into(), json!("today")),
                ("updated_at".into(), "gte".into(), json!("2026-11-30T00:00:00+08:00")),
            ]
        );
        let condition = resolved.measures[1].condition.as_ref().expect("a condition");
        assert_eq!(
            (condition.op.as_str(), &condition.value),
            ("between", &json!(["2026-12-04T00:00:00+08:00", "2026-12-04T23:59:59.999999+08:00"]))
        );
        let refused = resolved.plan().expect_err("`today` is no channel");
        assert!(refused.to_string().contains("filters[1].value"), "{refused}");
    }

    #[test]
    fn dates_are_whole_days_and_a_range_runs_from_the_start_of_one_to_the_end_of_the_other() {
        let asked = query(json!({
            "dataset": "tickets", "measures": [{"fn": "count"}],
            "filters": [{"field": "created_at", "op": "eq", "value": "2026-11-30"},
                        {"field": "created_at", "op": "between", "value": ["monday", "today"]},
                        {"field": "created_at", "op": "lte", "value": "2026-11-30"},
                        {"field": "created_at", "op": "gt", "value": "last_week"},
                        {"field": "created_at", "op": "gte", "value": "2026-11-30T12:00:00Z"}],
        }));
        let resolved = resolve(&asked, at("2026-12-04T17:30:00Z")).expect("resolved");
        let values: Vec<(&str, &Value)> = resolved.filters.iter().map(|f| (f.op.as_str(), &f.value)).collect();
        assert_eq!(
            values,
            [
                ("between", &json!(["2026-11-30T00:00:00+00:00", "2026-11-30T23:59:59.999999+00:00"])),
                ("between", &json!(["2026-11-30T00:00:00+00:00", "2026-12-04T23:59:59.999999+00:00"])),
                ("lt", &json!("2026-12-01T00:00:00+00:00")),
                ("gte", &json!("2026-11-30T00:00:00+00:00")),
                ("gte", &json!("2026-11-30T12:00:00Z")),
            ]
        );
        resolved.plan().expect("valid");
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
