//! Model profiles and routing over HTTP with real OpenAI-compatible servers on loopback:
//! profiles and routes are validated and keys never shown; a failing profile hands the
//! call to the next one, its breaker opens and it is then left alone; usage is counted
//! per feature, profile and day with cost; the cost budget stops LLM calls; another
//! tenant sees none of it.

use std::time::Duration;

use copilot_tests::{
    llm::{LlmReply, TestLlm},
    spawn_app_alone_with,
};
use reqwest::Method;
use serde_json::{Value, json};

use crate::drafts::{Desk, desk, desk_on};

impl Desk {
    async fn put_profiles(&self, profiles: Value) -> copilot_tests::Reply {
        let body = json!({ "profiles": profiles });
        self.app.send(Method::PUT, "/v1/settings/llm/profiles", Some(&self.tenant.key), Some(&body)).await
    }

    async fn put_routes(&self, routes: Value) -> copilot_tests::Reply {
        let body = json!({ "routes": routes });
        self.app.send(Method::PUT, "/v1/settings/llm/routes", Some(&self.tenant.key), Some(&body)).await
    }

    async fn profile(&self, name: &str) -> Value {
        let shown = self.app.get("/v1/settings/llm/profiles", &self.agent).await.expect(200);
        shown["profiles"].as_array().into_iter().flatten().find(|p| p["name"] == name).cloned().unwrap_or_default()
    }

    async fn usage_by(&self, group_by: &str) -> Vec<Value> {
        let usage = self.app.get(&format!("/v1/usage?group_by={group_by}"), &self.agent).await.expect(200);
        usage["groups"].as_array().cloned().unwrap_or_default()
    }
}

fn line<'a>(groups: &'a [Value], key: &str) -> Option<&'a Value> {
    groups.iter().find(|group| group["key"] == key)
}

#[tokio::test]
async fn profiles_and_routes_are_validated_kept_per_tenant_and_keys_are_never_shown() {
    let desk = desk(true).await;
    let spare = TestLlm::start().await;
    let profiles = json!([
        {"name": "fast", "base_url": spare.base_url(), "model": "small-model", "api_key": "sk-fast-secret-1",
         "price_per_million_input_tokens": 0.15, "price_per_million_output_tokens": 0.6, "timeout_seconds": 20},
        {"name": "backup", "base_url": desk.llm.base_url(), "model": "big-model"},
    ]);
    let shown = desk.put_profiles(profiles).await.expect(200);
    assert!(!shown.to_string().contains("sk-fast-secret-1"), "{shown}");
    let names: Vec<_> = shown["profiles"].as_array().into_iter().flatten().map(|p| p["name"].clone()).collect();
    assert_eq!(names, [json!("default"), json!("fast"), json!("backup")]);
    let fast = desk.profile("fast").await;
    assert_eq!(
        (&fast["api_key_set"], &fast["health"]["state"], &fast["default"]),
        (&json!(true), &json!("closed"), &json!(false))
    );
    assert_eq!(desk.profile("default").await["default"], true);

    for (profiles, status, code) in [
        (json!([{"name": "default", "base_url": spare.base_url(), "model": "m"}]), 400, "reserved_profile_name"),
        (json!([{"name": "Fast!", "base_url": spare.base_url(), "model": "m"}]), 400, "invalid_profile_name"),
        (
            json!([{"name": "a", "base_url": spare.base_url(), "model": "m"}, {"name": "a", "base_url": spare.base_url(), "model": "m"}]),
            400,
            "duplicate_profile",
        ),
        (json!([{"name": "a", "base_url": "ftp://nope", "model": "m"}]), 400, "invalid_base_url"),
        (json!([{"name": "a", "base_url": spare.base_url(), "model": " "}]), 400, "validation_failed"),
        (json!([{"name": "a", "base_url": spare.base_url(), "model": "m", "temperature": 3}]), 400, "invalid_setting"),
        (
            json!([{"name": "a", "base_url": spare.base_url(), "model": "m", "price_per_million_input_tokens": -1}]),
            400,
            "invalid_setting",
        ),
    ] {
        desk.put_profiles(profiles).await.expect_error(status, code);
    }

    desk.put_routes(json!([{"feature": "draft", "profiles": ["nowhere"]}])).await.expect_error(422, "unknown_profile");
    desk.put_routes(json!([{"feature": "draft", "profiles": ["fast", "fast"]}]))
        .await
        .expect_error(400, "duplicate_profile");
    desk.put_routes(json!([{"feature": "gossip", "profiles": ["fast"]}])).await.expect_error(400, "invalid_body");
    let routes = desk.put_routes(json!([{"feature": "summary", "profiles": ["fast", "default"]}])).await.expect(200);
    let summary = routes["routes"].as_array().into_iter().flatten().find(|route| route["feature"] == "summary");
    assert_eq!(summary.map(|route| route["profiles"].clone()), Some(json!(["fast", "default"])));
    let draft = routes["routes"].as_array().into_iter().flatten().find(|route| route["feature"] == "draft");
    assert_eq!(draft.map(|route| route["profiles"].clone()), Some(json!(["default"])), "unrouted: default");

    // A routed profile stays until its route changes; a profile kept without a key keeps its key.
    let only_backup = json!([{"name": "backup", "base_url": desk.llm.base_url(), "model": "big-model"}]);
    desk.put_profiles(only_backup).await.expect_error(422, "profile_in_use");
    let kept = json!([{"name": "fast", "base_url": spare.base_url(), "model": "small-model"}]);
    desk.put_profiles(kept).await.expect(200);
    assert_eq!(desk.profile("fast").await["api_key_set"], true);
    assert!(desk.profile("backup").await.is_null(), "left out, removed");

    // Agents read, only admins change.
    desk.app
        .send(Method::PUT, "/v1/settings/llm/profiles", Some(&desk.agent), Some(&json!({"profiles": []})))
        .await
        .expect_error(403, "forbidden");
    desk.app
        .send(Method::PUT, "/v1/settings/llm/routes", Some(&desk.agent), Some(&json!({"routes": []})))
        .await
        .expect_error(403, "forbidden");

    let stranger = desk.app.create_tenant().await;
    let theirs = desk.app.get("/v1/settings/llm/profiles", &stranger.key).await.expect(200);
    assert!(theirs["profiles"].as_array().into_iter().flatten().all(|p| p["name"] != "fast"), "{theirs}");
    let their_routes = desk.app.get("/v1/settings/llm/routes", &stranger.key).await.expect(200);
    assert!(their_routes["routes"].as_array().into_iter().flatten().all(|r| r["profiles"] == json!(["default"])));
}

#[tokio::test]
async fn a_failing_profile_hands_drafts_to_the_next_and_its_open_breaker_keeps_calls_away() {
    // A cool-down far longer than the test: the breaker stays open throughout.
    let app = spawn_app_alone_with(|settings| settings.llm_breaker_cool_down_ms = 600_000).await;
    let desk = desk_on(app, true).await;
    let dead = TestLlm::start().await;
    // A server error, a refused key and an overloaded endpoint: three failures in a row.
    dead.push([LlmReply::Status(500), LlmReply::Status(401), LlmReply::Status(503), LlmReply::Status(500)]);
    let profiles = json!([
        {"name": "primary", "base_url": dead.base_url(), "model": "dead-model", "api_key": "sk-primary"},
        {"name": "backup", "base_url": desk.llm.base_url(), "model": "test-model",
         "price_per_million_input_tokens": 2.0, "price_per_million_output_tokens": 8.0},
    ]);
    desk.put_profiles(profiles).await.expect(200);
    desk.put_routes(json!([{"feature": "draft", "profiles": ["primary", "backup"]}])).await.expect(200);

    for question in ["How long do I have to return an item?", "How do I cancel my order?", "Do you ship abroad?"] {
        let ticket = desk.ask(question).await;
        let draft = desk.settled_draft(ticket).await;
        assert_eq!(
            (&draft["status"], &draft["mode"], &draft["llm_profile"], &draft["attempts"]),
            (&json!("ready"), &json!("llm"), &json!("backup"), &json!(1)),
            "{draft}"
        );
    }
    assert_eq!(dead.requests().len(), 3);
    let primary = desk.profile("primary").await;
    assert_eq!(primary["health"]["state"], "open", "{primary}");
    assert_eq!(primary["health"]["consecutive_failures"], 3);
    assert!(primary["health"]["until"].is_string(), "{primary}");
    assert!(primary["health"]["last_error"].as_str().is_some_and(|e| e.contains("503")), "{primary}");
    assert_eq!(desk.profile("backup").await["health"]["state"], "closed");

    // Open: the next draft does not call the dead endpoint at all.
    let ticket = desk.ask("Can I change my delivery address?").await;
    assert_eq!(desk.settled_draft(ticket).await["llm_profile"], "backup");
    assert_eq!(dead.requests().len(), 3, "an open breaker sends nothing");

    let by_profile = desk.usage_by("profile").await;
    let (primary, backup) = (line(&by_profile, "primary"), line(&by_profile, "backup"));
    assert_eq!(
        primary.map(|l| (&l["calls"], &l["failed_calls"], &l["cost"])),
        Some((&json!(3), &json!(3), &json!(0.0)))
    );
    assert_eq!(backup.map(|l| (&l["calls"], &l["failed_calls"])), Some((&json!(4), &json!(0))));
    let backup = backup.cloned().unwrap_or_default();
    let expected = backup["prompt_tokens"].as_f64().unwrap_or(0.0) * 2.0 / 1e6
        + backup["completion_tokens"].as_f64().unwrap_or(0.0) * 8.0 / 1e6;
    assert!(expected > 0.0 && (backup["cost"].as_f64().unwrap_or(0.0) - expected).abs() < 1e-5, "{backup}");
    let by_feature = desk.usage_by("feature").await;
    assert_eq!(line(&by_feature, "draft").map(|l| l["calls"].clone()), Some(json!(7)), "{by_feature:?}");
    let by_day = desk.usage_by("day").await;
    assert_eq!(by_day.len(), 1, "{by_day:?}");
    let usage = desk.app.get("/v1/usage", &desk.agent).await.expect(200);
    assert_eq!((&usage["calls"], &usage["failed_calls"], &usage["llm_drafts"]), (&json!(7), &json!(3), &json!(4)));
}

#[tokio::test]
async fn after_its_cool_down_one_probe_finds_a_recovered_profile_and_closes_its_breaker() {
    let desk = desk(true).await;
    let flaky = TestLlm::start().await;
    flaky.push([LlmReply::Status(500), LlmReply::Status(500), LlmReply::Status(500)]);
    let profiles = json!([
        {"name": "primary", "base_url": flaky.base_url(), "model": "flaky-model"},
        {"name": "backup", "base_url": desk.llm.base_url(), "model": "test-model"},
    ]);
    desk.put_profiles(profiles).await.expect(200);
    desk.put_routes(json!([{"feature": "draft", "profiles": ["primary", "backup"]}])).await.expect(200);
    for question in ["How do I cancel my order?", "Do you ship abroad?", "How long do I have to return an item?"] {
        let ticket = desk.ask(question).await;
        assert_eq!(desk.settled_draft(ticket).await["llm_profile"], "backup");
    }
    let opened = desk.profile("primary").await;
    assert_eq!(opened["health"]["state"], "open", "{opened}");

    // The endpoint is back; once the cool-down (300 ms in tests) is over, the next call probes it.
    let until: chrono::DateTime<chrono::Utc> =
        opened["health"]["until"].as_str().and_then(|t| t.parse().ok()).expect("an open breaker says until when");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while chrono::Utc::now() <= until {
        assert!(tokio::time::Instant::now() < deadline, "the cool-down did not end: {opened}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ticket = desk.ask("Can I change my delivery address?").await;
    assert_eq!(desk.settled_draft(ticket).await["llm_profile"], "primary");
    let closed = desk.profile("primary").await;
    assert_eq!((&closed["health"]["state"], &closed["health"]["consecutive_failures"]), (&json!("closed"), &json!(0)));
    assert!(closed["health"]["last_success_at"].is_string(), "{closed}");
}

#[tokio::test]
async fn when_every_profile_fails_the_draft_is_retried_and_says_why() {
    let desk = desk(true).await;
    let dead = TestLlm::start().await;
    dead.push([LlmReply::Status(502)]);
    desk.llm.push([LlmReply::Malformed]);
    let profiles = json!([{"name": "primary", "base_url": dead.base_url(), "model": "dead-model"}]);
    desk.put_profiles(profiles).await.expect(200);
    desk.put_routes(json!([{"feature": "draft", "profiles": ["primary", "default"]}])).await.expect(200);

    let ticket = desk.ask("How long do I have to return an item?").await;
    let draft = desk.settled_draft(ticket).await;
    // The first attempt failed on both profiles; the retry got an answer from the first.
    assert_eq!((&draft["status"], &draft["llm_profile"]), (&json!("ready"), &json!("primary")), "{draft}");
    assert_eq!(draft["attempts"], 2, "{draft}");
    let by_profile = desk.usage_by("profile").await;
    assert_eq!(line(&by_profile, "default").map(|l| l["failed_calls"].clone()), Some(json!(1)));
    assert_eq!(
        line(&by_profile, "primary").map(|l| (l["calls"].clone(), l["failed_calls"].clone())),
        Some((json!(2), json!(1)))
    );
}

#[tokio::test]
async fn the_monthly_cost_budget_stops_llm_calls() {
    let desk = desk(true).await;
    let profiles = json!([{"name": "priced", "base_url": desk.llm.base_url(), "model": "test-model",
                           "price_per_million_input_tokens": 1000.0, "price_per_million_output_tokens": 1000.0}]);
    desk.put_profiles(profiles).await.expect(200);
    desk.put_routes(json!([{"feature": "draft", "profiles": ["priced"]}])).await.expect(200);
    let settings = json!({"base_url": desk.llm.base_url(), "model": "test-model", "monthly_cost_budget": 0.01});
    desk.app.send(Method::PUT, "/v1/settings/llm", Some(&desk.tenant.key), Some(&settings)).await.expect(200);

    let first = desk.ask("How do I cancel my order?").await;
    assert_eq!(desk.settled_draft(first).await["mode"], "llm");
    let usage = desk.app.get("/v1/usage", &desk.agent).await.expect(200);
    assert!(usage["cost"].as_f64().is_some_and(|cost| cost >= 0.01), "{usage}");
    assert_eq!((&usage["budget_exhausted"], &usage["remaining_cost"]), (&json!(true), &json!(0.0)), "{usage}");

    let second = desk.ask("Do you price match?").await;
    let draft = desk.settled_draft(second).await;
    assert_eq!(draft["mode"], "extractive", "{draft}");
    assert!(draft["notes"].as_array().is_some_and(|notes| notes.contains(&json!("budget_exhausted"))), "{draft}");
    assert_eq!(desk.llm.requests().len(), 1);
    let bad = json!({"monthly_cost_budget": -1});
    desk.app
        .send(Method::PUT, "/v1/settings/llm", Some(&desk.tenant.key), Some(&bad))
        .await
        .expect_error(400, "invalid_setting");
}

#[tokio::test]
async fn the_default_profile_has_prices_too_and_its_calls_are_costed() {
    let desk = desk(true).await;
    let settings = json!({"base_url": desk.llm.base_url(), "model": "test-model",
                          "price_per_million_input_tokens": 2.5, "price_per_million_output_tokens": 10.0});
    let saved =
        desk.app.send(Method::PUT, "/v1/settings/llm", Some(&desk.tenant.key), Some(&settings)).await.expect(200);
    assert_eq!(
        (&saved["price_per_million_input_tokens"], &saved["price_per_million_output_tokens"]),
        (&json!(2.5), &json!(10.0))
    );
    let shown = desk.profile("default").await;
    assert_eq!(shown["price_per_million_input_tokens"], 2.5, "{shown}");

    let ticket = desk.ask("How do I cancel my order?").await;
    assert_eq!(desk.settled_draft(ticket).await["mode"], "llm");
    let by_profile = desk.usage_by("profile").await;
    let default = by_profile.iter().find(|group| group["key"] == "default").cloned().unwrap_or_default();
    let (prompt, completion) =
        (default["prompt_tokens"].as_f64().unwrap_or(0.0), default["completion_tokens"].as_f64().unwrap_or(0.0));
    let expected = (prompt * 2.5 + completion * 10.0) / 1e6;
    let cost = default["cost"].as_f64().unwrap_or(0.0);
    assert!(cost > 0.0 && (cost - expected).abs() < 1e-5, "cost {cost}, expected {expected}: {default}");

    for bad in [json!({"price_per_million_input_tokens": -1}), json!({"price_per_million_output_tokens": 2e6})] {
        desk.app
            .send(Method::PUT, "/v1/settings/llm", Some(&desk.tenant.key), Some(&bad))
            .await
            .expect_error(400, "invalid_setting");
    }
}
