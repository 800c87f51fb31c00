//! Each solved ticket's survey, one per ticket.
//!
//! Lifecycle: created `due` when the ticket is solved (sent after the tenant's delay);
//! `waiting` if the ticket is reopened before then, `due` again when it is solved again.
//! When due, the worker gives it its link in a `csat.requested` event and, on an e-mail
//! ticket, queues its e-mail (`mail_queued`), sent under a lease (`mail_sending`) with
//! retries like a reply (`requested` once sent, `mail_failed` when given up); a sender that
//! dies mid-send leaves it failed as of unknown outcome, never sent twice.
//!
//! The customer rates through the link: one rating per ticket, changed at will for 7 days
//! after the first while the link is valid; each link takes at most
//! [`MAX_SUBMISSIONS_PER_HOUR`] submissions an hour.

use chrono::{DateTime, Duration, DurationRound, Utc};
use copilot_core::{
    Error,
    ids::TicketId,
    model::{Channel, CsatScale, SurveyStage},
};
use copilot_entities::csat_survey;
use copilot_store::{Db, Scoped, TenantTx, db_err, events, jobs::Queue};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect, Statement};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Link, settings::CsatSettings};

/// How long after the first rating the customer may change it.
pub const CHANGE_DAYS: i64 = 7;
/// Submissions one link takes in an hour; more are refused until the hour ends.
pub const MAX_SUBMISSIONS_PER_HOUR: i32 = 10;
/// The longest comment kept, in characters.
pub const MAX_COMMENT: usize = 2000;
/// The error of a survey e-mail whose sender stopped while sending.
pub const OUTCOME_UNKNOWN: &str = "delivery_outcome_unknown: the sender stopped while sending, so the survey may or may not have gone out; it is not sent again";

/// The survey e-mail queue (and the surveys waiting to be sent), for depth metrics.
pub const QUEUE: Queue = Queue {
    name: "csat",
    table: "csat_surveys",
    id: "id",
    open: "{row}.stage IN ('due', 'mail_queued', 'mail_sending')",
    held: "{row}.stage = 'mail_sending'",
    lease_columns: &["lease_until"],
};

/// A ticket's survey as agents see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    pub id: Uuid,
    pub ticket_id: TicketId,
    pub scale: CsatScale,
    pub stage: SurveyStage,
    pub language: String,
    pub channel: Channel,
    pub intent: Option<String>,
    pub agent_id: Option<Uuid>,
    pub ai_drafted: bool,
    /// When it goes out (while `due`).
    pub send_at: Option<DateTime<Utc>>,
    pub requested_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub mail_sent_at: Option<DateTime<Utc>>,
    pub mail_error: Option<String>,
    pub rating: Option<i16>,
    /// A rating of 4 or 5, or good.
    pub satisfied: Option<bool>,
    pub comment: Option<String>,
    pub rated_at: Option<DateTime<Utc>>,
    pub changed_at: Option<DateTime<Utc>>,
    /// Until when the customer may change the rating (none before one).
    pub changeable_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Whether `rating` on `scale` counts as satisfied.
pub fn satisfied(scale: CsatScale, rating: i16) -> bool {
    match scale {
        CsatScale::Five => rating >= 4,
        CsatScale::Two => rating == 2,
    }
}

/// The highest rating of a scale.
pub fn top(scale: CsatScale) -> i16 {
    match scale {
        CsatScale::Five => 5,
        CsatScale::Two => 2,
    }
}

impl From<csat_survey::Model> for Survey {
    fn from(row: csat_survey::Model) -> Self {
        let changeable_until = match (row.rated_at, row.expires_at) {
            (Some(rated), Some(expires)) => Some((rated + Duration::days(CHANGE_DAYS)).min(expires)),
            _ => None,
        };
        Self {
            id: row.id,
            ticket_id: TicketId(row.ticket_id),
            scale: row.scale,
            stage: row.stage,
            language: row.language,
            channel: row.channel,
            intent: row.intent,
            agent_id: row.agent_id,
            ai_drafted: row.ai_drafted,
            send_at: (row.stage == SurveyStage::Due).then_some(row.next_attempt_at).flatten(),
            requested_at: row.requested_at,
            expires_at: row.expires_at,
            mail_sent_at: row.mail_sent_at,
            mail_error: row.mail_error,
            satisfied: row.rating.map(|rating| satisfied(row.scale, rating)),
            rating: row.rating,
            comment: row.comment,
            rated_at: row.rated_at,
            changed_at: row.changed_at,
            changeable_until,
            created_at: row.created_at,
        }
    }
}

/// What a new survey records of its ticket when it is solved.
#[derive(Clone, Debug, PartialEq)]
pub struct Facts {
    pub ticket_id: TicketId,
    pub channel: Channel,
    /// The ticket's language (`zh-Hans`, `en`): the survey's is `zh` for Chinese, else `en`.
    pub language: Option<String>,
    pub intent: Option<String>,
    pub agent_id: Option<Uuid>,
    pub ai_drafted: bool,
    pub solved_at: DateTime<Utc>,
}

/// The language a survey speaks for a ticket's language.
pub fn survey_language(language: Option<&str>) -> &'static str {
    match language {
        Some(language) if language.to_ascii_lowercase().starts_with("zh") => "zh",
        _ => "en",
    }
}

async fn row(tx: &TenantTx, ticket_id: TicketId) -> Result<Option<csat_survey::Model>, Error> {
    csat_survey::Entity::scoped(tx.tenant())
        .filter(csat_survey::Column::TicketId.eq(ticket_id.0))
        .one(&**tx)
        .await
        .map_err(db_err)
}

/// The ticket's survey, if it has one.
pub async fn for_ticket(tx: &TenantTx, ticket_id: TicketId) -> Result<Option<Survey>, Error> {
    Ok(row(tx, ticket_id).await?.map(Survey::from))
}

/// A survey by its id.
pub async fn get(tx: &TenantTx, id: Uuid) -> Result<Option<Survey>, Error> {
    let row = csat_survey::Entity::scoped(tx.tenant())
        .filter(csat_survey::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?;
    Ok(row.map(Survey::from))
}

/// The stage of the ticket's survey, if it has one.
pub async fn stage(tx: &TenantTx, ticket_id: TicketId) -> Result<Option<SurveyStage>, Error> {
    Ok(row(tx, ticket_id).await?.map(|row| row.stage))
}

/// A ticket that is no longer solved holds its survey if it has not gone out yet.
pub async fn hold(tx: &TenantTx, ticket_id: TicketId) -> Result<(), Error> {
    let statement = Statement::from_sql_and_values(
        tx.get_database_backend(),
        "UPDATE csat_surveys SET stage = 'waiting', next_attempt_at = NULL, updated_at = $1
         WHERE tenant_id = $2 AND ticket_id = $3 AND stage = 'due'",
        [copilot_core::now().into(), tx.tenant().0.into(), ticket_id.0.into()],
    );
    tx.execute_raw(statement).await.map_err(db_err)?;
    Ok(())
}

/// A held survey goes out `delay_minutes` after the ticket is solved again.
pub async fn resume(
    tx: &TenantTx,
    ticket_id: TicketId,
    settings: &CsatSettings,
    solved_at: DateTime<Utc>,
) -> Result<(), Error> {
    let statement = Statement::from_sql_and_values(
        tx.get_database_backend(),
        "UPDATE csat_surveys SET stage = 'due', next_attempt_at = $1, updated_at = $2
         WHERE tenant_id = $3 AND ticket_id = $4 AND stage = 'waiting'",
        [
            (solved_at + Duration::minutes(settings.delay_minutes.into())).into(),
            copilot_core::now().into(),
            tx.tenant().0.into(),
            ticket_id.0.into(),
        ],
    );
    tx.execute_raw(statement).await.map_err(db_err)?;
    Ok(())
}

/// Creates the survey of a ticket just solved, due `delay_minutes` after.
pub async fn create(tx: &TenantTx, facts: Facts, settings: &CsatSettings) -> Result<Survey, Error> {
    let now = copilot_core::now();
    csat_survey::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        ticket_id: Set(facts.ticket_id.0),
        scale: Set(settings.scale),
        stage: Set(SurveyStage::Due),
        language: Set(survey_language(facts.language.as_deref()).to_owned()),
        channel: Set(facts.channel),
        intent: Set(facts.intent),
        agent_id: Set(facts.agent_id),
        ai_drafted: Set(facts.ai_drafted),
        next_attempt_at: Set(Some(facts.solved_at + Duration::minutes(settings.delay_minutes.into()))),
        lease_until: Set(None),
        requested_at: Set(None),
        expires_at: Set(None),
        mail_attempts: Set(0),
        mail_error: Set(None),
        mail_sent_at: Set(None),
        header_message_id: Set(None),
        rating: Set(None),
        comment: Set(None),
        rated_at: Set(None),
        changed_at: Set(None),
        changes: Set(0),
        window_started_at: Set(None),
        window_submissions: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&**tx)
    .await
    .map(Survey::from)
    .map_err(db_err)
}

/// A survey to act on, across tenants: its id, and the mail attempt a claim made.
pub use copilot_store::jobs::Item as Due;

/// Surveys whose time to go out has come, across tenants (sent by [`send`] in each
/// tenant's transaction, which takes each once).
pub async fn due(db: &Db, limit: u64) -> Result<Vec<Due>, Error> {
    let sql = "SELECT tenant_id, id, mail_attempts AS attempts, created_at FROM csat_surveys
               WHERE stage = 'due' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2";
    copilot_store::jobs::items(copilot_store::jobs::select(db, sql, limit).await?)
}

/// When the next survey or survey e-mail is due, across tenants.
pub async fn next_due(db: &Db) -> Result<Option<DateTime<Utc>>, Error> {
    copilot_store::jobs::next_due(db, &QUEUE).await
}

/// What sending a survey produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Sent {
    pub survey: Survey,
    pub url: String,
    /// Its e-mail waits in the outbox.
    pub by_email: bool,
}

/// Sends a due survey: fixes its link's expiry, emits `csat.requested` with the link, and
/// queues its e-mail when `email_to` names the customer's address (an e-mail ticket).
/// `None` when it is no longer due (another process sent it, or the ticket was reopened).
pub async fn send(
    tx: &TenantTx,
    survey_id: Uuid,
    settings: &CsatSettings,
    link: impl FnOnce(&Link) -> String,
    email_to: Option<&str>,
) -> Result<Option<Sent>, Error> {
    let now = copilot_core::now();
    let Some(row) = csat_survey::Entity::scoped(tx.tenant())
        .filter(csat_survey::Column::Id.eq(survey_id))
        .filter(csat_survey::Column::Stage.eq(SurveyStage::Due))
        .filter(csat_survey::Column::NextAttemptAt.lte(now))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)?
    else {
        return Ok(None);
    };
    let expires_at = (now + Duration::days(settings.link_days.into()))
        .duration_trunc(Duration::seconds(1))
        .map_err(Error::internal)?;
    let url = link(&Link { tenant: tx.tenant(), survey: row.id, expires_at });
    let by_email = email_to.is_some() && row.channel == Channel::Email;
    let ticket_id = TicketId(row.ticket_id);
    let mut active: csat_survey::ActiveModel = row.into();
    active.requested_at = Set(Some(now));
    active.expires_at = Set(Some(expires_at));
    active.stage = Set(if by_email { SurveyStage::MailQueued } else { SurveyStage::Requested });
    active.next_attempt_at = Set(by_email.then_some(now));
    active.updated_at = Set(now);
    let survey = Survey::from(active.update(&**tx).await.map_err(db_err)?);
    events::emit(
        tx,
        "csat.requested",
        Some(ticket_id),
        &serde_json::json!({
            "ticket_id": ticket_id,
            "survey_id": survey.id,
            "url": url,
            "expires_at": expires_at,
            "scale": survey.scale,
            "language": survey.language,
            "channel": survey.channel,
            "by_email": by_email,
        }),
    )
    .await?;
    Ok(Some(Sent { survey, url, by_email }))
}

/// Claims up to `limit` survey e-mails due now across tenants, each held for `lease`, a
/// tenant's longest waiting first.
pub async fn claim_mail(db: &Db, limit: u64, lease: Duration) -> Result<Vec<Due>, Error> {
    let pick = copilot_store::jobs::FairPick {
        queue: &QUEUE,
        group: "tenant_id",
        due: "{row}.stage = 'mail_queued' AND {row}.next_attempt_at <= $2",
        per_group: 1,
        busy: None,
    };
    let sql = format!(
        "UPDATE csat_surveys SET stage = 'mail_sending', lease_until = $1, mail_attempts = mail_attempts + 1, updated_at = $2
         WHERE id IN ({}) RETURNING tenant_id, id, mail_attempts AS attempts, created_at",
        pick.sql()
    );
    copilot_store::jobs::items(copilot_store::jobs::claim(db, &sql, limit, lease).await?)
}

/// Survey e-mails whose sender's lease ran out while sending, across tenants.
pub async fn interrupted(db: &Db, limit: u64) -> Result<Vec<Due>, Error> {
    let sql = "SELECT tenant_id, id, mail_attempts AS attempts, created_at FROM csat_surveys
               WHERE stage = 'mail_sending' AND lease_until < $1 LIMIT $2";
    copilot_store::jobs::items(copilot_store::jobs::select(db, sql, limit).await?)
}

/// What a sender needs to send one survey e-mail.
#[derive(Clone, Debug, PartialEq)]
pub struct Mail {
    pub survey: Survey,
    pub link: Link,
    pub attempt: i32,
    /// Fixed before the first attempt.
    pub header_message_id: String,
}

/// The claimed survey e-mail `due`, with its Message-ID fixed (made by `message_id` the
/// first time); `None` when it is no longer being sent under this attempt.
pub async fn mail(tx: &TenantTx, due: Due, message_id: impl FnOnce() -> String) -> Result<Option<Mail>, Error> {
    let Some(row) = sending(tx, due).await? else { return Ok(None) };
    let (Some(expires_at), attempt) = (row.expires_at, row.mail_attempts) else {
        return Err(Error::internal("a survey e-mail without its link"));
    };
    let header_message_id = match row.header_message_id.clone() {
        Some(id) => id,
        None => {
            let id = message_id();
            let mut active: csat_survey::ActiveModel = row.clone().into();
            active.header_message_id = Set(Some(id.clone()));
            active.update(&**tx).await.map_err(db_err)?;
            id
        }
    };
    let link = Link { tenant: tx.tenant(), survey: row.id, expires_at };
    Ok(Some(Mail { survey: row.into(), link, attempt, header_message_id }))
}

async fn sending(tx: &TenantTx, due: Due) -> Result<Option<csat_survey::Model>, Error> {
    csat_survey::Entity::scoped(tx.tenant())
        .filter(csat_survey::Column::Id.eq(due.id))
        .filter(csat_survey::Column::Stage.eq(SurveyStage::MailSending))
        .filter(csat_survey::Column::MailAttempts.eq(due.attempt))
        .lock_exclusive()
        .one(&**tx)
        .await
        .map_err(db_err)
}

/// How a survey e-mail's attempt ended.
#[derive(Clone, Debug, PartialEq)]
pub enum MailOutcome {
    Sent,
    Retry { error: String, at: DateTime<Utc> },
    Failed { error: String },
}

/// Records how the attempt `due` ended, if the survey is still being sent under it.
pub async fn record_mail(tx: &TenantTx, due: Due, outcome: MailOutcome) -> Result<bool, Error> {
    let Some(row) = sending(tx, due).await? else { return Ok(false) };
    let now = copilot_core::now();
    let mut active: csat_survey::ActiveModel = row.into();
    match outcome {
        MailOutcome::Sent => {
            active.stage = Set(SurveyStage::Requested);
            active.mail_sent_at = Set(Some(now));
            active.mail_error = Set(None);
            active.next_attempt_at = Set(None);
        }
        MailOutcome::Retry { error, at } => {
            active.stage = Set(SurveyStage::MailQueued);
            active.mail_error = Set(Some(error));
            active.next_attempt_at = Set(Some(at));
        }
        MailOutcome::Failed { error } => {
            active.stage = Set(SurveyStage::MailFailed);
            active.mail_error = Set(Some(error));
            active.next_attempt_at = Set(None);
        }
    }
    active.lease_until = Set(None);
    active.updated_at = Set(now);
    active.update(&**tx).await.map_err(db_err)?;
    Ok(true)
}

/// Fails a survey e-mail whose sender's lease ran out (see the module notes).
pub async fn fail_interrupted(tx: &TenantTx, due: Due) -> Result<bool, Error> {
    let Some(row) = sending(tx, due).await? else { return Ok(false) };
    if row.lease_until.is_some_and(|until| until >= copilot_core::now()) {
        return Ok(false);
    }
    record_mail(tx, due, MailOutcome::Failed { error: OUTCOME_UNKNOWN.into() }).await
}

/// The survey a link names, as its page shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum Page {
    /// Takes a rating (a first one, or a change).
    Open(Survey),
    /// Rated, and no longer changeable.
    Closed(Survey),
    /// The link expired before a rating.
    Expired(Survey),
}

fn page(row: csat_survey::Model, now: DateTime<Utc>) -> Page {
    let survey = Survey::from(row);
    match (survey.rated_at, survey.changeable_until, survey.expires_at) {
        (Some(_), Some(until), _) if now >= until => Page::Closed(survey),
        (None, _, Some(expires)) if now >= expires => Page::Expired(survey),
        _ => Page::Open(survey),
    }
}

/// The survey row of a link: the link's survey, sent, with the expiry the link carries;
/// anything else is not found (a link to a survey since deleted, or a forged one).
async fn linked(tx: &TenantTx, link: &Link, lock: bool) -> Result<csat_survey::Model, Error> {
    let mut query = csat_survey::Entity::scoped(tx.tenant()).filter(csat_survey::Column::Id.eq(link.survey));
    if lock {
        query = query.lock_exclusive();
    }
    let row = query.one(&**tx).await.map_err(db_err)?.ok_or(Error::NotFound("survey"))?;
    if row.expires_at != Some(link.expires_at) {
        return Err(Error::NotFound("survey"));
    }
    Ok(row)
}

/// The page of a link (read only: opening a link records nothing).
pub async fn open(tx: &TenantTx, link: &Link) -> Result<Page, Error> {
    Ok(page(linked(tx, link, false).await?, copilot_core::now()))
}

/// Records the customer's rating (or its change) through a link, and emits `csat.rated`.
/// A rating outside the survey's scale is `invalid_rating`; past the link's expiry or the
/// change window the page says so and nothing changes; past [`MAX_SUBMISSIONS_PER_HOUR`]
/// submissions in an hour, `RateLimited`.
pub async fn rate(tx: &TenantTx, link: &Link, rating: i16, comment: Option<&str>) -> Result<Page, Error> {
    let now = copilot_core::now();
    let row = linked(tx, link, true).await?;
    let Page::Open(survey) = page(row.clone(), now) else { return Ok(page(row, now)) };
    let window_open = row.window_started_at.is_some_and(|start| now < start + Duration::hours(1));
    if window_open && row.window_submissions >= MAX_SUBMISSIONS_PER_HOUR {
        let ends = row.window_started_at.unwrap_or(now) + Duration::hours(1);
        return Err(Error::RateLimited { retry_after_seconds: (ends - now).num_seconds().max(1) as u64 });
    }
    if !(1..=top(survey.scale)).contains(&rating) {
        return Err(Error::validation(
            "invalid_rating",
            format!("`rating` must be between 1 and {} on this survey", top(survey.scale)),
        ));
    }
    let comment = comment.map(str::trim).filter(|text| !text.is_empty()).map(|text| {
        let kept: String = text.chars().filter(|c| *c == '\n' || *c == '\t' || !c.is_control()).collect();
        kept.chars().take(MAX_COMMENT).collect::<String>()
    });
    let changed = row.rated_at.is_some();
    let mut active: csat_survey::ActiveModel = row.clone().into();
    active.rating = Set(Some(rating));
    active.comment = Set(comment);
    if changed {
        active.changed_at = Set(Some(now));
        active.changes = Set(row.changes + 1);
    } else {
        active.rated_at = Set(Some(now));
    }
    if window_open {
        active.window_submissions = Set(row.window_submissions + 1);
    } else {
        active.window_started_at = Set(Some(now));
        active.window_submissions = Set(1);
    }
    active.updated_at = Set(now);
    let saved = Survey::from(active.update(&**tx).await.map_err(db_err)?);
    events::emit(
        tx,
        "csat.rated",
        Some(saved.ticket_id),
        &serde_json::json!({
            "ticket_id": saved.ticket_id,
            "survey_id": saved.id,
            "scale": saved.scale,
            "rating": saved.rating,
            "satisfied": saved.satisfied,
            "comment": saved.comment,
            "changed": changed,
            "agent_id": saved.agent_id,
            "ai_drafted": saved.ai_drafted,
        }),
    )
    .await?;
    Ok(Page::Open(saved))
}

/// Surveys requested in `[from, to)`, for analytics.
pub(crate) async fn requested_in(
    tx: &TenantTx,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<csat_survey::Model>, Error> {
    csat_survey::Entity::scoped(tx.tenant())
        .filter(csat_survey::Column::RequestedAt.gte(from))
        .filter(csat_survey::Column::RequestedAt.lt(to))
        .all(&**tx)
        .await
        .map_err(db_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satisfied_means_four_or_five_or_good() {
        assert!(!satisfied(CsatScale::Five, 3));
        assert!(satisfied(CsatScale::Five, 4));
        assert!(satisfied(CsatScale::Two, 2));
        assert!(!satisfied(CsatScale::Two, 1));
    }

    #[test]
    fn chinese_tickets_get_chinese_surveys_and_the_rest_english() {
        assert_eq!(survey_language(Some("zh-Hans")), "zh");
        assert_eq!(survey_language(Some("ZH")), "zh");
        assert_eq!(survey_language(Some("de")), "en");
        assert_eq!(survey_language(None), "en");
    }
}
