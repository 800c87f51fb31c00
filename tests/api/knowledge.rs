//! The knowledge base over HTTP: every format (good and broken files), limits and error
//! codes, replacement by `external_id` (atomic, identical bytes a no-op), deletion,
//! ingestion resumed after a restart, search modes, and tenant isolation.

use std::{path::PathBuf, sync::Arc};

use copilot_tests::{
    Backend, TestApp, model_triager, spawn_app, spawn_app_on, spawn_app_with, spawn_app_with_triager, uuid_at,
};
use copilot_triage::TextKind;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use uuid::Uuid;

pub fn fixture(path: &str) -> (String, Vec<u8>) {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/knowledge").join(path);
    let bytes = std::fs::read(&full).unwrap_or_else(|error| panic!("read {}: {error}", full.display()));
    let name = full.file_name().and_then(|name| name.to_str()).unwrap_or_default().to_owned();
    (name, bytes)
}

pub fn mime_of(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("md") => "text/markdown",
        Some("html") => "text/html",
        Some("pdf") => "application/pdf",
        Some("docx") => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        Some("csv") => "text/csv",
        Some("json") => "application/json",
        _ => "text/plain",
    }
}

/// Uploads a fixture file; returns the document id.
pub async fn upload_fixture(app: &TestApp, token: &str, path: &str, fields: &[(&str, &str)]) -> Uuid {
    let (name, bytes) = fixture(path);
    let accepted = app.upload(token, &name, mime_of(&name), bytes, fields).await.expect(202);
    assert_eq!(accepted["status"], "queued");
    uuid_at(&accepted, "/id")
}

async fn chunks(app: &TestApp, token: &str, id: Uuid) -> Vec<Value> {
    let page = app.get(&format!("/v1/knowledge/documents/{id}/chunks?limit=100"), token).await.expect(200);
    page["data"].as_array().cloned().unwrap_or_default()
}

async fn search(app: &TestApp, token: &str, query: &str, mode: &str) -> Vec<Value> {
    let body =
        app.post("/v1/knowledge/search", token, json!({"query": query, "mode": mode, "limit": 10})).await.expect(200);
    body["hits"].as_array().cloned().unwrap_or_default()
}

fn texts(chunks: &[Value]) -> Vec<String> {
    chunks.iter().map(|chunk| chunk["text"].as_str().unwrap_or_default().to_owned()).collect()
}

#[tokio::test]
async fn every_format_is_parsed_along_its_structure_and_becomes_searchable() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let key = &tenant.key;
    let mut ids = Vec::new();
    for file in [
        "returns.md",
        "shipping.html",
        "warranty.pdf",
        "account-security.docx",
        "payments-faq.csv",
        "orders-faq.json",
        "subscriptions.txt",
    ] {
        ids.push((file, upload_fixture(&app, key, &format!("help-centre/{file}"), &[("tags", "help")]).await));
    }
    for (file, id) in &ids {
        let document = app.wait_for_document(key, *id).await;
        assert_eq!(document["status"], "ready", "{file}: {document}");
        assert_eq!(document["progress"], 1.0);
        assert_eq!(document["active_version"], 1);
        assert!(document["chunk_count"].as_i64().unwrap_or(0) > 0, "{file}: {document}");
        assert_eq!(document["tags"], json!(["help"]));
        assert_eq!(document["filename"], *file);
    }
    let by_file = |file: &str| ids.iter().find(|(name, _)| *name == file).map(|(_, id)| *id).expect("uploaded");

    let markdown = chunks(&app, key, by_file("returns.md")).await;
    let refund = markdown
        .iter()
        .find(|c| c["text"].as_str().unwrap_or_default().contains("within 5 business days"))
        .expect("refund chunk");
    assert_eq!(refund["heading"], "Returns and refunds > Refunds > When the money arrives");
    assert!(
        texts(&markdown).iter().any(|t| t.contains("- Print the prepaid return label")),
        "list items keep their bullet"
    );
    let positions: Vec<i64> = markdown.iter().filter_map(|c| c["position"].as_i64()).collect();
    assert_eq!(positions, (0..markdown.len() as i64).collect::<Vec<_>>(), "positions in document order");

    let html = texts(&chunks(&app, key, by_file("shipping.html")).await).join("\n");
    assert!(html.contains("Express delivery arrives in 1 to 2 business days"));
    for boilerplate in
        ["Sign in", "Deals", "All rights reserved", "newsletter", "Popular articles", "analytics", "Help centre >"]
    {
        assert!(!html.contains(boilerplate), "HTML boilerplate `{boilerplate}` was kept: {html}");
    }

    let pdf = texts(&chunks(&app, key, by_file("warranty.pdf")).await).join("\n");
    assert!(pdf.contains("two-year limited warranty"), "{pdf}");

    let docx = chunks(&app, key, by_file("account-security.docx")).await;
    let two_factor =
        docx.iter().find(|c| c["text"].as_str().unwrap_or_default().contains("扫描二维码")).expect("2FA chunk");
    assert_eq!(two_factor["heading"], "账户与安全 > 两步验证");

    let csv = chunks(&app, key, by_file("payments-faq.csv")).await;
    assert_eq!(csv.len(), 5, "one chunk per question/answer pair");
    assert!(csv[0]["text"].as_str().unwrap_or_default().starts_with("支持哪些付款方式？\n"));
    assert_eq!(chunks(&app, key, by_file("orders-faq.json")).await.len(), 4);

    let keyword = search(&app, key, "两步验证", "keyword").await;
    assert_eq!(
        keyword.first().map(|hit| uuid_at(hit, "/document_id")),
        Some(by_file("account-security.docx")),
        "Chinese keyword search"
    );
    let english_for_chinese = search(&app, key, "how do I turn on two-factor authentication", "vector").await;
    assert_eq!(
        english_for_chinese[0]["document_id"],
        json!(by_file("account-security.docx")),
        "English query, Chinese passage"
    );
    let chinese_for_english = search(&app, key, "电池保修多久？", "vector").await;
    assert!(
        chinese_for_english[0]["text"].as_str().unwrap_or_default().contains("Batteries are covered for 12 months"),
        "Chinese query, English passage: {chinese_for_english:?}"
    );
    let hybrid = search(&app, key, "when do I get my refund", "hybrid").await;
    assert!(hybrid.len() <= 10 && !hybrid.is_empty());
    for hit in &hybrid {
        for field in ["chunk_id", "document_id", "document_version", "title", "heading", "text", "score"] {
            assert!(!hit[field].is_null(), "hit without {field}: {hit}");
        }
    }
    let scores: Vec<f64> = hybrid.iter().filter_map(|hit| hit["score"].as_f64()).collect();
    assert!(scores.windows(2).all(|pair| pair[0] >= pair[1]), "best first: {scores:?}");
}

#[tokio::test]
async fn a_json_upload_is_ingested_and_tags_filter_search() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let tagged = app
        .post(
            "/v1/knowledge/documents",
            &tenant.key,
            json!({"title": "Store hours", "content": "# Hours\n\nOur stores open at 9 am and close at 6 pm.", "content_type": "text/markdown", "tags": ["Stores"]}),
        )
        .await
        .expect(202);
    let other = app
        .post(
            "/v1/knowledge/documents",
            &tenant.key,
            json!({"title": "Warehouse", "content": "The warehouse opens at 7 am.", "content_type": "text"}),
        )
        .await
        .expect(202);
    let tagged_id = uuid_at(&tagged, "/id");
    assert_eq!(app.wait_for_document(&tenant.key, tagged_id).await["status"], "ready");
    assert_eq!(app.wait_for_document(&tenant.key, uuid_at(&other, "/id")).await["status"], "ready");

    let all = app.post("/v1/knowledge/search", &tenant.key, json!({"query": "when do you open"})).await.expect(200);
    let only_stores = app
        .post("/v1/knowledge/search", &tenant.key, json!({"query": "when do you open", "tags": ["stores"]}))
        .await
        .expect(200);
    let unknown_tag = app
        .post("/v1/knowledge/search", &tenant.key, json!({"query": "when do you open", "tags": ["nothing"]}))
        .await
        .expect(200);

    assert_eq!(all["hits"].as_array().map(Vec::len), Some(2));
    let stores: Vec<&Value> = only_stores["hits"].as_array().into_iter().flatten().collect();
    assert_eq!(stores.len(), 1);
    assert_eq!(stores[0]["document_id"], json!(tagged_id));
    assert_eq!(stores[0]["title"], "Store hours");
    assert_eq!(stores[0]["heading"], "Hours");
    assert_eq!(unknown_tag["hits"], json!([]));
    let listed = app.get("/v1/knowledge/documents?tag=stores", &tenant.key).await.expect(200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn broken_files_end_failed_with_a_readable_error_and_nothing_searchable() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let cases = [
        ("broken/encrypted.pdf", "encrypted", "encrypted"),
        ("broken/truncated.pdf", "damaged", "damaged"),
        ("broken/truncated.docx", "damaged", "damaged"),
        ("broken/scanned.pdf", "no text layer", "no_text_layer"),
        ("broken/empty.txt", "empty", "empty_file"),
        ("broken/no-columns.csv", "`question` and an `answer` column", "invalid_faq"),
        ("broken/not-pairs.json", "array of", "invalid_faq"),
    ];
    for (path, reason, code) in cases {
        let id = upload_fixture(&app, &tenant.key, path, &[]).await;
        let document = app.wait_for_document(&tenant.key, id).await;
        assert_eq!(document["status"], "failed", "{path}: {document}");
        let error = document["error"].as_str().unwrap_or_default();
        assert!(error.contains(reason), "{path}: error {error:?} should mention {reason:?}");
        assert_eq!(document["error_code"], code, "{path}: {document}");
        assert_eq!(document["attempts"], 1, "{path}: a broken file is not retried");
        assert!(document["active_version"].is_null());
        assert_eq!(chunks(&app, &tenant.key, id).await, Vec::<Value>::new());
    }
    for mode in ["keyword", "vector", "hybrid"] {
        assert_eq!(
            search(&app, &tenant.key, "two-year limited warranty battery", mode).await,
            Vec::<Value>::new(),
            "{mode}"
        );
    }
    let failed = app.get("/v1/knowledge/documents?status=failed", &tenant.key).await.expect(200);
    assert_eq!(failed["data"].as_array().map(Vec::len), Some(cases.len()));
}

#[tokio::test]
async fn unsupported_types_are_415_and_oversized_documents_413() {
    let app = spawn_app_with(&copilot_tests::postgres_database().await, Backend::Postgres, |settings| {
        settings.knowledge_max_upload_bytes = 4096;
    })
    .await;
    let tenant = app.create_tenant().await;

    app.upload(&tenant.key, "logo.png", "image/png", vec![0x89, b'P', b'N', b'G'], &[])
        .await
        .expect_error(415, "unsupported_document_type");
    app.upload(&tenant.key, "notes", "application/octet-stream", b"hello".to_vec(), &[])
        .await
        .expect_error(415, "unsupported_document_type");
    app.post(
        "/v1/knowledge/documents",
        &tenant.key,
        json!({"title": "T", "content": "x", "content_type": "application/pdf"}),
    )
    .await
    .expect_error(415, "unsupported_document_type");
    app.post(
        "/v1/knowledge/documents",
        &tenant.key,
        json!({"title": "T", "content": "x", "content_type": "image/gif"}),
    )
    .await
    .expect_error(415, "unsupported_document_type");
    app.upload(&tenant.key, "big.txt", "text/plain", vec![b'a'; 5000], &[])
        .await
        .expect_error(413, "document_too_large");
    app.post(
        "/v1/knowledge/documents",
        &tenant.key,
        json!({"title": "T", "content": "a".repeat(5000), "content_type": "text"}),
    )
    .await
    .expect_error(413, "document_too_large");
    // Far past the upload limit, the body is refused before it is read.
    app.upload(&tenant.key, "huge.txt", "text/plain", vec![b'a'; 4 << 20], &[])
        .await
        .expect_error(413, "payload_too_large");
    app.post("/v1/knowledge/documents", &tenant.key, json!({"content": "x", "content_type": "text"}))
        .await
        .expect_error(400, "invalid_body");
    app.post("/v1/knowledge/documents", &tenant.key, json!({"title": " ", "content": "x", "content_type": "text"}))
        .await
        .expect_error(400, "validation_failed");
    app.post(
        "/v1/knowledge/documents",
        &tenant.key,
        json!({"title": "T", "content": "x", "content_type": "text", "tags": ["a\u{7}"]}),
    )
    .await
    .expect_error(400, "validation_failed");

    let listed = app.get("/v1/knowledge/documents", &tenant.key).await.expect(200);
    assert_eq!(listed["data"], json!([]), "no refused upload left a document");
}

#[tokio::test]
async fn search_and_listing_validate_their_input() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let key = &tenant.key;
    app.post("/v1/knowledge/search", key, json!({"query": "  "})).await.expect_error(400, "validation_failed");
    app.post("/v1/knowledge/search", key, json!({"query": "x", "limit": 0})).await.expect_error(400, "invalid_limit");
    app.post("/v1/knowledge/search", key, json!({"query": "x", "limit": 51})).await.expect_error(400, "invalid_limit");
    app.post("/v1/knowledge/search", key, json!({"query": "x", "mode": "fuzzy"}))
        .await
        .expect_error(400, "invalid_body");
    app.post("/v1/knowledge/search", key, json!({"query": "x".repeat(2001)}))
        .await
        .expect_error(400, "validation_failed");
    assert_eq!(
        app.post("/v1/knowledge/search", key, json!({"query": "refund"})).await.expect(200),
        json!({"hits": [], "confident": false})
    );
    app.get("/v1/knowledge/documents?status=done", key).await.expect_error(400, "invalid_parameter");
    app.get("/v1/knowledge/documents?cursor=nope", key).await.expect_error(400, "invalid_cursor");
    app.get("/v1/knowledge/documents?limit=101", key).await.expect_error(400, "invalid_limit");
    app.get(&format!("/v1/knowledge/documents/{}", Uuid::now_v7()), key).await.expect_error(404, "not_found");
    app.get("/v1/knowledge/documents/not-a-uuid", key).await.expect_error(400, "invalid_parameter");
    app.get(&format!("/v1/knowledge/documents/{}/chunks?cursor=-1", Uuid::now_v7()), key)
        .await
        .expect_error(400, "invalid_cursor");
}

#[tokio::test]
async fn agents_and_integrations_read_and_search_but_only_admins_change_knowledge() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let (_, agent) = app.add_user(&tenant, "agent").await;
    let id = upload_fixture(&app, &tenant.key, "help-centre/orders-faq.json", &[]).await;
    app.wait_for_document(&tenant.key, id).await;

    app.upload(&agent, "faq.json", "application/json", b"[]".to_vec(), &[]).await.expect_error(403, "forbidden");
    app.post("/v1/knowledge/documents", &agent, json!({"title": "T", "content": "x", "content_type": "text"}))
        .await
        .expect_error(403, "forbidden");
    app.delete(&format!("/v1/knowledge/documents/{id}"), &agent).await.expect_error(403, "forbidden");
    app.get(&format!("/v1/knowledge/documents/{id}"), &agent).await.expect(200);
    assert!(!search(&app, &agent, "cancel my order", "hybrid").await.is_empty());
    app.send(Method::POST, "/v1/knowledge/search", None, Some(&json!({"query": "x"})))
        .await
        .expect_error(401, "unauthorized");
}

#[tokio::test]
async fn another_tenants_documents_are_404_and_never_found_by_search() {
    let app = spawn_app().await;
    let owner = app.create_tenant().await;
    let other = app.create_tenant().await;
    let id = upload_fixture(&app, &owner.key, "help-centre/returns.md", &[("external_id", "returns")]).await;
    app.wait_for_document(&owner.key, id).await;

    for path in [format!("/v1/knowledge/documents/{id}"), format!("/v1/knowledge/documents/{id}/chunks")] {
        app.get(&path, &other.key).await.expect_error(404, "not_found");
    }
    app.delete(&format!("/v1/knowledge/documents/{id}"), &other.key).await.expect_error(404, "not_found");
    assert_eq!(app.get("/v1/knowledge/documents", &other.key).await.expect(200)["data"], json!([]));
    for mode in ["keyword", "vector", "hybrid"] {
        assert_eq!(
            search(&app, &other.key, "how long do I have to return an item", mode).await,
            Vec::<Value>::new(),
            "{mode}"
        );
        assert!(!search(&app, &owner.key, "how long do I have to return an item", mode).await.is_empty(), "{mode}");
    }
    // The same external id in another tenant is another document.
    let theirs = upload_fixture(&app, &other.key, "help-centre/returns.md", &[("external_id", "returns")]).await;
    assert_ne!(theirs, id);
    assert_eq!(app.wait_for_document(&other.key, theirs).await["version"], 1);
    assert_eq!(app.get(&format!("/v1/knowledge/documents/{id}"), &owner.key).await.expect(200)["status"], "ready");
}

async fn upload_text(app: &TestApp, token: &str, external_id: &str, content: &str) -> Value {
    app.post(
        "/v1/knowledge/documents",
        token,
        json!({"title": "Returns", "content": content, "content_type": "text/markdown", "external_id": external_id}),
    )
    .await
    .expect(202)
}

#[tokio::test]
async fn replacing_by_external_id_switches_versions_atomically_and_identical_bytes_change_nothing() {
    // A database of its own: no other test's worker may take the held version.
    let seed = spawn_app_on(Backend::Sqlite).await;
    let gated = Metered::new(0);
    let app = spawn_app_with_triager(&seed.database_url, Backend::Sqlite, gated.clone(), |_| {}).await;
    let tenant = app.create_tenant().await;
    let old = "# Returns\n\nOrders can be returned within 30 days.\n\n## Labels\n\nReturn labels are free for members.";
    let new = "# Returns\n\nOrders can be returned within 60 days.\n\n## Labels\n\nReturn labels cost $5 for everyone.";
    // Only the new version's passages are held: a search embedding the old version's
    // sentences never waits on the hold.
    gated.only_with("60 days");
    gated.open();
    let first = upload_text(&app, &tenant.key, "returns-policy", old).await;
    let id = uuid_at(&first, "/id");
    assert_eq!(app.wait_for_document(&tenant.key, id).await["status"], "ready");

    let same = upload_text(&app, &tenant.key, "returns-policy", old).await;
    assert_eq!(same, json!({"id": id, "status": "ready", "version": 1, "unchanged": true}));

    // Searching embeds the best chunks' sentences once (and keeps them); done here, before
    // the hold, so that the searches below do not wait on the held encoder.
    for mode in ["vector", "hybrid"] {
        assert!(!search(&app, &tenant.key, "how many days to return, return label cost", mode).await.is_empty());
    }
    // Hold the new version's embeddings: while it is processed, searches see version 1 only.
    gated.close();
    let second = upload_text(&app, &tenant.key, "returns-policy", new).await;
    assert_eq!(
        (uuid_at(&second, "/id"), second["version"].clone(), second["unchanged"].clone()),
        (id, json!(2), json!(false))
    );
    for _ in 0..100 {
        if app.get(&format!("/v1/knowledge/documents/{id}"), &tenant.key).await.expect(200)["status"] == "processing" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let during = app.get(&format!("/v1/knowledge/documents/{id}"), &tenant.key).await.expect(200);
    assert_eq!(
        (during["status"].as_str(), during["version"].as_i64(), during["active_version"].as_i64()),
        (Some("processing"), Some(2), Some(1))
    );
    for mode in ["keyword", "vector", "hybrid"] {
        let hits = search(&app, &tenant.key, "how many days to return, return label cost", mode).await;
        assert!(!hits.is_empty(), "{mode}");
        assert!(hits.iter().all(|hit| hit["document_version"] == 1), "{mode} during replacement: {hits:?}");
    }

    gated.open();
    let after = app.wait_for_document(&tenant.key, id).await;
    assert_eq!((after["status"].as_str(), after["active_version"].as_i64()), (Some("ready"), Some(2)));
    for mode in ["keyword", "vector", "hybrid"] {
        let hits = search(&app, &tenant.key, "how many days to return, return label cost", mode).await;
        assert!(!hits.is_empty(), "{mode}");
        assert!(hits.iter().all(|hit| hit["document_version"] == 2), "{mode} after replacement: {hits:?}");
        assert!(
            texts(&hits).iter().all(|text| !text.contains("30 days") && !text.contains("free for members")),
            "{mode}"
        );
    }
    let preview = texts(&chunks(&app, &tenant.key, id).await);
    assert_eq!(preview, vec!["Orders can be returned within 60 days.", "Return labels cost $5 for everyone."]);
    // The replaced version's vectors are gone from the store, not only hidden.
    let store = copilot_knowledge::VectorStore::open(&app.knowledge_uri, model_triager().dimensions())
        .await
        .expect("open the store");
    let old_chunks = store.chunks(copilot_core::TenantId(tenant.id), id, 1, 0, 100).await.expect("read the store");
    assert_eq!(old_chunks, Vec::new());
    let listed = app.get("/v1/knowledge/documents?external_id=returns-policy", &tenant.key).await.expect(200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_new_version_of_a_document_replaces_the_old_one_in_search() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let old = b"# Warranty\n\nEvery lamp comes with a two-year warranty.\n".to_vec();
    let first = app.upload(&tenant.key, "warranty.md", "text/markdown", old, &[("title", "Warranty")]).await;
    let id = uuid_at(&first.expect(202), "/id");
    app.wait_for_document(&tenant.key, id).await;
    let path = format!("/v1/knowledge/documents/{id}/versions");

    let new = b"# Warranty\n\nEvery lamp comes with a three-year warranty.\n".to_vec();
    let second = app.upload_to(&path, &tenant.key, "warranty-2027.md", "text/markdown", new.clone(), &[]).await;
    let accepted = second.expect(202);
    let ready = app.wait_for_document(&tenant.key, id).await;
    let again = app.upload_to(&path, &tenant.key, "warranty-2027.md", "text/markdown", new, &[]).await.expect(202);

    assert_eq!((uuid_at(&accepted, "/id"), accepted["version"].as_i64()), (id, Some(2)), "{accepted}");
    assert_eq!((ready["status"].as_str(), ready["active_version"].as_i64()), (Some("ready"), Some(2)), "{ready}");
    assert_eq!(ready["title"], "Warranty", "a new version keeps the title");
    assert_eq!(again["unchanged"], true, "identical bytes are a no-op: {again}");
    let hits = search(&app, &tenant.key, "how long is the lamp warranty", "hybrid").await;
    let found = texts(&hits);
    assert!(found.iter().any(|text| text.contains("three-year")), "{found:?}");
    assert!(!found.iter().any(|text| text.contains("two-year")), "the old version is gone: {found:?}");
    let listed = app.get("/v1/knowledge/documents", &tenant.key).await.expect(200);
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "one document, not two");

    // Another tenant's document, an unknown one and a conflicting external_id are refused.
    let other = app.create_tenant().await;
    let refused = app.upload_to(&path, &other.key, "x.md", "text/markdown", b"# X\n\nY.\n".to_vec(), &[]).await;
    refused.expect_error(404, "not_found");
    let unknown = format!("/v1/knowledge/documents/{}/versions", Uuid::now_v7());
    let missing = app.upload_to(&unknown, &tenant.key, "x.md", "text/markdown", b"# X\n\nY.\n".to_vec(), &[]).await;
    missing.expect_error(404, "not_found");
    let fields = [("external_id", "someone-else")];
    let mismatch = app.upload_to(&path, &tenant.key, "x.md", "text/markdown", b"# X\n\nZ.\n".to_vec(), &fields).await;
    mismatch.expect_error(422, "external_id_mismatch");
}

#[tokio::test]
async fn deleting_a_document_removes_its_vectors() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let id = upload_fixture(&app, &tenant.key, "help-centre/subscriptions.txt", &[]).await;
    app.wait_for_document(&tenant.key, id).await;
    assert!(!search(&app, &tenant.key, "取消自动续费", "keyword").await.is_empty());

    assert_eq!(app.delete(&format!("/v1/knowledge/documents/{id}"), &tenant.key).await.status, 204);

    app.get(&format!("/v1/knowledge/documents/{id}"), &tenant.key).await.expect_error(404, "not_found");
    app.delete(&format!("/v1/knowledge/documents/{id}"), &tenant.key).await.expect_error(404, "not_found");
    for mode in ["keyword", "vector", "hybrid"] {
        assert_eq!(search(&app, &tenant.key, "取消自动续费", mode).await, Vec::<Value>::new(), "{mode}");
    }
    let store = copilot_knowledge::VectorStore::open(&app.knowledge_uri, model_triager().dimensions())
        .await
        .expect("open the store");
    assert_eq!(
        store.chunks(copilot_core::TenantId(tenant.id), id, 1, 0, 100).await.expect("read the store"),
        Vec::new()
    );
    let audit = app.get("/v1/audit-events?action=knowledge.document.deleted", &tenant.key).await.expect(200);
    assert_eq!(audit["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_document_whose_worker_died_is_ingested_by_the_next_process() {
    let seed = spawn_app_on(Backend::Sqlite).await;
    // Hangs at the first passages it is asked to embed.
    let stuck = Metered::new(0);
    // Its one ingestion slot stays taken by the stuck document, so it cannot claim it again.
    let first = spawn_app_with_triager(&seed.database_url, Backend::Sqlite, stuck.clone(), |settings| {
        settings.knowledge_concurrency = 1;
    })
    .await;
    let tenant = first.create_tenant().await;
    let id = upload_fixture(&first, &tenant.key, "help-centre/returns.md", &[]).await;
    // Once the worker waits on the embedder it renews its lease no more.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while stuck.asked() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the worker never asked for embeddings");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let db = copilot_store::connect(&first.database_url, 1).await.expect("connect");
    let lease = chrono::Duration::seconds(60);
    assert!(
        copilot_knowledge::documents::claim(&db, 10, lease).await.expect("claim").is_empty(),
        "leased to the first worker"
    );

    // The first process is gone (its worker never finishes); its lease runs out.
    sea_orm::ConnectionTrait::execute_unprepared(
        db.unscoped(),
        "UPDATE knowledge_documents SET next_attempt_at = '2000-01-01T00:00:00Z'",
    )
    .await
    .expect("expire the lease");
    let second = spawn_app_with(&first.database_url, Backend::Sqlite, |_| {}).await;
    assert_eq!(second.knowledge_uri, first.knowledge_uri, "both processes use the same store");

    let document = second.wait_for_document(&tenant.key, id).await;
    assert_eq!((document["status"].as_str(), document["attempts"].as_i64()), (Some("ready"), Some(2)));
    assert!(!search(&second, &tenant.key, "how long do I have to return an item", "hybrid").await.is_empty());

    // The first worker was only slow, and now fails: its late attempt is fenced out and
    // neither requeues the document nor removes the chunks the second one made searchable.
    stuck.batches.close();
    first
        .wait_for_metric(r#"copilot_job_run_seconds_count{queue="knowledge"}"#, 1.0, std::time::Duration::from_secs(30))
        .await;
    let after = second.get(&format!("/v1/knowledge/documents/{id}"), &tenant.key).await.expect(200);
    assert_eq!(
        (after["status"].as_str(), after["attempts"].as_i64(), after["chunk_count"].as_i64()),
        (Some("ready"), Some(2), document["chunk_count"].as_i64()),
        "{after}"
    );
    let chunks = second.get(&format!("/v1/knowledge/documents/{id}/chunks?limit=100"), &tenant.key).await.expect(200);
    assert_eq!(chunks["data"].as_array().map(|c| c.len() as i64), document["chunk_count"].as_i64());
    assert!(!search(&second, &tenant.key, "how long do I have to return an item", "hybrid").await.is_empty());
}

/// Passes everything to the models and counts the passages it embeds, letting only
/// `batches` passage batches through (the next one waits until opened: a worker that
/// hangs, or ingestion held while a test looks at the state meanwhile).
struct Metered {
    batches: Semaphore,
    asked: std::sync::atomic::AtomicUsize,
    passages: std::sync::atomic::AtomicUsize,
    /// When set, only batches holding a text with this mark are metered (a document's
    /// ingestion), and searches embedding other passages' sentences never wait.
    only: std::sync::Mutex<Option<String>>,
}

impl Metered {
    fn new(batches: usize) -> Arc<Self> {
        Arc::new(Self {
            batches: Semaphore::new(batches),
            asked: Default::default(),
            passages: Default::default(),
            only: Default::default(),
        })
    }

    /// Meters only the passage batches holding a text with `mark`.
    fn only_with(&self, mark: &str) {
        *self.only.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(mark.to_owned());
    }

    fn metered(&self, texts: &[String]) -> bool {
        match &*self.only.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            Some(mark) => texts.iter().any(|text| text.contains(mark.as_str())),
            None => true,
        }
    }

    /// Lets every later passage batch through (until closed).
    fn open(&self) {
        self.batches.add_permits(10_000);
    }

    /// Holds every later passage batch.
    fn close(&self) {
        self.batches.forget_permits(usize::MAX);
    }

    /// Passage batches asked for, let through or not.
    fn asked(&self) -> usize {
        self.asked.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn passages(&self) -> usize {
        self.passages.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl copilot_pipeline::triage::Triager for Metered {
    async fn triage(
        &self,
        texts: Vec<String>,
        head: Option<copilot_triage::HeadWeights>,
    ) -> Result<Vec<copilot_triage::Triage>, String> {
        model_triager().triage(texts, head).await
    }

    async fn embed(&self, texts: Vec<String>, kind: TextKind) -> Result<Vec<Vec<f32>>, String> {
        if kind == TextKind::Passage && self.metered(&texts) {
            self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.batches.acquire().await.map_err(|error| error.to_string())?.forget();
        }
        let count = texts.len();
        let vectors = model_triager().embed(texts, kind).await?;
        if kind == TextKind::Passage {
            self.passages.fetch_add(count, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(vectors)
    }

    fn dimensions(&self) -> usize {
        model_triager().dimensions()
    }

    fn default_intents(&self) -> Vec<String> {
        model_triager().default_intents()
    }
}

#[tokio::test]
async fn an_interrupted_ingestion_resumes_from_the_passages_it_stored() {
    // A database of its own: no other app's worker takes the document over.
    let database = copilot_tests::new_postgres_database().await;
    // The first worker embeds ten batches of 32 passages, then hangs.
    let hanging = Metered::new(10);
    // Its one ingestion slot stays taken by the hung document.
    let first = spawn_app_with_triager(&database, Backend::Postgres, hanging.clone(), |settings| {
        settings.knowledge_concurrency = 1;
    })
    .await;
    let tenant = first.create_tenant().await;
    let sections: String =
        (0..700).map(|n| format!("## Rule {n}\n\nParcels of class {n} are handled by depot {n}.\n\n")).collect();
    let accepted = first.upload(&tenant.key, "rules.md", "text/markdown", sections.into_bytes(), &[]).await;
    let id = uuid_at(&accepted.expect(202), "/id");
    let store = copilot_knowledge::VectorStore::open(&first.knowledge_uri, model_triager().dimensions())
        .await
        .expect("open the store");
    let tenant_id = copilot_core::TenantId(tenant.id);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(120);
    while hanging.passages() < 320 {
        assert!(tokio::time::Instant::now() < deadline, "the first worker embedded {} passages", hanging.passages());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let stored = store.chunks(tenant_id, id, 1, 0, 10_000).await.expect("read the store").len();
    assert_eq!(stored, copilot_knowledge::CHECKPOINT_CHUNKS, "one checkpoint stored before the hang");

    // The first process is gone; its lease runs out and the next one takes the document.
    let db = copilot_store::connect(&first.database_url, 1).await.expect("connect");
    sea_orm::ConnectionTrait::execute_unprepared(
        db.unscoped(),
        "UPDATE knowledge_documents SET next_attempt_at = '2000-01-01T00:00:00Z'",
    )
    .await
    .expect("expire the lease");
    let counting = Metered::new(Semaphore::MAX_PERMITS);
    let second = spawn_app_with_triager(&database, Backend::Postgres, counting.clone(), |_| {}).await;
    let document = second.wait_for_document(&tenant.key, id).await;

    let chunk_count = document["chunk_count"].as_u64().unwrap_or_default() as usize;
    assert_eq!((document["status"].as_str(), document["attempts"].as_i64()), (Some("ready"), Some(2)), "{document}");
    assert!(chunk_count > 600, "{document}");
    assert_eq!(counting.passages(), chunk_count - stored, "only what was not stored is embedded again");
    let chunks = store.chunks(tenant_id, id, 1, 0, 10_000).await.expect("read the store");
    let positions: std::collections::BTreeSet<i32> = chunks.iter().map(|chunk| chunk.position).collect();
    assert_eq!((chunks.len(), positions.len()), (chunk_count, chunk_count), "one passage per position");
    let hits = search(&second, &tenant.key, "which depot handles parcels of class 431", "keyword").await;
    assert!(texts(&hits).iter().any(|text| text.contains("class 431 are handled by depot 431")), "{hits:?}");
}

/// A PDF of `pages` pages of 200 lines each (compressed: about 1.3 KB a page).
fn long_pdf(pages: usize) -> Vec<u8> {
    use lopdf::{
        Document, Object, Stream,
        content::{Content, Operation},
        dictionary,
    };
    let mut doc = Document::with_version("1.5");
    let tree_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {"Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica"});
    let resources = doc.add_object(dictionary! {"Font" => dictionary! {"F1" => font}});
    let kids: Vec<Object> = (1..=pages)
        .map(|n| {
            let mut operations = vec![Operation::new("BT", vec![]), Operation::new("Tf", vec!["F1".into(), 11.into()])];
            for line in 0..200 {
                let text = format!("Section {n}.{line}: parcels of class {n} are handled by depot {line}.");
                operations.push(Operation::new("Td", vec![0.into(), (-14).into()]));
                operations.push(Operation::new("Tj", vec![Object::string_literal(text)]));
            }
            operations.push(Operation::new("ET", vec![]));
            let content = Content { operations }.encode().expect("encode a page");
            let mut stream = Stream::new(dictionary! {}, content);
            stream.compress().expect("compress a page");
            let stream = doc.add_object(stream);
            doc.add_object(dictionary! {"Type" => "Page", "Parent" => tree_id, "Contents" => stream}).into()
        })
        .collect();
    let tree = dictionary! {
        "Type" => "Pages",
        "Kids" => kids,
        "Count" => pages as i64,
        "Resources" => resources,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    };
    doc.objects.insert(tree_id, Object::Dictionary(tree));
    let catalog = doc.add_object(dictionary! {"Type" => "Catalog", "Pages" => tree_id});
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("save the PDF");
    bytes
}

#[tokio::test]
async fn deleting_a_pdf_while_it_is_read_stops_the_reading() {
    // One ingestion slot: while the long PDF is read, nothing else of any tenant is.
    let app = copilot_tests::spawn_app_alone_with(|settings| settings.knowledge_concurrency = 1).await;
    let tenant = app.create_tenant().await;
    // Reading its text takes about 25 s in a debug build (loading it under a second).
    let long = app.upload(&tenant.key, "manual.pdf", "application/pdf", long_pdf(800), &[]).await.expect(202);
    let long = uuid_at(&long, "/id");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let document = app.get(&format!("/v1/knowledge/documents/{long}"), &tenant.key).await.expect(200);
        if document["status"] == "processing" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{document}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let deleted = std::time::Instant::now();
    assert_eq!(app.delete(&format!("/v1/knowledge/documents/{long}"), &tenant.key).await.status, 204);
    let short = app
        .upload(&tenant.key, "short.md", "text/markdown", b"# Returns\n\nWithin 30 days.\n".to_vec(), &[])
        .await
        .expect(202);
    let short = app.wait_for_document(&tenant.key, uuid_at(&short, "/id")).await;
    let waited = deleted.elapsed();

    println!("an 800-page PDF deleted while read freed its worker; the next document was ready {waited:?} later");
    assert_eq!(short["status"], "ready", "{short}");
    assert!(waited < std::time::Duration::from_secs(12), "{waited:?}");
}

#[tokio::test]
async fn maintenance_compacts_every_tenants_table_and_search_still_answers() {
    let app = spawn_app_on(Backend::Sqlite).await;
    let (first, second) = (app.create_tenant().await, app.create_tenant().await);
    for tenant in [&first, &second] {
        for file in ["help-centre/orders-faq.json", "help-centre/subscriptions.txt"] {
            let id = upload_fixture(&app, &tenant.key, file, &[]).await;
            assert_eq!(app.wait_for_document(&tenant.key, id).await["status"], "ready");
        }
    }
    let db = copilot_store::connect(&app.database_url, 1).await.expect("connect");
    let store = copilot_knowledge::VectorStore::open(&app.knowledge_uri, model_triager().dimensions())
        .await
        .expect("open the store");
    let knowledge = copilot_knowledge::Knowledge::new(
        db,
        store,
        Arc::new(copilot_pipeline::triage::TriagerEmbedder(model_triager())),
    );

    assert_eq!(knowledge.optimize_tables().await.expect("optimize"), 2);

    for tenant in [&first, &second] {
        let hits = search(&app, &tenant.key, "怎么取消订单", "hybrid").await;
        assert!(texts(&hits).iter().any(|text| text.contains("cancel an order in your account")), "{hits:?}");
    }
}

#[tokio::test]
async fn one_tenants_long_document_does_not_hold_up_another_tenants_short_one() {
    let app = copilot_tests::spawn_app_alone().await;
    let (busy, other) = (app.create_tenant().await, app.create_tenant().await);
    let sections: String = (0..600)
        .map(|n| format!("## Policy {n}\n\nRule {n}: items of kind {n} are handled by desk {n}.\n\n"))
        .collect();
    let long = app.upload(&busy.key, "long.md", "text/markdown", sections.into_bytes(), &[]).await.expect(202);
    let long = uuid_at(&long, "/id");
    // The long document is being embedded before the short one arrives.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let document = app.get(&format!("/v1/knowledge/documents/{long}"), &busy.key).await.expect(200);
        if document["status"] == "processing" {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline && document["status"] != "ready", "{document}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let started = std::time::Instant::now();
    let short = app
        .upload(&other.key, "short.md", "text/markdown", b"# Returns\n\nWithin 30 days.\n".to_vec(), &[])
        .await
        .expect(202);
    let short = app.wait_for_document(&other.key, uuid_at(&short, "/id")).await;
    let waited = started.elapsed();
    assert_eq!(short["status"], "ready", "{short}");
    let long_now = app.get(&format!("/v1/knowledge/documents/{long}"), &busy.key).await.expect(200);
    println!(
        "fairness: a two-line document was ready in {waited:?} while another tenant's 600 sections were {}",
        long_now["status"]
    );
    assert_eq!(long_now["status"], "processing", "the short document waited for the long one: {long_now}");
    assert_eq!(app.wait_for_document(&busy.key, long).await["status"], "ready");
}

#[tokio::test]
async fn search_says_whether_its_best_hit_answers_the_question() {
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    for fixture in ["help-centre/orders-faq.json", "help-centre/returns.md"] {
        let id = upload_fixture(&app, &tenant.key, fixture, &[]).await;
        assert_eq!(app.wait_for_document(&tenant.key, id).await["status"], "ready");
    }
    let ask = |query: &str| {
        let body = json!({"query": query, "mode": "hybrid", "limit": 5});
        let (app, key) = (app.clone(), tenant.key.clone());
        async move { app.post("/v1/knowledge/search", &key, body).await.expect(200) }
    };

    let answered = ask("How do I cancel my order?").await;
    let unrelated = ask("What is the boiling point of liquid nitrogen in Kelvin?").await;

    assert_eq!(answered["confident"], true, "{answered}");
    assert!(answered["relevance"].as_f64().is_some_and(|r| r >= 0.1), "{answered}");
    assert!(answered["evidence"]["similarity"].as_f64().is_some_and(|s| s > 0.8), "{answered}");
    assert_eq!(unrelated["confident"], false, "{unrelated}");
    assert!(unrelated["relevance"].as_f64().is_some_and(|r| r < 0.1), "{unrelated}");
    assert!(!unrelated["hits"].as_array().is_none_or(Vec::is_empty), "the nearest passages are still listed");
    let other = app.create_tenant().await;
    let empty = app.post("/v1/knowledge/search", &other.key, json!({"query": "cancel my order"})).await.expect(200);
    assert_eq!(
        (empty["confident"].as_bool(), empty.get("relevance"), empty.get("evidence")),
        (Some(false), None, None),
        "{empty}"
    );
}
