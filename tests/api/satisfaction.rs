//! Satisfaction surveys: a solved ticket gets one survey (by e-mail on an e-mail ticket,
//! through a real SMTP server; as a `csat.requested` event everywhere), the customer rates
//! through a signed link on a server-rendered page without signing in, may change the
//! rating for 7 days, and floods, tampered and expired links change nothing; the figures by
//! agent, intent and AI-drafted or typed replies.

use std::time::Duration;

use copilot_tests::{TestApp, TestTenant, smtp::SmtpSink, spawn_app_alone, uuid_at};
use reqwest::{Method, StatusCode, redirect::Policy};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::{Value, json};
use uuid::Uuid;

async fn sql(app: &TestApp, statement: &str, values: Vec<sea_orm::Value>) {
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    db.unscoped()
        .execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, statement, values))
        .await
        .expect("a test statement");
}

async fn events(app: &TestApp, ticket: Uuid, kind: &str) -> Vec<Value> {
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    let rows = db
        .unscoped()
        .query_all_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT data::text AS data FROM events WHERE ticket_id = $1 AND event_type = $2 ORDER BY created_at",
            [ticket.into(), kind.into()],
        ))
        .await
        .expect("events");
    rows.iter()
        .map(|row| serde_json::from_str(&row.try_get::<String>("", "data").expect("data")).expect("JSON"))
        .collect()
}

/// A page of the survey: status, headers and HTML.
struct Html {
    status: StatusCode,
    location: Option<String>,
    retry_after: Option<String>,
    csp: Option<String>,
    text: String,
}

async fn page(app: &TestApp, method: Method, path: &str, form: &[(&str, &str)]) -> Html {
    let client = reqwest::Client::builder().redirect(Policy::none()).build().expect("client");
    let mut request = client.request(method.clone(), app.url(path));
    if method == Method::POST {
        request = request.form(form);
    }
    let response = request.send().await.expect("the survey page answers");
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (status, location, retry_after, csp) =
        (response.status(), header("location"), header("retry-after"), header("content-security-policy"));
    Html { status, location, retry_after, csp, text: response.text().await.expect("HTML") }
}

async fn enable(app: &TestApp, tenant: &TestTenant, settings: Value) {
    let saved = app.send(Method::PUT, "/v1/settings/csat", Some(&tenant.key), Some(&settings)).await.expect(200);
    assert_eq!(saved["enabled"], true, "{saved}");
}

async fn open(app: &TestApp, tenant: &TestTenant, channel: &str, email: &str) -> Uuid {
    let ticket = json!({"subject": "Parcel late", "channel": channel, "customer": {"email": email, "name": "Ada"},
                        "body": "Where is my parcel?"});
    uuid_at(&app.post("/v1/tickets", &tenant.key, ticket).await.expect(201), "/ticket/id")
}

async fn reply_and_solve(app: &TestApp, agent: &str, ticket: Uuid) {
    let reply = json!({"author": "agent", "body": "It arrives tomorrow."});
    app.post(&format!("/v1/tickets/{ticket}/messages"), agent, reply).await.expect(201);
    app.patch(&format!("/v1/tickets/{ticket}"), agent, json!({"status": "solved"})).await.expect(200);
}

async fn survey(app: &TestApp, token: &str, ticket: Uuid) -> Value {
    app.get(&format!("/v1/tickets/{ticket}/csat"), token).await.expect(200)
}

/// The survey page's path of a survey's link.
fn path_of(survey: &Value) -> String {
    let url = survey["url"].as_str().unwrap_or_else(|| panic!("a survey with a link: {survey}"));
    format!("/survey/{}", url.rsplit_once("/survey/").expect("a survey link").1)
}

#[tokio::test]
async fn a_solved_email_ticket_gets_one_survey_by_mail_and_the_customer_rates_through_its_link() {
    let app = spawn_app_alone().await;
    let sink = SmtpSink::start();
    let tenant = app.create_tenant().await;
    let mail = json!({"addresses": ["help@acme.test"], "from_name": "Acme Support", "smtp_url": sink.url()});
    app.send(Method::PUT, "/v1/settings/email", Some(&tenant.key), Some(&mail)).await.expect(200);
    let (agent_id, agent) = app.add_user(&tenant, "agent").await;
    // Agents may read the settings, not change them.
    app.send(Method::PUT, "/v1/settings/csat", Some(&agent), Some(&json!({"enabled": true})))
        .await
        .expect_error(403, "forbidden");
    for bad in [json!({"enabled": true, "link_days": 0}), json!({"enabled": true, "delay_minutes": -1})] {
        app.send(Method::PUT, "/v1/settings/csat", Some(&tenant.key), Some(&bad))
            .await
            .expect_error(400, "invalid_setting");
    }
    enable(&app, &tenant, json!({"enabled": true})).await;

    let ticket = open(&app, &tenant, "email", "ada@example.test").await;
    reply_and_solve(&app, &agent, ticket).await;
    // The reply, then the survey.
    let sent = sink.wait_for(2, Duration::from_secs(20)).await;
    let survey_mail = String::from_utf8_lossy(&sent[1]).replace("=\r\n", "");
    assert!(survey_mail.contains("How did we do? [#"), "{survey_mail}");
    let asked = survey(&app, &agent, ticket).await;
    assert_eq!((asked["stage"].as_str(), asked["scale"].as_str()), (Some("requested"), Some("five")), "{asked}");
    assert_eq!(asked["agent_id"], json!(agent_id));
    assert_eq!(asked["ai_drafted"], false);
    assert!(asked["mail_sent_at"].is_string(), "{asked}");
    let path = path_of(&asked);
    let token = path.trim_start_matches("/survey/");
    assert!(survey_mail.contains(token), "the mail carries the link: {survey_mail}");
    let requested = events(&app, ticket, "csat.requested").await;
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0]["by_email"], true);

    // Opening the page (and a rating link of the mail) records nothing.
    let shown = page(&app, Method::GET, &format!("{path}?rating=4"), &[]).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.text.contains("<html lang=\"en\">") && shown.text.contains("How would you rate"), "{}", shown.text);
    assert!(shown.text.contains("value=\"4\" required checked"), "the mail's choice is ticked: {}", shown.text);
    assert!(!shown.text.contains("<script"), "no script");
    assert!(shown.csp.as_deref().is_some_and(|csp| csp.contains("default-src 'none'")), "{:?}", shown.csp);
    assert!(survey(&app, &agent, ticket).await["rating"].is_null());
    let chinese = page(&app, Method::GET, &format!("{path}?lang=zh"), &[]).await;
    assert!(chinese.text.contains("<html lang=\"zh\">") && chinese.text.contains("非常满意"), "{}", chinese.text);

    // A rating, then a change of mind.
    let rated = page(&app, Method::POST, &path, &[("rating", "5"), ("comment", "Quick <b>and</b> kind")]).await;
    assert_eq!(rated.status, StatusCode::SEE_OTHER);
    assert!(rated.location.as_deref().is_some_and(|to| to.contains("saved=1")), "{:?}", rated.location);
    let thanked = page(&app, Method::GET, &format!("{path}?saved=1"), &[]).await;
    assert!(
        thanked.text.contains("Your rating is saved") && thanked.text.contains("Quick &lt;b&gt;and"),
        "{}",
        thanked.text
    );
    let first = survey(&app, &agent, ticket).await;
    assert_eq!((first["rating"].clone(), first["satisfied"].clone()), (json!(5), json!(true)));
    assert_eq!(first["comment"], "Quick <b>and</b> kind");
    page(&app, Method::POST, &path, &[("rating", "2")]).await;
    let changed = survey(&app, &agent, ticket).await;
    assert_eq!((changed["rating"].clone(), changed["satisfied"].clone()), (json!(2), json!(false)));
    assert!(changed["changed_at"].is_string() && changed["rated_at"] == first["rated_at"], "{changed}");
    let rated_events = events(&app, ticket, "csat.rated").await;
    assert_eq!(rated_events.iter().map(|e| e["changed"].clone()).collect::<Vec<_>>(), [json!(false), json!(true)]);

    // Bad submissions say why and change nothing.
    let wrong = page(&app, Method::POST, &path, &[("rating", "9")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text.contains("role=\"alert\""), "{}", wrong.text);
    assert_eq!(
        page(&app, Method::POST, &path, &[("comment", "no rating")]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut bent = token.to_owned().into_bytes();
    bent[20] = if bent[20] == b'A' { b'B' } else { b'A' };
    let tampered = format!("/survey/{}", String::from_utf8(bent).expect("ASCII"));
    assert_eq!(page(&app, Method::GET, &tampered, &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(page(&app, Method::POST, &tampered, &[("rating", "5")]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(page(&app, Method::GET, "/survey/not-a-link", &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(survey(&app, &agent, ticket).await["rating"], 2);

    // A flood: ten submissions an hour per link, then 429 until the hour ends.
    for _ in 0..8 {
        assert_eq!(page(&app, Method::POST, &path, &[("rating", "3")]).await.status, StatusCode::SEE_OTHER);
    }
    let flooded = page(&app, Method::POST, &path, &[("rating", "1")]).await;
    assert_eq!(flooded.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(flooded.retry_after.as_deref().and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s > 0 && s <= 3600));
    assert_eq!(survey(&app, &agent, ticket).await["rating"], 3);

    // Seven days after the first rating it stands.
    sql(
        &app,
        "UPDATE csat_surveys SET rated_at = rated_at - interval '8 days', window_started_at = NULL WHERE ticket_id = $1",
        vec![ticket.into()],
    )
    .await;
    let closed = page(&app, Method::POST, &path, &[("rating", "5")]).await;
    assert_eq!(closed.status, StatusCode::OK);
    assert!(closed.text.contains("can no longer be changed") && !closed.text.contains("<form"), "{}", closed.text);
    assert_eq!(survey(&app, &agent, ticket).await["rating"], 3);

    // Solving again sends nothing more: one survey per ticket.
    app.patch(&format!("/v1/tickets/{ticket}"), &agent, json!({"status": "open"})).await.expect(200);
    app.patch(&format!("/v1/tickets/{ticket}"), &agent, json!({"status": "solved"})).await.expect(200);
    app.drain_queue("csat").await;
    assert_eq!(sink.messages().len(), 2);
    assert_eq!(events(&app, ticket, "csat.requested").await.len(), 1);

    // Another tenant sees none of it.
    let other = app.create_tenant().await;
    app.get(&format!("/v1/tickets/{ticket}/csat"), &other.key).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn surveys_wait_for_their_delay_skip_unanswered_tickets_hold_on_reopening_and_expire() {
    let app = spawn_app_alone().await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    // Off by default: nothing is asked.
    let off = open(&app, &tenant, "web", "off@example.test").await;
    reply_and_solve(&app, &agent, off).await;
    app.drain_queue("csat").await;
    app.get(&format!("/v1/tickets/{off}/csat"), &agent).await.expect_error(404, "not_found");

    enable(&app, &tenant, json!({"enabled": true, "scale": "two", "delay_minutes": 60, "link_days": 3})).await;
    // A customer who never got a reply is not asked.
    let unanswered = open(&app, &tenant, "web", "quiet@example.test").await;
    app.patch(&format!("/v1/tickets/{unanswered}"), &agent, json!({"status": "solved"})).await.expect(200);
    app.get(&format!("/v1/tickets/{unanswered}/csat"), &agent).await.expect_error(404, "not_found");

    let ticket = open(&app, &tenant, "web", "zhang@example.test").await;
    reply_and_solve(&app, &agent, ticket).await;
    app.drain_queue("csat").await;
    let due = survey(&app, &agent, ticket).await;
    assert_eq!(due["stage"], "due", "an hour to go: {due}");
    assert!(due.get("url").is_none(), "no link before it goes out: {due}");
    // Reopened before it went out: held; solved again: due again.
    app.patch(&format!("/v1/tickets/{ticket}"), &agent, json!({"status": "open"})).await.expect(200);
    assert_eq!(survey(&app, &agent, ticket).await["stage"], "waiting");
    app.patch(&format!("/v1/tickets/{ticket}"), &agent, json!({"status": "solved"})).await.expect(200);
    assert_eq!(survey(&app, &agent, ticket).await["stage"], "due");
    sql(&app, "UPDATE csat_surveys SET next_attempt_at = now() WHERE ticket_id = $1", vec![ticket.into()]).await;
    app.drain_queue("csat").await;
    let sent = survey(&app, &agent, ticket).await;
    assert_eq!((sent["stage"].as_str(), sent["scale"].as_str()), (Some("requested"), Some("two")), "{sent}");
    assert!(sent.get("mail_sent_at").is_none(), "a web ticket gets no mail: {sent}");
    let requested = events(&app, ticket, "csat.requested").await;
    assert_eq!((requested.len(), requested[0]["by_email"].clone()), (1, json!(false)));
    assert_eq!(requested[0]["url"], sent["url"]);
    let path = path_of(&sent);
    let good = page(&app, Method::GET, &path, &[]).await;
    assert!(good.text.contains("value=\"2\"") && !good.text.contains("value=\"5\""), "good or bad: {}", good.text);
    app.get(&format!("/v1/tickets/{ticket}/csat"), &app.create_tenant().await.key).await.expect_error(404, "not_found");

    // A link replayed after it expired: gone, and nothing recorded.
    let expired_at = chrono::Utc::now() - chrono::Duration::days(1);
    let expired_at = chrono::DateTime::from_timestamp(expired_at.timestamp(), 0).expect("a time");
    let survey_id = Uuid::parse_str(sent["id"].as_str().expect("an id")).expect("a uuid");
    sql(&app, "UPDATE csat_surveys SET expires_at = $1 WHERE id = $2", vec![expired_at.into(), survey_id.into()]).await;
    let link = copilot_satisfaction::Link {
        tenant: copilot_core::TenantId(tenant.id),
        survey: survey_id,
        expires_at: expired_at,
    };
    let old = format!("/survey/{}", link.token(&app.pipeline().sealer));
    assert_eq!(page(&app, Method::GET, &old, &[]).await.status, StatusCode::GONE);
    let replayed = page(&app, Method::POST, &old, &[("rating", "2")]).await;
    assert_eq!(replayed.status, StatusCode::GONE);
    assert!(replayed.text.contains("expired"), "{}", replayed.text);
    // The link of the old expiry no longer names the survey.
    assert_eq!(page(&app, Method::GET, &path, &[]).await.status, StatusCode::NOT_FOUND);
    assert!(survey(&app, &agent, ticket).await["rating"].is_null());
}

#[tokio::test]
async fn satisfaction_is_measured_by_agent_intent_and_ai_drafted_or_typed_replies() {
    let app = spawn_app_alone().await;
    let tenant = app.create_tenant().await;
    let (agent_id, agent) = app.add_user(&tenant, "agent").await;
    enable(&app, &tenant, json!({"enabled": true})).await;
    // A reply from an approved AI draft, rated 5; a typed one, rated 2; one unrated.
    let drafted = open(&app, &tenant, "web", "a@example.test").await;
    let draft = app.settled_draft(&agent, drafted).await;
    let id = draft["id"].as_str().expect("a draft id");
    let approved = json!({"body": "Your parcel arrives tomorrow."});
    app.post(&format!("/v1/drafts/{id}/approve"), &agent, approved).await.expect(200);
    app.patch(&format!("/v1/tickets/{drafted}"), &agent, json!({"status": "solved"})).await.expect(200);
    let typed = open(&app, &tenant, "web", "b@example.test").await;
    reply_and_solve(&app, &agent, typed).await;
    let silent = open(&app, &tenant, "web", "c@example.test").await;
    reply_and_solve(&app, &agent, silent).await;
    app.drain_queue("csat").await;
    for (ticket, rating) in [(drafted, "5"), (typed, "2")] {
        let asked = survey(&app, &agent, ticket).await;
        assert_eq!(asked["ai_drafted"], ticket == drafted, "{asked}");
        let rated = page(&app, Method::POST, &path_of(&asked), &[("rating", rating)]).await;
        assert_eq!(rated.status, StatusCode::SEE_OTHER);
    }

    let report = app.get("/v1/analytics/csat", &agent).await.expect(200);
    let totals = &report["totals"];
    assert_eq!((totals["requested"].clone(), totals["responses"].clone()), (json!(3), json!(2)), "{report}");
    assert_eq!((totals["satisfaction"].clone(), totals["average"].clone()), (json!(0.5), json!(3.5)));
    assert_eq!(totals["distribution"], json!([0, 1, 0, 0, 1]));
    let by = |list: &str, key: &str| {
        report[list].as_array().and_then(|groups| groups.iter().find(|g| g["key"] == key)).cloned().unwrap_or_default()
    };
    assert_eq!(by("by_reply", "ai_drafted")["scores"]["satisfaction"], json!(1.0), "{report}");
    assert_eq!(by("by_reply", "typed")["scores"]["satisfaction"], json!(0.0), "{report}");
    assert_eq!(by("by_reply", "typed")["scores"]["requested"], 2);
    assert_eq!(by("by_agent", &agent_id.to_string())["scores"]["responses"], 2, "{report}");
    assert_eq!(by("by_channel", "web")["scores"]["requested"], 3);
    assert!(report["by_period"].as_array().is_some_and(|periods| periods.len() >= 30), "{report}");
    app.get("/v1/analytics/csat?from=2027-01-02T00:00:00Z&to=2027-01-01T00:00:00Z", &agent)
        .await
        .expect_error(400, "invalid_range");
    // Another tenant's figures hold none of these.
    let other = app.create_tenant().await;
    assert_eq!(app.get("/v1/analytics/csat", &other.key).await.expect(200)["totals"]["requested"], 0);
}

/// A tenant with three surveys: one after an approved AI draft rated 5, one after a typed
/// reply rated 2, one after a typed reply not rated.
async fn rated_desk(app: &TestApp) -> TestTenant {
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    enable(app, &tenant, json!({"enabled": true})).await;
    let drafted = open(app, &tenant, "web", "a@example.test").await;
    let draft = app.settled_draft(&agent, drafted).await;
    let id = draft["id"].as_str().expect("a draft id");
    app.post(&format!("/v1/drafts/{id}/approve"), &agent, json!({"body": "It arrives tomorrow."})).await.expect(200);
    app.patch(&format!("/v1/tickets/{drafted}"), &agent, json!({"status": "solved"})).await.expect(200);
    let typed = open(app, &tenant, "web", "b@example.test").await;
    reply_and_solve(app, &agent, typed).await;
    let silent = open(app, &tenant, "web", "c@example.test").await;
    reply_and_solve(app, &agent, silent).await;
    app.drain_queue("csat").await;
    for (ticket, rating) in [(drafted, "5"), (typed, "2")] {
        let asked = survey(app, &agent, ticket).await;
        assert_eq!(
            page(app, Method::POST, &path_of(&asked), &[("rating", rating)]).await.status,
            StatusCode::SEE_OTHER
        );
    }
    tenant
}

#[tokio::test]
async fn survey_ratings_answer_data_questions_alike_on_postgresql_and_sqlite() {
    let query = json!({
        "dataset": "surveys",
        "measures": [{"fn": "count"}, {"fn": "avg", "field": "rating"},
                     {"fn": "rate", "condition": {"field": "rating", "op": "gte", "value": 4}}],
        "group_by": [{"field": "reply"}],
        "order_by": [{"column": "reply"}],
    });
    let mut answers = Vec::new();
    for backend in [copilot_tests::Backend::Postgres, copilot_tests::Backend::Sqlite] {
        let app = copilot_tests::spawn_app_on(backend).await;
        let tenant = rated_desk(&app).await;
        let answer = app.post("/v1/analytics/query", &tenant.key, query.clone()).await.expect(200);
        assert_eq!(
            answer["rows"],
            json!([["ai_drafted", 1, 5.0, 1.0], ["typed", 2, 2.0, 0.0]]),
            "{backend:?}: {answer}"
        );
        // Only the tenant's surveys, and a filter on the flag.
        let typed = json!({"dataset": "surveys", "measures": [{"fn": "count"}],
                           "filters": [{"field": "reply", "op": "eq", "value": "typed"}]});
        assert_eq!(app.post("/v1/analytics/query", &tenant.key, typed).await.expect(200)["rows"], json!([[2]]));
        answers.push(answer["rows"].clone());
    }
    assert_eq!(answers[0], answers[1]);
}
