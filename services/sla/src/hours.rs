//! Business hours as a value: per weekday, opening intervals of the local clock
//! (`["09:00", "17:30"]`, the end after the start, `24:00` for midnight at the end of the
//! day), holidays on which nothing opens, all in one IANA time zone. An overnight shift is
//! two intervals that meet at midnight (`mon: [["22:00", "24:00"]], tue: [["00:00",
//! "06:00"]]`). Whether the desk is open at an instant is read off the zone's wall clock,
//! so a clock change moves the real hours with it.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use copilot_core::Error;

/// Intervals a day may have.
pub const MAX_INTERVALS: usize = 10;
/// Holidays a schedule may list.
pub const MAX_HOLIDAYS: usize = 366;
/// The weekdays as the API names them, Monday first.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes after local midnight: `[start, end)`, end at most 1440.
pub type Interval = (u16, u16);

/// Each weekday's intervals, Monday first, sorted and apart.
pub type Weekly = [Vec<Interval>; 7];

#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub time_zone: Tz,
    pub week: Weekly,
    pub holidays: BTreeSet<NaiveDate>,
}

fn invalid(code: &'static str, detail: impl std::fmt::Display) -> Error {
    Error::validation(code, detail.to_string())
}

/// `"09:30"` as minutes after midnight; `"24:00"` only where `end`.
pub fn minutes(text: &str, end: bool) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if end => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Minutes after midnight as `HH:MM`.
pub fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl Schedule {
    /// Checks a schedule as sent: a known zone, each day's intervals in order and apart,
    /// holidays as dates from `today` on, without repeats.
    pub fn parse(
        time_zone: &str,
        week: &[(String, Vec<(String, String)>)],
        holidays: &[String],
        today: NaiveDate,
    ) -> Result<Self, Error> {
        let time_zone: Tz = time_zone
            .parse()
            .map_err(|_| invalid("invalid_time_zone", format!("`{time_zone}` is not an IANA time zone")))?;
        let mut parsed: Weekly = Default::default();
        let mut seen = [false; 7];
        for (day, intervals) in week {
            let index = DAYS
                .iter()
                .position(|d| d == day)
                .ok_or_else(|| invalid("invalid_hours", format!("`{day}` is not a weekday ({})", DAYS.join(", "))))?;
            if std::mem::replace(&mut seen[index], true) {
                return Err(invalid("invalid_hours", format!("`{day}` is given twice")));
            }
            if intervals.len() > MAX_INTERVALS {
                return Err(invalid("invalid_hours", format!("`{day}` has more than {MAX_INTERVALS} intervals")));
            }
            let mut day_intervals = Vec::with_capacity(intervals.len());
            for (start, end) in intervals {
                let (Some(from), Some(to)) = (minutes(start, false), minutes(end, true)) else {
                    return Err(invalid(
                        "invalid_hours",
                        format!("`{day}`: `{start}`–`{end}` is not two times from 00:00 to 24:00"),
                    ));
                };
                if from >= to {
                    return Err(invalid(
                        "invalid_hours",
                        format!(
                            "`{day}`: `{start}`–`{end}` ends before it starts; an overnight shift is two intervals \
                             that meet at 24:00 and 00:00"
                        ),
                    ));
                }
                day_intervals.push((from, to));
            }
            day_intervals.sort_unstable();
            if let Some(pair) = day_intervals.windows(2).find(|pair| pair[1].0 < pair[0].1) {
                return Err(invalid(
                    "invalid_hours",
                    format!(
                        "`{day}`: {}–{} overlaps {}–{}",
                        clock(pair[0].0),
                        clock(pair[0].1),
                        clock(pair[1].0),
                        clock(pair[1].1)
                    ),
                ));
            }
            parsed[index] = day_intervals;
        }
        if holidays.len() > MAX_HOLIDAYS {
            return Err(invalid("invalid_holidays", format!("at most {MAX_HOLIDAYS} holidays")));
        }
        let mut dates = BTreeSet::new();
        for text in holidays {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| invalid("invalid_holidays", format!("`{text}` is not a date (2027-01-01)")))?;
            if date < today {
                return Err(invalid("invalid_holidays", format!("`{text}` is in the past")));
            }
            if !dates.insert(date) {
                return Err(invalid("invalid_holidays", format!("`{text}` is listed twice")));
            }
        }
        Ok(Self { time_zone, week: parsed, holidays: dates })
    }

    /// Whether the desk is open at `at`: its local date is no holiday and its local time
    /// lies in one of that weekday's intervals.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.time_zone);
        if self.holidays.contains(&local.date_naive()) {
            return false;
        }
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.week[local.weekday().num_days_from_monday() as usize]
            .iter()
            .any(|(start, end)| (*start..*end).contains(&minute))
    }

    /// Each weekday's intervals as the API shows them.
    pub fn shown_week(&self) -> Vec<(String, Vec<(String, String)>)> {
        DAYS.iter()
            .zip(&self.week)
            .map(|(day, intervals)| (day.to_string(), intervals.iter().map(|(s, e)| (clock(*s), clock(*e))).collect()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(days: &[(&str, &[(&str, &str)])]) -> Vec<(String, Vec<(String, String)>)> {
        days.iter()
            .map(|(day, intervals)| {
                (day.to_string(), intervals.iter().map(|(s, e)| (s.to_string(), e.to_string())).collect())
            })
            .collect()
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 5).expect("a date")
    }

    fn code(result: Result<Schedule, Error>) -> &'static str {
        match result {
            Err(Error::Validation { code, .. }) => code,
            other => panic!("not refused: {other:?}"),
        }
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a time").with_timezone(&Utc)
    }

    #[test]
    fn bad_schedules_are_refused_with_their_reason() {
        let ok: &[(&str, &str)] = &[("09:00", "17:30")];
        assert_eq!(code(Schedule::parse("Mars/Base", &week(&[("mon", ok)]), &[], today())), "invalid_time_zone");
        for bad in [
            week(&[("mon", &[("17:00", "09:00")])]),
            week(&[("mon", &[("09:00", "09:00")])]),
            week(&[("mon", &[("09:00", "12:00"), ("11:00", "13:00")])]),
            week(&[("mon", &[("24:00", "24:00")])]),
            week(&[("mon", &[("00:00", "24:01")])]),
            week(&[("mon", &[("9:00", "17:00")])]),
            week(&[("monday", ok)]),
            week(&[("mon", ok), ("mon", ok)]),
            week(&[("mon", &[("00:00", "01:00"); 11])]),
        ] {
            assert_eq!(code(Schedule::parse("UTC", &bad, &[], today())), "invalid_hours", "{bad:?}");
        }
        for bad in [vec!["2026-12-04".to_owned()], vec!["2027-13-01".to_owned()], vec!["2027-01-01".to_owned(); 2]] {
            assert_eq!(code(Schedule::parse("UTC", &week(&[("mon", ok)]), &bad, today())), "invalid_holidays");
        }
        // Touching intervals and a whole day are fine.
        Schedule::parse("UTC", &week(&[("mon", &[("00:00", "12:00"), ("12:00", "24:00")])]), &[], today())
            .expect("valid");
    }

    #[test]
    fn open_hours_follow_the_wall_clock_holidays_and_overnight_shifts() {
        let shifts = week(&[("fri", &[("09:00", "17:30"), ("22:00", "24:00")]), ("sat", &[("00:00", "06:00")])]);
        let schedule = Schedule::parse("Europe/Berlin", &shifts, &["2026-12-25".to_owned()], today()).expect("valid");
        // Friday 4 December 2026, Berlin is UTC+1.
        assert!(schedule.is_open(at("2026-12-04T08:00:00Z")));
        assert!(!schedule.is_open(at("2026-12-04T16:30:00Z")));
        assert!(schedule.is_open(at("2026-12-04T23:30:00Z")));
        assert!(schedule.is_open(at("2026-12-05T04:59:00Z")));
        assert!(!schedule.is_open(at("2026-12-05T05:00:00Z")));
        // Christmas is a Friday: closed all day, and the night's shift opens only after midnight.
        assert!(!schedule.is_open(at("2026-12-25T10:00:00Z")));
        assert!(!schedule.is_open(at("2026-12-25T22:00:00Z")));
        assert!(schedule.is_open(at("2026-12-25T23:30:00Z")));
        // Summer time: 09:00 in Berlin is 07:00 UTC.
        assert!(schedule.is_open(at("2027-06-04T07:00:00Z")));
        assert!(!schedule.is_open(at("2027-06-04T06:59:00Z")));
        assert_eq!(
            schedule.shown_week()[4].1,
            vec![("09:00".into(), "17:30".into()), ("22:00".into(), "24:00".into())]
        );
    }
}
