//! How drafts fare: acceptance rate (approved among decided), how much agents edit what
//! they approve, and why they reject, over a time range, by intent and by period.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use copilot_core::{
    Error,
    model::{DraftStatus, EditClass},
    period::{Period, check_range},
};
use copilot_entities::draft;
use copilot_store::TenantTx;
use serde::{Deserialize, Serialize};

use crate::drafts;

/// Counts and rates of one group of drafts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rates {
    pub drafts: i64,
    pub approved: i64,
    pub rejected: i64,
    pub superseded: i64,
    pub failed: i64,
    /// Approved among approved and rejected; none before any decision.
    pub acceptance_rate: Option<f64>,
    /// Shares of approved drafts sent unchanged, lightly or heavily edited.
    pub unchanged_rate: Option<f64>,
    pub light_edit_rate: Option<f64>,
    pub heavy_edit_rate: Option<f64>,
    #[serde(skip)]
    edits: [i64; 3],
}

impl Rates {
    fn add(&mut self, row: &draft::Model) {
        self.drafts += 1;
        match row.status {
            DraftStatus::Approved => {
                self.approved += 1;
                match row.edit_class {
                    Some(EditClass::Unchanged) => self.edits[0] += 1,
                    Some(EditClass::Light) => self.edits[1] += 1,
                    Some(EditClass::Heavy) => self.edits[2] += 1,
                    None => {}
                }
            }
            DraftStatus::Rejected => self.rejected += 1,
            DraftStatus::Superseded => self.superseded += 1,
            DraftStatus::Failed => self.failed += 1,
            DraftStatus::Generating | DraftStatus::Ready => {}
        }
    }

    fn finish(mut self) -> Self {
        let share = |part: i64, whole: i64| (whole > 0).then(|| part as f64 / whole as f64);
        self.acceptance_rate = share(self.approved, self.approved + self.rejected);
        self.unchanged_rate = share(self.edits[0], self.approved);
        self.light_edit_rate = share(self.edits[1], self.approved);
        self.heavy_edit_rate = share(self.edits[2], self.approved);
        self
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IntentRates {
    /// `unknown` for drafts written before their message was triaged.
    pub intent: String,
    pub rates: Rates,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodRates {
    pub start: DateTime<Utc>,
    pub rates: Rates,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DraftAnalytics {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub period: Period,
    pub totals: Rates,
    pub by_intent: Vec<IntentRates>,
    pub by_period: Vec<PeriodRates>,
    /// Most frequent first (reasons compared without case and surrounding space).
    pub rejection_reasons: Vec<ReasonCount>,
}

/// The analytics of drafts created in `[from, to)`.
pub async fn drafts(
    tx: &TenantTx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    period: Period,
) -> Result<DraftAnalytics, Error> {
    check_range(from, to)?;
    let rows = drafts::in_range(tx, from, to).await?;
    let mut totals = Rates::default();
    let mut by_intent: BTreeMap<String, Rates> = BTreeMap::new();
    let mut by_period: BTreeMap<DateTime<Utc>, Rates> = BTreeMap::new();
    let mut reasons: BTreeMap<String, i64> = BTreeMap::new();
    for row in &rows {
        totals.add(row);
        by_intent.entry(row.intent.clone().unwrap_or_else(|| "unknown".into())).or_default().add(row);
        by_period.entry(period.start(row.created_at)).or_default().add(row);
        if let Some(reason) = row.rejection_reason.as_deref().filter(|_| row.status == DraftStatus::Rejected) {
            *reasons.entry(reason.trim().to_lowercase()).or_default() += 1;
        }
    }
    let mut rejection_reasons: Vec<ReasonCount> =
        reasons.into_iter().map(|(reason, count)| ReasonCount { reason, count }).collect();
    rejection_reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    Ok(DraftAnalytics {
        from,
        to,
        period,
        totals: totals.finish(),
        by_intent: by_intent.into_iter().map(|(intent, rates)| IntentRates { intent, rates: rates.finish() }).collect(),
        by_period: by_period.into_iter().map(|(start, rates)| PeriodRates { start, rates: rates.finish() }).collect(),
        rejection_reasons,
    })
}
