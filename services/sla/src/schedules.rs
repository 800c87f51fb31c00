//! The tenant's business-hour schedules: named, one of them the default (whose time zone is
//! the tenant's own, for questions about dates). Replaced as a whole by admins; a schedule
//! keeps its id while it keeps its name, so what refers to it stays put.

use chrono::{DateTime, Utc};
use copilot_core::{Error, Principal};
use copilot_entities::business_hours;
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::hours::{DAYS, Schedule};

/// Schedules one tenant may keep.
pub const MAX_SCHEDULES: usize = 20;

/// A schedule as sent: each weekday's intervals (`[("09:00", "17:30")]`) and holidays.
#[derive(Clone, Debug, Default)]
pub struct ScheduleIn {
    pub name: String,
    pub default: bool,
    pub time_zone: String,
    pub week: Vec<(String, Vec<(String, String)>)>,
    pub holidays: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct NamedSchedule {
    pub id: Uuid,
    pub name: String,
    pub default: bool,
    pub schedule: Schedule,
    pub updated_at: DateTime<Utc>,
}

fn stored_week(schedule: &Schedule) -> Value {
    let days: serde_json::Map<String, Value> = schedule
        .shown_week()
        .into_iter()
        .map(|(day, intervals)| (day, json!(intervals.into_iter().map(|(s, e)| [s, e]).collect::<Vec<_>>())))
        .collect();
    Value::Object(days)
}

fn read(row: business_hours::Model) -> Option<NamedSchedule> {
    let week: Vec<(String, Vec<(String, String)>)> = DAYS
        .iter()
        .map(|day| {
            let intervals: Vec<(String, String)> = serde_json::from_value(row.week[*day].clone()).unwrap_or_default();
            (day.to_string(), intervals)
        })
        .collect();
    let holidays: Vec<String> = serde_json::from_value(row.holidays).unwrap_or_default();
    // Stored only after the same check; past holidays stay valid once saved. A zone the
    // time-zone data no longer knows is said, not silently dropped.
    let schedule = match Schedule::parse(&row.time_zone, &week, &holidays, chrono::NaiveDate::MIN) {
        Ok(schedule) => schedule,
        Err(error) => {
            tracing::warn!(tenant = %row.tenant_id, schedule = %row.name, %error, "a stored business-hours schedule no longer reads");
            return None;
        }
    };
    Some(NamedSchedule { id: row.id, name: row.name, default: row.is_default, schedule, updated_at: row.updated_at })
}

/// The tenant's schedules, the default first, then by name.
pub async fn list(tx: &TenantTx) -> Result<Vec<NamedSchedule>, Error> {
    let rows = business_hours::Entity::scoped(tx.tenant())
        .order_by_desc(business_hours::Column::IsDefault)
        .order_by_asc(business_hours::Column::Name)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().filter_map(read).collect())
}

/// The default schedule, which business-hours targets count in.
pub async fn default_schedule(tx: &TenantTx) -> Result<Option<Schedule>, Error> {
    let row = business_hours::Entity::scoped(tx.tenant())
        .filter(business_hours::Column::IsDefault.eq(true))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.and_then(read).map(|named| named.schedule))
}

/// The default schedule's time zone: the tenant's own.
pub async fn time_zone(tx: &TenantTx) -> Result<Option<String>, Error> {
    let row = business_hours::Entity::scoped(tx.tenant())
        .filter(business_hours::Column::IsDefault.eq(true))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.map(|row| row.time_zone))
}

/// Replaces the tenant's schedules (admins): 0 to 20, names unique, exactly one default
/// (a single schedule is the default).
pub async fn replace(tx: &TenantTx, by: &Principal, schedules: Vec<ScheduleIn>) -> Result<Vec<NamedSchedule>, Error> {
    by.require_admin()?;
    if schedules.len() > MAX_SCHEDULES {
        return Err(Error::validation("invalid_hours", format!("at most {MAX_SCHEDULES} schedules")));
    }
    let defaults = schedules.iter().filter(|s| s.default).count();
    if !schedules.is_empty() && defaults != 1 && !(schedules.len() == 1 && defaults == 0) {
        return Err(Error::validation("invalid_hours", "exactly one schedule is the default"));
    }
    let mut checked = Vec::with_capacity(schedules.len());
    for input in &schedules {
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 80 || name.contains(['\n', '\r']) {
            return Err(Error::validation("invalid_hours", "a schedule's name is one line of 1 to 80 characters"));
        }
        if checked.iter().any(|(other, _, _): &(String, bool, Schedule)| other == name) {
            return Err(Error::validation("invalid_hours", format!("`{name}` is named twice")));
        }
        // "In the past" by the schedule's own calendar.
        let zone: chrono_tz::Tz = input.time_zone.parse().unwrap_or(chrono_tz::UTC);
        let today = copilot_core::now().with_timezone(&zone).date_naive();
        let schedule = Schedule::parse(&input.time_zone, &input.week, &input.holidays, today)?;
        checked.push((name.to_owned(), input.default || schedules.len() == 1, schedule));
    }
    let existing = business_hours::Entity::scoped(tx.tenant()).all(&**tx).await.map_err(db_err)?;
    let now = copilot_core::now();
    let mut kept = Vec::new();
    for (name, default, schedule) in &checked {
        let week = stored_week(schedule);
        let holidays = json!(schedule.holidays.iter().map(|d| d.to_string()).collect::<Vec<_>>());
        let zone = schedule.time_zone.name().to_owned();
        match existing.iter().find(|row| &row.name == name) {
            Some(row) => {
                let mut change: business_hours::ActiveModel = row.clone().into();
                change.is_default = Set(*default);
                change.time_zone = Set(zone);
                change.week = Set(week);
                change.holidays = Set(holidays);
                change.updated_at = Set(now);
                change.update(&**tx).await.map_err(db_err)?;
                kept.push(row.id);
            }
            None => {
                let row = business_hours::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    tenant_id: Set(tx.tenant().0),
                    name: Set(name.clone()),
                    is_default: Set(*default),
                    time_zone: Set(zone),
                    week: Set(week),
                    holidays: Set(holidays),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&**tx)
                .await
                .map_err(db_err)?;
                kept.push(row.id);
            }
        }
    }
    business_hours::Entity::delete_many()
        .filter(business_hours::Column::TenantId.eq(tx.tenant().0))
        .filter(business_hours::Column::Id.is_not_in(kept))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    let names: Vec<&str> = checked.iter().map(|(name, _, _)| name.as_str()).collect();
    let target = audit::Target { kind: "business_hours", id: None, label: None };
    audit::record(tx, by.actor, "business_hours.updated", target, json!({ "schedules": names })).await?;
    list(tx).await
}
