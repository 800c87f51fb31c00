//! Benchmarks of the LLM router and of summaries, run in release by
//! `bench/run-llm-routing` (ignored by the test run): the router's overhead per call
//! against a direct call of the same endpoint, the time from an accepted message to its
//! stored summary, and how many calls a dead endpoint gets once its breaker is open.

use std::time::{Duration, Instant};

use copilot_core::{TenantId, model::LlmFeature};
use copilot_drafting::{PromptMessage, Role};
use copilot_tests::{
    llm::{LlmReply, TestLlm},
    spawn_app_alone_with,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::drafts::{Desk, desk_on};

fn rounds() -> usize {
    std::env::var("ROUNDS").ok().and_then(|rounds| rounds.parse().ok()).unwrap_or(200)
}

fn percentile(values: &mut [f64], share: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 * share).ceil() as usize).clamp(1, values.len()) - 1]
}

fn stamp(value: &Value) -> chrono::DateTime<chrono::Utc> {
    value.as_str().and_then(|text| text.parse().ok()).expect("a timestamp")
}

async fn set_routes(desk: &Desk, profiles: Value, routes: Value) {
    let key = Some(desk.tenant.key.as_str());
    desk.app
        .send(Method::PUT, "/v1/settings/llm/profiles", key, Some(&json!({ "profiles": profiles })))
        .await
        .expect(200);
    desk.app.send(Method::PUT, "/v1/settings/llm/routes", key, Some(&json!({ "routes": routes }))).await.expect(200);
}

#[tokio::test]
#[ignore = "a benchmark: bench/run-llm-routing runs it in release"]
async fn bench_llm_routing_and_summaries() {
    let rounds = rounds();
    // The service's own breaker cool-down (tests use 300 ms).
    let app = spawn_app_alone_with(|settings| settings.llm_breaker_cool_down_ms = 30_000).await;
    let desk = desk_on(app, true).await;
    let style = json!({"summary_min_messages": 3, "auto_draft": false});
    desk.app.send(Method::PUT, "/v1/settings/drafting", Some(&desk.tenant.key), Some(&style)).await.expect(200);
    let instant = TestLlm::start().await;
    set_routes(
        &desk,
        json!([{"name": "instant", "base_url": instant.base_url(), "model": "instant"}]),
        json!([{"feature": "summary", "profiles": ["instant"]}, {"feature": "judge", "profiles": ["instant"]}]),
    )
    .await;
    let pipeline = desk.app.pipeline();
    let tenant = TenantId(desk.tenant.id);
    let prompt = vec![
        PromptMessage { role: Role::System, content: "You answer briefly.".into() },
        PromptMessage { role: Role::User, content: "Say hello.".into() },
    ];

    // 1. The router against a direct call of the same endpoint, alternately.
    let (mut direct, mut routed, mut overhead) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let started = Instant::now();
        let plan = {
            let tx = pipeline.db.tenant(tenant).await.expect("tenant");
            let settings = copilot_drafts::settings::get(&tx).await.expect("settings");
            let plan = copilot_pipeline::llm::plan(pipeline, &tx, &settings, LlmFeature::Judge).await.expect("plan");
            tx.commit().await.expect("commit");
            plan
        };
        let answered =
            copilot_pipeline::llm::call(pipeline, tenant, &plan, &prompt, |_| {}, |_| {}, |text| Ok(text.to_owned()))
                .await;
        assert!(answered.is_ok(), "{answered:?}");
        let through_router = started.elapsed().as_secs_f64() * 1e3;
        let config = plan.candidates[0].config.clone();
        let started = Instant::now();
        pipeline.llm.complete(&config, &prompt, |_| {}).await.expect("a direct call");
        let straight = started.elapsed().as_secs_f64() * 1e3;
        routed.push(through_router);
        direct.push(straight);
        overhead.push(through_router - straight);
    }
    println!("\nRouter: {rounds} calls each way, alternately, to an instant OpenAI-compatible endpoint.\n");
    println!("| | p50 ms | p95 ms |");
    println!("|---|---:|---:|");
    println!(
        "| through the router (plan, call, usage and breaker recorded) | {:.2} | {:.2} |",
        percentile(&mut routed, 0.5),
        percentile(&mut routed, 0.95)
    );
    println!(
        "| baseline: the same endpoint called directly | {:.2} | {:.2} |",
        percentile(&mut direct, 0.5),
        percentile(&mut direct, 0.95)
    );
    println!(
        "| overhead per call (paired difference) | {:.2} | {:.2} |",
        percentile(&mut overhead, 0.5),
        percentile(&mut overhead, 0.95)
    );

    // 2. From a third message accepted to its summary stored (both stamped by the service).
    let summary_rounds = (rounds / 2).max(10);
    let mut latency = Vec::new();
    for round in 0..summary_rounds {
        let ticket = desk.ask(&format!("Where is my order {round}?")).await;
        let reply = json!({"author": "agent", "body": "Let me check."});
        desk.app.post(&format!("/v1/tickets/{ticket}/messages"), &desk.agent, reply).await.expect(201);
        let third = desk
            .app
            .post(
                &format!("/v1/tickets/{ticket}/messages"),
                &desk.agent,
                json!({"author": "customer", "body": "Any news?"}),
            )
            .await
            .expect(201);
        let accepted = stamp(&third["created_at"]);
        let deadline = Instant::now() + Duration::from_secs(30);
        let summary = loop {
            let summary = desk.app.get(&format!("/v1/tickets/{ticket}/summary"), &desk.agent).await.expect(200);
            if summary["status"] == "ready" && summary["message_count"] == 3 {
                break summary;
            }
            assert!(Instant::now() < deadline, "no summary: {summary}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        };
        assert_eq!(summary["mode"], "llm", "{summary}");
        latency.push((stamp(&summary["updated_at"]) - accepted).num_microseconds().unwrap_or(0) as f64 / 1e3);
    }
    println!(
        "\nSummaries: {summary_rounds} tickets, each summarised after its third message (a customer's, so triage runs first).\n"
    );
    println!("| | p50 ms | p95 ms |");
    println!("|---|---:|---:|");
    println!(
        "| third message accepted → summary stored (service timestamps) | {:.1} | {:.1} |",
        percentile(&mut latency, 0.5),
        percentile(&mut latency, 0.95)
    );

    // 3. A dead first profile: drafts, summaries and translations go through the second;
    // once the breaker is open the dead endpoint is left alone.
    let dead = TestLlm::start().await;
    dead.push((0..1000).map(|_| LlmReply::Status(500)));
    set_routes(
        &desk,
        json!([
            {"name": "instant", "base_url": instant.base_url(), "model": "instant"},
            {"name": "dead", "base_url": dead.base_url(), "model": "dead"},
        ]),
        json!([
            {"feature": "summary", "profiles": ["dead", "instant"]},
            {"feature": "draft", "profiles": ["dead", "instant"]},
            {"feature": "translate", "profiles": ["dead", "instant"]},
        ]),
    )
    .await;
    let style = json!({"summary_min_messages": 3, "auto_draft": true});
    desk.app.send(Method::PUT, "/v1/settings/drafting", Some(&desk.tenant.key), Some(&style)).await.expect(200);
    let tickets = 20;
    let started = Instant::now();
    let mut settled = 0;
    for round in 0..tickets {
        let ticket = desk.ask(&format!("Can I return item {round}?")).await;
        let draft = desk.settled_draft(ticket).await;
        assert_eq!((&draft["status"], &draft["llm_profile"]), (&json!("ready"), &json!("instant")), "{draft}");
        desk.customer_says(ticket, "And how long does the refund take?").await;
        desk.customer_says(ticket, "Thanks!").await;
        let asked = json!({"text": format!("Kann ich Artikel {round} zurückgeben?"), "to": "en", "from": "de"});
        let translated = desk.app.post("/v1/translate", &desk.agent, asked).await.expect(200);
        assert_eq!(translated["llm_profile"], "instant", "{translated}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let summary = desk.app.get(&format!("/v1/tickets/{ticket}/summary"), &desk.agent).await.expect(200);
            if summary["status"] == "ready" && summary["message_count"] == 3 && summary["stale"] == false {
                assert_eq!(summary["llm_profile"], "instant", "{summary}");
                settled += 1;
                break;
            }
            assert!(Instant::now() < deadline, "no summary: {summary}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let took = started.elapsed();
    let profile = desk.app.get("/v1/settings/llm/profiles", &desk.agent).await.expect(200);
    let state = profile["profiles"].as_array().into_iter().flatten().find(|p| p["name"] == "dead").cloned();
    let calls = desk.app.get("/v1/usage?group_by=profile", &desk.agent).await.expect(200);
    let instant_calls = calls["groups"].as_array().into_iter().flatten().find(|g| g["key"] == "instant").cloned();
    println!(
        "\nFallback: {tickets} tickets ({} drafts, {settled} summaries and {tickets} translations) with a first profile \
         answering 500, in {:.1} s (cool-down {} ms):\n",
        tickets * 3,
        took.as_secs_f64(),
        pipeline.settings.llm_breaker_cool_down_ms
    );
    println!(
        "- calls to the dead endpoint: {} (3 open its breaker; each later one is a probe after a cool-down)",
        dead.requests().len()
    );
    println!(
        "- calls answered by the second profile: {}",
        instant_calls.map_or(json!(0), |line| line["calls"].clone())
    );
    println!(
        "- the dead profile's breaker at the end: {}",
        state.map_or(json!(null), |p| p["health"]["state"].clone())
    );
}
