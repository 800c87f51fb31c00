//! The retrieval evaluation: the bilingual help centre in `fixtures/knowledge` is ingested
//! through the API, then every query of `eval.json` is searched in each mode. Prints
//! recall@5 and MRR (over the top 10) per mode, overall and for cross-lingual queries,
//! and holds hybrid search to being no worse than the better of the other two.
//!
//! `scripts/test -p copilot-tests knowledge_eval -- --nocapture` prints the table that
//! `bench/README.md` quotes.

use std::{collections::HashMap, path::PathBuf};

use copilot_tests::{spawn_app, uuid_at};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use crate::knowledge::upload_fixture;

#[derive(Deserialize)]
struct EvalSet {
    queries: Vec<EvalQuery>,
}

#[derive(Deserialize)]
struct EvalQuery {
    query: String,
    document: String,
    expect: String,
    cross_lingual: bool,
}

#[derive(Default, Clone, Copy)]
struct Score {
    found_in_5: usize,
    reciprocal_ranks: f64,
    queries: usize,
}

impl Score {
    fn add(&mut self, rank: Option<usize>) {
        self.queries += 1;
        if let Some(rank) = rank {
            self.found_in_5 += usize::from(rank <= 5);
            self.reciprocal_ranks += 1.0 / rank as f64;
        }
    }

    fn recall_at_5(&self) -> f64 {
        self.found_in_5 as f64 / self.queries.max(1) as f64
    }

    fn mrr(&self) -> f64 {
        self.reciprocal_ranks / self.queries.max(1) as f64
    }
}

#[tokio::test]
async fn hybrid_search_is_no_worse_than_the_better_of_vector_and_keyword() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/knowledge/eval.json");
    let set: EvalSet = serde_json::from_slice(&std::fs::read(&path).expect("read eval.json")).expect("parse eval.json");
    let app = spawn_app().await;
    let tenant = app.create_tenant().await;
    let mut documents: HashMap<String, Uuid> = HashMap::new();
    for query in &set.queries {
        if !documents.contains_key(&query.document) {
            let id = upload_fixture(&app, &tenant.key, &format!("help-centre/{}", query.document), &[]).await;
            documents.insert(query.document.clone(), id);
        }
    }
    for (name, id) in &documents {
        assert_eq!(app.wait_for_document(&tenant.key, *id).await["status"], "ready", "{name}");
    }

    let modes = ["keyword", "vector", "hybrid"];
    let mut overall: HashMap<&str, Score> = HashMap::new();
    let mut cross: HashMap<&str, Score> = HashMap::new();
    for query in &set.queries {
        let expected = documents[&query.document];
        for mode in modes {
            let body = app
                .post("/v1/knowledge/search", &tenant.key, json!({"query": query.query, "mode": mode, "limit": 10}))
                .await
                .expect(200);
            let hits = body["hits"].as_array().cloned().unwrap_or_default();
            let rank = hits
                .iter()
                .position(|hit| {
                    uuid_at(hit, "/document_id") == expected
                        && hit["text"].as_str().is_some_and(|text| text.contains(&query.expect))
                })
                .map(|index| index + 1);
            overall.entry(mode).or_default().add(rank);
            if query.cross_lingual {
                cross.entry(mode).or_default().add(rank);
            }
        }
    }

    println!("\n| mode | recall@5 | MRR@10 | cross-lingual recall@5 | cross-lingual MRR@10 |");
    println!("|---|---:|---:|---:|---:|");
    for mode in modes {
        let (all, crossed) = (overall[mode], cross[mode]);
        println!(
            "| {mode} | {:.3} | {:.4} | {:.3} | {:.4} |",
            all.recall_at_5(),
            all.mrr(),
            crossed.recall_at_5(),
            crossed.mrr()
        );
    }
    println!(
        "({} queries, {} cross-lingual, {} documents)\n",
        overall["hybrid"].queries,
        cross["hybrid"].queries,
        documents.len()
    );

    let (hybrid, vector, keyword) = (overall["hybrid"], overall["vector"], overall["keyword"]);
    assert!(
        hybrid.recall_at_5() >= vector.recall_at_5().max(keyword.recall_at_5()),
        "hybrid recall@5 {:.3} is below vector {:.3} or keyword {:.3}",
        hybrid.recall_at_5(),
        vector.recall_at_5(),
        keyword.recall_at_5()
    );
    assert!(
        hybrid.mrr() >= vector.mrr().max(keyword.mrr()),
        "hybrid MRR {:.3} is below vector {:.3} or keyword {:.3}",
        hybrid.mrr(),
        vector.mrr(),
        keyword.mrr()
    );
}
