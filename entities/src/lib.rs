//! sea-orm entities: one module per table, plain data and relations only.
//!
//! Architecture invariant: entities hold no behaviour and no queries; the capability crates
//! build queries on them, scoped to a tenant through `copilot-store`.

pub mod analytics_card;
pub mod api_key;
pub mod audit_event;
pub mod business_hours;
pub mod csat_setting;
pub mod csat_survey;
pub mod customer;
pub mod delivery;
pub mod draft;
pub mod draft_settings;
pub mod email_attachment;
pub mod email_message;
pub mod email_settings;
pub mod event;
pub mod idempotency_key;
pub mod intent;
pub mod intent_discovery;
pub mod intent_model;
pub mod intent_proposal;
pub mod knowledge_document;
pub mod knowledge_document_tag;
pub mod knowledge_document_version;
pub mod labelling_job;
pub mod llm_call;
pub mod llm_health;
pub mod llm_profile;
pub mod llm_route;
pub mod llm_usage;
pub mod login_address;
pub mod macro_placeholder;
pub mod message;
pub mod message_label;
pub mod message_translation;
pub mod message_triage;
pub mod reply_macro;
pub mod saved_view;
pub mod sender_verification;
pub mod session;
pub mod sla_policy;
pub mod tenant;
pub mod ticket;
pub mod ticket_field;
pub mod ticket_field_value;
pub mod ticket_presence;
pub mod ticket_sla;
pub mod ticket_summary;
pub mod ticket_tag;
pub mod translation_job;
pub mod user;
pub mod webhook_delivery;
pub mod webhook_endpoint;
