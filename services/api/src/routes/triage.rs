//! Triage of a text on demand, without storing anything.

use poem_openapi::{Object, OpenApi, payload::Json};

use crate::dto::TriageStatus;

use super::Tag;
use crate::{
    AppState,
    auth::TenantAuth,
    dto::{IntentOut, SentimentOut},
    error::ApiResult,
    json_body::JsonBody,
};

pub struct TriageApi {
    pub state: AppState,
}

#[derive(Debug, Object)]
pub struct TriageIn {
    /// The message to triage, 1 to 10,000 characters.
    pub text: String,
}

#[derive(Debug, Object)]
pub struct TriageOut {
    pub intent: IntentOut,
    pub sentiment: SentimentOut,
    /// ISO 639-1 code where one exists (`en`, `zh`, …), `und` when undetermined.
    pub language: String,
    /// Always `done`: the models ran.
    pub status: TriageStatus,
}

#[OpenApi(tag = "Tag::Triage")]
impl TriageApi {
    /// Triage a text (intent, sentiment, language) without storing it.
    #[oai(path = "/triage", method = "post", operation_id = "triage.run")]
    async fn triage(&self, auth: TenantAuth, body: JsonBody<TriageIn>) -> ApiResult<Json<TriageOut>> {
        let text = copilot_core::values::bounded_text("text", &body.0.text, 1, 10_000)?;
        let head = {
            let tx = self.state.pipeline.db.tenant(auth.0.principal.tenant_id).await?;
            copilot_pipeline::triage::tenant_head(&tx).await?
        };
        let mut results = self
            .state
            .pipeline
            .triager
            .triage(vec![text], head)
            .await
            .map_err(|error| copilot_core::Error::internal(format!("triage failed: {error}")))?;
        let result = results.pop().ok_or_else(|| copilot_core::Error::internal("triage returned nothing"))?;
        Ok(Json(TriageOut {
            intent: IntentOut { label: result.intent.label, confidence: f64::from(result.intent.confidence) },
            sentiment: SentimentOut { label: result.sentiment.label.into(), score: f64::from(result.sentiment.score) },
            language: result.language,
            status: TriageStatus::Done,
        }))
    }
}
