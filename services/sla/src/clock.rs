//! Time on a schedule's clock: how much business time lies between two instants, and the
//! instant by which a number of business minutes has passed. The wall clock of the zone
//! decides: between clock changes local time runs with real time, so the time is walked
//! in stretches that end where the local clock reaches an interval's edge or midnight, or
//! where the zone's offset changes (found to the second).

use chrono::{DateTime, Datelike, Duration, Offset, TimeZone, Timelike, Utc};

use crate::hours::Schedule;

/// How far ahead a due time is looked for.
const HORIZON_DAYS: i64 = 800;

impl Schedule {
    fn offset_at(&self, at: DateTime<Utc>) -> i32 {
        self.time_zone.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc()
    }

    /// The end of the stretch that starts at `at`: the next instant at which the local
    /// clock reaches a minute of the day that bounds an interval (or midnight), or the
    /// zone's offset changes, whichever comes first. Open or closed holds throughout.
    fn stretch_end(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&self.time_zone);
        let now = i64::from(local.hour() * 60 + local.minute());
        let seconds_in = i64::from(local.second());
        let day = local.weekday().num_days_from_monday() as usize;
        let next_edge = self.week[day]
            .iter()
            .flat_map(|(start, end)| [i64::from(*start), i64::from(*end)])
            .filter(|edge| *edge > now)
            .min()
            .unwrap_or(1440);
        let edge = at + Duration::seconds((next_edge - now) * 60 - seconds_in)
            - Duration::nanoseconds(i64::from(at.nanosecond()));
        let offset = self.offset_at(at);
        if self.offset_at(edge) == offset {
            return edge;
        }
        // The offset changes before the edge: find the first second of the new offset (clock
        // changes fall on whole seconds).
        let (mut low, mut high) = (at.timestamp(), edge.timestamp() + 1);
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            let instant = DateTime::from_timestamp(middle, 0).unwrap_or(edge);
            if self.offset_at(instant) == offset { low = middle } else { high = middle }
        }
        DateTime::from_timestamp(high, 0).unwrap_or(edge)
    }

    /// Business time in `[from, to)`, to the second.
    pub fn business_time(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        let mut at = from;
        while at < to {
            let end = self.stretch_end(at).min(to);
            if self.is_open(at) {
                total += end - at;
            }
            at = end;
        }
        total
    }

    /// The instant by which `minutes` of business time have passed since `from`; none when
    /// the schedule opens too little within the horizon (about two years).
    pub fn after_business_minutes(&self, from: DateTime<Utc>, minutes: i64) -> Option<DateTime<Utc>> {
        self.after_business_time(from, Duration::minutes(minutes))
    }

    /// The instant by which `time` of business time has passed since `from` (see
    /// [`Self::after_business_minutes`]).
    pub fn after_business_time(&self, from: DateTime<Utc>, time: Duration) -> Option<DateTime<Utc>> {
        let mut left = time.max(Duration::zero());
        let horizon = from + Duration::days(HORIZON_DAYS);
        let mut at = from;
        if left.is_zero() {
            return Some(from);
        }
        while at < horizon {
            let end = self.stretch_end(at);
            if self.is_open(at) {
                if end - at >= left {
                    return Some(at + left);
                }
                left -= end - at;
            }
            at = end;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::NaiveDate;
    use chrono_tz::Tz;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    use super::*;
    use crate::hours::Weekly;

    /// The reference: whole minutes stepped one by one, each open or closed by the wall clock.
    fn reference_after(schedule: &Schedule, from: DateTime<Utc>, minutes: i64) -> Option<DateTime<Utc>> {
        let mut left = minutes;
        let mut at = from;
        if left == 0 {
            return Some(from);
        }
        for _ in 0..(40 * 24 * 60) {
            if schedule.is_open(at) {
                left -= 1;
                if left == 0 {
                    return Some(at + Duration::minutes(1));
                }
            }
            at += Duration::minutes(1);
        }
        None
    }

    fn reference_between(schedule: &Schedule, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        let mut at = from;
        while at < to {
            if schedule.is_open(at) {
                total += Duration::minutes(1);
            }
            at += Duration::minutes(1);
        }
        total
    }

    const ZONES: [&str; 8] = [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "America/Sao_Paulo",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "America/Havana",
    ];

    fn random_schedule(rng: &mut StdRng) -> Schedule {
        let mut week: Weekly = Default::default();
        for day in &mut week {
            let mut edges: Vec<u16> = (0..rng.random_range(0..=3) * 2).map(|_| rng.random_range(0..=96) * 15).collect();
            edges.sort_unstable();
            edges.dedup();
            *day = edges.chunks_exact(2).map(|pair| (pair[0], pair[1])).filter(|(s, e)| s < e).collect();
        }
        if week.iter().all(Vec::is_empty) {
            week[0] = vec![(540, 1020)];
        }
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a date");
        let holidays: BTreeSet<NaiveDate> =
            (0..rng.random_range(0..20)).map(|_| start + Duration::days(rng.random_range(0..900))).collect();
        let time_zone: Tz = ZONES[rng.random_range(0..ZONES.len())].parse().expect("a zone");
        Schedule { time_zone, week, holidays }
    }

    /// A start within two days of one of the zone's clock changes (found by its offsets)
    /// most of the time, else anywhere in two years.
    fn random_start(rng: &mut StdRng, zone: Tz) -> DateTime<Utc> {
        let first = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("a time").with_timezone(&Utc);
        let offset = |at: DateTime<Utc>| zone.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc();
        let changes: Vec<DateTime<Utc>> = (0..730)
            .map(|day| first + Duration::days(day))
            .filter(|day| offset(*day) != offset(*day + Duration::days(1)))
            .collect();
        let base = if !changes.is_empty() && rng.random_bool(0.7) {
            changes[rng.random_range(0..changes.len())] + Duration::hours(12)
        } else {
            first + Duration::days(rng.random_range(0..700))
        };
        base + Duration::minutes(rng.random_range(-2880..2880))
    }

    #[test]
    fn due_times_equal_a_minute_by_minute_count_across_clock_changes_and_holidays() {
        let mut rng = StdRng::seed_from_u64(20261205);
        for case in 0..300 {
            let schedule = random_schedule(&mut rng);
            let from = random_start(&mut rng, schedule.time_zone);
            // Up to two weeks of the schedule's business time, so the reference stays short.
            let weekly: i64 = schedule.week.iter().flatten().map(|(s, e)| i64::from(e - s)).sum();
            let minutes = rng.random_range(0..=(2 * weekly).min(2500));
            let due = schedule.after_business_minutes(from, minutes);
            assert_eq!(
                due,
                reference_after(&schedule, from, minutes),
                "case {case}: {schedule:?} from {from} + {minutes}"
            );
            if let Some(due) = due {
                assert_eq!(schedule.business_time(from, due), Duration::minutes(minutes), "case {case}");
            }
            let to = from + Duration::minutes(rng.random_range(0..4000));
            assert_eq!(
                schedule.business_time(from, to),
                reference_between(&schedule, from, to),
                "case {case}: {schedule:?}"
            );
        }
    }

    #[test]
    fn an_overnight_shift_and_a_spring_forward_night() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).expect("a time").with_timezone(&Utc);
        let mut week: Weekly = Default::default();
        week[5] = vec![(22 * 60, 1440)];
        week[6] = vec![(0, 6 * 60)];
        let schedule =
            Schedule { time_zone: "Europe/Berlin".parse().expect("a zone"), week, holidays: BTreeSet::new() };
        // Saturday 28 March 2026, 22:00 in Berlin; the clocks go forward at 02:00 on Sunday,
        // so the night shift lasts 7 real hours, not 8.
        let from = at("2026-03-28T21:00:00Z");
        assert_eq!(schedule.business_time(from, from + Duration::days(1)), Duration::hours(7));
        assert_eq!(schedule.after_business_minutes(from, 5 * 60), Some(at("2026-03-29T02:00:00Z")));
        // A schedule never open in the horizon has no due time.
        let closed = Schedule { week: Default::default(), ..schedule };
        assert_eq!(closed.after_business_minutes(from, 1), None);
    }
}
