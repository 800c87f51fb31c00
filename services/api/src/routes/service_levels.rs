//! Service levels: the tenant's business hours and SLA policies.

use chrono::{DateTime, Utc};
use copilot_sla::{
    analytics as sla_analytics,
    policies::{self, Conditions, Policy, PolicyIn, Target},
    schedules::{self, NamedSchedule, ScheduleIn},
};
use poem_openapi::{
    ApiResponse, Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{Tag, analytics::PeriodIn};
use crate::{
    AppState,
    auth::TenantAuth,
    dto::SlaTargetKind,
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

/// A service-level target.
#[derive(Debug, Object)]
pub struct TargetIo {
    pub kind: SlaTargetKind,
    /// 1 to 525,600 (a year).
    pub minutes: i64,
    /// Counted in the default schedule's business hours (else on the calendar).
    #[oai(default)]
    pub business_hours: bool,
}

/// What a ticket must have for a policy to apply; an absent or empty list asks nothing.
#[derive(Debug, Default, Object)]
pub struct ConditionsIo {
    #[oai(default)]
    pub priority: Vec<String>,
    #[oai(default)]
    pub channel: Vec<String>,
    #[oai(default)]
    pub intent: Vec<String>,
    /// Any of these tags.
    #[oai(default)]
    pub tag: Vec<String>,
    /// The customer's e-mail domain (`acme.com`).
    #[oai(default)]
    pub customer_domain: Vec<String>,
}

/// A new policy, or (PATCH) the parts to change.
#[derive(Debug, Object)]
pub struct PolicyBody {
    /// Unique, one line, 1 to 80 characters.
    pub name: Option<String>,
    pub conditions: Option<ConditionsIo>,
    /// At least one; each kind once.
    pub targets: Option<Vec<TargetIo>>,
    /// Whether a pending ticket's clocks stop until the customer writes again (default true).
    pub pause_when_pending: Option<bool>,
    /// Minutes before a target falls due that `sla.warning` is sent: 0 (none) to 10,080 (a
    /// week); 15 when a new policy names none.
    pub warning_minutes: Option<i64>,
    /// Its place in the order, from 0; the first policy whose conditions hold applies. Last
    /// when absent.
    pub position: Option<u32>,
}

#[derive(Debug, Object)]
pub struct PolicyOut {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub conditions: ConditionsIo,
    pub targets: Vec<TargetIo>,
    pub pause_when_pending: bool,
    pub warning_minutes: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
pub struct PoliciesOut {
    /// In order: the first whose conditions a ticket meets applies.
    pub policies: Vec<PolicyOut>,
}

#[derive(ApiResponse)]
pub enum PolicyCreated {
    #[oai(status = 201)]
    Created(Json<PolicyOut>),
}

#[derive(ApiResponse)]
pub enum PolicyDeleted {
    #[oai(status = 204)]
    NoContent,
}

fn policy_in(body: PolicyBody) -> PolicyIn {
    PolicyIn {
        name: body.name,
        conditions: body.conditions.map(|c| Conditions {
            priority: c.priority,
            channel: c.channel,
            intent: c.intent,
            tag: c.tag,
            customer_domain: c.customer_domain,
        }),
        targets: body.targets.map(|targets| {
            targets
                .into_iter()
                .map(|t| Target { kind: t.kind.into(), minutes: t.minutes, business_hours: t.business_hours })
                .collect()
        }),
        pause_when_pending: body.pause_when_pending,
        warning_minutes: body.warning_minutes,
        position: body.position.map(|p| p as usize),
    }
}

fn policy_out(policy: Policy) -> PolicyOut {
    let c = policy.conditions;
    PolicyOut {
        id: policy.id,
        name: policy.name,
        position: policy.position,
        conditions: ConditionsIo {
            priority: c.priority,
            channel: c.channel,
            intent: c.intent,
            tag: c.tag,
            customer_domain: c.customer_domain,
        },
        targets: policy
            .targets
            .into_iter()
            .map(|t| TargetIo { kind: t.kind.into(), minutes: t.minutes, business_hours: t.business_hours })
            .collect(),
        pause_when_pending: policy.pause_when_pending,
        warning_minutes: policy.warning_minutes,
        updated_at: policy.updated_at,
    }
}

#[OpenApi(tag = "Tag::Settings")]
impl ServiceLevelsApi {
    /// The tenant's SLA policies in order.
    #[oai(path = "/sla-policies", method = "get", operation_id = "sla_policies.list")]
    async fn policies(&self, auth: TenantAuth) -> ApiResult<Json<PoliciesOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let policies = policies::list(&tx).await?;
        Ok(Json(PoliciesOut { policies: policies.into_iter().map(policy_out).collect() }))
    }

    /// Adds an SLA policy (admins): `400 invalid_policy` (no target, a kind twice, minutes
    /// out of range, an unknown priority or channel, a malformed domain), `409 policy_exists`,
    /// `409 too_many_policies` (50), `422 no_business_hours` for a business-hours target
    /// without business hours.
    #[oai(path = "/sla-policies", method = "post", operation_id = "sla_policies.create")]
    async fn create_policy(&self, auth: TenantAuth, body: JsonBody<PolicyBody>) -> ApiResult<PolicyCreated> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let policy = policies::create(&tx, &principal, policy_in(body.0)).await?;
        tx.commit().await?;
        Ok(PolicyCreated::Created(Json(policy_out(policy))))
    }

    /// Changes an SLA policy (admins): what is given replaces what it had; `position`
    /// moves it in the order.
    #[oai(path = "/sla-policies/:id", method = "patch", operation_id = "sla_policies.update")]
    async fn update_policy(
        &self,
        auth: TenantAuth,
        id: Path<Uuid>,
        body: JsonBody<PolicyBody>,
    ) -> ApiResult<Json<PolicyOut>> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let policy = policies::update(&tx, &principal, id.0, policy_in(body.0)).await?;
        tx.commit().await?;
        Ok(Json(policy_out(policy)))
    }

    /// Removes an SLA policy (admins); the others close up.
    #[oai(path = "/sla-policies/:id", method = "delete", operation_id = "sla_policies.delete")]
    async fn delete_policy(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<PolicyDeleted> {
        let principal = auth.0.principal;
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        policies::delete(&tx, &principal, id.0).await?;
        tx.commit().await?;
        Ok(PolicyDeleted::NoContent)
    }

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

/// Targets of one kind (or all) in a group.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AttainmentOut {
    /// Met by their due time.
    pub met: i64,
    pub breached: i64,
    /// Neither yet (running or paused).
    pub running: i64,
    /// Met among met and breached (absent before any settled).
    pub attainment: Option<f64>,
}

impl From<sla_analytics::Attainment> for AttainmentOut {
    fn from(a: sla_analytics::Attainment) -> Self {
        Self { met: a.met, breached: a.breached, running: a.running, attainment: a.attainment }
    }
}

/// A group's targets by kind, and all of them.
#[derive(Debug, Object)]
pub struct TargetsOut {
    pub first_reply: AttainmentOut,
    pub next_reply: AttainmentOut,
    pub resolution: AttainmentOut,
    pub all: AttainmentOut,
}

impl From<sla_analytics::Targets> for TargetsOut {
    fn from(t: sla_analytics::Targets) -> Self {
        Self {
            first_reply: t.first_reply.into(),
            next_reply: t.next_reply.into(),
            resolution: t.resolution.into(),
            all: t.all.into(),
        }
    }
}

#[derive(Debug, Object)]
pub struct AttainmentGroupOut {
    pub key: String,
    /// Tickets under a policy in the group.
    pub tickets: i64,
    pub targets: TargetsOut,
}

#[derive(Debug, Object)]
pub struct PeriodAttainmentOut {
    /// Start of the day, week (Monday) or month, UTC.
    pub start: DateTime<Utc>,
    pub tickets: i64,
    pub targets: TargetsOut,
}

#[derive(Debug, Object)]
pub struct SlaAnalyticsOut {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub period: PeriodIn,
    /// Tickets opened in the range under a policy.
    pub tickets: i64,
    pub totals: TargetsOut,
    /// Every period of the range, empty ones included, oldest first (by opening).
    pub by_period: Vec<PeriodAttainmentOut>,
    /// Most tickets first; the facts the policy was chosen on (`unknown` intent before triage).
    pub by_intent: Vec<AttainmentGroupOut>,
    pub by_channel: Vec<AttainmentGroupOut>,
    pub by_priority: Vec<AttainmentGroupOut>,
    /// By the policy's name as applied.
    pub by_policy: Vec<AttainmentGroupOut>,
}

fn attainment_groups(groups: Vec<sla_analytics::Group>) -> Vec<AttainmentGroupOut> {
    groups
        .into_iter()
        .map(|g| AttainmentGroupOut { key: g.key, tickets: g.tickets, targets: g.targets.into() })
        .collect()
}

pub struct SlaAnalyticsApi {
    pub state: AppState,
}

#[OpenApi(tag = "Tag::Analytics")]
impl SlaAnalyticsApi {
    /// Service-level attainment of tickets opened in `[from, to)` under a policy: for first
    /// reply, next reply, resolution and all targets, how many were met in time, breached
    /// or are still running, and the share met among those settled; in total and by period,
    /// intent, channel, priority and policy (at most 366 days; the last 30 days when absent).
    #[oai(path = "/analytics/sla", method = "get", operation_id = "analytics.sla")]
    async fn sla(
        &self,
        auth: TenantAuth,
        /// RFC 3339; 30 days before `to` when absent.
        from: Query<Option<DateTime<Utc>>>,
        /// RFC 3339; now when absent.
        to: Query<Option<DateTime<Utc>>>,
        /// `day` when absent.
        period: Query<Option<PeriodIn>>,
    ) -> ApiResult<Json<SlaAnalyticsOut>> {
        let (from, to, period) = super::analytics::report_range(from.0, to.0, period.0);
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let report = sla_analytics::attainment(&tx, from, to, period).await?;
        Ok(Json(SlaAnalyticsOut {
            from: report.from,
            to: report.to,
            period: report.period.into(),
            tickets: report.tickets,
            totals: report.totals.into(),
            by_period: report
                .by_period
                .into_iter()
                .map(|p| PeriodAttainmentOut { start: p.start, tickets: p.tickets, targets: p.targets.into() })
                .collect(),
            by_intent: attainment_groups(report.by_intent),
            by_channel: attainment_groups(report.by_channel),
            by_priority: attainment_groups(report.by_priority),
            by_policy: attainment_groups(report.by_policy),
        }))
    }
}
