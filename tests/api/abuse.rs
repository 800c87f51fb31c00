//! The abuse suite: the crash, stall and starvation attacks of a hostile tenant and of an
//! outsider who only has an inbound address, replayed against a real `copilot serve` while
//! another tenant works. Throughout, the process never exits and `/healthz` answers within
//! a second; the other tenant's reply, document and triage finish in their normal time;
//! peak memory stays under a stated bound.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use copilot_tests::{Service, TestApp, TestTenant, new_postgres_database, smtp::SmtpSink, uuid_at};
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

/// Peak resident memory allowed to the service (a debug build with its models loaded
/// takes about 0.7 GB).
const MEMORY_BOUND: u64 = 2 << 30;

/// A server on loopback that answers every connection with `head` and then `piece`
/// repeated until the client goes (at most 1 GB); returns its address.
async fn endless_server(head: &'static str, piece: &'static [u8]) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut request = vec![0; 256 * 1024];
                let _ = socket.read(&mut request).await;
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let block = piece.repeat((64 * 1024 / piece.len()).max(1));
                let mut written = 0usize;
                while written < 1 << 30 {
                    if socket.write_all(&block).await.is_err() {
                        return;
                    }
                    written += block.len();
                }
            });
        }
    });
    address
}

/// Probes `/healthz` every 100 ms until stopped; returns the slowest answer and how many
/// probes failed or took over a second.
fn probe_health(app: &TestApp, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(Duration, usize)> {
    let url = app.url("/healthz");
    tokio::spawn(async move {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build().expect("client");
        let (mut slowest, mut bad) = (Duration::ZERO, 0);
        while !stop.load(Ordering::SeqCst) {
            let started = Instant::now();
            let ok = client.get(&url).send().await.is_ok_and(|response| response.status().is_success());
            let took = started.elapsed();
            slowest = slowest.max(took);
            if !ok || took > Duration::from_secs(1) {
                bad += 1;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (slowest, bad)
    })
}

async fn raw_mail(app: &TestApp, tenant: &TestTenant, raw: Vec<u8>) -> copilot_tests::Reply {
    app.post_raw("/v1/inbound/email", Some(&tenant.key), "message/rfc822", raw).await
}

/// Waits for the reply message's delivery to be `sent`; returns how long it took.
async fn reply_sent_in(app: &TestApp, token: &str, ticket: Uuid, body: &str) -> Duration {
    let started = Instant::now();
    let reply =
        app.post(&format!("/v1/tickets/{ticket}/messages"), token, json!({"author": "agent", "body": body})).await;
    let reply = uuid_at(&reply.expect(201), "/id");
    let deadline = started + Duration::from_secs(120);
    while Instant::now() < deadline {
        let thread = app.get(&format!("/v1/tickets/{ticket}/messages?limit=100"), token).await.expect(200);
        let status = thread["data"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|message| message["id"] == json!(reply))
            .map(|message| message["delivery"]["status"].clone());
        if status == Some(json!("sent")) {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the reply on {ticket} was not sent in 120 s");
}

/// The victim's everyday work: a two-line document ready, a mail triaged, a reply sent.
async fn everyday_work(app: &TestApp, victim: &TestTenant, agent: &str, round: usize) -> [Duration; 3] {
    let started = Instant::now();
    let text = format!("# Returns {round}\n\nReturn unused items within 30 days for a full refund.\n");
    let uploaded = app
        .upload(&victim.key, &format!("returns-{round}.md"), "text/markdown", text.into_bytes(), &[])
        .await
        .expect(202);
    let document = app.wait_for_document(&victim.key, uuid_at(&uploaded, "/id")).await;
    assert_eq!(document["status"], "ready", "{document}");
    let document_time = started.elapsed();

    let started = Instant::now();
    let mail = format!(
        "From: Zoe <zoe{round}@example.test>\r\nTo: help@victim.test\r\nSubject: Parcel {round}\r\n\
         Message-ID: <everyday-{round}-{}@example.test>\r\n\r\nWhere is my parcel? It is late.\r\n",
        Uuid::new_v4().simple()
    );
    let received = raw_mail(app, victim, mail.into_bytes()).await.expect(200);
    let ticket = uuid_at(&received, "/ticket_id");
    app.wait_for_triage(agent, ticket).await;
    let triage_time = started.elapsed();

    let reply_time = reply_sent_in(app, agent, ticket, "It left our warehouse today.").await;
    [document_time, triage_time, reply_time]
}

#[tokio::test]
async fn a_hostile_tenant_and_an_outsider_cannot_crash_stall_or_starve_the_service() {
    let database = new_postgres_database().await;
    let root = std::env::temp_dir().join(format!("copilot-abuse-{}", Uuid::new_v4().simple()));
    let victim_sink = SmtpSink::start();
    let hostile_sink = SmtpSink::start();
    let env = [
        ("COPILOT_KNOWLEDGE_URI", root.join("knowledge").display().to_string()),
        ("COPILOT_WEBHOOK_ALLOW_PRIVATE", "true".to_owned()),
        ("COPILOT_TENANT_ENDPOINTS_ALLOW_PRIVATE", "true".to_owned()),
        ("COPILOT_DELIVERY_RETRY_BASE_MS", "200".to_owned()),
        ("COPILOT_WEBHOOK_TIMEOUT_SECONDS", "5".to_owned()),
    ];
    let mut service = Service::start(&database, &root, &env).await;
    let app = service.app.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let probe = probe_health(&app, Arc::clone(&stop));

    let victim = app.create_tenant().await;
    let settings = json!({"addresses": ["help@victim.test"], "smtp_url": victim_sink.url()});
    app.send(Method::PUT, "/v1/settings/email", Some(&victim.key), Some(&settings)).await.expect(200);
    let (_, victim_agent) = app.add_user(&victim, "agent").await;
    let hostile = app.create_tenant().await;
    let (_, hostile_agent) = app.add_user(&hostile, "agent").await;
    let baseline = everyday_work(&app, &victim, &victim_agent, 0).await;
    println!(
        "abuse: the victim's everyday work alone: document {:?}, triage {:?}, reply {:?}",
        baseline[0], baseline[1], baseline[2]
    );

    // The hostile tenant's SMTP server takes every reply and never answers.
    hostile_sink.set_holding(true);
    let settings = json!({"addresses": ["help@hostile.test"], "smtp_url": hostile_sink.url()});
    app.send(Method::PUT, "/v1/settings/email", Some(&hostile.key), Some(&settings)).await.expect(200);
    // Its webhook receiver answers with a gigabyte; its LLM writes without end.
    let flood = endless_server("HTTP/1.1 200 OK\r\ncontent-length: 1073741824\r\n\r\n", b"x").await;
    app.post("/v1/webhooks", &hostile.key, json!({"url": format!("http://{flood}/hook"), "events": ["*"]}))
        .await
        .expect(201);
    let chatter = endless_server(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n",
        b"data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"spam \"}}]}\n\n",
    )
    .await;
    let llm = json!({"base_url": format!("http://{chatter}/v1"), "model": "m", "max_tokens": 100});
    app.send(Method::PUT, "/v1/settings/llm", Some(&hostile.key), Some(&llm)).await.expect(200);

    // 1. Deeply nested HTML: 3,000 spans (a stack overflow before) and 60,000 divs.
    let mut documents = Vec::new();
    for (name, open, close, depth) in
        [("spans.html", "<span>", "</span>", 3_000), ("divs.html", "<div>", "</div>", 60_000)]
    {
        let html = format!("<html><body>{}deep{}</body></html>", open.repeat(depth), close.repeat(depth));
        let uploaded = app.upload(&hostile.key, name, "text/html", html.into_bytes(), &[]).await.expect(202);
        documents.push(uuid_at(&uploaded, "/id"));
    }
    // 2. An outsider's display name with a line break, answered by the victim's agent.
    let crlf = "From: =?utf-8?B?RXZlDQpCY2M6IHhAZXZpbC50ZXN0?= <eve@example.test>\r\nTo: help@victim.test\r\n\
                Subject: Hi\r\nMessage-ID: <crlf-abuse@example.test>\r\n\r\nWhere is my parcel?\r\n";
    let crlf_ticket = uuid_at(&raw_mail(&app, &victim, crlf.as_bytes().to_vec()).await.expect(200), "/ticket_id");
    // 3. Mail crafted against quote stripping: 2.7 MB of `于`, `x` and spaces, twice at once.
    let crafted = |seed: u64| {
        // No Message-ID: each is known by its bytes, so the two are not duplicates.
        let mut text = String::from("From: a@example.test\r\nTo: help@hostile.test\r\nSubject: x\r\n\r\n");
        let mut state = seed;
        while text.len() < 2_700_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Lines of about 200 characters: the length attribution patterns look at.
            text.push(match (state >> 33) % 200 {
                0 => '\n',
                1..=80 => '于',
                81..=160 => 'x',
                _ => ' ',
            });
        }
        text.into_bytes()
    };
    let started = Instant::now();
    let (first, second) = tokio::join!(raw_mail(&app, &hostile, crafted(1)), raw_mail(&app, &hostile, crafted(2)));
    let crafted_time = started.elapsed();
    assert!(first.status.is_success() && second.status.is_success(), "{} {}", first.body, second.body);
    // 4. Made-up HTTP methods against the unauthenticated metrics.
    let client = reqwest::Client::new();
    for n in 0..2_000 {
        let method = Method::from_bytes(format!("X{n}{}", "M".repeat(4_000)).as_bytes()).expect("method");
        let _ = client.request(method, app.url("/metrics")).send().await;
    }
    let metrics = client.get(app.url("/metrics")).send().await.expect("metrics").text().await.unwrap_or_default();
    // 5. Replies held by the hostile tenant's hanging SMTP server, and drafts by its LLM.
    for n in 0..4 {
        let ticket = app.create_ticket(&hostile.key, &format!("Hang {n}"), &format!("h{n}@example.test")).await;
        let ticket = uuid_at(&ticket, "/ticket/id");
        app.post(&format!("/v1/tickets/{ticket}/messages"), &hostile_agent, json!({"author": "agent", "body": "held"}))
            .await
            .expect(201);
    }
    // 6. Event streams: one key may not take them all.
    let mut open = Vec::new();
    for _ in 0..20 {
        let response = client.get(app.url("/v1/events/stream")).bearer_auth(&hostile.key).send().await.expect("stream");
        if response.status() == 200 {
            open.push(response);
        }
    }
    let streams = open.len();

    // Meanwhile the victim works as usual.
    let during = everyday_work(&app, &victim, &victim_agent, 1).await;
    let crlf_reply = reply_sent_in(&app, &victim_agent, crlf_ticket, "It left today.").await;
    for document in documents {
        let settled = app.wait_for_document(&hostile.key, document).await;
        assert_eq!(settled["status"], "failed", "{settled}");
        assert!(settled["error"].as_str().is_some_and(|error| error.contains("nest")), "{settled}");
    }

    stop.store(true, Ordering::SeqCst);
    let (slowest_health, bad_health) = probe.await.expect("the probe");
    let peak = service.peak_memory_bytes().unwrap_or_default();
    println!(
        "abuse: during the attacks: document {:?}, triage {:?}, reply {:?}; the reply to the line-break name {:?}; \
         two crafted 2.7 MB mails {:?}; slowest /healthz {:?} ({} over 1 s); {} of 20 streams of one key; \
         /metrics {} bytes; peak memory {} MB",
        during[0],
        during[1],
        during[2],
        crlf_reply,
        crafted_time,
        slowest_health,
        bad_health,
        streams,
        metrics.len(),
        peak >> 20
    );
    assert!(service.is_running(), "the service exited");
    assert_eq!(bad_health, 0, "/healthz failed or took over a second {bad_health} times (slowest {slowest_health:?})");
    for (what, time) in ["document", "triage", "reply"].iter().zip(during) {
        assert!(time < Duration::from_secs(30), "the victim's {what} took {time:?}");
    }
    assert!(crlf_reply < Duration::from_secs(30), "{crlf_reply:?}");
    assert!(crafted_time < Duration::from_secs(10), "{crafted_time:?}");
    assert!(metrics.len() < 200_000, "/metrics grew to {} bytes", metrics.len());
    assert_eq!(streams, 5, "one key holds five streams");
    assert!(peak > 0 && peak < MEMORY_BOUND, "peak memory {} MB", peak >> 20);
    let sent = victim_sink.messages();
    assert!(sent.iter().all(|mail| !String::from_utf8_lossy(mail).contains("\r\nBcc:")), "no header was added");
    let ready = app.send(Method::GET, "/readyz", None, None).await;
    assert_eq!(ready.status.as_u16(), 200, "{}", ready.body);
    drop(open);
    drop(service);
    let _ = std::fs::remove_dir_all(&root);
}
