//! `knowledge_documents.error_code`: why a document's latest version failed, as a code a
//! program can act on (`no_text_layer`, `encrypted`, `too_large`, …) beside the message.

use sea_orm_migration::{prelude::*, schema::string_len_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("knowledge_documents"))
                    .add_column(string_len_null(Alias::new("error_code"), 32))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("knowledge_documents"))
                    .drop_column(Alias::new("error_code"))
                    .to_owned(),
            )
            .await
    }
}
