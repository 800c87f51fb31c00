//! `tickets.merged_into_id`: the ticket a merged ticket's messages moved to; a merged
//! ticket is closed and takes no more messages.

use sea_orm_migration::{prelude::*, schema::uuid_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tickets {
    Table,
    MergedIntoId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(Tickets::Table).add_column(uuid_null(Tickets::MergedIntoId)).to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Tickets::Table).drop_column(Tickets::MergedIntoId).to_owned()).await
    }
}
