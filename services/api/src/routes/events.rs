//! The tenant's events live: what webhooks deliver, as server-sent events, for the console
//! and for integrations that would rather listen than receive.

use std::{collections::HashMap, time::Duration};

use chrono::{DateTime, Utc};
use copilot_core::TenantId;
use copilot_store::events;
use futures::{StreamExt, stream::BoxStream};
use poem::web::sse::Event;
use poem_openapi::{
    Object, OpenApi,
    param::{Header, Query},
    payload::EventStream,
    types::ToJSON,
};
use uuid::Uuid;

use super::Tag;
use crate::{AppState, auth::TenantAuth, error::ApiResult};

pub struct EventsApi {
    pub state: AppState,
}

/// An event of `GET /v1/events/stream`: the same `id`, `type` and `data` as the webhook of
/// the event.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct StreamedEvent {
    pub id: Uuid,
    #[oai(rename = "type")]
    pub event_type: String,
    /// The ticket the event is about, when it is about one.
    pub ticket_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub data: serde_json::Value,
}

/// How often the stream reads new events.
const POLL: Duration = Duration::from_secs(1);
/// Events are read again this far back, so an event whose transaction committed after a
/// later one was streamed still arrives (once: the ids sent are remembered this long).
const LOOKBACK: chrono::Duration = chrono::Duration::seconds(10);
/// The most events one query returns (a read pages on until it has them all).
const BATCH: u64 = 200;
/// How often a stream checks that its credential still works (a revoked key, a
/// deactivated user or an ended session ends the stream).
const REAUTHENTICATE: Duration = Duration::from_secs(3);
/// How far back `Last-Event-ID` resumes at most.
const RESUME_LIMIT: chrono::Duration = chrono::Duration::hours(1);
/// A stream ends after this long; clients reconnect with `Last-Event-ID`.
const STREAM_LIMIT: Duration = Duration::from_secs(60 * 60);

#[OpenApi(tag = "Tag::Events")]
impl EventsApi {
    /// The tenant's events as server-sent events, from now (or after `Last-Event-ID`, up
    /// to an hour back): each SSE event has the event's id, its type as SSE event name,
    /// and a JSON body. Events arrive at least once, within about a second, in the order
    /// they were recorded; the stream ends after an hour and is resumed with `Last-Event-ID`.
    #[oai(path = "/events/stream", method = "get", operation_id = "events.stream")]
    async fn stream(
        &self,
        auth: TenantAuth,
        /// Only events of these types (comma-separated, e.g. `ticket.created,ticket.updated`).
        /// Besides the webhooks' types, the stream carries `ticket.presence` (who is viewing
        /// or typing on a ticket) and `reply.retrying` (a reply's sending failed and will be
        /// retried), which webhooks never deliver.
        types: Query<Option<String>>,
        /// Resume after this event (sent by `EventSource` when it reconnects).
        #[oai(name = "Last-Event-ID")]
        last_event_id: Header<Option<String>>,
    ) -> ApiResult<EventStream<BoxStream<'static, StreamedEvent>>> {
        let tenant = auth.0.principal.tenant_id;
        let types = parse_types(types.0.as_deref())?;
        let caller = format!("{:?}", auth.0.principal.actor);
        let Some(slot) = self.state.stream_slots.take(&tenant.to_string(), &caller) else {
            return Err(copilot_core::Error::RateLimited { retry_after_seconds: 30 }.into());
        };
        let now = copilot_core::now();
        let mut floor = (now, Uuid::max());
        let mut resumed_after = None;
        if let Some(id) = last_event_id.0.as_deref().and_then(|id| Uuid::try_parse(id.trim()).ok()) {
            let tx = self.state.pipeline.db.tenant(tenant).await?;
            // An id this tenant never had (or no longer has) resumes from now.
            if let Some(last) = match events::get(&tx, id).await {
                Ok(last) => Some(last),
                Err(copilot_core::Error::NotFound(_)) => None,
                Err(error) => return Err(error.into()),
            } {
                // From the look-back window before the last event the client saw: an event
                // recorded before it may have committed after the client left. Events of
                // that window it did see come again (clients deduplicate on the id).
                floor = (last.created_at - LOOKBACK, Uuid::nil()).max((now - RESUME_LIMIT, Uuid::nil()));
                resumed_after = Some(last.id);
            }
        }
        let mut stream = live(self.state.clone(), tenant, auth.0.credential, types, floor);
        if let Some(last) = resumed_after {
            stream = stream.filter(move |event| futures::future::ready(event.id != last)).boxed();
        }
        // The stream holds its place until it ends.
        let stream = stream
            .map(move |event| {
                let _held = &slot;
                event
            })
            .boxed();
        Ok(EventStream::new(stream).keep_alive(Duration::from_secs(15)).to_event(|event: StreamedEvent| {
            let id = event.id.to_string();
            let kind = event.event_type.clone();
            Event::message(event.to_json_string()).event_type(kind).id(id)
        }))
    }
}

fn parse_types(types: Option<&str>) -> ApiResult<Option<Vec<String>>> {
    let Some(types) = types else { return Ok(None) };
    let types: Vec<String> = types.split(',').map(str::trim).filter(|t| !t.is_empty()).map(Into::into).collect();
    if types.is_empty() {
        return Err(copilot_core::Error::validation("unknown_event_type", "`types` names no event type").into());
    }
    if let Some(unknown) = types
        .iter()
        .find(|t| !events::EVENT_TYPES.contains(&t.as_str()) && !events::LIVE_EVENT_TYPES.contains(&t.as_str()))
    {
        return Err(copilot_core::Error::validation("unknown_event_type", format!("no event type `{unknown}`")).into());
    }
    Ok(Some(types))
}

/// What a stream remembers between reads.
struct Cursor {
    /// Events at or after this instant (minus [`LOOKBACK`]) are read next.
    watermark: DateTime<Utc>,
    /// Ids already sent, with their time, kept for [`LOOKBACK`].
    sent: HashMap<Uuid, DateTime<Utc>>,
    /// Events up to this one (time, id) were before the stream: never sent.
    floor: (DateTime<Utc>, Uuid),
    /// Read but not yet sent.
    queue: std::collections::VecDeque<StreamedEvent>,
    opened: tokio::time::Instant,
    /// The bearer credential, checked again every [`REAUTHENTICATE`].
    credential: String,
    authenticated: tokio::time::Instant,
}

/// Reads every event of the look-back window and after, queueing those not sent yet.
async fn read_new(
    state: &AppState,
    tenant: TenantId,
    types: Option<&[String]>,
    cursor: &mut Cursor,
) -> Result<(), copilot_core::Error> {
    let tx = state.pipeline.db.tenant(tenant).await?;
    let mut key = (cursor.watermark - LOOKBACK, Uuid::nil());
    loop {
        let rows = events::after(&tx, key, BATCH).await?;
        let full = rows.len() as u64 == BATCH;
        for row in rows {
            key = (row.created_at, row.id);
            if cursor.sent.insert(row.id, row.created_at).is_some() {
                continue;
            }
            cursor.watermark = cursor.watermark.max(row.created_at);
            if (row.created_at, row.id) <= cursor.floor || types.is_some_and(|types| !types.contains(&row.event_type)) {
                continue;
            }
            cursor.queue.push_back(StreamedEvent {
                id: row.id,
                ticket_id: events::ticket_of(&row.data),
                event_type: row.event_type,
                created_at: row.created_at,
                data: row.data,
            });
        }
        // A long backlog (a resume) is sent a batch at a time: the next read starts over
        // at the watermark, and what was sent is skipped.
        if !full || cursor.queue.len() >= BATCH as usize {
            return Ok(());
        }
    }
}

fn live(
    state: AppState,
    tenant: TenantId,
    credential: String,
    types: Option<Vec<String>>,
    floor: (DateTime<Utc>, Uuid),
) -> BoxStream<'static, StreamedEvent> {
    let cursor = Cursor {
        watermark: floor.0,
        floor,
        sent: HashMap::new(),
        queue: Default::default(),
        opened: tokio::time::Instant::now(),
        credential,
        authenticated: tokio::time::Instant::now(),
    };
    futures::stream::unfold(cursor, move |mut cursor| {
        let state = state.clone();
        let types = types.clone();
        async move {
            loop {
                if let Some(event) = cursor.queue.pop_front() {
                    return Some((event, cursor));
                }
                if cursor.opened.elapsed() > STREAM_LIMIT {
                    return None;
                }
                if cursor.authenticated.elapsed() > REAUTHENTICATE {
                    if copilot_tenancy::auth::authenticate(&state.pipeline.db, &cursor.credential).await.is_err() {
                        return None;
                    }
                    cursor.authenticated = tokio::time::Instant::now();
                }
                if let Err(error) = read_new(&state, tenant, types.as_deref(), &mut cursor).await {
                    tracing::warn!(%error, "reading events for a stream failed");
                    return None;
                }
                let horizon = cursor.watermark - LOOKBACK;
                cursor.sent.retain(|_, at| *at >= horizon);
                if cursor.queue.is_empty() {
                    tokio::time::sleep(POLL).await;
                }
            }
        }
    })
    .boxed()
}
