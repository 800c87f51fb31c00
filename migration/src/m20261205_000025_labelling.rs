//! Labelling by the tenant's LLM: `labelling_jobs` (a durable job per request: its scope,
//! progress, tokens and where it stands, resumable from `cursor`) and `message_labels`
//! (a customer message's label from a source other than triage: `llm` today).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LabellingJobs {
    Table,
    Id,
    TenantId,
    Status,
    ScopeFrom,
    ScopeTo,
    ScopeOnly,
    MaxMessages,
    MaxTokens,
    Total,
    Labelled,
    Invalid,
    Skipped,
    PromptTokens,
    CompletionTokens,
    Cursor,
    Attempts,
    NextAttemptAt,
    LeaseUntil,
    Error,
    RequestedBy,
    CreatedAt,
    StartedAt,
    FinishedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MessageLabels {
    Table,
    TenantId,
    MessageId,
    Source,
    Label,
    Confidence,
    Model,
    JobId,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LabellingJobs::Table)
                    .col(uuid(LabellingJobs::Id).primary_key())
                    .col(uuid(LabellingJobs::TenantId))
                    .col(string_len(LabellingJobs::Status, 24))
                    .col(timestamp_with_time_zone_null(LabellingJobs::ScopeFrom))
                    .col(timestamp_with_time_zone_null(LabellingJobs::ScopeTo))
                    .col(string_len(LabellingJobs::ScopeOnly, 24))
                    .col(integer(LabellingJobs::MaxMessages))
                    .col(big_integer_null(LabellingJobs::MaxTokens))
                    .col(integer(LabellingJobs::Total).default(0))
                    .col(integer(LabellingJobs::Labelled).default(0))
                    .col(integer(LabellingJobs::Invalid).default(0))
                    .col(integer(LabellingJobs::Skipped).default(0))
                    .col(big_integer(LabellingJobs::PromptTokens).default(0))
                    .col(big_integer(LabellingJobs::CompletionTokens).default(0))
                    .col(uuid_null(LabellingJobs::Cursor))
                    .col(integer(LabellingJobs::Attempts).default(0))
                    .col(timestamp_with_time_zone(LabellingJobs::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(LabellingJobs::LeaseUntil))
                    .col(text_null(LabellingJobs::Error))
                    .col(uuid_null(LabellingJobs::RequestedBy))
                    .col(timestamp_with_time_zone(LabellingJobs::CreatedAt))
                    .col(timestamp_with_time_zone_null(LabellingJobs::StartedAt))
                    .col(timestamp_with_time_zone_null(LabellingJobs::FinishedAt))
                    .col(timestamp_with_time_zone(LabellingJobs::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(LabellingJobs::Table)
                            .from_col(LabellingJobs::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_labelling_jobs_due")
                    .table(LabellingJobs::Table)
                    .col(LabellingJobs::Status)
                    .col(LabellingJobs::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MessageLabels::Table)
                    .col(uuid(MessageLabels::TenantId))
                    .col(uuid(MessageLabels::MessageId))
                    .col(string_len(MessageLabels::Source, 16))
                    .col(string_len(MessageLabels::Label, 100))
                    .col(double_null(MessageLabels::Confidence))
                    .col(string_len_null(MessageLabels::Model, 200))
                    .col(uuid_null(MessageLabels::JobId))
                    .col(timestamp_with_time_zone(MessageLabels::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(MessageLabels::TenantId)
                            .col(MessageLabels::MessageId)
                            .col(MessageLabels::Source),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(MessageLabels::Table)
                            .from_col(MessageLabels::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(MessageLabels::Table)
                            .from_col(MessageLabels::MessageId)
                            .to(Alias::new("messages"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        crate::tenant_isolation(manager, &["labelling_jobs", "message_labels"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MessageLabels::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(LabellingJobs::Table).if_exists().to_owned()).await
    }
}
