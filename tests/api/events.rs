//! The live event stream: a tenant's events arrive as server-sent events, resume after
//! `Last-Event-ID`, filter by type, and never cross tenants.

use std::time::Duration;

use copilot_tests::{TestApp, spawn_app};
use futures_util::StreamExt;
use serde_json::Value;

/// An open event stream and what it has sent so far.
struct Listener {
    bytes: futures_util::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    raw: String,
}

impl Listener {
    async fn open(app: &TestApp, token: &str, query: &str, last_event_id: Option<&str>) -> Self {
        let mut request = reqwest::Client::new().get(app.url(&format!("/v1/events/stream{query}"))).bearer_auth(token);
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("the stream opens");
        assert_eq!(response.status(), 200);
        assert!(response.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/event-stream")));
        Self { bytes: response.bytes_stream().map(|chunk| chunk.map(|b| b.to_vec())).boxed(), raw: String::new() }
    }

    /// The events received until `done` holds for them (or `wait` passes).
    async fn until(&mut self, wait: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let events = self.events();
            if done(&events) {
                return events;
            }
            match tokio::time::timeout_at(deadline, self.bytes.next()).await {
                Ok(Some(Ok(chunk))) => self.raw.push_str(&String::from_utf8_lossy(&chunk)),
                _ => return events,
            }
        }
    }

    fn events(&self) -> Vec<Value> {
        self.raw
            .split("\n\n")
            .filter_map(|block| {
                let data = block.lines().find_map(|line| line.strip_prefix("data: "))?;
                let mut event: Value = serde_json::from_str(data).ok()?;
                let id = block.lines().find_map(|line| line.strip_prefix("id: "))?;
                let name = block.lines().find_map(|line| line.strip_prefix("event: "))?;
                event["sse_id"] = id.into();
                event["sse_event"] = name.into();
                Some(event)
            })
            .collect()
    }
}

fn of_type<'a>(events: &'a [Value], event_type: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == event_type).collect()
}

#[tokio::test]
async fn a_tenants_events_stream_live_resume_and_filter() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let mut live = Listener::open(&app, &agent, "", None).await;
    let mut tickets_only = Listener::open(&app, &agent, "?types=ticket.created", None).await;

    let created = app.create_ticket(&tenant.key, "Live one", "live@example.test").await;
    let ticket_id = created["ticket"]["id"].as_str().unwrap_or_default().to_owned();
    let events = live
        .until(Duration::from_secs(20), |events| {
            !of_type(events, "ticket.created").is_empty() && !of_type(events, "triage.completed").is_empty()
        })
        .await;
    let opened = of_type(&events, "ticket.created");
    assert_eq!(opened.len(), 1, "each event once: {events:?}");
    assert_eq!(opened[0]["ticket_id"], ticket_id.as_str());
    assert_eq!(opened[0]["data"]["ticket"]["subject"], "Live one");
    assert_eq!(opened[0]["sse_id"], opened[0]["id"]);
    assert_eq!(opened[0]["sse_event"], "ticket.created");
    assert_eq!(of_type(&events, "message.created")[0]["ticket_id"], ticket_id.as_str());
    assert_eq!(of_type(&events, "triage.completed")[0]["ticket_id"], ticket_id.as_str());

    let filtered = tickets_only.until(Duration::from_secs(10), |events| !events.is_empty()).await;
    assert!(filtered.iter().all(|e| e["type"] == "ticket.created") && filtered.len() == 1, "{filtered:?}");

    // Resuming after the ticket's creation sends what followed it, not that event again;
    // events of the look-back window before it may come again (an event recorded earlier
    // may have committed later), never one from before the window.
    let first_id = opened[0]["id"].as_str().unwrap_or_default().to_owned();
    let mut resumed = Listener::open(&app, &agent, "", Some(&first_id)).await;
    let again = resumed.until(Duration::from_secs(10), |events| !of_type(events, "triage.completed").is_empty()).await;
    assert!(of_type(&again, "ticket.created").is_empty(), "{again:?}");
    assert_eq!(of_type(&again, "triage.completed").len(), 1);
    let at = |event: &Value| {
        event["created_at"].as_str().and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok()).unwrap_or_default()
    };
    let window = at(opened[0]) - chrono::Duration::seconds(10);
    assert!(again.iter().all(|e| at(e) >= window), "nothing from before the look-back window: {again:?}");
    app.get("/v1/events/stream?types=,", &agent).await.expect_error(400, "unknown_event_type");

    app.get("/v1/events/stream?types=ticket.exploded", &agent).await.expect_error(400, "unknown_event_type");
}

#[tokio::test]
async fn another_tenants_events_never_reach_a_stream() {
    let app = spawn_app().await;
    let ours = app.create_tenant().await;
    let theirs = app.create_tenant().await;
    let mut listener = Listener::open(&app, &ours.key, "?types=ticket.created", None).await;

    app.create_ticket(&theirs.key, "Not yours", "them@example.test").await;
    let mine = app.create_ticket(&ours.key, "Yours", "us@example.test").await;
    listener.until(Duration::from_secs(10), |events| !events.is_empty()).await;
    // Give a stray event of the other tenant time to show up too.
    let events = listener.until(Duration::from_millis(2500), |events| events.len() > 1).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["ticket_id"], mine["ticket"]["id"]);

    app.get("/v1/events/stream", "not-a-token").await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn a_revoked_key_ends_its_stream_at_the_next_credential_check() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let created = app
        .post("/v1/api-keys", &tenant.key, serde_json::json!({"name": "listener", "role": "integration"}))
        .await
        .expect(201);
    let key = created["key"].as_str().unwrap_or_default().to_owned();
    let mut listener = Listener::open(&app, &key, "?types=ticket.created", None).await;
    app.create_ticket(&tenant.key, "Before", "before@example.test").await;
    assert_eq!(listener.until(Duration::from_secs(10), |events| !events.is_empty()).await.len(), 1);

    app.delete(&format!("/v1/api-keys/{}", created["id"].as_str().unwrap_or_default()), &tenant.key).await.expect(204);
    // The stream checks its credential again every 3 s and ends when it no longer works.
    let revoked_at = tokio::time::Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(45), async {
        while let Some(chunk) = listener.bytes.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream of a revoked key stays open");
    assert!(revoked_at.elapsed() < Duration::from_secs(6), "ended {:?} after the revocation", revoked_at.elapsed());
    app.get("/v1/events/stream", &key).await.expect_error(401, "unauthorized");
}

#[tokio::test]
async fn one_caller_cannot_hold_more_than_its_share_of_streams() {
    let app = copilot_tests::spawn_app_alone_with(|settings| {
        settings.event_streams_per_caller = 3;
        settings.event_streams_per_tenant = 4;
    })
    .await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(Listener::open(&app, &tenant.key, "", None).await);
    }
    app.get("/v1/events/stream", &tenant.key).await.expect_error(429, "rate_limited");
    // Another caller of the tenant gets the tenant's last place, then the tenant is full.
    open.push(Listener::open(&app, &agent, "", None).await);
    app.get("/v1/events/stream", &agent).await.expect_error(429, "rate_limited");
    // A closed stream frees its place (once the server sees it closed).
    open.remove(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let reply = reqwest::Client::new().get(app.url("/v1/events/stream")).bearer_auth(&tenant.key).send().await;
        if reply.as_ref().is_ok_and(|reply| reply.status() == 200) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the closed stream's place was not freed");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
