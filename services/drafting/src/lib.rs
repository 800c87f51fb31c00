//! Writing reply drafts: the prompt (tenant persona and rules, then the conversation,
//! triage and retrieved passages as delimited data), the call to any OpenAI-compatible
//! chat endpoint (streamed), the parsing of the answer into a body and citations, the
//! confidence of the result, the extractive fallback used without an LLM, and the
//! redaction of personal data before anything leaves for the LLM; and ticket summaries
//! (their prompt, answer and extractive fallback).
//!
//! Architecture invariant: the only crate that links `async-openai`. It knows no database
//! and no HTTP server: callers pass what to draft from and store what comes back.

pub mod answer;
pub mod ask;
pub mod extractive;
pub mod label;
pub mod llm;
pub mod phrases;
pub mod prompt;
pub mod redact;
pub mod rewrite;
pub mod summary;
pub mod translate;

pub use answer::{Answer, Citation, parse_answer};
pub use llm::{Completion, LlmClient, LlmConfig, LlmError, ResponseSchema, Usage};
pub use prompt::{DraftInput, Passage, Persona, PromptMessage, Role, Speaker, Turn, build_prompt};
