//! Reply drafts and their decisions, the tenants' drafting settings (LLM endpoint with a
//! sealed key, persona, budget) and monthly LLM usage.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Drafts {
    Table,
    Id,
    TenantId,
    TicketId,
    MessageId,
    Status,
    Instructions,
    RequestedBy,
    Attempts,
    NextAttemptAt,
    Body,
    Citations,
    Confidence,
    Language,
    Mode,
    Model,
    PromptTokens,
    CompletionTokens,
    Notes,
    Intent,
    Error,
    ApprovedBody,
    EditDistance,
    EditClass,
    RejectionReason,
    DecidedBy,
    DecidedAt,
    SentMessageId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum DraftSettings {
    Table,
    TenantId,
    LlmBaseUrl,
    LlmModel,
    LlmApiKeySealed,
    Temperature,
    MaxTokens,
    TimeoutSeconds,
    MonthlyTokenBudget,
    Persona,
    Tone,
    Signature,
    RedactPii,
    AutoDraft,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LlmUsage {
    Table,
    TenantId,
    Month,
    PromptTokens,
    CompletionTokens,
    LlmDrafts,
    ExtractiveDrafts,
    UpdatedAt,
}

fn tenant_fk<T: IntoIden + 'static>(table: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(Alias::new("tenant_id"))
        .to(Alias::new("tenants"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Drafts::Table)
                    .col(uuid(Drafts::Id).primary_key())
                    .col(uuid(Drafts::TenantId))
                    .col(uuid(Drafts::TicketId))
                    .col(uuid_null(Drafts::MessageId))
                    .col(string_len(Drafts::Status, 20))
                    .col(text_null(Drafts::Instructions))
                    .col(uuid_null(Drafts::RequestedBy))
                    .col(integer(Drafts::Attempts).default(0))
                    .col(timestamp_with_time_zone(Drafts::NextAttemptAt))
                    .col(text_null(Drafts::Body))
                    .col(json_binary_null(Drafts::Citations))
                    .col(double_null(Drafts::Confidence))
                    .col(string_len_null(Drafts::Language, 16))
                    .col(string_len_null(Drafts::Mode, 20))
                    .col(string_len_null(Drafts::Model, 200))
                    .col(integer(Drafts::PromptTokens).default(0))
                    .col(integer(Drafts::CompletionTokens).default(0))
                    .col(json_binary_null(Drafts::Notes))
                    .col(string_len_null(Drafts::Intent, 100))
                    .col(text_null(Drafts::Error))
                    .col(text_null(Drafts::ApprovedBody))
                    .col(double_null(Drafts::EditDistance))
                    .col(string_len_null(Drafts::EditClass, 20))
                    .col(text_null(Drafts::RejectionReason))
                    .col(uuid_null(Drafts::DecidedBy))
                    .col(timestamp_with_time_zone_null(Drafts::DecidedAt))
                    .col(uuid_null(Drafts::SentMessageId))
                    .col(timestamp_with_time_zone(Drafts::CreatedAt))
                    .col(timestamp_with_time_zone(Drafts::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Drafts::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Drafts::Table, Drafts::TicketId)
                            .to(Alias::new("tickets"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("ix_drafts_due", vec![Drafts::Status, Drafts::NextAttemptAt]),
            ("ix_drafts_ticket", vec![Drafts::TenantId, Drafts::TicketId, Drafts::Id]),
            ("ix_drafts_decided", vec![Drafts::TenantId, Drafts::DecidedAt]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Drafts::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(DraftSettings::Table)
                    .col(uuid(DraftSettings::TenantId).primary_key())
                    .col(string_len_null(DraftSettings::LlmBaseUrl, 500))
                    .col(string_len_null(DraftSettings::LlmModel, 200))
                    .col(text_null(DraftSettings::LlmApiKeySealed))
                    .col(double_null(DraftSettings::Temperature))
                    .col(integer_null(DraftSettings::MaxTokens))
                    .col(integer_null(DraftSettings::TimeoutSeconds))
                    .col(big_integer_null(DraftSettings::MonthlyTokenBudget))
                    .col(text_null(DraftSettings::Persona))
                    .col(text_null(DraftSettings::Tone))
                    .col(text_null(DraftSettings::Signature))
                    .col(boolean(DraftSettings::RedactPii).default(false))
                    .col(boolean(DraftSettings::AutoDraft).default(true))
                    .col(uuid_null(DraftSettings::UpdatedBy))
                    .col(timestamp_with_time_zone(DraftSettings::UpdatedAt))
                    .foreign_key(&mut tenant_fk(DraftSettings::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LlmUsage::Table)
                    .col(uuid(LlmUsage::TenantId))
                    .col(string_len(LlmUsage::Month, 7))
                    .col(big_integer(LlmUsage::PromptTokens).default(0))
                    .col(big_integer(LlmUsage::CompletionTokens).default(0))
                    .col(integer(LlmUsage::LlmDrafts).default(0))
                    .col(integer(LlmUsage::ExtractiveDrafts).default(0))
                    .col(timestamp_with_time_zone(LlmUsage::UpdatedAt))
                    .primary_key(Index::create().col(LlmUsage::TenantId).col(LlmUsage::Month))
                    .foreign_key(&mut tenant_fk(LlmUsage::Table))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let role = crate::APP_ROLE;
            let current_tenant = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)";
            for table in ["drafts", "draft_settings", "llm_usage"] {
                manager
                    .get_connection()
                    .execute_unprepared(&format!(
                        "GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role};
                         ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
                         CREATE POLICY tenant_isolation ON {table}
                             USING (tenant_id = {current_tenant})
                             WITH CHECK (tenant_id = {current_tenant});"
                    ))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["llm_usage", "draft_settings", "drafts"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
