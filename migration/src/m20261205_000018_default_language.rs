//! `draft_settings.default_language`: the language drafts are written in when the
//! customer's language cannot be told (a word or two, an emoji).

use sea_orm_migration::{prelude::*, schema::string_len_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("draft_settings"))
                    .add_column(string_len_null(Alias::new("default_language"), 8))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("draft_settings"))
                    .drop_column(Alias::new("default_language"))
                    .to_owned(),
            )
            .await
    }
}
