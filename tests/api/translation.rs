//! Translation over HTTP: any text, a message into a reader's language (translated once,
//! then kept), a person's language, and an agent's reply sent in the customer's language
//! with what the agent wrote kept beside it; bad input, no LLM, another tenant's message.

use reqwest::Method;
use serde_json::json;
use uuid::Uuid;

use crate::drafts::desk;

#[tokio::test]
async fn texts_and_messages_are_translated_and_kept_once_per_language() {
    let desk = desk(true).await;
    let translated = desk
        .app
        .post("/v1/translate", &desk.agent, json!({"text": "我的包裹还没有到，请帮我查一下。", "to": "en"}))
        .await
        .expect(200);
    assert_eq!(
        (&translated["text"], &translated["from"], &translated["to"], &translated["llm_profile"]),
        (&json!("TRANSLATED: 我的包裹还没有到，请帮我查一下。"), &json!("zh"), &json!("en"), &json!("default"))
    );
    let (system, _) = copilot_tests::llm::prompt_of(&desk.llm.requests().last().cloned().unwrap_or_default());
    assert!(system.starts_with("You translate customer support messages from Chinese into English"), "{system}");
    let same = desk
        .app
        .post("/v1/translate", &desk.agent, json!({"text": "Where is my parcel?", "to": "en", "from": "en"}))
        .await
        .expect(200);
    assert_eq!(same["text"], "Where is my parcel?");
    assert!(same["model"].is_null(), "no LLM call for a text already in the language: {same}");

    let ticket = desk.ask("我的包裹还没有到，请帮我查一下订单 10422。").await;
    desk.settled_draft(ticket).await;
    let thread = desk.app.get(&format!("/v1/tickets/{ticket}/messages"), &desk.agent).await.expect(200);
    let message = thread["data"][0]["id"].as_str().unwrap_or_default().to_owned();
    let path = format!("/v1/tickets/{ticket}/messages/{message}/translations/en");
    let calls = desk.llm.requests().len();
    let first = desk.app.get(&path, &desk.agent).await.expect(200);
    assert_eq!((&first["language"], &first["source_language"]), (&json!("en"), &json!("zh")), "{first}");
    assert!(first["text"].as_str().is_some_and(|text| text.starts_with("TRANSLATED: ") && text.contains("10422")));
    let again = desk.app.get(&path, &desk.agent).await.expect(200);
    assert_eq!(again["text"], first["text"]);
    assert_eq!(desk.llm.requests().len(), calls + 1, "translated once, then kept");

    // Another tenant, another ticket's message, an unknown language.
    let stranger = desk.app.create_tenant().await;
    desk.app.get(&path, &stranger.key).await.expect_error(404, "not_found");
    let other = desk.ask("Another question").await;
    desk.app
        .get(&format!("/v1/tickets/{other}/messages/{message}/translations/en"), &desk.agent)
        .await
        .expect_error(404, "not_found");
    desk.app
        .get(&format!("/v1/tickets/{ticket}/messages/{}/translations/en", Uuid::now_v7()), &desk.agent)
        .await
        .expect_error(404, "not_found");
    desk.app
        .get(&format!("/v1/tickets/{ticket}/messages/{message}/translations/xx"), &desk.agent)
        .await
        .expect_error(400, "invalid_language");
    for (body, status, code) in [
        (json!({"text": "Hello", "to": "klingon"}), 400, "invalid_language"),
        (json!({"text": " ", "to": "de"}), 400, "validation_failed"),
        (json!({"text": "x".repeat(20_001), "to": "de"}), 413, "text_too_long"),
    ] {
        desk.app.post("/v1/translate", &desk.agent, body).await.expect_error(status, code);
    }
    let without = desk_without_llm().await;
    without
        .1
        .post("/v1/translate", &without.0, json!({"text": "Hallo, wo ist mein Paket?", "to": "en", "from": "de"}))
        .await
        .expect_error(409, "llm_not_configured");
}

async fn desk_without_llm() -> (String, copilot_tests::TestApp) {
    let desk = crate::drafts::desk(false).await;
    (desk.agent.clone(), desk.app)
}

#[tokio::test]
async fn an_agent_writes_in_their_language_and_the_customer_reads_theirs() {
    let desk = desk(true).await;
    let me =
        desk.app.send(Method::PATCH, "/v1/me", Some(&desk.agent), Some(&json!({"language": "en"}))).await.expect(200);
    assert_eq!(me["language"], "en");
    desk.app
        .send(Method::PATCH, "/v1/me", Some(&desk.agent), Some(&json!({"language": "xx"})))
        .await
        .expect_error(400, "invalid_language");
    desk.app
        .send(Method::PATCH, "/v1/me", Some(&desk.tenant.key), Some(&json!({"language": "en"})))
        .await
        .expect_error(403, "forbidden");
    assert_eq!(desk.app.get("/v1/me", &desk.agent).await.expect(200)["user"]["language"], "en");

    let ticket = desk.ask("我的包裹还没有到，已经等了两个星期了。").await;
    desk.settled_draft(ticket).await;
    desk.app.wait_for_triage(&desk.agent, ticket).await;
    let reply = json!({"author": "agent", "body": "Your parcel ships again tomorrow, order 10422.", "translate_to": "customer"});
    let sent = desk.app.post(&format!("/v1/tickets/{ticket}/messages"), &desk.agent, reply).await.expect(201);
    assert_eq!(sent["body"], "TRANSLATED: Your parcel ships again tomorrow, order 10422.", "{sent}");
    assert_eq!(
        (&sent["original_body"], &sent["original_language"]),
        (&json!("Your parcel ships again tomorrow, order 10422."), &json!("en"))
    );
    let (system, _) = copilot_tests::llm::prompt_of(&desk.llm.requests().last().cloned().unwrap_or_default());
    assert!(system.contains("into Chinese"), "{system}");
    let thread = desk.app.get(&format!("/v1/tickets/{ticket}/messages"), &desk.agent).await.expect(200);
    let stored = thread["data"].as_array().and_then(|messages| messages.last()).cloned().unwrap_or_default();
    assert_eq!(stored["original_body"], sent["original_body"]);

    let wrong = json!({"author": "customer", "body": "Hi", "translate_to": "de"});
    desk.app
        .post(&format!("/v1/tickets/{ticket}/messages"), &desk.agent, wrong)
        .await
        .expect_error(400, "translation_needs_agent");
    let to_german = json!({"author": "agent", "body": "Thanks for waiting.", "translate_to": "de"});
    let german = desk.app.post(&format!("/v1/tickets/{ticket}/messages"), &desk.agent, to_german).await.expect(201);
    assert_eq!(german["original_language"], "en");
}

#[tokio::test]
async fn a_draft_edited_in_the_agents_language_is_approved_in_the_customers() {
    let desk = desk(true).await;
    let ticket = desk.ask("我想退货，请问运费谁付？").await;
    let draft = desk.settled_draft(ticket).await;
    desk.app.wait_for_triage(&desk.agent, ticket).await;
    let id = draft["id"].as_str().unwrap_or_default();
    let approve = |body: serde_json::Value| {
        let app = &desk.app;
        let agent = desk.agent.clone();
        async move { app.post(&format!("/v1/drafts/{id}/approve"), &agent, body).await }
    };
    approve(json!({"translate_to": "customer"})).await.expect_error(400, "body_required");
    let approved = approve(json!({"body": "Returns are free: we pay the shipping.", "translate_to": "customer"}))
        .await
        .expect(200);
    assert_eq!(approved["draft"]["status"], "approved");
    assert_eq!(approved["message"]["body"], "TRANSLATED: Returns are free: we pay the shipping.");
    assert_eq!(approved["message"]["original_body"], "Returns are free: we pay the shipping.");
    let (system, _) = copilot_tests::llm::prompt_of(&desk.llm.requests().last().cloned().unwrap_or_default());
    assert!(system.contains("into Chinese"), "{system}");
}
