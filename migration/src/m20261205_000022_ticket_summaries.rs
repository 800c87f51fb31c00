//! Ticket summaries (`ticket_summaries`): one row per ticket, both the summary agents read
//! and its recomputation queue (`pending`, `next_attempt_at`, `lease_until`, `attempts`):
//! a new message marks it pending, one worker at a time recomputes it. And in
//! `draft_settings`: `agent_language`, the language summaries are written in, and
//! `summary_min_messages`, from how many messages a ticket gets one; and `rewrite_tools`,
//! the tenant's own rewrite tools (a JSON array of `{name, instruction}`).

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TicketSummaries {
    Table,
    Id,
    TenantId,
    TicketId,
    Pending,
    RequestedMessageId,
    NextAttemptAt,
    LeaseUntil,
    Attempts,
    Failures,
    Text,
    CustomerGoal,
    WhatWasTried,
    OpenQuestions,
    SentimentTrend,
    Language,
    Mode,
    Model,
    LlmProfile,
    MessageCount,
    CoversMessageId,
    Error,
    SummarizedAt,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TicketSummaries::Table)
                    .col(uuid(TicketSummaries::Id).primary_key())
                    .col(uuid(TicketSummaries::TenantId))
                    .col(uuid(TicketSummaries::TicketId))
                    .col(boolean(TicketSummaries::Pending).default(true))
                    .col(uuid_null(TicketSummaries::RequestedMessageId))
                    .col(timestamp_with_time_zone(TicketSummaries::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(TicketSummaries::LeaseUntil))
                    .col(integer(TicketSummaries::Attempts).default(0))
                    .col(integer(TicketSummaries::Failures).default(0))
                    .col(text_null(TicketSummaries::Text))
                    .col(text_null(TicketSummaries::CustomerGoal))
                    .col(text_null(TicketSummaries::WhatWasTried))
                    .col(text_null(TicketSummaries::OpenQuestions))
                    .col(string_len_null(TicketSummaries::SentimentTrend, 16))
                    .col(string_len_null(TicketSummaries::Language, 8))
                    .col(string_len_null(TicketSummaries::Mode, 16))
                    .col(string_len_null(TicketSummaries::Model, 200))
                    .col(string_len_null(TicketSummaries::LlmProfile, 64))
                    .col(integer(TicketSummaries::MessageCount).default(0))
                    .col(uuid_null(TicketSummaries::CoversMessageId))
                    .col(text_null(TicketSummaries::Error))
                    .col(timestamp_with_time_zone_null(TicketSummaries::SummarizedAt))
                    .col(timestamp_with_time_zone(TicketSummaries::CreatedAt))
                    .col(timestamp_with_time_zone(TicketSummaries::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TicketSummaries::Table)
                            .from_col(TicketSummaries::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TicketSummaries::Table)
                            .from_col(TicketSummaries::TicketId)
                            .to(Alias::new("tickets"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_ticket_summaries_ticket")
                    .table(TicketSummaries::Table)
                    .col(TicketSummaries::TenantId)
                    .col(TicketSummaries::TicketId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_ticket_summaries_due")
                    .table(TicketSummaries::Table)
                    .col(TicketSummaries::Pending)
                    .col(TicketSummaries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("draft_settings"))
                    .add_column(string_len_null(Alias::new("agent_language"), 8))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("draft_settings"))
                    .add_column(integer_null(Alias::new("summary_min_messages")))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("draft_settings"))
                    .add_column(text_null(Alias::new("rewrite_tools")))
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let role = crate::APP_ROLE;
            let current_tenant = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)";
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ticket_summaries TO {role};
                     ALTER TABLE ticket_summaries ENABLE ROW LEVEL SECURITY;
                     CREATE POLICY tenant_isolation ON ticket_summaries
                         USING (tenant_id = {current_tenant})
                         WITH CHECK (tenant_id = {current_tenant});"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["agent_language", "summary_min_messages", "rewrite_tools"] {
            manager
                .alter_table(
                    Table::alter().table(Alias::new("draft_settings")).drop_column(Alias::new(column)).to_owned(),
                )
                .await?;
        }
        manager.drop_table(Table::drop().table(TicketSummaries::Table).if_exists().to_owned()).await
    }
}
