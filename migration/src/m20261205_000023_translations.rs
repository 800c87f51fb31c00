//! Translation: `users.language` (the language a person reads and writes), the original of
//! a message sent translated (`messages.original_body`, `original_language`: what the agent
//! wrote, kept for agents, never sent), and `message_translations`, each message's
//! translations cached per language.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MessageTranslations {
    Table,
    TenantId,
    MessageId,
    Language,
    SourceLanguage,
    Text,
    Model,
    LlmProfile,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("users"))
                    .add_column(string_len_null(Alias::new("language"), 8))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("messages"))
                    .add_column(text_null(Alias::new("original_body")))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("messages"))
                    .add_column(string_len_null(Alias::new("original_language"), 8))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MessageTranslations::Table)
                    .col(uuid(MessageTranslations::TenantId))
                    .col(uuid(MessageTranslations::MessageId))
                    .col(string_len(MessageTranslations::Language, 8))
                    .col(string_len_null(MessageTranslations::SourceLanguage, 8))
                    .col(text(MessageTranslations::Text))
                    .col(string_len_null(MessageTranslations::Model, 200))
                    .col(string_len_null(MessageTranslations::LlmProfile, 64))
                    .col(timestamp_with_time_zone(MessageTranslations::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(MessageTranslations::TenantId)
                            .col(MessageTranslations::MessageId)
                            .col(MessageTranslations::Language),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(MessageTranslations::Table)
                            .from_col(MessageTranslations::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(MessageTranslations::Table)
                            .from_col(MessageTranslations::MessageId)
                            .to(Alias::new("messages"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        crate::tenant_isolation(manager, &["message_translations"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MessageTranslations::Table).if_exists().to_owned()).await?;
        for (table, column) in [("messages", "original_language"), ("messages", "original_body"), ("users", "language")]
        {
            manager
                .alter_table(Table::alter().table(Alias::new(table)).drop_column(Alias::new(column)).to_owned())
                .await?;
        }
        Ok(())
    }
}
