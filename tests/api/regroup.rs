//! Merging and splitting tickets: the thread moves in time order with what its messages
//! carry, tags unite, the merged ticket closes with a link and takes no more messages; a
//! split opens a new ticket from a customer's message; bad requests say why and change
//! nothing.

use copilot_tests::{TestApp, spawn_app, uuid_at};
use serde_json::{Value, json};
use uuid::Uuid;

async fn open(app: &TestApp, key: &str, subject: &str, body: &str, tags: &[&str]) -> Uuid {
    let ticket = json!({"subject": subject, "channel": "web", "customer": {"email": "ann@example.test"},
                        "body": body, "tags": tags});
    uuid_at(&app.post("/v1/tickets", key, ticket).await.expect(201), "/ticket/id")
}

async fn say(app: &TestApp, token: &str, ticket: Uuid, author: &str, body: &str) -> Uuid {
    let message = json!({"author": author, "body": body});
    uuid_at(&app.post(&format!("/v1/tickets/{ticket}/messages"), token, message).await.expect(201), "/id")
}

async fn thread(app: &TestApp, token: &str, ticket: Uuid) -> Vec<(String, String)> {
    let page = app.get(&format!("/v1/tickets/{ticket}/messages?limit=100"), token).await.expect(200);
    page["data"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            (m["author"].as_str().unwrap_or_default().to_owned(), m["body"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

#[tokio::test]
async fn a_merge_moves_the_thread_in_time_order_and_closes_the_merged_ticket() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let other = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let key = tenant.key.as_str();
    let source = open(&app, key, "Order 1", "Where is order 1?", &["orders"]).await;
    let target = open(&app, key, "Order 1 again", "Hello? Order 1?", &["vip"]).await;
    say(&app, &agent, source, "agent", "Checking.").await;
    say(&app, key, source, "customer", "Still nothing.").await;
    say(&app, &agent, target, "agent", "On it.").await;

    let merged = app.post(&format!("/v1/tickets/{source}/merge"), &agent, json!({"into": target})).await.expect(200);
    assert_eq!(merged["moved"].as_array().map(Vec::len), Some(3));
    let closed = &merged["source"];
    assert_eq!((closed["status"].clone(), closed["merged_into_id"].clone()), (json!("closed"), json!(target)));
    let into = &merged["target"];
    assert_eq!(into["tags"], json!(["orders", "vip"]));
    let number = closed["number"].as_i64().expect("a number");
    assert_eq!(
        thread(&app, &agent, target).await,
        pairs(&[
            ("customer", "Where is order 1?"),
            ("customer", "Hello? Order 1?"),
            ("agent", "Checking."),
            ("customer", "Still nothing."),
            ("agent", "On it."),
            ("note", &format!("Merged from #{number} (Order 1): 3 messages.")),
        ])
    );
    // The last public word was the agent's: nobody waits on the merged thread.
    assert!(into.get("waiting_since").is_none(), "{into}");
    let into_number = into["number"].as_i64().expect("a number");
    assert_eq!(thread(&app, &agent, source).await, pairs(&[("note", &format!("Merged into #{into_number}."))]));

    // The merged ticket takes nothing more and stays closed.
    let more = json!({"author": "customer", "body": "Hello?"});
    app.post(&format!("/v1/tickets/{source}/messages"), key, more).await.expect_error(409, "ticket_merged");
    app.patch(&format!("/v1/tickets/{source}"), &agent, json!({"status": "open"}))
        .await
        .expect_error(409, "ticket_merged");
    // Bad merges say why.
    let merge = |from: Uuid, into: Value| {
        let path = format!("/v1/tickets/{from}/merge");
        let agent = agent.clone();
        let app = &app;
        async move { app.post(&path, &agent, json!({"into": into})).await }
    };
    merge(target, json!(target)).await.expect_error(400, "invalid_merge");
    merge(target, json!(source)).await.expect_error(409, "ticket_merged");
    merge(source, json!(target)).await.expect_error(409, "ticket_merged");
    let theirs = open(&app, &other.key, "Theirs", "Not yours", &[]).await;
    merge(target, json!(theirs)).await.expect_error(404, "not_found");
    let closed_one = open(&app, key, "Closed", "Done", &[]).await;
    app.patch(&format!("/v1/tickets/{closed_one}"), &agent, json!({"status": "closed"})).await.expect(200);
    merge(target, json!(closed_one)).await.expect_error(409, "ticket_closed");
    app.post(&format!("/v1/tickets/{target}/merge"), key, json!({})).await.expect_error(400, "invalid_body");
    // The other tenant's ticket is untouched; the events say what happened.
    assert_eq!(thread(&app, &other.key, theirs).await.len(), 1);
    let audit = app.get("/v1/audit-events?action=ticket.merged", key).await.expect(200);
    assert_eq!(
        audit["data"].as_array().map(|events| events.iter().filter(|e| e["action"] == "ticket.merged").count()),
        Some(1)
    );
}

#[tokio::test]
async fn a_split_opens_a_new_ticket_from_a_customers_message() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let key = tenant.key.as_str();
    let source = open(&app, key, "Two questions", "Where is my order?", &["orders"]).await;
    let reply = say(&app, &agent, source, "agent", "It ships today.").await;
    let second = say(&app, key, source, "customer", "Also: can I change my address?").await;
    say(&app, key, source, "customer", "It is 5 Elm Street.").await;

    let path = |message: Uuid| format!("/v1/tickets/{source}/messages/{message}/split");
    app.post(&path(reply), &agent, json!({})).await.expect_error(422, "invalid_split");
    let split =
        app.post(&path(second), &agent, json!({"with_later": true, "subject": "Address change"})).await.expect(200);
    let new = uuid_at(&split, "/target/id");
    let new_ticket = &split["target"];
    assert_eq!(
        (new_ticket["subject"].clone(), new_ticket["tags"].clone()),
        (json!("Address change"), json!(["orders"]))
    );
    assert_eq!(new_ticket["customer"]["email"], "ann@example.test");
    assert!(new_ticket["waiting_since"].is_string(), "the customer waits on the new ticket: {new_ticket}");
    let source_number = split["source"]["number"].as_i64().expect("a number");
    let new_number = new_ticket["number"].as_i64().expect("a number");
    assert_eq!(
        thread(&app, &agent, new).await,
        pairs(&[
            ("customer", "Also: can I change my address?"),
            ("customer", "It is 5 Elm Street."),
            ("note", &format!("Split from #{source_number} (Two questions).")),
        ])
    );
    assert_eq!(
        thread(&app, &agent, source).await,
        pairs(&[
            ("customer", "Where is my order?"),
            ("agent", "It ships today."),
            ("note", &format!("Split into #{new_number}: 2 messages.")),
        ])
    );
    assert!(split["source"].get("waiting_since").is_none(), "answered: {}", split["source"]);

    // Nothing may be left behind; a single message cannot be split off.
    let lone = open(&app, key, "Lone", "Just one", &[]).await;
    let only = app.get(&format!("/v1/tickets/{lone}/messages"), &agent).await.expect(200)["data"][0]["id"].clone();
    let only: Uuid = serde_json::from_value(only).expect("an id");
    let lone_path = format!("/v1/tickets/{lone}/messages/{only}/split");
    app.post(&lone_path, &agent, json!({})).await.expect_error(409, "invalid_split");
    let first = app.get(&format!("/v1/tickets/{new}/messages"), &agent).await.expect(200)["data"][0]["id"].clone();
    let first: Uuid = serde_json::from_value(first).expect("an id");
    let everything = format!("/v1/tickets/{new}/messages/{first}/split");
    app.post(&everything, &agent, json!({"with_later": true})).await.expect_error(409, "invalid_split");
    // Integration keys do not regroup tickets.
    let crm = app.post("/v1/api-keys", key, json!({"name": "crm", "role": "integration"})).await.expect(201);
    let crm = crm["key"].as_str().expect("a key").to_owned();
    app.post(&format!("/v1/tickets/{new}/messages/{first}/split"), &crm, json!({}))
        .await
        .expect_error(403, "forbidden");
    app.post(&format!("/v1/tickets/{source}/merge"), &crm, json!({"into": new})).await.expect_error(403, "forbidden");
}

#[tokio::test]
async fn a_ticket_is_found_by_its_number_to_merge_into() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let key = tenant.key.as_str();
    let first = open(&app, key, "Parcel", "Where is it?", &[]).await;
    open(&app, key, "Other", "Another question", &[]).await;
    let number = app.get(&format!("/v1/tickets/{first}"), key).await.expect(200)["number"].as_i64().expect("a number");
    for q in [format!("{number}"), format!("%23{number}")] {
        let found = app.get(&format!("/v1/tickets?q={q}"), key).await.expect(200);
        let ids: Vec<&str> = found["data"].as_array().expect("data").iter().filter_map(|t| t["id"].as_str()).collect();
        assert!(ids.contains(&first.to_string().as_str()), "{q}: {found}");
    }
}

#[tokio::test]
async fn a_merge_that_leaves_the_customer_waiting_reopens_a_solved_target() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let key = tenant.key.as_str();
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let target = open(&app, key, "Order 2", "Where is order 2?", &[]).await;
    say(&app, &agent, target, "agent", "It left today.").await;
    app.patch(&format!("/v1/tickets/{target}"), &agent, json!({"status": "solved"})).await.expect(200);
    // A later question about the same order, unanswered, merged into the solved ticket.
    let source = open(&app, key, "Order 2 again", "And when does it arrive?", &[]).await;
    let merged = app.post(&format!("/v1/tickets/{source}/merge"), &agent, json!({"into": target})).await.expect(200);
    assert_eq!(merged["target"]["status"], "open", "{merged}");
    assert!(merged["target"]["waiting_since"].is_string(), "{merged}");
    // Answered and solved, a merge of an answered thread leaves it solved.
    say(&app, &agent, target, "agent", "Tomorrow.").await;
    app.patch(&format!("/v1/tickets/{target}"), &agent, json!({"status": "solved"})).await.expect(200);
    let answered = open(&app, key, "Order 2 thanks", "Thanks!", &[]).await;
    say(&app, &agent, answered, "agent", "You're welcome.").await;
    let merged = app.post(&format!("/v1/tickets/{answered}/merge"), &agent, json!({"into": target})).await.expect(200);
    assert_eq!(merged["target"]["status"], "solved", "{merged}");
}
