//! Database migrations, applied in order at `copilot serve` start and by `copilot migrate`.
//!
//! Architecture invariant: a migration is frozen history. It imports nothing from the
//! rest of the workspace (not even entities), so later changes cannot rewrite it.

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_foundation;
mod m20261129_000002_triage;
mod m20261129_000003_intents;
mod m20261129_000004_knowledge;
mod m20261201_000005_drafts;
mod m20261201_000006_email;
mod m20261201_000007_webhooks;
mod m20261201_000008_ticket_orders;
mod m20261204_000009_delivery_series;
mod m20261204_000010_login_addresses;
mod m20261204_000011_sender_verifications;
mod m20261204_000012_draft_leases;
mod m20261204_000013_draft_requested_mode;
mod m20261204_000014_inbox;
mod m20261204_000015_intent_display_names;
mod m20261204_000016_request_ids;
mod m20261204_000017_more_request_ids;
mod m20261205_000018_default_language;
mod m20261205_000019_event_tickets;
mod m20261205_000020_document_error_codes;
mod m20261205_000021_llm_profiles;
mod m20261205_000022_ticket_summaries;
mod m20261205_000023_translations;
mod m20261205_000024_auto_translation;
mod m20261205_000025_labelling;
mod m20261206_000026_model_versions;
mod m20261206_000027_intent_discovery;
mod m20261207_000028_analytics_cards;
mod m20261207_000029_ticket_figures;
mod m20261207_000030_business_hours;
mod m20261207_000031_sla_policies;
mod m20261208_000032_ticket_slas;
mod m20261208_000033_macros;
mod m20261208_000034_merged_tickets;
mod m20261208_000035_ticket_fields;
mod m20261208_000036_saved_views;
mod m20261209_000037_satisfaction;
mod m20261209_000038_sla_opened_at;

/// The role tenant-scoped transactions switch to on PostgreSQL; row-level security applies to it.
pub const APP_ROLE: &str = "copilot_app";

/// On PostgreSQL, lets the application role use each of `tables` and only see and write
/// the rows of the tenant its transaction set (row-level security on `tenant_id`).
pub(crate) async fn tenant_isolation(manager: &SchemaManager<'_>, tables: &[&str]) -> Result<(), DbErr> {
    if manager.get_database_backend() != sea_orm_migration::sea_orm::DbBackend::Postgres {
        return Ok(());
    }
    let current_tenant = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)";
    for table in tables {
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE};
                 ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
                 CREATE POLICY tenant_isolation ON {table}
                     USING (tenant_id = {current_tenant})
                     WITH CHECK (tenant_id = {current_tenant});"
            ))
            .await?;
    }
    Ok(())
}

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_foundation::Migration),
            Box::new(m20261129_000002_triage::Migration),
            Box::new(m20261129_000003_intents::Migration),
            Box::new(m20261129_000004_knowledge::Migration),
            Box::new(m20261201_000005_drafts::Migration),
            Box::new(m20261201_000006_email::Migration),
            Box::new(m20261201_000007_webhooks::Migration),
            Box::new(m20261201_000008_ticket_orders::Migration),
            Box::new(m20261204_000009_delivery_series::Migration),
            Box::new(m20261204_000010_login_addresses::Migration),
            Box::new(m20261204_000011_sender_verifications::Migration),
            Box::new(m20261204_000012_draft_leases::Migration),
            Box::new(m20261204_000013_draft_requested_mode::Migration),
            Box::new(m20261204_000014_inbox::Migration),
            Box::new(m20261204_000015_intent_display_names::Migration),
            Box::new(m20261204_000016_request_ids::Migration),
            Box::new(m20261204_000017_more_request_ids::Migration),
            Box::new(m20261205_000018_default_language::Migration),
            Box::new(m20261205_000019_event_tickets::Migration),
            Box::new(m20261205_000020_document_error_codes::Migration),
            Box::new(m20261205_000021_llm_profiles::Migration),
            Box::new(m20261205_000022_ticket_summaries::Migration),
            Box::new(m20261205_000023_translations::Migration),
            Box::new(m20261205_000024_auto_translation::Migration),
            Box::new(m20261205_000025_labelling::Migration),
            Box::new(m20261206_000026_model_versions::Migration),
            Box::new(m20261206_000027_intent_discovery::Migration),
            Box::new(m20261207_000028_analytics_cards::Migration),
            Box::new(m20261207_000029_ticket_figures::Migration),
            Box::new(m20261207_000030_business_hours::Migration),
            Box::new(m20261207_000031_sla_policies::Migration),
            Box::new(m20261208_000032_ticket_slas::Migration),
            Box::new(m20261208_000033_macros::Migration),
            Box::new(m20261208_000034_merged_tickets::Migration),
            Box::new(m20261208_000035_ticket_fields::Migration),
            Box::new(m20261208_000036_saved_views::Migration),
            Box::new(m20261209_000037_satisfaction::Migration),
            Box::new(m20261209_000038_sla_opened_at::Migration),
        ]
    }
}
