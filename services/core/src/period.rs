//! Reporting periods and the ranges analytics may cover.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    Month,
}

impl std::str::FromStr for Period {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self, Error> {
        match value {
            "day" => Ok(Self::Day),
            "week" => Ok(Self::Week),
            "month" => Ok(Self::Month),
            _ => Err(Error::validation("invalid_period", "`period` must be day, week or month")),
        }
    }
}

impl Period {
    /// The start of the period holding `at` (weeks start on Monday).
    pub fn start(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let date = at.date_naive();
        let start = match self {
            Self::Day => date,
            Self::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
            Self::Month => NaiveDate::from_ymd_opt(date.year(), date.month(), 1).unwrap_or(date),
        };
        start.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
    }

    /// The start of the period after the one starting at `start`.
    pub fn next(self, start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Day => start + Duration::days(1),
            Self::Week => start + Duration::days(7),
            Self::Month => start.checked_add_months(Months::new(1)).unwrap_or(start + Duration::days(31)),
        }
    }
}

/// Longest range one request may cover.
const MAX_RANGE_DAYS: i64 = 366;

/// Checks that `[from, to)` is a range one request may cover.
pub fn check_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(), Error> {
    if from >= to || to - from > Duration::days(MAX_RANGE_DAYS) {
        return Err(Error::validation(
            "invalid_range",
            format!("`from` must be before `to`, at most {MAX_RANGE_DAYS} days apart"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_at_midnight_monday_and_the_first() {
        let at =
            DateTime::parse_from_rfc3339("2026-12-03T15:30:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default();
        assert_eq!(Period::Day.start(at).to_rfc3339(), "2026-12-03T00:00:00+00:00");
        assert_eq!(Period::Week.start(at).to_rfc3339(), "2026-11-30T00:00:00+00:00");
        assert_eq!(Period::Month.start(at).to_rfc3339(), "2026-12-01T00:00:00+00:00");
    }
}
