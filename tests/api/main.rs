//! Black-box API tests: one binary (one link), a module per area.

mod abuse;
mod audit;
mod auth;
mod drafts;
mod email;
mod errors;
mod events;
mod inbox;
mod isolation;
mod knowledge;
mod knowledge_eval;
mod llm_bench;
mod llm_routing;
mod ops;
mod platform;
mod rewrite;
mod row_level_security;
mod scale_out;
mod sqlite;
mod summaries;
mod tickets;
mod tidy;
mod translation;
mod triage;
mod users_and_keys;
mod webhooks;
