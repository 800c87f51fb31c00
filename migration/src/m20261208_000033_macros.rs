//! `macros`: canned replies with placeholders and ticket changes, shared (no owner) or one
//! person's, with how often each was applied; `macro_placeholders`: the tenant's own
//! placeholders.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Macros {
    Table,
    Id,
    TenantId,
    OwnerId,
    Name,
    Body,
    Actions,
    UsageCount,
    LastUsedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum MacroPlaceholders {
    Table,
    TenantId,
    Key,
    Value,
    UpdatedAt,
}

fn tenant_key<T: Iden + 'static>(table: T, column: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(column)
        .to(Alias::new("tenants"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Macros::Table)
                    .col(uuid(Macros::Id).primary_key())
                    .col(uuid(Macros::TenantId))
                    .col(uuid_null(Macros::OwnerId))
                    .col(string_len(Macros::Name, 100))
                    .col(text(Macros::Body))
                    .col(json(Macros::Actions))
                    .col(big_integer(Macros::UsageCount).default(0))
                    .col(timestamp_with_time_zone_null(Macros::LastUsedAt))
                    .col(timestamp_with_time_zone(Macros::CreatedAt))
                    .col(timestamp_with_time_zone(Macros::UpdatedAt))
                    .foreign_key(&mut tenant_key(Macros::Table, Macros::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(Macros::Table)
                            .from_col(Macros::OwnerId)
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_macros_tenant_owner")
                    .table(Macros::Table)
                    .col(Macros::TenantId)
                    .col(Macros::OwnerId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MacroPlaceholders::Table)
                    .col(uuid(MacroPlaceholders::TenantId))
                    .col(string_len(MacroPlaceholders::Key, 40))
                    .col(text(MacroPlaceholders::Value))
                    .col(timestamp_with_time_zone(MacroPlaceholders::UpdatedAt))
                    .primary_key(Index::create().col(MacroPlaceholders::TenantId).col(MacroPlaceholders::Key))
                    .foreign_key(&mut tenant_key(MacroPlaceholders::Table, MacroPlaceholders::TenantId))
                    .to_owned(),
            )
            .await?;
        crate::tenant_isolation(manager, &["macros", "macro_placeholders"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MacroPlaceholders::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(Macros::Table).if_exists().to_owned()).await
    }
}
