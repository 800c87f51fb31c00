//! `analytics_cards`: a question pinned to the analytics page, with the typed query it
//! runs (relative dates kept, so the card moves with the calendar) and who pinned it.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AnalyticsCards {
    Table,
    Id,
    TenantId,
    Title,
    Question,
    Query,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AnalyticsCards::Table)
                    .col(uuid(AnalyticsCards::Id).primary_key())
                    .col(uuid(AnalyticsCards::TenantId))
                    .col(string_len(AnalyticsCards::Title, 200))
                    .col(text_null(AnalyticsCards::Question))
                    .col(json(AnalyticsCards::Query))
                    .col(uuid_null(AnalyticsCards::CreatedBy))
                    .col(timestamp_with_time_zone(AnalyticsCards::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(AnalyticsCards::Table)
                            .from_col(AnalyticsCards::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_analytics_cards_tenant")
                    .table(AnalyticsCards::Table)
                    .col(AnalyticsCards::TenantId)
                    .col(AnalyticsCards::CreatedAt)
                    .to_owned(),
            )
            .await?;
        crate::tenant_isolation(manager, &["analytics_cards"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AnalyticsCards::Table).if_exists().to_owned()).await
    }
}
