//! Ticket summaries: what a ticket is about, kept current as messages arrive.

use chrono::{DateTime, Utc};
use copilot_core::{ids::TicketId, model};
use copilot_summaries::{Summary, SummaryState, summaries};
use poem_openapi::{Enum, Object, OpenApi, param::Path, payload::Json};
use uuid::Uuid;

use super::{Tag, drafts::DraftMode};
use crate::{AppState, auth::TenantAuth, dto::mirror_enum, error::ApiResult};

pub struct SummariesApi {
    pub state: AppState,
}

/// Where a ticket's summary stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum SummaryStatus {
    /// The ticket has fewer messages than the tenant's threshold and nobody asked for one.
    None,
    /// Being written for the first time.
    Pending,
    /// Written (`stale`: a newer one is being written).
    Ready,
    /// Writing it failed and nothing was written before (`error` says why).
    Failed,
}

mirror_enum!(
    /// Which way the customer's sentiment went over their messages.
    SentimentTrend => model::SentimentTrend { Improving, Worsening, Steady, Unknown }
);

/// A ticket's summary for agents.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct SummaryOut {
    pub ticket_id: Uuid,
    pub status: SummaryStatus,
    /// A newer message is being summarised; this one covers `message_count` messages.
    pub stale: bool,
    pub text: Option<String>,
    pub customer_goal: Option<String>,
    pub what_was_tried: Vec<String>,
    pub open_questions: Vec<String>,
    /// From the triage of the customer's messages.
    pub sentiment_trend: Option<SentimentTrend>,
    /// The language it is written in (the tenant's agent language).
    pub language: Option<String>,
    /// `llm`, or `extractive` (the customer's first and latest messages) without an LLM.
    pub mode: Option<DraftMode>,
    pub model: Option<String>,
    /// The model profile that wrote it.
    pub llm_profile: Option<String>,
    /// Messages it covers (internal notes aside).
    pub message_count: i32,
    /// Why the LLM did not write it (the summary is then extractive), or why it failed.
    pub error: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

fn summary_out(ticket: TicketId, summary: Option<Summary>) -> SummaryOut {
    let Some(summary) = summary else {
        return SummaryOut {
            ticket_id: ticket.0,
            status: SummaryStatus::None,
            stale: false,
            text: None,
            customer_goal: None,
            what_was_tried: Vec::new(),
            open_questions: Vec::new(),
            sentiment_trend: None,
            language: None,
            mode: None,
            model: None,
            llm_profile: None,
            message_count: 0,
            error: None,
            updated_at: None,
        };
    };
    SummaryOut {
        ticket_id: summary.ticket_id.0,
        status: match summary.state {
            SummaryState::Pending => SummaryStatus::Pending,
            SummaryState::Ready => SummaryStatus::Ready,
            SummaryState::Failed => SummaryStatus::Failed,
        },
        stale: summary.stale,
        text: summary.text,
        customer_goal: summary.customer_goal,
        what_was_tried: summary.what_was_tried,
        open_questions: summary.open_questions,
        sentiment_trend: summary.sentiment_trend.map(Into::into),
        language: summary.language,
        mode: summary.mode.map(Into::into),
        model: summary.model,
        llm_profile: summary.llm_profile,
        message_count: summary.message_count,
        error: summary.error,
        updated_at: summary.updated_at,
    }
}

#[OpenApi(tag = "Tag::Tickets")]
impl SummariesApi {
    /// The ticket's summary: kept current in the background once the ticket has the
    /// tenant's threshold of messages (3 by default), in the tenant's agent language.
    #[oai(path = "/tickets/:id/summary", method = "get", operation_id = "tickets.summary.get")]
    async fn get(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<SummaryOut>> {
        let ticket = TicketId(id.0);
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        copilot_conversations::get(&tx, ticket).await?;
        Ok(Json(summary_out(ticket, summaries::get(&tx, ticket).await?)))
    }

    /// Write the ticket's summary again now, whatever its length. The new one follows as
    /// `ticket.summary.updated`.
    #[oai(path = "/tickets/:id/summary/refresh", method = "post", operation_id = "tickets.summary.refresh")]
    async fn refresh(&self, auth: TenantAuth, id: Path<Uuid>) -> ApiResult<Json<SummaryOut>> {
        let ticket = TicketId(id.0);
        let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
        copilot_conversations::get(&tx, ticket).await?;
        copilot_pipeline::summaries::refresh(&tx, ticket).await?;
        let summary = summaries::get(&tx, ticket).await?;
        tx.commit().await?;
        self.state.pipeline.summary_wakeup.notify_one();
        Ok(Json(summary_out(ticket, summary)))
    }
}
