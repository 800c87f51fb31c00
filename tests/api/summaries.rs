//! Ticket summaries over HTTP: a ticket reaching the tenant's threshold gets a summary from
//! the `summary` route's LLM in the agents' language, kept current as messages arrive;
//! without an LLM, or when the LLM keeps answering nonsense, an extractive one; a refresh
//! on demand; another tenant's ticket is 404.

use std::time::Duration;

use copilot_tests::llm::{LlmReply, TestLlm};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::drafts::{Desk, desk};

impl Desk {
    async fn summary(&self, ticket: Uuid) -> Value {
        self.app.get(&format!("/v1/tickets/{ticket}/summary"), &self.agent).await.expect(200)
    }

    /// Waits until the ticket's summary is ready, covers `messages` and is not being rewritten.
    async fn summary_of(&self, ticket: Uuid, messages: i64) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let summary = self.summary(ticket).await;
            if summary["status"] == "ready" && summary["message_count"] == messages && summary["stale"] == false {
                return summary;
            }
            assert!(tokio::time::Instant::now() < deadline, "no summary of {messages} messages in 30 s: {summary}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn agent_says(&self, ticket: Uuid, text: &str) {
        let body = json!({"author": "agent", "body": text});
        self.app.post(&format!("/v1/tickets/{ticket}/messages"), &self.agent, body).await.expect(201);
    }

    /// Summaries from three messages on (the default), from their own test LLM (drafts
    /// keep theirs).
    async fn route_summaries_to(&self, llm: &TestLlm) {
        let style = json!({"summary_min_messages": 3});
        self.app.send(Method::PUT, "/v1/settings/drafting", Some(&self.tenant.key), Some(&style)).await.expect(200);
        let profiles =
            json!({"profiles": [{"name": "summaries", "base_url": llm.base_url(), "model": "summary-model"}]});
        self.app
            .send(Method::PUT, "/v1/settings/llm/profiles", Some(&self.tenant.key), Some(&profiles))
            .await
            .expect(200);
        let routes = json!({"routes": [{"feature": "summary", "profiles": ["summaries"]}]});
        self.app.send(Method::PUT, "/v1/settings/llm/routes", Some(&self.tenant.key), Some(&routes)).await.expect(200);
    }
}

#[tokio::test]
async fn a_ticket_reaching_three_messages_gets_a_summary_that_follows_new_messages() {
    let desk = desk(true).await;
    let writer = TestLlm::start().await;
    desk.route_summaries_to(&writer).await;

    let ticket = desk.ask("My parcel for order 1042 has not arrived.").await;
    desk.settled_draft(ticket).await;
    assert_eq!(desk.summary(ticket).await["status"], "none");
    desk.agent_says(ticket, "Sorry! I asked the carrier to check.").await;
    assert_eq!(desk.summary(ticket).await["status"], "none", "two messages: below the threshold");
    desk.customer_says(ticket, "Still nothing. Can you send a new one?").await;

    let summary = desk.summary_of(ticket, 3).await;
    assert_eq!(
        (&summary["mode"], &summary["llm_profile"], &summary["model"], &summary["language"]),
        (&json!("llm"), &json!("summaries"), &json!("summary-model"), &json!("en")),
        "{summary}"
    );
    assert!(summary["text"].as_str().is_some_and(|text| text.contains("2 message(s)")), "{summary}");
    assert_eq!(summary["customer_goal"], "My parcel for order 1042 has not arrived.");
    assert_eq!(summary["what_was_tried"], json!(["Sorry! I asked the carrier to check."]));
    assert_eq!(summary["open_questions"], json!(["Still nothing. Can you send a new one?"]));
    assert!(summary["sentiment_trend"].is_string(), "{summary}");
    let (system, user) = copilot_tests::llm::prompt_of(writer.requests().last().unwrap_or(&Value::Null));
    assert!(system.contains("English"), "{system}");
    assert!(user.contains("Customer: Still nothing. Can you send a new one?"), "{user}");

    // A note changes nothing; the next public message does.
    let note = json!({"author": "note", "body": "VIP customer"});
    desk.app.post(&format!("/v1/tickets/{ticket}/messages"), &desk.agent, note).await.expect(201);
    desk.customer_says(ticket, "Hello?").await;
    let newer = desk.summary_of(ticket, 4).await;
    assert!(newer["text"].as_str().is_some_and(|text| text.contains("3 message(s)")), "{newer}");
    assert!(!copilot_tests::llm::prompt_of(writer.requests().last().unwrap_or(&Value::Null)).1.contains("VIP"));

    // Another tenant's ticket does not exist for this tenant, and an unknown one neither.
    let stranger = desk.app.create_tenant().await;
    desk.app.get(&format!("/v1/tickets/{ticket}/summary"), &stranger.key).await.expect_error(404, "not_found");
    desk.app
        .post(&format!("/v1/tickets/{ticket}/summary/refresh"), &stranger.key, json!({}))
        .await
        .expect_error(404, "not_found");
    desk.app.get(&format!("/v1/tickets/{}/summary", Uuid::now_v7()), &desk.agent).await.expect_error(404, "not_found");
}

#[tokio::test]
async fn without_an_llm_a_refreshed_summary_quotes_the_customer_in_the_agents_language() {
    let desk = desk(false).await;
    let style = json!({"agent_language": "zh", "summary_min_messages": 10});
    desk.app.send(Method::PUT, "/v1/settings/drafting", Some(&desk.tenant.key), Some(&style)).await.expect(200);
    let ticket = desk.ask("My parcel has not arrived.").await;
    desk.customer_says(ticket, "Where is it?").await;
    desk.customer_says(ticket, "Please answer.").await;
    desk.app.wait_for_triage(&desk.agent, ticket).await;
    assert_eq!(desk.summary(ticket).await["status"], "none", "the tenant's threshold is 10");

    let asked =
        desk.app.post(&format!("/v1/tickets/{ticket}/summary/refresh"), &desk.agent, json!({})).await.expect(200);
    assert_eq!(asked["status"], "pending", "{asked}");
    let summary = desk.summary_of(ticket, 3).await;
    assert_eq!((&summary["mode"], &summary["language"]), (&json!("extractive"), &json!("zh")), "{summary}");
    assert_eq!(summary["text"], "首条消息: My parcel has not arrived.\n最新消息: Please answer.");

    let bad = json!({"agent_language": "klingon"});
    desk.app
        .send(Method::PUT, "/v1/settings/drafting", Some(&desk.tenant.key), Some(&bad))
        .await
        .expect_error(400, "invalid_language");
    let bad = json!({"summary_min_messages": 0});
    desk.app
        .send(Method::PUT, "/v1/settings/drafting", Some(&desk.tenant.key), Some(&bad))
        .await
        .expect_error(400, "invalid_setting");
}

#[tokio::test]
async fn an_llm_that_keeps_answering_nonsense_leaves_an_extractive_summary_with_the_reason() {
    let desk = desk(true).await;
    let writer = TestLlm::start().await;
    writer.push((0..3).map(|_| LlmReply::Text("Sure! Here is a lovely summary.".into())));
    desk.route_summaries_to(&writer).await;
    let ticket = desk.ask("My parcel has not arrived.").await;
    desk.agent_says(ticket, "Checking.").await;
    desk.customer_says(ticket, "Any news?").await;

    let summary = desk.summary_of(ticket, 3).await;
    assert_eq!(summary["mode"], "extractive", "{summary}");
    assert!(summary["error"].as_str().is_some_and(|error| error.contains("could not be used")), "{summary}");
    assert_eq!(writer.requests().len(), 3, "three attempts, then the fallback");
    let usage = desk.app.get("/v1/usage?group_by=feature", &desk.agent).await.expect(200);
    let line = usage["groups"].as_array().into_iter().flatten().find(|line| line["key"] == "summary").cloned();
    assert_eq!(line.map(|line| (line["calls"].clone(), line["failed_calls"].clone())), Some((json!(3), json!(3))));
}
