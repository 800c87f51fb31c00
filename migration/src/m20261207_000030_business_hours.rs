//! `business_hours`: the tenant's named schedules of opening hours (per weekday, in a time
//! zone, with holidays), one of them the default.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BusinessHours {
    Table,
    Id,
    TenantId,
    Name,
    IsDefault,
    TimeZone,
    Week,
    Holidays,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BusinessHours::Table)
                    .col(uuid(BusinessHours::Id).primary_key())
                    .col(uuid(BusinessHours::TenantId))
                    .col(string_len(BusinessHours::Name, 80))
                    .col(boolean(BusinessHours::IsDefault))
                    .col(string_len(BusinessHours::TimeZone, 64))
                    .col(json(BusinessHours::Week))
                    .col(json(BusinessHours::Holidays))
                    .col(timestamp_with_time_zone(BusinessHours::CreatedAt))
                    .col(timestamp_with_time_zone(BusinessHours::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(BusinessHours::Table)
                            .from_col(BusinessHours::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(Index::create().unique().col(BusinessHours::TenantId).col(BusinessHours::Name))
                    .to_owned(),
            )
            .await?;
        crate::tenant_isolation(manager, &["business_hours"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(BusinessHours::Table).if_exists().to_owned()).await
    }
}
