//! `ticket_slas.opened_at`: when the ticket opened, so service-level attainment is read for
//! the tickets of a period without reading every ticket's clocks. Filled for existing rows.

use sea_orm_migration::{prelude::*, schema::timestamp_with_time_zone_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TicketSlas {
    Table,
    TenantId,
    OpenedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(TicketSlas::Table)
                    .add_column(timestamp_with_time_zone_null(TicketSlas::OpenedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE ticket_slas SET opened_at = (SELECT created_at FROM tickets WHERE tickets.id = ticket_slas.ticket_id)",
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_ticket_slas_opened")
                    .table(TicketSlas::Table)
                    .col(TicketSlas::TenantId)
                    .col(TicketSlas::OpenedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_ticket_slas_opened").table(TicketSlas::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(TicketSlas::Table).drop_column(TicketSlas::OpenedAt).to_owned()).await
    }
}
