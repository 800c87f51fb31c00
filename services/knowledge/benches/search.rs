//! Search latency over one tenant's table of many chunks (query embedding excluded):
//! vector (cosine, each script apart; the table gets its approximate index from
//! `optimize`, as housekeeping gives it past 10,000 chunks), keyword (BM25) and hybrid
//! (both, combined). Writes the vectors, the queries and LanceDB's top 10 per query to a
//! folder so the numpy baseline can run the same exact search and check the results;
//! prints one JSON line of figures.
//!
//! `cargo bench -p copilot-knowledge --bench search -- DIR [CHUNKS] [QUERIES]`
//! (`bench/run-knowledge` runs it next to the baseline).

use std::{io::Write, time::Instant};

use copilot_core::TenantId;
use copilot_knowledge::{ChunkRecord, VectorStore, fuse};
use uuid::Uuid;

const DIM: usize = 384;
const TOP: usize = 10;

/// A small deterministic generator (xorshift), so runs compare.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn unit(&mut self) -> f32 {
        (self.next() % 2_000_001) as f32 / 1_000_000.0 - 1.0
    }

    fn vector(&mut self) -> Vec<f32> {
        normalized((0..DIM).map(|_| self.unit()).collect())
    }

    /// A point of a topic: the topic's centre plus noise, so that points of one topic have
    /// a cosine similarity of about 0.7 to each other, as embeddings of related passages do.
    fn near(&mut self, centre: &[f32]) -> Vec<f32> {
        let noise = self.vector();
        normalized(centre.iter().zip(&noise).map(|(c, n)| c + TOPIC_SPREAD * n).collect())
    }
}

fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(f32::EPSILON);
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

/// Topics of the clustered data, and how far a point strays from its topic's centre.
const TOPICS: usize = 1000;
const TOPIC_SPREAD: f32 = 0.6;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn write_f32(path: &std::path::Path, rows: &[Vec<f32>]) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    for row in rows {
        for value in row {
            file.write_all(&value.to_le_bytes())?;
        }
    }
    file.flush()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).filter(|arg| arg != "--bench").collect();
    let out = std::path::PathBuf::from(args.first().ok_or("usage: search DIR [CHUNKS] [QUERIES] [clustered|random]")?);
    let chunks: usize = args.get(1).map(|n| n.parse()).transpose()?.unwrap_or(100_000);
    let queries: usize = args.get(2).map(|n| n.parse()).transpose()?.unwrap_or(200);
    // Embeddings of help-centre passages gather by topic; uniformly random unit vectors have
    // no neighbourhoods at all, the worst case for any approximate index.
    let clustered = args.get(3).is_none_or(|kind| kind == "clustered");
    std::fs::create_dir_all(&out)?;

    let words: Vec<String> = (0..5000).map(|i| format!("w{i:04}")).collect();
    let chinese: Vec<char> = "退货运费发票会员账户密码快递保修电池订单取消支付优惠地址物流".chars().collect();
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let store = VectorStore::open(out.join("lance").to_str().ok_or("path")?, DIM).await?;
    let tenant = TenantId(Uuid::now_v7());
    let documents: Vec<Uuid> = (0..100).map(|_| Uuid::now_v7()).collect();

    let topic_centres: Vec<Vec<f32>> = (0..TOPICS).map(|_| random.vector()).collect();
    let mut vectors = Vec::with_capacity(chunks);
    let mut ids = Vec::with_capacity(chunks);
    let started = Instant::now();
    for batch_start in (0..chunks).step_by(10_000) {
        let batch: Vec<ChunkRecord> = (batch_start..(batch_start + 10_000).min(chunks))
            .map(|index| {
                let text: Vec<String> = (0..30)
                    .map(|k| {
                        if k % 10 == 9 {
                            let c = chinese[(random.next() as usize) % chinese.len()];
                            format!("{c}{c}")
                        } else {
                            words[(random.next() as usize) % words.len()].clone()
                        }
                    })
                    .collect();
                let vector = if clustered {
                    let topic = (random.next() as usize) % TOPICS;
                    let centre = topic_centres[topic].clone();
                    random.near(&centre)
                } else {
                    random.vector()
                };
                vectors.push(vector.clone());
                let chunk_id = Uuid::from_u128(index as u128 + 1);
                ids.push(chunk_id);
                ChunkRecord {
                    chunk_id,
                    document_id: documents[index % documents.len()],
                    document_version: 1,
                    title: "Benchmark".into(),
                    heading: format!("Section {}", index % 50),
                    text: text.join(" "),
                    position: (index / documents.len()) as i32,
                    vector,
                }
            })
            .collect();
        store.add(tenant, &batch).await?;
    }
    let load_seconds = started.elapsed().as_secs_f64();
    let indexing = Instant::now();
    store.optimize(tenant).await?;
    let index_seconds = indexing.elapsed().as_secs_f64();
    let indexed = store.has_vector_index(tenant).await?;

    let query_vectors: Vec<Vec<f32>> = (0..queries)
        .map(|_| {
            if clustered {
                let centre = topic_centres[(random.next() as usize) % TOPICS].clone();
                random.near(&centre)
            } else {
                random.vector()
            }
        })
        .collect();
    let query_texts: Vec<String> = (0..queries)
        .map(|_| (0..3).map(|_| words[(random.next() as usize) % words.len()].clone()).collect::<Vec<_>>().join(" "))
        .collect();
    write_f32(&out.join("vectors.f32"), &vectors)?;
    write_f32(&out.join("queries.f32"), &query_vectors)?;

    // Warm-up: open files and caches once.
    store.vector_search(tenant, &query_vectors[0], TOP, None).await?;
    store.keyword_search(tenant, &query_texts[0], TOP, None).await?;

    let mut vector_ms = Vec::new();
    let mut keyword_ms = Vec::new();
    let mut hybrid_ms = Vec::new();
    let mut tops = Vec::new();
    for (vector, text) in query_vectors.iter().zip(&query_texts) {
        let t = Instant::now();
        let hits = store.vector_search(tenant, vector, TOP, None).await?;
        vector_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let index_of = |id: &Uuid| ids.binary_search(id).map(|i| i as i64).unwrap_or(-1);
        tops.push(hits.iter().map(|hit| index_of(&hit.chunk_id)).collect::<Vec<_>>());

        let t = Instant::now();
        store.keyword_search(tenant, text, TOP, None).await?;
        keyword_ms.push(t.elapsed().as_secs_f64() * 1000.0);

        // As the service searches in hybrid mode: both lists (40 candidates each), fused.
        let t = Instant::now();
        let (by_vector, by_keyword) =
            tokio::join!(store.vector_search(tenant, vector, 40, None), store.keyword_search(tenant, text, 40, None));
        let fused = fuse(&by_vector?, &by_keyword?);
        hybrid_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(!fused.is_empty());
    }
    std::fs::write(out.join("lance_top.json"), serde_json::to_string(&tops)?)?;
    let summary = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        serde_json::json!({"p50_ms": percentile(&values, 0.5), "p95_ms": percentile(&values, 0.95)})
    };
    println!(
        "{}",
        serde_json::json!({
            "chunks": chunks,
            "queries": queries,
            "dimensions": DIM,
            "load_seconds": load_seconds,
            "index_seconds": index_seconds,
            "vector_index": indexed,
            "data": if clustered { "clustered" } else { "random" },
            "vector": summary(vector_ms),
            "keyword": summary(keyword_ms),
            "hybrid": summary(hybrid_ms),
        })
    );
    Ok(())
}
