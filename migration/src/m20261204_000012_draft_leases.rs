//! `drafts.lease_until`: when the worker writing a draft lets it go, unless it renews the
//! lease. Set while a worker holds the job and cleared when the attempt ends, it tells the
//! drafts being written from those waiting to be retried, so the drafting queue can cap
//! how many of one tenant's drafts are written at once.

use sea_orm_migration::{prelude::*, schema::timestamp_with_time_zone_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Drafts {
    Table,
    LeaseUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Drafts::Table)
                    .add_column(timestamp_with_time_zone_null(Drafts::LeaseUntil))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Drafts::Table).drop_column(Drafts::LeaseUntil).to_owned()).await
    }
}
