//! `saved_views`: named inbox filters and orders, shared (no owner) or one person's.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SavedViews {
    Table,
    Id,
    TenantId,
    OwnerId,
    Name,
    Filter,
    Sort,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SavedViews::Table)
                    .col(uuid(SavedViews::Id).primary_key())
                    .col(uuid(SavedViews::TenantId))
                    .col(uuid_null(SavedViews::OwnerId))
                    .col(string_len(SavedViews::Name, 60))
                    .col(json(SavedViews::Filter))
                    .col(string_len(SavedViews::Sort, 20))
                    .col(integer(SavedViews::Position))
                    .col(timestamp_with_time_zone(SavedViews::CreatedAt))
                    .col(timestamp_with_time_zone(SavedViews::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(SavedViews::Table)
                            .from_col(SavedViews::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(SavedViews::Table)
                            .from_col(SavedViews::OwnerId)
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        crate::tenant_isolation(manager, &["saved_views"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SavedViews::Table).if_exists().to_owned()).await
    }
}
