//! The e-mail channel over HTTP with a real SMTP server on loopback (aiosmtpd) and the
//! MIME corpus of `tests/fixtures/email`: inbound mail opens tickets; replies thread by
//! headers (changed subject included) and by subject token (same sender only); duplicates
//! add nothing; auto-replies, bulk mail and loops open nothing; an approved draft goes out
//! threaded, multipart, once; SMTP outages and 4xx are retried, 5xx fails and can be
//! resent; a bounce fails the reply; malformed mail is kept and refused with a code; the
//! secret inbound URL; tenant isolation of every route.

use std::time::Duration;

use copilot_tests::{Service, TestApp, TestTenant, smtp::SmtpSink, spawn_app_alone_with, uuid_at};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

const RFC822: &str = "message/rfc822";

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/email").join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A fixture with its `{{NAME}}` placeholders replaced.
fn fixture_with(name: &str, values: &[(&str, &str)]) -> Vec<u8> {
    let mut text = String::from_utf8(fixture(name)).expect("a UTF-8 fixture");
    for (key, value) in values {
        text = text.replace(&format!("{{{{{key}}}}}"), value);
    }
    text.into_bytes()
}

/// A raw header's value (unfolded) in a sent message.
fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default().replace("\r\n ", " ").replace("\r\n\t", " ");
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim().to_owned())
    })
}

/// A tenant with e-mail settings pointing at a loopback SMTP server, and an agent.
struct Mailroom {
    app: TestApp,
    sink: SmtpSink,
    tenant: TestTenant,
    agent: String,
}

/// Each test sends from an app alone on its own database: apps that share one claim each
/// other's deliveries, and a test that ends stops its app mid-send, which leaves a reply
/// of unknown outcome (failed, by design) for whichever test it belonged to.
async fn mailroom() -> Mailroom {
    mailroom_with(|_| {}).await
}

async fn mailroom_with(adjust: impl FnOnce(&mut copilot_core::settings::Settings)) -> Mailroom {
    let app = spawn_app_alone_with(adjust).await;
    let sink = SmtpSink::start();
    let tenant = app.create_tenant().await;
    let settings = json!({"addresses": ["Help@Acme.test"], "from_name": "Acme Support", "smtp_url": sink.url()});
    let saved = app.send(Method::PUT, "/v1/settings/email", Some(&tenant.key), Some(&settings)).await.expect(200);
    assert_eq!(saved["addresses"], json!(["help@acme.test"]));
    assert_eq!(saved["smtp_url_set"], true);
    assert!(saved.get("smtp_url").is_none(), "the SMTP URL is write-only: {saved}");
    let (_, agent) = app.add_user(&tenant, "agent").await;
    Mailroom { app, sink, tenant, agent }
}

impl Mailroom {
    async fn receive(&self, raw: Vec<u8>) -> Value {
        self.app.post_raw("/v1/inbound/email", Some(&self.tenant.key), RFC822, raw).await.expect(200)
    }

    async fn thread(&self, ticket: Uuid) -> Vec<Value> {
        thread_of(&self.app, &self.agent, ticket).await
    }

    async fn reply(&self, ticket: Uuid, body: &str) -> Value {
        self.app
            .post(&format!("/v1/tickets/{ticket}/messages"), &self.agent, json!({"author": "agent", "body": body}))
            .await
            .expect(201)
    }

    async fn wait_delivery(&self, ticket: Uuid, message: Uuid, done: impl Fn(&Value) -> bool) -> Value {
        wait_delivery(&self.app, &self.agent, ticket, message, done).await
    }

    async fn ticket_count(&self) -> usize {
        let page = self.app.get("/v1/tickets?limit=100", &self.agent).await.expect(200);
        page["data"].as_array().map_or(0, Vec::len)
    }
}

/// A ticket's thread as `agent` reads it through `app`.
async fn thread_of(app: &TestApp, agent: &str, ticket: Uuid) -> Vec<Value> {
    let page = app.get(&format!("/v1/tickets/{ticket}/messages?limit=100"), agent).await.expect(200);
    page["data"].as_array().cloned().unwrap_or_default()
}

/// Waits until the message's delivery satisfies `done`; returns the message.
async fn wait_delivery(
    app: &TestApp,
    agent: &str,
    ticket: Uuid,
    message: Uuid,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..300 {
        let thread = thread_of(app, agent, ticket).await;
        let found = thread.into_iter().find(|m| m["id"] == json!(message)).expect("the message is in its thread");
        if done(&found["delivery"]) {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the delivery of {message} did not get there in 30 s: {:?}", thread_of(app, agent, ticket).await);
}

fn status_is(status: &'static str) -> impl Fn(&Value) -> bool {
    move |delivery| delivery["status"] == status
}

#[tokio::test]
async fn mail_opens_a_ticket_and_replies_thread_by_headers_even_under_a_new_subject() {
    let room = mailroom().await;
    let first = room.receive(fixture("plain-utf8.eml")).await;
    assert_eq!(first["outcome"], "created");
    assert_eq!(first["kind"], "personal");
    let ticket_id = uuid_at(&first, "/ticket_id");
    let ticket = room.app.get(&format!("/v1/tickets/{ticket_id}"), &room.agent).await.expect(200);
    assert_eq!(ticket["channel"], "email");
    assert_eq!(ticket["subject"], "Where is my order?");
    assert_eq!(ticket["customer"]["email"], "zoe.li@example.test");
    assert_eq!(ticket["customer"]["name"], "Zoë Li");
    let number = ticket["number"].as_i64().expect("number");

    let reply = room.reply(ticket_id, "Hello Zoë,\n\nYour parcel left our warehouse today.").await;
    let reply_id = uuid_at(&reply, "/id");
    assert_eq!(reply["delivery"]["status"], "queued");
    let sent = room.wait_delivery(ticket_id, reply_id, status_is("sent")).await;
    assert_eq!(sent["delivery"]["attempts"], 1);
    let mail = room.sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mail.len(), 1);
    let ours = header(&mail[0], "Message-ID").expect("Message-ID");
    assert!(ours.starts_with('<') && ours.ends_with("@acme.test>"), "{ours}");
    assert_eq!(header(&mail[0], "In-Reply-To").as_deref(), Some("<plain-utf8-1@example.test>"));
    assert_eq!(header(&mail[0], "References").as_deref(), Some("<plain-utf8-1@example.test>"));
    assert_eq!(header(&mail[0], "Subject"), Some(format!("Re: Where is my order? [#{number}]")));
    assert_eq!(header(&mail[0], "From").as_deref(), Some("\"Acme Support\" <help@acme.test>"));
    assert!(header(&mail[0], "Content-Type").is_some_and(|ct| ct.starts_with("multipart/alternative")));
    let text = String::from_utf8_lossy(&mail[0]);
    assert!(text.contains("text/plain") && text.contains("text/html"), "{text}");

    let ours = ours.trim_matches(['<', '>']);
    let again = room.receive(fixture_with("reply-gmail.eml", &[("PARENT", ours)])).await;
    assert_eq!(again["outcome"], "added");
    assert_eq!(uuid_at(&again, "/ticket_id"), ticket_id);
    let renamed = room
        .receive(fixture_with("reply-outlook.eml", &[("ROOT", "plain-utf8-1@example.test"), ("PARENT", ours)]))
        .await;
    assert_eq!(renamed["outcome"], "added", "a changed subject still joins by headers");
    assert_eq!(uuid_at(&renamed, "/ticket_id"), ticket_id);

    let thread = room.thread(ticket_id).await;
    let customer: Vec<&str> =
        thread.iter().filter(|m| m["author"] == "customer").filter_map(|m| m["body"].as_str()).collect();
    assert_eq!(
        customer,
        vec![
            "Hello, my order #1234 has not arrived yet. Can you check? Zoë",
            "It still has not arrived, it is the blue backpack.",
            "Can I get a refund instead?",
        ],
        "quoted history is stripped"
    );
    let first = thread.iter().find(|m| m["author"] == "customer").cloned().unwrap_or_default();
    assert_eq!(first["email"]["direction"], "in");
    assert_eq!(first["email"]["raw"], true);
    assert!(first["email"]["from"].as_str().is_some_and(|from| from.contains('@')), "{first}");
    assert!(first["email"]["message_id"].as_str().is_some_and(|id| !id.is_empty() && !id.starts_with('<')));

    // The same Message-ID delivered again adds nothing.
    let duplicate = room.receive(fixture_with("reply-gmail.eml", &[("PARENT", ours)])).await;
    assert_eq!(duplicate["outcome"], "duplicate");
    assert_eq!(duplicate["message_id"], again["message_id"]);
    assert_eq!(room.thread(ticket_id).await.len(), thread.len());
    assert_eq!(room.ticket_count().await, 1);

    // The original is kept whole.
    let message = uuid_at(&again, "/message_id");
    let (status, raw) =
        room.app.get_bytes(&format!("/v1/tickets/{ticket_id}/messages/{message}/raw"), &room.agent).await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(raw, fixture_with("reply-gmail.eml", &[("PARENT", ours)]));
}

#[tokio::test]
async fn an_approved_draft_goes_out_once_on_the_tickets_channel() {
    let room = mailroom().await;
    let created = room.receive(fixture("latin1-qp.eml")).await;
    let ticket_id = uuid_at(&created, "/ticket_id");
    let draft = {
        let mut found = None;
        for _ in 0..600 {
            let page = room.app.get(&format!("/v1/tickets/{ticket_id}/drafts"), &room.agent).await.expect(200);
            if let Some(draft) = page["data"].as_array().and_then(|d| d.first()).filter(|d| d["status"] != "generating")
            {
                found = Some(draft.clone());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        found.expect("a draft settles")
    };
    assert_eq!(draft["status"], "ready", "{draft}");
    assert!(room.sink.messages().is_empty(), "nothing is sent before a person approves");
    let id = draft["id"].as_str().expect("id");
    let approved = room
        .app
        .post(&format!("/v1/drafts/{id}/approve"), &room.agent, json!({"body": "Bonjour, c'est fait."}))
        .await
        .expect(200);
    let message = uuid_at(&approved, "/draft/sent_message_id");
    room.wait_delivery(ticket_id, message, status_is("sent")).await;
    let mail = room.sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mail.len(), 1);
    assert!(
        header(&mail[0], "To").is_some_and(|to| to.ends_with("<helene@example.test>")),
        "{:?}",
        header(&mail[0], "To")
    );
    assert!(String::from_utf8_lossy(&mail[0]).contains("c'est fait"), "the approved text is what goes out");
    assert_eq!(room.app.drain_queue("email").await, 0, "nothing more to send");
    assert_eq!(room.sink.messages().len(), 1, "sent once");
}

#[tokio::test]
async fn a_subject_token_joins_only_mail_from_the_tickets_customer() {
    let room = mailroom().await;
    let first = room.receive(fixture("plain-utf8.eml")).await;
    let ticket_id = uuid_at(&first, "/ticket_id");
    let number = room.app.get(&format!("/v1/tickets/{ticket_id}"), &room.agent).await.expect(200)["number"].clone();
    let mail = |from: &str, id: &str| {
        format!(
            "From: {from}\r\nTo: help@acme.test\r\nSubject: Still waiting [#{number}]\r\nMessage-ID: <{id}>\r\n\r\nAny news?\r\n"
        )
        .into_bytes()
    };
    let same = room.receive(mail("Zoe.Li@example.test", "token-1@example.test")).await;
    assert_eq!(same["outcome"], "added");
    assert_eq!(uuid_at(&same, "/ticket_id"), ticket_id);
    let stranger = room.receive(mail("mallory@example.test", "token-2@example.test")).await;
    assert_eq!(stranger["outcome"], "created", "a token alone does not let anyone into a ticket");
    assert_ne!(uuid_at(&stranger, "/ticket_id"), ticket_id);
}

#[tokio::test]
async fn auto_replies_bulk_mail_and_loops_open_nothing() {
    let room = mailroom().await;
    let first = room.receive(fixture("plain-utf8.eml")).await;
    let ticket_id = uuid_at(&first, "/ticket_id");
    let before = room.thread(ticket_id).await.len();

    let auto = room.receive(fixture_with("auto-reply.eml", &[("PARENT", "plain-utf8-1@example.test")])).await;
    assert_eq!((auto["outcome"].as_str(), auto["kind"].as_str()), (Some("ignored"), Some("auto_reply")));
    let bulk = room.receive(fixture("bulk.eml")).await;
    assert_eq!((bulk["outcome"].as_str(), bulk["kind"].as_str()), (Some("ignored"), Some("bulk")));
    let ours = b"From: Acme Support <help@acme.test>\r\nTo: help@acme.test\r\nSubject: loop\r\nMessage-ID: <loop-1@acme.test>\r\n\r\nhello\r\n".to_vec();
    let looped = room.receive(ours).await;
    assert_eq!((looped["outcome"].as_str(), looped["kind"].as_str()), (Some("ignored"), Some("loop")));

    assert_eq!(room.ticket_count().await, 1);
    assert_eq!(room.thread(ticket_id).await.len(), before);
    let drafts = room.app.get(&format!("/v1/tickets/{ticket_id}/drafts"), &room.agent).await.expect(200);
    assert!(drafts["data"].as_array().is_some_and(|d| d.len() <= 1), "no draft for ignored mail: {drafts}");
}

#[tokio::test]
async fn a_bounce_of_a_reply_marks_its_delivery_failed() {
    let room = mailroom().await;
    let ticket_id = uuid_at(&room.receive(fixture("plain-utf8.eml")).await, "/ticket_id");
    let reply_id = uuid_at(&room.reply(ticket_id, "On its way.").await, "/id");
    room.wait_delivery(ticket_id, reply_id, status_is("sent")).await;
    let sent = room.sink.wait_for(1, Duration::from_secs(10)).await;
    let ours = header(&sent[0], "Message-ID").expect("Message-ID");

    let bounce = room.receive(fixture_with("bounce.eml", &[("BOUNCED", ours.trim_matches(['<', '>']))])).await;
    assert_eq!(bounce["outcome"], "bounce");
    assert_eq!(uuid_at(&bounce, "/message_id"), reply_id);
    let failed = room.wait_delivery(ticket_id, reply_id, status_is("failed")).await;
    let error = failed["delivery"]["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("bounced: 5.1.1"), "{error}");
    assert_eq!(room.ticket_count().await, 1, "a bounce opens no ticket");
}

#[tokio::test]
async fn an_smtp_outage_is_retried_and_the_reply_sent_once_when_the_server_is_back() {
    let mut room = mailroom().await;
    let ticket_id = uuid_at(&room.receive(fixture("plain-utf8.eml")).await, "/ticket_id");
    room.sink.stop();
    let reply_id = uuid_at(&room.reply(ticket_id, "Refunded.").await, "/id");
    let waiting =
        room.wait_delivery(ticket_id, reply_id, |d| d["status"] == "queued" && d["attempts"].as_i64() >= Some(2)).await;
    assert!(waiting["delivery"]["last_error"].as_str().is_some_and(|e| !e.is_empty()), "{waiting}");
    room.sink.restart();
    room.wait_delivery(ticket_id, reply_id, status_is("sent")).await;
    assert_eq!(room.app.drain_queue("email").await, 0, "nothing more to send");
    assert_eq!(room.sink.messages().len(), 1, "sent exactly once");

    // A 4xx answer is retried too.
    room.sink.set_failing(true);
    let second = uuid_at(&room.reply(ticket_id, "One more thing.").await, "/id");
    let retried =
        room.wait_delivery(ticket_id, second, |d| d["status"] == "queued" && d["attempts"].as_i64() >= Some(2)).await;
    assert!(retried["delivery"]["last_error"].as_str().is_some_and(|e| e.contains("451")), "{retried}");
    room.sink.set_failing(false);
    room.wait_delivery(ticket_id, second, status_is("sent")).await;
    assert_eq!(room.sink.wait_for(2, Duration::from_secs(5)).await.len(), 2);
}

#[tokio::test]
async fn a_refused_reply_fails_and_a_person_can_resend_it() {
    let room = mailroom().await;
    let ticket_id = uuid_at(&room.receive(fixture("plain-utf8.eml")).await, "/ticket_id");
    room.sink.set_rejecting(true);
    let reply_id = uuid_at(&room.reply(ticket_id, "Here you go.").await, "/id");
    let failed = room.wait_delivery(ticket_id, reply_id, status_is("failed")).await;
    assert_eq!(failed["delivery"]["attempts"], 1, "a 5xx is not retried: {failed}");
    assert!(failed["delivery"]["last_error"].as_str().is_some_and(|e| e.contains("550")), "{failed}");

    let path = format!("/v1/tickets/{ticket_id}/messages/{reply_id}/resend");
    room.app.post(&path, &room.tenant.key, json!({})).await.expect_error(403, "forbidden");
    room.sink.set_rejecting(false);
    let queued = room.app.post(&path, &room.agent, json!({})).await.expect(200);
    assert_eq!(queued["status"], "queued");
    room.wait_delivery(ticket_id, reply_id, status_is("sent")).await;
    room.app.post(&path, &room.agent, json!({})).await.expect_error(409, "delivery_not_failed");
    assert_eq!(room.sink.wait_for(1, Duration::from_secs(5)).await.len(), 1);
}

#[tokio::test]
async fn attachments_are_listed_and_downloadable() {
    let room = mailroom().await;
    let created = room.receive(fixture("attachment.eml")).await;
    let ticket_id = uuid_at(&created, "/ticket_id");
    let message_id = uuid_at(&created, "/message_id");
    let thread = room.thread(ticket_id).await;
    let attachments = thread[0]["attachments"].as_array().cloned().unwrap_or_default();
    assert_eq!(attachments.len(), 1, "{thread:?}");
    assert_eq!(attachments[0]["filename"], "report.pdf");
    assert_eq!(attachments[0]["content_type"], "application/pdf");
    assert_eq!(attachments[0]["stored"], true);
    let attachment = uuid_at(&attachments[0], "/id");
    let (status, bytes) = room
        .app
        .get_bytes(&format!("/v1/tickets/{ticket_id}/messages/{message_id}/attachments/{attachment}"), &room.agent)
        .await;
    assert_eq!(status.as_u16(), 200);
    assert!(bytes.starts_with(b"%PDF-1.4"));
}

#[tokio::test]
async fn attachments_over_the_limit_keep_their_metadata_and_the_raw_mail_keeps_them() {
    let room = mailroom_with(|settings| settings.email_attachment_max_bytes = 16).await;
    let created = room.receive(fixture("attachment.eml")).await;
    let (ticket_id, message_id) = (uuid_at(&created, "/ticket_id"), uuid_at(&created, "/message_id"));
    let attachment = room.thread(ticket_id).await[0]["attachments"][0].clone();
    assert_eq!(attachment["stored"], false, "{attachment}");
    assert!(attachment["size_bytes"].as_i64() > Some(16));
    let id = uuid_at(&attachment, "/id");
    room.app
        .get(&format!("/v1/tickets/{ticket_id}/messages/{message_id}/attachments/{id}"), &room.agent)
        .await
        .expect_error(422, "attachment_not_stored");
    let (_, raw) = room.app.get_bytes(&format!("/v1/tickets/{ticket_id}/messages/{message_id}/raw"), &room.agent).await;
    assert_eq!(raw, fixture("attachment.eml"));
}

#[tokio::test]
async fn mail_over_the_size_limit_is_refused() {
    let room = mailroom_with(|settings| {
        settings.email_max_bytes = 2048;
        settings.email_attachment_max_bytes = 1024;
    })
    .await;
    let mut big = fixture("plain-utf8.eml");
    big.extend(std::iter::repeat_n(b'x', 4096));
    room.app
        .post_raw("/v1/inbound/email", Some(&room.tenant.key), RFC822, big)
        .await
        .expect_error(413, "payload_too_large");
    assert_eq!(room.ticket_count().await, 0);
}

#[tokio::test]
async fn every_corpus_message_is_taken_in_or_refused_with_a_code_and_kept() {
    let room = mailroom().await;
    for name in [
        "gbk-base64.eml",
        "gb18030-qp.eml",
        "big5.eml",
        "iso-2022-jp.eml",
        "html-only.eml",
        "malformed-broken-parts.eml",
        "no-message-id.eml",
    ] {
        let received = room.receive(fixture(name)).await;
        assert_eq!(received["outcome"], "created", "{name}: {received}");
    }
    // NUL characters in headers and body, and a 2,000-character Message-ID, store fine.
    let hostile = format!(
        "From: =?UTF-8?B?QQBC?= <a@example.test>\r\nSubject: =?UTF-8?B?c3ViAGplY3Q=?=\r\nMessage-ID: <{}@example.test>\r\n\r\nnul\0here\r\n",
        "x".repeat(2000)
    );
    assert_eq!(room.receive(hostile.into_bytes()).await["outcome"], "created");
    for (name, code) in
        [("malformed-no-headers.eml", "email_unparseable"), ("malformed-no-from.eml", "email_without_sender")]
    {
        let reply = room.app.post_raw("/v1/inbound/email", Some(&room.tenant.key), RFC822, fixture(name)).await;
        assert!(reply.body["detail"].as_str().is_some_and(|d| d.contains("kept as")), "{name}: {}", reply.body);
        reply.expect_error(422, code);
    }
    room.app
        .post_raw("/v1/inbound/email", Some(&room.tenant.key), RFC822, Vec::new())
        .await
        .expect_error(422, "email_empty");
    room.app
        .post_raw("/v1/inbound/email", Some(&room.tenant.key), "application/json", b"{}".to_vec())
        .await
        .expect_error(415, "unsupported_media_type");
    room.app
        .post_raw("/v1/inbound/email", Some(&room.agent), RFC822, fixture("plain-utf8.eml"))
        .await
        .expect_error(403, "forbidden");
    room.app
        .post_raw("/v1/inbound/email", None, RFC822, fixture("plain-utf8.eml"))
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn the_secret_inbound_url_takes_mail_for_its_tenant_only() {
    let room = mailroom().await;
    let rotated = room.app.post("/v1/settings/email/inbound-token", &room.tenant.key, json!({})).await.expect(200);
    let path = rotated["inbound_path"].as_str().expect("inbound_path").to_owned();
    room.app.post("/v1/settings/email/inbound-token", &room.agent, json!({})).await.expect_error(403, "forbidden");
    let received = room.app.post_raw(&path, None, RFC822, fixture("plain-utf8.eml")).await.expect(200);
    assert_eq!(received["outcome"], "created");
    let ticket = uuid_at(&received, "/ticket_id");
    room.app.get(&format!("/v1/tickets/{ticket}"), &room.agent).await.expect(200);

    // Rotating again retires the old secret; unknown secrets are 404.
    room.app.post("/v1/settings/email/inbound-token", &room.tenant.key, json!({})).await.expect(200);
    room.app.post_raw(&path, None, RFC822, fixture("big5.eml")).await.expect_error(404, "not_found");
    room.app
        .post_raw("/v1/inbound/email/cpi_nope", None, RFC822, fixture("big5.eml"))
        .await
        .expect_error(404, "not_found");
}

#[tokio::test]
async fn another_tenants_mail_and_replies_are_not_found() {
    let room = mailroom().await;
    let created = room.receive(fixture("attachment.eml")).await;
    let ticket_id = uuid_at(&created, "/ticket_id");
    let message_id = uuid_at(&created, "/message_id");
    let attachment = uuid_at(&room.thread(ticket_id).await[0]["attachments"][0], "/id");
    let reply_id = uuid_at(&room.reply(ticket_id, "Thanks.").await, "/id");

    let other = room.app.create_tenant().await;
    let (_, other_agent) = room.app.add_user(&other, "agent").await;
    for path in [
        format!("/v1/tickets/{ticket_id}/messages/{message_id}/raw"),
        format!("/v1/tickets/{ticket_id}/messages/{message_id}/attachments/{attachment}"),
    ] {
        room.app.get(&path, &other_agent).await.expect_error(404, "not_found");
    }
    room.app
        .post(&format!("/v1/tickets/{ticket_id}/messages/{reply_id}/resend"), &other_agent, json!({}))
        .await
        .expect_error(404, "not_found");

    // The same mail sent to the other tenant is new there: Message-IDs and threads are per tenant.
    let theirs =
        room.app.post_raw("/v1/inbound/email", Some(&other.key), RFC822, fixture("attachment.eml")).await.expect(200);
    assert_eq!(theirs["outcome"], "created");
    assert_ne!(uuid_at(&theirs, "/ticket_id"), ticket_id);
    let settings = room.app.get("/v1/settings/email", &other.key).await.expect(200);
    assert_eq!(settings["addresses"], json!([]));
    assert_eq!(settings["smtp_url_set"], false);
}

#[tokio::test]
async fn a_service_killed_after_the_server_took_the_reply_never_sends_it_again() {
    let database = copilot_tests::new_postgres_database().await;
    let data_dir = std::env::temp_dir().join(format!("copilot-crash-{}", Uuid::new_v4().simple()));
    let sink = SmtpSink::start();
    let first = Service::start(
        &database,
        &data_dir,
        &[("COPILOT_TENANT_ENDPOINTS_ALLOW_PRIVATE", "true".into()), ("COPILOT_DELIVERY_LEASE_SECONDS", "3".into())],
    )
    .await;
    let app = &first.app;
    let tenant = app.create_tenant().await;
    let settings = json!({"addresses": ["help@acme.test"], "from_name": "Acme Support", "smtp_url": sink.url()});
    app.send(Method::PUT, "/v1/settings/email", Some(&tenant.key), Some(&settings)).await.expect(200);
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let created =
        app.post_raw("/v1/inbound/email", Some(&tenant.key), RFC822, fixture("plain-utf8.eml")).await.expect(200);
    let ticket = uuid_at(&created, "/ticket_id");

    // The server stores the reply and holds its "250 OK": the service dies before it hears it.
    sink.set_holding(true);
    let reply = app
        .post(&format!("/v1/tickets/{ticket}/messages"), &agent, json!({"author": "agent", "body": "On its way."}))
        .await
        .expect(201);
    let reply_id = uuid_at(&reply, "/id");
    assert_eq!(sink.wait_for(1, Duration::from_secs(30)).await.len(), 1, "the server took the reply");
    first.kill();
    sink.set_holding(false);

    let second = Service::start(
        &database,
        &data_dir,
        &[("COPILOT_TENANT_ENDPOINTS_ALLOW_PRIVATE", "true".into()), ("COPILOT_DELIVERY_LEASE_SECONDS", "3".into())],
    )
    .await;
    let delivery = wait_delivery(&second.app, &agent, ticket, reply_id, status_is("failed")).await["delivery"].clone();
    let error = delivery["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("delivery_outcome_unknown"), "{error}");
    assert_eq!(sink.messages().len(), 1, "the restarted service did not send it again");

    // A person who checked may send it again: once more, with the same Message-ID. Once
    // that send is recorded the restarted sender has run past the reply, so a copy it had
    // sent by itself would be in the sink too.
    second.app.post(&format!("/v1/tickets/{ticket}/messages/{reply_id}/resend"), &agent, json!({})).await.expect(200);
    wait_delivery(&second.app, &agent, ticket, reply_id, status_is("sent")).await;
    let mail = sink.messages();
    assert_eq!(mail.len(), 2, "the original and the one resend, nothing else");
    assert_eq!(header(&mail[0], "Message-ID"), header(&mail[1], "Message-ID"));
    second.kill();
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn a_service_asked_to_stop_mid_send_finishes_and_records_the_reply_first() {
    let database = copilot_tests::new_postgres_database().await;
    let data_dir = std::env::temp_dir().join(format!("copilot-stop-{}", Uuid::new_v4().simple()));
    let sink = SmtpSink::start();
    let env = [("COPILOT_TENANT_ENDPOINTS_ALLOW_PRIVATE", "true".to_owned())];
    let first = Service::start(&database, &data_dir, &env).await;
    let tenant = first.app.create_tenant().await;
    let settings = json!({"addresses": ["help@acme.test"], "from_name": "Acme Support", "smtp_url": sink.url()});
    first.app.send(Method::PUT, "/v1/settings/email", Some(&tenant.key), Some(&settings)).await.expect(200);
    let created =
        first.app.post_raw("/v1/inbound/email", Some(&tenant.key), RFC822, fixture("plain-utf8.eml")).await.expect(200);
    let ticket = uuid_at(&created, "/ticket_id");

    // The server takes the reply and answers 3 s later; SIGTERM arrives meanwhile.
    sink.set_holding_for(Duration::from_secs(3));
    let (_, agent) = first.app.add_user(&tenant, "agent").await;
    let reply = first
        .app
        .post(&format!("/v1/tickets/{ticket}/messages"), &agent, json!({"author": "agent", "body": "On its way."}))
        .await
        .expect(201);
    let reply_id = uuid_at(&reply, "/id");
    assert_eq!(sink.wait_for(1, Duration::from_secs(30)).await.len(), 1, "the server took the reply");
    let stopped_at = std::time::Instant::now();
    assert!(first.terminate(Duration::from_secs(30)).await, "the service exits after SIGTERM");
    let stopped_after = stopped_at.elapsed();
    assert!(stopped_after >= Duration::from_secs(1), "it waited for the send: {stopped_after:?}");

    let second = Service::start(&database, &data_dir, &env).await;
    let thread = thread_of(&second.app, &agent, ticket).await;
    let delivery =
        thread.iter().find(|m| m["id"] == json!(reply_id)).map(|m| m["delivery"].clone()).unwrap_or_default();
    assert_eq!((delivery["status"].as_str(), delivery["attempts"].as_i64()), (Some("sent"), Some(1)), "{delivery}");
    // A later reply through the restarted service reaches the server: its sender ran past
    // the first one, which it did not send again.
    second
        .app
        .post(&format!("/v1/tickets/{ticket}/messages"), &agent, json!({"author": "agent", "body": "And a follow-up."}))
        .await
        .expect(201);
    let mail = sink.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(mail.len(), 2, "the reply once, then the follow-up");
    assert_ne!(header(&mail[0], "Message-ID"), header(&mail[1], "Message-ID"));
    second.kill();
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test]
async fn a_sender_that_outlived_its_lease_cannot_settle_the_attempt_after_it() {
    use copilot_mail::deliveries::{self, EmailJob};
    use sea_orm::ConnectionTrait;

    let room = mailroom().await;
    let ticket_id = uuid_at(&room.receive(fixture("plain-utf8.eml")).await, "/ticket_id");
    let reply_id = uuid_at(&room.reply(ticket_id, "On its way.").await, "/id");
    room.wait_delivery(ticket_id, reply_id, status_is("sent")).await;

    // A resend's sender holds attempt 2 (its lease far off, so no worker touches it) ...
    let db = copilot_store::connect(&room.app.database_url, 1).await.expect("connect");
    let hold = format!(
        "UPDATE deliveries SET status = 'sending', attempts = 2, lease_until = '2999-01-01T00:00:00Z' WHERE message_id = '{reply_id}'"
    );
    db.unscoped().execute_unprepared(&hold).await.expect("hold the delivery");
    let select = format!("SELECT id FROM deliveries WHERE message_id = '{reply_id}'");
    let row = db.unscoped().query_one_raw(sea_orm::Statement::from_string(db.backend(), select)).await;
    let delivery_id: uuid::Uuid = row.ok().flatten().and_then(|row| row.try_get("", "id").ok()).expect("the delivery");
    let tx = db.tenant(copilot_core::TenantId(room.tenant.id)).await.expect("tenant");
    let current = deliveries::email_job(&tx, delivery_id).await.expect("job").expect("sending");
    assert_eq!(current.attempts, 2);

    // ... when the sender of attempt 1, long past its lease, gives its outcome: dropped.
    let stale = EmailJob { attempts: 1, ..current.clone() };
    deliveries::mark_retry(&tx, &stale, "451 try later", copilot_core::now()).await.expect("stale retry");
    deliveries::mark_failed(&tx, &stale, "550 refused").await.expect("stale failure");
    deliveries::mark_sent(&tx, &stale, "Re: stale").await.expect("stale success");
    tx.commit().await.expect("commit");
    let held = room.wait_delivery(ticket_id, reply_id, |_| true).await;
    assert_eq!(
        (held["delivery"]["status"].as_str(), held["delivery"]["attempts"].as_i64()),
        (Some("sending"), Some(2))
    );

    let tx = db.tenant(copilot_core::TenantId(room.tenant.id)).await.expect("tenant");
    deliveries::mark_failed(&tx, &current, "550 refused").await.expect("failure");
    tx.commit().await.expect("commit");
    let failed = room.wait_delivery(ticket_id, reply_id, status_is("failed")).await;
    assert_eq!(failed["delivery"]["last_error"], "550 refused");
}

#[tokio::test]
async fn a_line_break_in_a_name_cannot_add_headers_or_stop_the_sender() {
    let room = mailroom().await;
    // "Eve\r\nBcc: x@evil.test" as an encoded word.
    let raw = "From: =?utf-8?B?RXZlDQpCY2M6IHhAZXZpbC50ZXN0?= <eve@example.test>\r\n\
               To: help@acme.test\r\nSubject: Parcel\r\nMessage-ID: <crlf-1@example.test>\r\n\r\n\
               Where is my parcel?\r\n";
    let created = room.receive(raw.as_bytes().to_vec()).await;
    let ticket_id = uuid_at(&created, "/ticket_id");
    let ticket = room.app.get(&format!("/v1/tickets/{ticket_id}"), &room.agent).await.expect(200);
    assert_eq!(ticket["customer"]["name"], "Eve Bcc: x@evil.test", "the name is one line");
    let reply = room.reply(ticket_id, "It left today.").await;
    room.wait_delivery(ticket_id, uuid_at(&reply, "/id"), status_is("sent")).await;

    // The sender goes on with the next reply.
    let next = room.receive(fixture("plain-utf8.eml")).await;
    let next_ticket = uuid_at(&next, "/ticket_id");
    let second = room.reply(next_ticket, "On its way.").await;
    room.wait_delivery(next_ticket, uuid_at(&second, "/id"), status_is("sent")).await;
    let mail = room.sink.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(mail.len(), 2);
    assert_eq!(header(&mail[0], "Bcc"), None, "no header was added");
    assert!(header(&mail[0], "To").is_some_and(|to| to.ends_with("<eve@example.test>")));

    let evil = json!({"addresses": ["help@acme.test"], "from_name": "Acme\r\nX-Evil: 1"});
    room.app
        .send(Method::PUT, "/v1/settings/email", Some(&room.tenant.key), Some(&evil))
        .await
        .expect_error(400, "invalid_text");
    let ready = room.app.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status.as_u16(), 200, "every worker is running: {}", ready.body);
}

#[tokio::test]
async fn a_resent_reply_gets_a_fresh_series_of_attempts_and_a_final_failure_says_so() {
    let room = mailroom_with(|settings| settings.delivery_max_attempts = 2).await;
    let ticket_id = uuid_at(&room.receive(fixture("plain-utf8.eml")).await, "/ticket_id");
    room.sink.set_failing(true);
    let reply_id = uuid_at(&room.reply(ticket_id, "Here you go.").await, "/id");
    let failed = room.wait_delivery(ticket_id, reply_id, status_is("failed")).await;
    assert_eq!(failed["delivery"]["attempts"], 2, "{failed}");
    let error = failed["delivery"]["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("delivery failed for good after 2 attempts") && error.contains("451"), "{error}");
    assert!(!error.contains("for now"), "{error}");

    // Resent while the server still answers 4xx: two more attempts, not one.
    let path = format!("/v1/tickets/{ticket_id}/messages/{reply_id}/resend");
    room.app.post(&path, &room.agent, json!({})).await.expect(200);
    let again = room.wait_delivery(ticket_id, reply_id, |d| d["status"] == "failed" && d["attempts"] != 2).await;
    assert_eq!(again["delivery"]["attempts"], 4, "a fresh series of two attempts: {again}");
    room.sink.set_failing(false);
    room.app.post(&path, &room.agent, json!({})).await.expect(200);
    room.wait_delivery(ticket_id, reply_id, status_is("sent")).await;
    assert_eq!(room.sink.wait_for(1, Duration::from_secs(5)).await.len(), 1);
}

#[tokio::test]
async fn a_tenant_whose_smtp_server_hangs_does_not_hold_up_another_tenants_replies() {
    let slow = mailroom().await;
    slow.sink.set_holding(true);
    let mut slow_tickets = Vec::new();
    for n in 0..4 {
        let raw = format!(
            "From: c{n}@example.test\r\nTo: help@acme.test\r\nSubject: Order {n}\r\n\
             Message-ID: <hang-{n}@example.test>\r\n\r\nWhere is order {n}?\r\n"
        );
        let ticket = uuid_at(&slow.receive(raw.into_bytes()).await, "/ticket_id");
        slow.reply(ticket, "Held by a server that never answers.").await;
        slow_tickets.push(ticket);
    }
    // Another tenant on the same service, with a server that answers.
    let sink = SmtpSink::start();
    let other = slow.app.create_tenant().await;
    let settings = json!({"addresses": ["help@other.test"], "smtp_url": sink.url()});
    slow.app.send(Method::PUT, "/v1/settings/email", Some(&other.key), Some(&settings)).await.expect(200);
    let (_, agent) = slow.app.add_user(&other, "agent").await;
    let room = Mailroom { app: slow.app.clone(), sink, tenant: other, agent };
    let ticket = uuid_at(&room.receive(fixture("plain-utf8.eml")).await, "/ticket_id");
    let started = std::time::Instant::now();
    let reply = room.reply(ticket, "Sent while the other tenant's server hangs.").await;
    room.wait_delivery(ticket, uuid_at(&reply, "/id"), status_is("sent")).await;
    let waited = started.elapsed();
    println!("fairness: another tenant's reply was sent in {waited:?} while 4 replies hung");
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}

#[tokio::test]
async fn the_shared_mail_server_sends_only_from_addresses_a_tenant_verified() {
    let sink = SmtpSink::start();
    let relay = sink.url();
    let app = spawn_app_alone_with(move |settings| settings.smtp_url = relay.into()).await;
    let owner = app.create_tenant().await;
    let (_, agent) = app.add_user(&owner, "agent").await;
    let settings = json!({"addresses": ["help@acme.test"], "from_name": "Acme"});
    let saved = app.send(Method::PUT, "/v1/settings/email", Some(&owner.key), Some(&settings)).await.expect(200);
    assert_eq!((saved["sending_ready"].as_bool(), saved["verified_addresses"].clone()), (Some(false), json!([])));
    assert_eq!(saved["service_smtp"], true);

    // Unverified: the reply fails with a reason and nothing leaves.
    let room = Mailroom { app: app.clone(), sink, tenant: owner.clone(), agent: agent.clone() };
    let ticket = uuid_at(&room.receive(fixture("plain-utf8.eml")).await, "/ticket_id");
    let reply = uuid_at(&room.reply(ticket, "Hello from Acme.").await, "/id");
    let failed = room.wait_delivery(ticket, reply, status_is("failed")).await;
    let error = failed["delivery"]["last_error"].as_str().unwrap_or_default();
    assert!(error.starts_with("sender_unverified"), "{error}");
    assert!(room.sink.messages().is_empty());

    // Another tenant names the same address: it never gets the code, so it cannot send as Acme.
    let intruder = app.create_tenant().await;
    app.send(Method::PUT, "/v1/settings/email", Some(&intruder.key), Some(&json!({"addresses": ["help@acme.test"]})))
        .await
        .expect(200);
    let verify = json!({"address": "help@acme.test"});
    app.post("/v1/settings/email/verifications", &intruder.key, verify.clone()).await.expect(200);
    app.post("/v1/settings/email/verifications", &agent, verify.clone()).await.expect_error(403, "forbidden");
    app.post("/v1/settings/email/verifications", &owner.key, json!({"address": "other@acme.test"}))
        .await
        .expect_error(422, "address_not_listed");
    let wrong = json!({"address": "help@acme.test", "code": "cpv_0000"});
    app.post("/v1/settings/email/verifications/confirm", &intruder.key, wrong.clone())
        .await
        .expect_error(422, "verification_code_wrong");

    // The owner verifies with the code mailed to the address.
    app.post("/v1/settings/email/verifications", &owner.key, verify.clone()).await.expect(200);
    // The address's owner is not flooded: one code a minute.
    app.post("/v1/settings/email/verifications", &owner.key, verify).await.expect_error(429, "rate_limited");
    let mails = room.sink.wait_for(2, Duration::from_secs(10)).await;
    let text = String::from_utf8_lossy(&mails[1]).to_string();
    let code = text.split_whitespace().find(|word| word.starts_with("cpv_")).expect("a code in the mail").to_owned();
    let first_code =
        String::from_utf8_lossy(&mails[0]).split_whitespace().find(|w| w.starts_with("cpv_")).map(str::to_owned);
    assert_ne!(first_code.as_deref(), Some(code.as_str()), "each tenant gets its own code");
    let confirmed = app
        .post(
            "/v1/settings/email/verifications/confirm",
            &owner.key,
            json!({"address": "help@acme.test", "code": code}),
        )
        .await
        .expect(200);
    assert_eq!(confirmed["verified_addresses"], json!(["help@acme.test"]));
    assert_eq!(confirmed["sending_ready"], true);
    let resend = format!("/v1/tickets/{ticket}/messages/{reply}/resend");
    app.post(&resend, &agent, json!({})).await.expect(200);
    room.wait_delivery(ticket, reply, status_is("sent")).await;

    // The intruder's code is not the owner's, and its replies still fail.
    let intruder_settings = app.get("/v1/settings/email", &intruder.key).await.expect(200);
    assert_eq!(intruder_settings["verified_addresses"], json!([]));
}

#[tokio::test]
async fn a_test_email_shows_whether_replies_can_really_be_sent() {
    let room = mailroom().await;
    let test = |to: &str| {
        let body = json!({"to": to});
        let app = room.app.clone();
        let key = room.tenant.key.clone();
        async move { app.post("/v1/settings/email/test", &key, body).await }
    };

    let accepted = test("owner@acme.test").await.expect(200);
    assert_eq!((accepted["sent"].as_bool(), accepted["server"].as_str()), (Some(true), Some("tenant")), "{accepted}");
    assert_eq!(accepted["from"], "help@acme.test");
    let mail = String::from_utf8_lossy(&room.sink.wait_for(1, Duration::from_secs(10)).await[0]).into_owned();
    assert!(mail.contains("Subject: Test e-mail from your customer-service copilot"), "{mail}");

    // A server that answers 4xx, and one that is not there at all.
    room.sink.set_failing(true);
    let refused = test("owner@acme.test").await.expect(200);
    assert_eq!(refused["sent"], false, "{refused}");
    assert!(refused["detail"].as_str().is_some_and(|detail| detail.contains("451")), "{refused}");
    let closed = json!({"smtp_url": "smtp://127.0.0.1:1"});
    room.app.send(Method::PUT, "/v1/settings/email", Some(&room.tenant.key), Some(&closed)).await.expect(200);
    let unreachable = test("owner@acme.test").await.expect(200);
    assert_eq!(unreachable["sent"], false, "{unreachable}");
    assert!(!unreachable["detail"].as_str().unwrap_or_default().is_empty(), "{unreachable}");

    // Only admins, and only to an address.
    room.app
        .post("/v1/settings/email/test", &room.agent, json!({"to": "a@b.test"}))
        .await
        .expect_error(403, "forbidden");
    test("not an address").await.expect_error(400, "invalid_email");
}

#[tokio::test]
async fn mail_answering_a_merged_ticket_joins_the_ticket_it_was_merged_into() {
    let room = mailroom().await;
    let mail = |id: &str, subject: &str, answers: Option<&str>| {
        let answers = answers.map(|to| format!("In-Reply-To: <{to}>\r\n")).unwrap_or_default();
        format!(
            "From: Ann <ann@example.test>\r\nTo: help@acme.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{answers}\r\nAbout my order.\r\n"
        )
        .into_bytes()
    };
    let first = uuid_at(&room.receive(mail("m1@example.test", "Order 1", None)).await, "/ticket_id");
    let second = uuid_at(&room.receive(mail("m2@example.test", "Same order, again", None)).await, "/ticket_id");
    assert_ne!(first, second);
    let merged =
        room.app.post(&format!("/v1/tickets/{first}/merge"), &room.agent, json!({"into": second})).await.expect(200);
    assert_eq!(merged["source"]["merged_into_id"], json!(second));
    // A reply to the first mail's thread joins the ticket it was merged into.
    let later = room.receive(mail("m3@example.test", "Re: Order 1", Some("m1@example.test"))).await;
    assert_eq!(uuid_at(&later, "/ticket_id"), second, "{later}");
    let thread = room.thread(second).await;
    let customer: Vec<&Value> = thread.iter().filter(|m| m["author"] == "customer").collect();
    assert_eq!(customer.len(), 3, "{thread:?}");
    assert!(customer.iter().all(|m| m["email"].is_object()), "each keeps its mail: {thread:?}");
}
