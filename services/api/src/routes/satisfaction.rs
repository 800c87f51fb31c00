//! Customer satisfaction: the tenant's survey settings, a ticket's survey, and the ratings'
//! figures. The survey page customers open is `crate::survey_page`.

use chrono::{DateTime, Utc};
use copilot_core::ids::TicketId;
use copilot_satisfaction::{
    Link,
    analytics::{self as csat_analytics, Scores},
    settings::{self, CsatSettings, CsatUpdate},
    surveys::{self, Survey},
};
use poem_openapi::{
    Object, OpenApi,
    param::{Path, Query},
    payload::Json,
};
use uuid::Uuid;

use super::{Tag, analytics::PeriodIn};
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{Channel, CsatScale, SurveyStage},
    error::{ApiError, ApiResult},
    json_body::JsonBody,
};

pub struct SatisfactionApi {
    pub state: AppState,
}

/// Whether and how the tenant asks its customers for a rating.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct CsatSettingsOut {
    /// Off until an admin turns it on.
    pub enabled: bool,
    pub scale: CsatScale,
    /// Minutes after a ticket is solved before its survey goes out (0 to 10080).
    pub delay_minutes: i32,
    /// Days a survey link stays valid (1 to 90).
    pub link_days: i32,
    /// Where survey links start (the service's `public_url`).
    pub public_url: String,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The tenant's survey settings.
#[derive(Debug, Object)]
pub struct CsatSettingsIn {
    pub enabled: bool,
    #[oai(default = "five")]
    pub scale: CsatScale,
    #[oai(default)]
    pub delay_minutes: i32,
    #[oai(default = "default_link_days")]
    pub link_days: i32,
}

fn five() -> CsatScale {
    CsatScale::Five
}

fn default_link_days() -> i32 {
    settings::DEFAULT_LINK_DAYS
}

/// A ticket's satisfaction survey.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SurveyOut {
    pub id: Uuid,
    pub ticket_id: Uuid,
    pub scale: CsatScale,
    pub stage: SurveyStage,
    /// The page's and e-mail's language (`en`, `zh`).
    pub language: String,
    pub channel: Channel,
    /// The ticket's intent when it was solved.
    pub intent: Option<String>,
    /// The agent rated: the assignee when solved, else the last to reply.
    pub agent_id: Option<Uuid>,
    /// At least one public reply of the ticket was an approved AI draft.
    pub ai_drafted: bool,
    /// When it goes out (while `due`).
    pub send_at: Option<DateTime<Utc>>,
    pub requested_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    /// The survey page, while its link is valid (to share by hand on channels without e-mail).
    pub url: Option<String>,
    pub mail_sent_at: Option<DateTime<Utc>>,
    pub mail_error: Option<String>,
    /// 1–5; on the two-point scale 1 (bad) or 2 (good).
    pub rating: Option<i16>,
    /// A rating of 4 or 5, or good.
    pub satisfied: Option<bool>,
    pub comment: Option<String>,
    pub rated_at: Option<DateTime<Utc>>,
    pub changed_at: Option<DateTime<Utc>>,
    /// Until when the customer may change the rating.
    pub changeable_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ScoresOut {
    /// Surveys sent.
    pub requested: i64,
    /// Surveys rated.
    pub responses: i64,
    pub response_rate: Option<f64>,
    pub satisfied: i64,
    /// Satisfied among responses (the CSAT score, 0 to 1).
    pub satisfaction: Option<f64>,
    /// The mean of 1–5 ratings.
    pub average: Option<f64>,
    /// 1–5 ratings: how many of each, 1 first.
    pub distribution: Vec<i64>,
    /// Two-point answers.
    pub good: i64,
    pub bad: i64,
}

impl From<Scores> for ScoresOut {
    fn from(scores: Scores) -> Self {
        Self {
            requested: scores.requested,
            responses: scores.responses,
            response_rate: scores.response_rate,
            satisfied: scores.satisfied,
            satisfaction: scores.satisfaction,
            average: scores.average,
            distribution: scores.distribution.to_vec(),
            good: scores.good,
            bad: scores.bad,
        }
    }
}

#[derive(Debug, Object)]
pub struct ScoresGroupOut {
    pub key: String,
    pub scores: ScoresOut,
}

#[derive(Debug, Object)]
pub struct PeriodScoresOut {
    /// Start of the day, week (Monday) or month, UTC.
    pub start: DateTime<Utc>,
    pub scores: ScoresOut,
}

#[derive(Debug, Object)]
pub struct CsatAnalyticsOut {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub period: PeriodIn,
    pub totals: ScoresOut,
    /// Every period of the range, empty ones included, oldest first.
    pub by_period: Vec<PeriodScoresOut>,
    /// By the agent's id (`unassigned`); most surveys first.
    pub by_agent: Vec<ScoresGroupOut>,
    /// `unknown` for tickets never triaged.
    pub by_intent: Vec<ScoresGroupOut>,
    pub by_channel: Vec<ScoresGroupOut>,
    /// `ai_drafted` (at least one reply was an approved AI draft) or `typed`.
    pub by_reply: Vec<ScoresGroupOut>,
}

fn groups(groups: Vec<csat_analytics::Group>) -> Vec<ScoresGroupOut> {
    groups.into_iter().map(|group| ScoresGroupOut { key: group.key, scores: group.scores.into() }).collect()
}

impl SatisfactionApi {
    fn settings_out(&self, settings: CsatSettings) -> CsatSettingsOut {
        CsatSettingsOut {
            enabled: settings.enabled,
            scale: settings.scale.into(),
            delay_minutes: settings.delay_minutes,
            link_days: settings.link_days,
            public_url: self.state.pipeline.settings.public_url(),
            updated_at: settings.updated_at,
        }
    }

    fn survey_out(&self, tenant: copilot_core::TenantId, survey: Survey) -> SurveyOut {
        let now = copilot_core::now();
        let url = survey.requested_at.and(survey.expires_at).filter(|expires| *expires > now).map(|expires_at| {
            let link = Link { tenant, survey: survey.id, expires_at };
            link.url(&self.state.pipeline.sealer, &self.state.pipeline.settings.public_url())
        });
        SurveyOut {
            id: survey.id,
            ticket_id: survey.ticket_id.0,
            scale: survey.scale.into(),
            stage: survey.stage.into(),
            language: survey.language,
            channel: survey.channel.into(),
            intent: survey.intent,
            agent_id: survey.agent_id,
            ai_drafted: survey.ai_drafted,
            send_at: survey.send_at,
            requested_at: survey.requested_at,
            expires_at: survey.expires_at,
            url,
            mail_sent_at: survey.mail_sent_at,
            mail_error: survey.mail_error,
            rating: survey.rating,
            satisfied: survey.satisfied,
            comment: survey.comment,
            rated_at: survey.rated_at,
            changed_at: survey.changed_at,
            changeable_until: survey.changeable_until,
            created_at: survey.created_at,
        }
    }
}

#[OpenApi]
impl SatisfactionApi {
    /// The tenant's satisfaction survey settings.
    #[oai(path = "/settings/csat", method = "get", operation_id = "settings.csat.get", tag = "Tag::Settings")]
    async fn settings(&self, auth: TenantAuth) -> ApiResult<Json<CsatSettingsOut>> {
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        Ok(Json(self.settings_out(settings::get(&tx).await?)))
    }

    /// Saves the tenant's satisfaction survey settings (admins). Once enabled, a ticket
    /// solved after a public reply gets a survey `delay_minutes` later: by e-mail on e-mail
    /// tickets, and as a `csat.requested` event with its link on every channel. A new scale
    /// applies to surveys created after. `400 invalid_setting` for a delay or link days out
    /// of range.
    #[oai(path = "/settings/csat", method = "put", operation_id = "settings.csat.put", tag = "Tag::Settings")]
    async fn put_settings(&self, auth: TenantAuth, body: JsonBody<CsatSettingsIn>) -> ApiResult<Json<CsatSettingsOut>> {
        let principal = auth.0.principal;
        let body = body.0;
        let update = CsatUpdate {
            enabled: body.enabled,
            scale: body.scale.into(),
            delay_minutes: body.delay_minutes,
            link_days: body.link_days,
        };
        let tx = self.state.pipeline.db.tenant(principal.tenant_id).await?;
        let saved = settings::put(&tx, &principal, update).await?;
        tx.commit().await?;
        Ok(Json(self.settings_out(saved)))
    }

    /// The ticket's satisfaction survey: `404` when the ticket has none (not solved since
    /// surveys were enabled, or never answered).
    #[oai(path = "/tickets/:id/csat", method = "get", operation_id = "tickets.csat.get", tag = "Tag::Tickets")]
    async fn ticket_survey(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<SurveyOut>> {
        let tenant = auth.0.principal.tenant_id;
        let tx = self.state.pipeline.db.tenant(tenant).await?;
        copilot_conversations::get(&tx, TicketId(id.0)).await?;
        let survey = surveys::for_ticket(&tx, TicketId(id.0)).await?.ok_or(ApiError::not_found("survey"))?;
        Ok(Json(self.survey_out(tenant, survey)))
    }

    /// Satisfaction of surveys sent in `[from, to)`: responses, response rate, the share
    /// satisfied (4–5 or good) and the average rating, in total and by period, agent,
    /// intent, channel, and AI-drafted or typed replies (at most 366 days; the last 30 days
    /// when absent).
    #[oai(path = "/analytics/csat", method = "get", operation_id = "analytics.csat", tag = "Tag::Analytics")]
    async fn analytics(
        &self,
        auth: TenantAuth,
        /// RFC 3339; 30 days before `to` when absent.
        from: Query<Option<DateTime<Utc>>>,
        /// RFC 3339; now when absent.
        to: Query<Option<DateTime<Utc>>>,
        /// `day` when absent.
        period: Query<Option<PeriodIn>>,
    ) -> ApiResult<Json<CsatAnalyticsOut>> {
        let (from, to, period) = super::analytics::report_range(from.0, to.0, period.0);
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        let report = csat_analytics::csat(&tx, from, to, period).await?;
        Ok(Json(CsatAnalyticsOut {
            from: report.from,
            to: report.to,
            period: report.period.into(),
            totals: report.totals.into(),
            by_period: report
                .by_period
                .into_iter()
                .map(|p| PeriodScoresOut { start: p.start, scores: p.scores.into() })
                .collect(),
            by_agent: groups(report.by_agent),
            by_intent: groups(report.by_intent),
            by_channel: groups(report.by_channel),
            by_reply: groups(report.by_reply),
        }))
    }
}
