//! The committed questions (tests/fixtures/analytics/questions.jsonl) over a large desk on
//! PostgreSQL: one tenant with BENCH_TICKETS tickets (100,000) and their messages, tags,
//! drafts and deliveries, beside BENCH_OTHER_ROWS rows (1,000,000) of nine other tenants
//! in the same tables. Each distinct query runs BENCH_RUNS times (20) through the service
//! (`copilot_analytics::run` in a read-only tenant transaction under row-level security:
//! BEGIN, the tenant setting, the statement timeout, the query, COMMIT) and, side by side,
//! as the fixture's hand-written SQL on a plain connection. Prints each query's p50 and
//! p95, the ratio of the service's p95 to the SQL's, the p50 of the same plan answered by
//! reading the rows into the service (BENCH_RUNS / 4 runs; SQLite's way), the p95 over every
//! run, and the plan of the slowest query's statement.
//!
//! `cargo bench -p copilot-analytics --bench questions` (a fresh database on
//! COPILOT_BENCH_DATABASE_URL's server, else 127.0.0.1:5432; dropped at the end).

use std::time::{Duration, Instant};

use copilot_core::TenantId;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

const ZONE: &str = "Asia/Shanghai";

#[derive(Deserialize)]
struct Question {
    question: String,
    query: Value,
    sql: String,
}

fn env(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn exec(db: &DatabaseConnection, sql: &str, values: Vec<sea_orm::Value>) {
    db.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// One tenant's desk: `tickets` tickets over the last year, with 3 messages each (customer,
/// agent, customer or note), tags on about half, drafts on a third, deliveries on a tenth.
async fn seed(db: &DatabaseConnection, tenant: Uuid, tickets: i64) {
    exec(
        db,
        "INSERT INTO tenants (id, name, slug, ticket_counter, created_at) VALUES ($1, $2, $2, $3, now())",
        vec![tenant.into(), format!("bench-{}", tenant.simple()).into(), tickets.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO customers (id, tenant_id, email, created_at)
         SELECT md5($1::text || ':' || g)::uuid, $1, 'c' || g || '@example.test', now() FROM generate_series(1, 2000) g",
        vec![tenant.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO users (id, tenant_id, email, role, active, created_at, updated_at)
         SELECT md5($1::text || ':agent:' || g)::uuid, $1, 'agent' || g || '@example.test', 'agent', true, now(), now()
         FROM generate_series(0, 7) g",
        vec![tenant.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO tickets (id, tenant_id, number, subject, status, priority, channel, customer_id, assignee_id, intent, sentiment,
                              sentiment_score, language, priority_rank, created_at, updated_at, message_count,
                              first_reply_at, solved_at)
         SELECT gen_random_uuid(), $1, g, 'Ticket ' || g,
                (ARRAY['new','open','pending','solved','closed'])[1 + g % 5],
                (ARRAY['low','normal','normal','high','urgent'])[1 + (g / 5) % 5],
                (ARRAY['email','web','chat','api'])[1 + g % 4],
                md5($1::text || ':' || (1 + g % 2000))::uuid,
                CASE WHEN g % 3 <> 0 THEN md5($1::text || ':agent:' || g % 8)::uuid END,
                (ARRAY['refund_request','order_status','shipping_delay','account_access','other','track_order',
                       'cancel_order'])[1 + g % 7],
                (ARRAY['negative','neutral','positive'])[1 + g % 3],
                ((g % 200) - 100) / 100.0,
                (ARRAY['en','zh','de','fr'])[1 + (g / 3) % 4],
                1, c, c + interval '1 hour', 3,
                CASE WHEN g % 4 <> 0 THEN c + (60 + g % 7200) * interval '1 second' END,
                CASE WHEN g % 5 >= 3 THEN c + (600 + g % 86400) * interval '1 second' END
         FROM (SELECT g, now() - (g % 365) * interval '1 day' - (g % 1440) * interval '1 minute' AS c
               FROM generate_series(1, $2::bigint) g) s",
        vec![tenant.into(), tickets.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO messages (id, tenant_id, ticket_id, author, body, created_at)
         SELECT gen_random_uuid(), t.tenant_id, t.id,
                CASE k WHEN 1 THEN 'customer' WHEN 2 THEN 'agent' ELSE
                       CASE WHEN t.number % 3 = 0 THEN 'note' ELSE 'customer' END END,
                'Message ' || k, t.created_at + (k - 1) * interval '10 minutes'
         FROM tickets t, generate_series(1, 3) k WHERE t.tenant_id = $1",
        vec![tenant.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO ticket_tags (ticket_id, tag, tenant_id)
         SELECT id, 'refund', tenant_id FROM tickets WHERE tenant_id = $1 AND number % 3 = 0
         UNION ALL SELECT id, 'vip', tenant_id FROM tickets WHERE tenant_id = $1 AND number % 4 = 1",
        vec![tenant.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO drafts (id, tenant_id, ticket_id, status, attempts, next_attempt_at, confidence, mode, model,
                             prompt_tokens, completion_tokens, intent, edit_distance, edit_class, decided_at,
                             created_at, updated_at)
         SELECT gen_random_uuid(), tenant_id, id, (ARRAY['approved','rejected','ready','approved'])[1 + number % 4], 1,
                now(), (number % 100) / 100.0, (ARRAY['llm','extractive'])[1 + number % 2],
                (ARRAY['gpt-4o-mini','qwen2.5-7b'])[1 + number % 2], 500 + number % 300, 80 + number % 50, intent,
                CASE WHEN number % 4 IN (0, 3) THEN (number % 10) / 10.0 END,
                CASE WHEN number % 4 IN (0, 3) THEN (ARRAY['unchanged','light','heavy'])[1 + number % 3] END,
                CASE WHEN number % 4 <> 2 THEN created_at + (30 + number % 600) * interval '1 second' END,
                created_at + interval '20 seconds', now()
         FROM tickets WHERE tenant_id = $1 AND number % 3 = 0",
        vec![tenant.into()],
    )
    .await;
    exec(
        db,
        "INSERT INTO deliveries (id, tenant_id, message_id, ticket_id, channel, status, attempts, attempts_before_resend,
                                 next_attempt_at, created_at, updated_at, sent_at)
         SELECT gen_random_uuid(), m.tenant_id, m.id, m.ticket_id, 'email',
                (ARRAY['sent','failed','queued','sent'])[1 + (t.number / 10) % 4], 1 + t.number % 3, 0,
                now() + interval '365 days', m.created_at, now(),
                CASE WHEN (t.number / 10) % 4 IN (0, 3) THEN m.created_at + (2 + t.number % 30) * interval '1 second' END
         FROM messages m JOIN tickets t ON t.id = m.ticket_id
         WHERE m.tenant_id = $1 AND m.author = 'agent' AND t.number % 10 = 0",
        vec![tenant.into()],
    )
    .await;
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let tickets = env("BENCH_TICKETS", 100_000);
    let other_rows = env("BENCH_OTHER_ROWS", 1_000_000);
    let runs = env("BENCH_RUNS", 20) as usize;
    let server = std::env::var("COPILOT_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("copilot_bench_analytics_{}", std::process::id());
    let admin = Database::connect(&server).await.expect("connect to the server");
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create the database");
    let url = format!("{}/{name}", server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base));
    let db = copilot_store::connect(&url, 4).await.expect("connect");
    copilot_store::migrate(&db).await.expect("migrate");
    let owner = db.unscoped();

    let started = Instant::now();
    let tenant = Uuid::now_v7();
    seed(owner, tenant, tickets).await;
    // A ticket of the generator makes 3 messages and about 1.8 other rows: 5.8 rows.
    let others = 9;
    let per_other = (other_rows as f64 / 5.8 / others as f64).round() as i64;
    for _ in 0..others {
        seed(owner, Uuid::now_v7(), per_other).await;
    }
    // As autovacuum keeps a live database: statistics current, pages marked visible.
    owner.execute_unprepared("VACUUM ANALYZE").await.expect("vacuum");
    let count = |sql: &'static str, values: Vec<sea_orm::Value>| async move {
        let row = owner
            .query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values))
            .await
            .expect("count")
            .expect("a row");
        row.try_get_by_index::<i64>(0).expect("a count")
    };
    let mine = count(
        "SELECT (SELECT count(*) FROM tickets WHERE tenant_id = $1) + (SELECT count(*) FROM messages WHERE tenant_id = $1)
              + (SELECT count(*) FROM ticket_tags WHERE tenant_id = $1) + (SELECT count(*) FROM drafts WHERE tenant_id = $1)
              + (SELECT count(*) FROM deliveries WHERE tenant_id = $1)",
        vec![tenant.into()],
    )
    .await;
    let all = count(
        "SELECT (SELECT count(*) FROM tickets) + (SELECT count(*) FROM messages) + (SELECT count(*) FROM ticket_tags)
              + (SELECT count(*) FROM drafts) + (SELECT count(*) FROM deliveries)",
        vec![],
    )
    .await;
    let own_tickets = count("SELECT count(*) FROM tickets WHERE tenant_id = $1", vec![tenant.into()]).await;
    println!(
        "seeded in {:.0} s: the tenant's {own_tickets} tickets ({mine} rows with messages, tags, drafts, deliveries); \
         other tenants' rows: {}",
        started.elapsed().as_secs_f64(),
        all - mine
    );

    let set =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/analytics/questions.jsonl"))
            .expect("the question set");
    let mut seen = std::collections::HashSet::new();
    let questions: Vec<Question> = set
        .lines()
        .map(|line| serde_json::from_str::<Question>(line).expect("a question"))
        .filter(|q| seen.insert(q.query.to_string()))
        .collect();
    let sql_conn = Database::connect(&url).await.expect("connect");
    let mut every = Vec::new();
    let mut slowest: Option<(f64, usize)> = None;
    println!(
        "| query | rows | service p50 ms | service p95 ms | SQL p50 ms | SQL p95 ms | service/SQL p95 | rows read into the service, p50 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (index, q) in questions.iter().enumerate() {
        let mut query: copilot_analytics::Query = serde_json::from_value(q.query.clone()).expect("a typed query");
        query.time_zone = Some(ZONE.into());
        let plan =
            copilot_analytics::relative::resolve(&query, chrono::Utc::now()).and_then(|q| q.plan()).expect("valid");
        let mut service = Vec::with_capacity(runs);
        let mut rows = 0;
        for run in 0..runs + 2 {
            let began = Instant::now();
            let tx = db.tenant_read_only(TenantId(tenant), copilot_analytics::STATEMENT_TIMEOUT).await.expect("begin");
            let answer = copilot_analytics::run(&tx, &plan).await.expect("answered");
            tx.commit().await.expect("commit");
            if run >= 2 {
                service.push(began.elapsed());
            }
            rows = answer.row_count;
        }
        let mut sql = Vec::with_capacity(runs);
        for run in 0..runs + 2 {
            let began = Instant::now();
            sql_conn
                .query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, &q.sql, [tenant.into()]))
                .await
                .expect("the fixture's SQL");
            if run >= 2 {
                sql.push(began.elapsed());
            }
        }
        // The same plan with every row read and measured in the service (SQLite's way).
        let mut read = Vec::new();
        for _ in 0..(runs / 4).max(1) {
            let began = Instant::now();
            let tx = db.tenant_read_only(TenantId(tenant), copilot_analytics::STATEMENT_TIMEOUT).await.expect("begin");
            copilot_analytics::run::in_service(&tx, &plan).await.expect("answered");
            tx.commit().await.expect("commit");
            read.push(began.elapsed());
        }
        read.sort();
        service.sort();
        sql.sort();
        let p95 = percentile(&service, 0.95);
        println!(
            "| {} | {rows} | {:.1} | {p95:.1} | {:.1} | {:.1} | {:.2} | {:.0} |",
            q.question,
            percentile(&service, 0.5),
            percentile(&sql, 0.5),
            percentile(&sql, 0.95),
            p95 / percentile(&sql, 0.95),
            percentile(&read, 0.5)
        );
        if slowest.is_none_or(|(worst, _)| p95 > worst) {
            slowest = Some((p95, index));
        }
        every.extend(service);
    }
    every.sort();
    println!(
        "\n{} queries x {runs} runs: service p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        questions.len(),
        percentile(&every, 0.5),
        percentile(&every, 0.95),
        percentile(&every, 1.0)
    );
    if let Some((p95, index)) = slowest {
        let q = &questions[index];
        let mut query: copilot_analytics::Query = serde_json::from_value(q.query.clone()).expect("a typed query");
        query.time_zone = Some(ZONE.into());
        let plan =
            copilot_analytics::relative::resolve(&query, chrono::Utc::now()).and_then(|q| q.plan()).expect("valid");
        println!("\nslowest: {} (p95 {p95:.1} ms)", q.question);
        if let Some((text, values)) = copilot_analytics::run::statement(&plan, TenantId(tenant)) {
            println!("statement: {text}");
            let tx = db.tenant_read_only(TenantId(tenant), copilot_analytics::STATEMENT_TIMEOUT).await.expect("begin");
            let explained = tx
                .query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    format!("EXPLAIN (ANALYZE, BUFFERS) {text}"),
                    values,
                ))
                .await
                .expect("explain");
            for line in explained {
                println!("    {}", line.try_get_by_index::<String>(0).unwrap_or_default());
            }
        }
    }
    drop(db);
    drop(sql_conn);
    admin.execute_unprepared(&format!("DROP DATABASE {name} WITH (FORCE)")).await.expect("drop the database");
}
