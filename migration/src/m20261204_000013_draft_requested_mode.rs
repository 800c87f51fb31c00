//! `drafts.requested_mode`: `extractive` when an agent asked for a draft written from the
//! knowledge base without the LLM (for example after the LLM failed); empty otherwise.

use sea_orm_migration::{prelude::*, schema::string_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Drafts {
    Table,
    RequestedMode,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Drafts::Table).add_column(string_null(Drafts::RequestedMode)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Drafts::Table).drop_column(Drafts::RequestedMode).to_owned()).await
    }
}
