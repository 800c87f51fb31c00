//! Indexes for the orders and reports of tickets: the latest change first
//! (`GET /v1/tickets?sort=updated`) and tickets opened in a time range (ticket analytics).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tickets {
    Table,
    TenantId,
    Id,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("ix_tickets_tenant_updated")
                    .table(Tickets::Table)
                    .col(Tickets::TenantId)
                    .col(Tickets::UpdatedAt)
                    .col(Tickets::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_tickets_tenant_created")
                    .table(Tickets::Table)
                    .col(Tickets::TenantId)
                    .col(Tickets::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_tickets_tenant_created", "ix_tickets_tenant_updated"] {
            manager.drop_index(Index::drop().name(name).table(Tickets::Table).to_owned()).await?;
        }
        Ok(())
    }
}
