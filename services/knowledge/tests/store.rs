//! The vector store on a real LanceDB folder: per-tenant isolation, vector and keyword
//! search (English and Chinese), document filters, versions, chunk previews, deletion.

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

    let nearest = store.vector_search(a, &vector(1), 2, None).await.expect("search");
    let other_tenant = store.vector_search(b, &vector(1), 2, None).await.expect("search");

    assert_eq!(nearest[0].text, "Shipping takes 3 to 7 days.");
    assert!(nearest[0].score > nearest[1].score);
    assert!(other_tenant.is_empty(), "tenant B sees nothing of tenant A");
}

#[tokio::test]
async fn stored_vectors_are_read_back_by_chunk_for_the_tenant_only() {
    let store = store().await;
    let (a, b) = (TenantId(Uuid::now_v7()), TenantId(Uuid::now_v7()));
    let document = Uuid::now_v7();
    let chunks = vec![chunk(document, 0, "Refunds take 5 days.", 0), chunk(document, 1, "Shipping takes 3 days.", 3)];
    store.add(a, &chunks).await.expect("add");
    let unknown = Uuid::now_v7();
    let ids = [chunks[1].chunk_id, unknown, chunks[0].chunk_id];

    let found = store.vectors_of(a, &ids).await.expect("read");
    let other_tenant = store.vectors_of(b, &ids).await.expect("read");

    assert_eq!(found.len(), 2, "an unknown chunk is left out");
    assert_eq!(found[&chunks[0].chunk_id], vector(0));
    assert_eq!(found[&chunks[1].chunk_id], vector(3));
    assert!(other_tenant.is_empty(), "tenant B reads nothing of tenant A");
    assert!(store.vectors_of(a, &[]).await.expect("read").is_empty());
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

    let english = store.keyword_search(tenant, "refunds", 5, None).await.expect("search");
    let chinese = store.keyword_search(tenant, "运费", 5, None).await.expect("search");

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

    let hits = store.vector_search(tenant, &vector(0), 10, None).await.expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].document_id, kept);
}

#[tokio::test]
async fn searches_limited_to_documents_see_only_those() {
    let store = store().await;
    let tenant = TenantId(Uuid::now_v7());
    let (wanted, other) = (Uuid::now_v7(), Uuid::now_v7());
    store
        .add(
            tenant,
            &[chunk(wanted, 0, "refund policy for members", 0), chunk(other, 0, "refund policy for guests", 0)],
        )
        .await
        .expect("add");

    let by_vector = store.vector_search(tenant, &vector(0), 10, Some(&[wanted])).await.expect("search");
    let by_keyword = store.keyword_search(tenant, "refund", 10, Some(&[wanted])).await.expect("search");
    let none = store.keyword_search(tenant, "refund", 10, Some(&[])).await.expect("search");

    assert_eq!(by_vector.iter().map(|h| h.document_id).collect::<Vec<_>>(), vec![wanted]);
    assert_eq!(by_keyword.iter().map(|h| h.document_id).collect::<Vec<_>>(), vec![wanted]);
    assert!(none.is_empty());
}

#[tokio::test]
async fn versions_are_deleted_one_at_a_time_and_chunks_read_in_order() {
    let store = store().await;
    let tenant = TenantId(Uuid::now_v7());
    let document = Uuid::now_v7();
    let version = |version: i64, position: i32, text: &str| ChunkRecord {
        document_version: version,
        ..chunk(document, position, text, 0)
    };
    store.add(tenant, &[version(1, 0, "old first"), version(1, 1, "old second")]).await.expect("add v1");
    store
        .add(tenant, &[version(2, 1, "new second"), version(2, 0, "new first"), version(2, 2, "new third")])
        .await
        .expect("add v2");

    let page = store.chunks(tenant, document, 2, 0, 2).await.expect("read");
    let rest = store.chunks(tenant, document, 2, 2, 2).await.expect("read");
    store.delete_other_versions(tenant, document, 2).await.expect("delete v1");
    let old = store.chunks(tenant, document, 1, 0, 10).await.expect("read");
    store.delete_version(tenant, document, 2).await.expect("delete v2");
    let new = store.chunks(tenant, document, 2, 0, 10).await.expect("read");

    assert_eq!(page.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), vec!["new first", "new second"]);
    assert_eq!(rest.iter().map(|c| c.text.as_str()).collect::<Vec<_>>(), vec!["new third"]);
    assert!(old.is_empty());
    assert!(new.is_empty());
}

#[tokio::test]
async fn keyword_search_is_found_after_later_additions_and_optimizing() {
    let store = store().await;
    let tenant = TenantId(Uuid::now_v7());
    store.add(tenant, &[chunk(Uuid::now_v7(), 0, "first upload about invoices", 0)]).await.expect("add");
    store.add(tenant, &[chunk(Uuid::now_v7(), 0, "second upload about warranties", 1)]).await.expect("add");

    let before = store.keyword_search(tenant, "warranties", 5, None).await.expect("search");
    store.optimize(tenant).await.expect("optimize");
    let after = store.keyword_search(tenant, "warranties", 5, None).await.expect("search");

    assert_eq!(before.len(), 1, "rows added after the index was built are searched too");
    assert_eq!(after.len(), 1);
}

#[tokio::test]
async fn what_one_handle_writes_the_next_read_of_another_sees() {
    let dir = std::env::temp_dir().join(format!("copilot-kb-{}", Uuid::new_v4().simple()));
    let uri = dir.to_str().expect("utf-8 path");
    let (writer, reader) =
        (VectorStore::open(uri, DIM).await.expect("open"), VectorStore::open(uri, DIM).await.expect("open"));
    let tenant = TenantId(Uuid::now_v7());
    let document = Uuid::now_v7();
    writer.add(tenant, &[chunk(document, 0, "first words", 0)]).await.expect("add");
    assert_eq!(reader.keyword_search(tenant, "words", 10, None).await.expect("search").len(), 1);

    for position in 1..4 {
        writer.add(tenant, &[chunk(document, position, "more words", 1)]).await.expect("add");
        assert_eq!(reader.chunks(tenant, document, 1, 0, 10).await.expect("read").len(), position as usize + 1);
        assert_eq!(writer.chunks(tenant, document, 1, 0, 10).await.expect("read").len(), position as usize + 1);
    }
    writer.delete_document(tenant, document).await.expect("delete");
    assert!(reader.vector_search(tenant, &vector(1), 10, None).await.expect("search").is_empty());
}

/// Unit vectors (as the encoder's) spread by a small deterministic generator (xorshift).
fn spread(count: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 2001) as f32 / 1000.0 - 1.0
    };
    (0..count)
        .map(|_| {
            let v: Vec<f32> = (0..DIM).map(|_| next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::EPSILON);
            v.iter().map(|x| x / norm).collect()
        })
        .collect()
}

#[tokio::test]
async fn past_the_threshold_the_table_gets_an_approximate_index_that_still_finds_the_nearest() {
    let store = store().await.with_ann_min_rows(600);
    let (tenant, other) = (TenantId(Uuid::now_v7()), TenantId(Uuid::now_v7()));
    let document = Uuid::now_v7();
    let records = |vectors: &[Vec<f32>], first: usize, document: Uuid| -> Vec<ChunkRecord> {
        vectors
            .iter()
            .enumerate()
            .map(|(i, vector)| ChunkRecord { vector: vector.clone(), ..chunk(document, (first + i) as i32, "row", 0) })
            .collect()
    };
    let vectors = spread(800, 0x9E37_79B9_7F4A_7C15);
    store.add(tenant, &records(&vectors[..500], 0, document)).await.expect("add");
    store.add(other, &records(&spread(800, 7), 0, Uuid::now_v7())).await.expect("add");
    store.optimize(tenant).await.expect("optimize");
    assert!(!store.has_vector_index(tenant).await.expect("indexes"), "500 rows are below the threshold");

    store.add(tenant, &records(&vectors[500..], 500, document)).await.expect("add");
    store.optimize(tenant).await.expect("optimize");
    assert!(store.has_vector_index(tenant).await.expect("indexes"));

    // Each stored vector, asked for, comes back first: the index finds exact matches and
    // never answers with the other tenant's rows.
    let ids: Vec<Uuid> =
        store.chunks(tenant, document, 1, 0, 800).await.expect("read").iter().map(|c| c.chunk_id).collect();
    for position in (0..800).step_by(37) {
        let hits = store.vector_search(tenant, &vectors[position], 5, None).await.expect("search");
        assert_eq!(hits.len(), 5);
        assert_eq!(hits[0].chunk_id, ids[position], "position {position}");
        assert!(hits.iter().all(|hit| hit.document_id == document));
    }

    // Rows added and deleted after the index was built are searched, and gone, at once.
    let late = ChunkRecord { vector: vec![1.0; DIM], ..chunk(Uuid::now_v7(), 0, "late", 0) };
    store.add(tenant, std::slice::from_ref(&late)).await.expect("add");
    let hits = store.vector_search(tenant, &[1.0; DIM], 1, None).await.expect("search");
    assert_eq!(hits[0].chunk_id, late.chunk_id);
    store.delete_document(tenant, late.document_id).await.expect("delete");
    let hits = store.vector_search(tenant, &[1.0; DIM], 1, None).await.expect("search");
    assert_ne!(hits[0].chunk_id, late.chunk_id);
}

#[tokio::test]
async fn keyword_search_finds_nothing_rather_than_failing_before_the_table_has_its_index() {
    let dir = std::env::temp_dir().join(format!("copilot-kb-{}", Uuid::new_v4().simple()));
    let uri = dir.to_str().expect("utf-8 path");
    let store = VectorStore::open(uri, DIM).await.expect("open the store");
    let tenant = TenantId(Uuid::now_v7());
    store.add(tenant, &[chunk(Uuid::now_v7(), 0, "How do I return a parcel?", 0)]).await.expect("add");
    assert_eq!(store.keyword_search(tenant, "return parcel", 5, None).await.expect("search").len(), 1);

    // As a search between the table's creation and its full-text index sees it.
    let db = lancedb::connect(uri).execute().await.expect("connect");
    let table = db.open_table(format!("kb_{}", tenant.0.simple())).execute().await.expect("open the table");
    for index in table.list_indices().await.expect("indices") {
        table.drop_index(&index.name).await.expect("drop the index");
    }
    let found = store.keyword_search(tenant, "return parcel", 5, None).await.expect("no failure without the index");
    assert!(found.is_empty());
    assert_eq!(store.vector_search(tenant, &vector(0), 5, None).await.expect("vector search").len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_version_is_written_only_while_its_writer_still_holds_it() {
    let store = store().await;
    let tenant = TenantId(Uuid::now_v7());
    let document = Uuid::now_v7();
    let texts = |chunks: Vec<copilot_knowledge::Hit>| chunks.into_iter().map(|c| c.text).collect::<Vec<_>>();
    let held = |holds: bool| async move { Ok::<bool, copilot_core::Error>(holds) };
    let everything = |_: &copilot_knowledge::Hit| true;

    let first = [chunk(document, 0, "the holder's first", 0), chunk(document, 1, "the holder's second", 1)];
    assert!(store.append_version(tenant, document, 1, &first, held(true)).await.expect("append"));
    // A writer that lost the version while it waited for the lock writes nothing and
    // settles nothing.
    let late = [chunk(document, 2, "a late writer's", 2)];
    assert!(!store.append_version(tenant, document, 1, &late, held(false)).await.expect("append"));
    assert_eq!(store.settle_version(tenant, document, 1, everything, held(false)).await.expect("settle"), None);
    let failing = async { Err::<bool, _>(copilot_core::Error::internal("the database is gone")) };
    assert!(store.append_version(tenant, document, 1, &late, failing).await.is_err());
    assert_eq!(
        texts(store.chunks(tenant, document, 1, 0, 10).await.expect("read")),
        ["the holder's first", "the holder's second"]
    );

    // Two overlapping attempts stored position 1 twice, and one a passage cut differently.
    let overlap = [chunk(document, 1, "the holder's second", 3), chunk(document, 2, "cut another way", 4)];
    assert!(store.append_version(tenant, document, 1, &overlap, held(true)).await.expect("append"));
    let fits = |hit: &copilot_knowledge::Hit| hit.text.starts_with("the holder's");
    let kept = store.settle_version(tenant, document, 1, fits, held(true)).await.expect("settle");

    assert_eq!(kept, Some([0, 1].into_iter().collect()));
    assert_eq!(
        texts(store.chunks(tenant, document, 1, 0, 10).await.expect("read")),
        ["the holder's first", "the holder's second"]
    );
    // Another version of the document is not touched.
    let other = [ChunkRecord { document_version: 2, ..chunk(document, 0, "version two", 5) }];
    assert!(store.append_version(tenant, document, 2, &other, held(true)).await.expect("append"));
    store.settle_version(tenant, document, 1, |_: &copilot_knowledge::Hit| false, held(true)).await.expect("settle");
    assert!(store.chunks(tenant, document, 1, 0, 10).await.expect("read").is_empty());
    assert_eq!(texts(store.chunks(tenant, document, 2, 0, 10).await.expect("read")), ["version two"]);
}
