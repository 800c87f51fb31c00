//! Background translation: `draft_settings.auto_translate` (customer messages are
//! translated by themselves into every language the tenant's agents read) and
//! `translation_jobs`, the queue of those translations, one row per message and language.
//! Also the default profile's prices (`draft_settings.price_input`, `price_output`, per
//! million tokens), so a tenant with one LLM sees its cost too.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TranslationJobs {
    Table,
    Id,
    TenantId,
    TicketId,
    MessageId,
    Language,
    Status,
    NextAttemptAt,
    LeaseUntil,
    Attempts,
    Failures,
    Error,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TranslationJobs::Table)
                    .col(uuid(TranslationJobs::Id).primary_key())
                    .col(uuid(TranslationJobs::TenantId))
                    .col(uuid(TranslationJobs::TicketId))
                    .col(uuid(TranslationJobs::MessageId))
                    .col(string_len(TranslationJobs::Language, 8))
                    .col(string_len(TranslationJobs::Status, 16))
                    .col(timestamp_with_time_zone(TranslationJobs::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(TranslationJobs::LeaseUntil))
                    .col(integer(TranslationJobs::Attempts).default(0))
                    .col(integer(TranslationJobs::Failures).default(0))
                    .col(text_null(TranslationJobs::Error))
                    .col(timestamp_with_time_zone(TranslationJobs::CreatedAt))
                    .col(timestamp_with_time_zone(TranslationJobs::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TranslationJobs::Table)
                            .from_col(TranslationJobs::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TranslationJobs::Table)
                            .from_col(TranslationJobs::TicketId)
                            .to(Alias::new("tickets"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TranslationJobs::Table)
                            .from_col(TranslationJobs::MessageId)
                            .to(Alias::new("messages"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_translation_jobs_message_language")
                    .table(TranslationJobs::Table)
                    .col(TranslationJobs::TenantId)
                    .col(TranslationJobs::MessageId)
                    .col(TranslationJobs::Language)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_translation_jobs_due")
                    .table(TranslationJobs::Table)
                    .col(TranslationJobs::Status)
                    .col(TranslationJobs::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("draft_settings"))
                    .add_column(boolean(Alias::new("auto_translate")).default(false))
                    .to_owned(),
            )
            .await?;
        for column in ["price_input", "price_output"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("draft_settings"))
                        .add_column(double_null(Alias::new(column)))
                        .to_owned(),
                )
                .await?;
        }
        crate::tenant_isolation(manager, &["translation_jobs"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["price_output", "price_input", "auto_translate"] {
            manager
                .alter_table(
                    Table::alter().table(Alias::new("draft_settings")).drop_column(Alias::new(column)).to_owned(),
                )
                .await?;
        }
        manager.drop_table(Table::drop().table(TranslationJobs::Table).if_exists().to_owned()).await
    }
}
