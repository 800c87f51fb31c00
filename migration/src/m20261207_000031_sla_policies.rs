//! `sla_policies`: the tenant's service-level policies in order, each with the conditions a
//! ticket must meet and its targets (first reply, next reply, resolution; business hours or
//! calendar time).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SlaPolicies {
    Table,
    Id,
    TenantId,
    Name,
    Position,
    Conditions,
    Targets,
    PauseWhenPending,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SlaPolicies::Table)
                    .col(uuid(SlaPolicies::Id).primary_key())
                    .col(uuid(SlaPolicies::TenantId))
                    .col(string_len(SlaPolicies::Name, 80))
                    .col(integer(SlaPolicies::Position))
                    .col(json(SlaPolicies::Conditions))
                    .col(json(SlaPolicies::Targets))
                    .col(boolean(SlaPolicies::PauseWhenPending))
                    .col(timestamp_with_time_zone(SlaPolicies::CreatedAt))
                    .col(timestamp_with_time_zone(SlaPolicies::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(SlaPolicies::Table)
                            .from_col(SlaPolicies::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(Index::create().unique().col(SlaPolicies::TenantId).col(SlaPolicies::Name))
                    .to_owned(),
            )
            .await?;
        crate::tenant_isolation(manager, &["sla_policies"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SlaPolicies::Table).if_exists().to_owned()).await
    }
}
