//! Service levels: the tenant's business hours.

use chrono::{DateTime, Utc};
use copilot_sla::schedules::{self, NamedSchedule, ScheduleIn};
use poem_openapi::{Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::Tag;
use crate::{
    AppState,
    auth::TenantAuth,
    error::{ApiError, ApiResult},
    json_body::JsonBody,
};

pub struct ServiceLevelsApi {
    pub state: AppState,
}

/// Each weekday's opening intervals, `[["09:00", "17:30"]]`, in the schedule's time zone;
/// an absent or empty day is closed. An overnight shift is two intervals that meet at
/// midnight: `mon: [["22:00", "24:00"]], tue: [["00:00", "06:00"]]`.
#[derive(Debug, Default, Object)]
pub struct WeekIn {
    #[oai(default)]
    pub mon: Vec<Vec<String>>,
    #[oai(default)]
    pub tue: Vec<Vec<String>>,
    #[oai(default)]
    pub wed: Vec<Vec<String>>,
    #[oai(default)]
    pub thu: Vec<Vec<String>>,
    #[oai(default)]
    pub fri: Vec<Vec<String>>,
    #[oai(default)]
    pub sat: Vec<Vec<String>>,
    #[oai(default)]
    pub sun: Vec<Vec<String>>,
}

/// A schedule of business hours.
#[derive(Debug, Object)]
pub struct ScheduleBody {
    /// Unique among the tenant's schedules; a schedule keeps its id while it keeps its name.
    pub name: String,
    /// The default schedule (exactly one; a single schedule is the default). Its time zone
    /// is the tenant's, e.g. for "last week" in `POST /v1/ask`.
    #[oai(default)]
    pub default: bool,
    /// An IANA time zone.
    pub time_zone: String,
    pub week: WeekIn,
    /// Dates (2027-01-01) on which nothing opens, from today on.
    #[oai(default)]
    pub holidays: Vec<String>,
}

#[derive(Debug, Object)]
pub struct BusinessHoursIn {
    /// Replaces every schedule; at most 20.
    pub schedules: Vec<ScheduleBody>,
}

#[derive(Debug, Object)]
pub struct ScheduleOut {
    pub id: Uuid,
    pub name: String,
    pub default: bool,
    pub time_zone: String,
    pub week: WeekIn,
    pub holidays: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct BusinessHoursOut {
    /// The default first.
    pub schedules: Vec<ScheduleOut>,
}

fn intervals(day: &str, raw: Vec<Vec<String>>) -> ApiResult<(String, Vec<(String, String)>)> {
    let pairs = raw
        .into_iter()
        .map(|pair| match <[String; 2]>::try_from(pair) {
            Ok([start, end]) => Ok((start, end)),
            Err(_) => Err(ApiError::from(copilot_core::Error::validation(
                "invalid_hours",
                format!("`{day}`: an interval is [start, end]"),
            ))),
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok((day.to_owned(), pairs))
}

fn schedule_in(body: ScheduleBody) -> ApiResult<ScheduleIn> {
    let WeekIn { mon, tue, wed, thu, fri, sat, sun } = body.week;
    let week = [("mon", mon), ("tue", tue), ("wed", wed), ("thu", thu), ("fri", fri), ("sat", sat), ("sun", sun)]
        .into_iter()
        .map(|(day, raw)| intervals(day, raw))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(ScheduleIn { name: body.name, default: body.default, time_zone: body.time_zone, week, holidays: body.holidays })
}

fn schedule_out(named: NamedSchedule) -> ScheduleOut {
    let mut days = named
        .schedule
        .shown_week()
        .into_iter()
        .map(|(_, intervals)| intervals.into_iter().map(|(start, end)| vec![start, end]).collect::<Vec<_>>());
    let mut next = || days.next().unwrap_or_default();
    ScheduleOut {
        id: named.id,
        name: named.name,
        default: named.default,
        time_zone: named.schedule.time_zone.name().to_owned(),
        week: WeekIn { mon: next(), tue: next(), wed: next(), thu: next(), fri: next(), sat: next(), sun: next() },
        holidays: named.schedule.holidays.iter().map(|d| d.to_string()).collect(),
        updated_at: named.updated_at,
    }
}

#[OpenApi(tag = "Tag::Settings")]
impl ServiceLevelsApi {
    /// The tenant's business-hour schedules, the default first.
    #[oai(path = "/settings/business-hours", method = "get", operation_id = "settings.business_hours.get")]
    async fn business_hours(&self, auth: TenantAuth) -> ApiResult<Json<BusinessHoursOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let schedules = schedules::list(&tx).await?;
        Ok(Json(BusinessHoursOut { schedules: schedules.into_iter().map(schedule_out).collect() }))
    }

    /// Replaces the tenant's business-hour schedules (admins). `400 invalid_time_zone`,
    /// `invalid_hours` (an interval that ends before it starts, overlaps another, or is not
    /// two times from 00:00 to 24:00; not exactly one default) or `invalid_holidays` (not a
    /// date, in the past, listed twice).
    #[oai(path = "/settings/business-hours", method = "put", operation_id = "settings.business_hours.put")]
    async fn replace_business_hours(
        &self,
        auth: TenantAuth,
        body: JsonBody<BusinessHoursIn>,
    ) -> ApiResult<Json<BusinessHoursOut>> {
        let principal = auth.0.principal;
        let schedules = body.0.schedules.into_iter().map(schedule_in).collect::<ApiResult<Vec<_>>>()?;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let saved = schedules::replace(&tx, &principal, schedules).await?;
        tx.commit().await?;
        Ok(Json(BusinessHoursOut { schedules: saved.into_iter().map(schedule_out).collect() }))
    }
}
