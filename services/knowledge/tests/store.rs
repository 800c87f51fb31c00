//! The vector store on a real LanceDB folder: per-tenant isolation, vector and keyword
//! search (English and Chinese), and deleting a document's chunks.

use copilot_core::TenantId;
use copilot_knowledge::{ChunkRecord, VectorStore};
use uuid::Uuid;

const DIM: usize = 8;

fn vector(hot: usize) -> Vec<f32> {
    let mut v = vec![0.05f32; DIM];
    v[hot % DIM] = 1.0;
    v
}

fn chunk(document: Uuid, position: i32, text: &str, hot: usize) -> ChunkRecord {
    ChunkRecord {
        chunk_id: Uuid::now_v7(),
        document_id: document,
        document_version: 1,
        title: "Help centre".into(),
        heading: "FAQ".into(),
        text: text.into(),
        position,
        vector: vector(hot),
    }
}

async fn store() -> VectorStore {
    let dir = std::env::temp_dir().join(format!("copilot-kb-{}", Uuid::new_v4().simple()));
    VectorStore::open(dir.to_str().expect("utf-8 path"), DIM).await.expect("open the store")
}

#[tokio::test]
async fn search_finds_the_nearest_chunk_of_the_tenant_only() {
    let store = store().await;
    let (a, b) = (TenantId(Uuid::now_v7()), TenantId(Uuid::now_v7()));
    let document = Uuid::now_v7();
    let chunks = vec![
        chunk(document, 0, "Refunds are paid within 5 business days.", 0),
        chunk(document, 1, "Shipping takes 3 to 7 days.", 1),
        chunk(document, 2, "退货需在收货后七天内申请。", 2),
    ];
    store.add(a, &chunks).await.expect("add");

    let nearest = store.vector_search(a, &vector(1), 2).await.expect("search");
    let other_tenant = store.vector_search(b, &vector(1), 2).await.expect("search");

    assert_eq!(nearest[0].text, "Shipping takes 3 to 7 days.");
    assert!(nearest[0].score > nearest[1].score);
    assert!(other_tenant.is_empty(), "tenant B sees nothing of tenant A");
}

#[tokio::test]
async fn keyword_search_works_in_english_and_chinese() {
    let store = store().await;
    let tenant = TenantId(Uuid::now_v7());
    let document = Uuid::now_v7();
    store
        .add(
            tenant,
            &[
                chunk(document, 0, "Refunds are paid within 5 business days.", 0),
                chunk(document, 1, "Shipping takes 3 to 7 days.", 1),
                chunk(document, 2, "退货需在收货后七天内申请，运费由买家承担。", 2),
            ],
        )
        .await
        .expect("add");

    let english = store.keyword_search(tenant, "refunds", 5).await.expect("search");
    let chinese = store.keyword_search(tenant, "运费", 5).await.expect("search");

    assert_eq!(english.first().map(|h| h.text.as_str()), Some("Refunds are paid within 5 business days."));
    assert_eq!(chinese.first().map(|h| h.text.as_str()), Some("退货需在收货后七天内申请，运费由买家承担。"));
}

#[tokio::test]
async fn deleting_a_document_removes_its_chunks() {
    let store = store().await;
    let tenant = TenantId(Uuid::now_v7());
    let (kept, removed) = (Uuid::now_v7(), Uuid::now_v7());
    store.add(tenant, &[chunk(kept, 0, "kept text", 0), chunk(removed, 0, "removed text", 0)]).await.expect("add");

    store.delete_document(tenant, removed).await.expect("delete");

    let hits = store.vector_search(tenant, &vector(0), 10).await.expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].document_id, kept);
}
