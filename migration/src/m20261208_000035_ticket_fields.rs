//! Custom ticket fields: `ticket_fields` (defined by admins, retired rather than deleted) and
//! `ticket_field_values` (one row per ticket and field, with a text form for filters,
//! indexed by field and text).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TicketFields {
    Table,
    Id,
    TenantId,
    Key,
    Label,
    Kind,
    Options,
    RequiredOnSolve,
    Active,
    Position,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TicketFieldValues {
    Table,
    TenantId,
    TicketId,
    FieldId,
    Value,
    Text,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TicketFields::Table)
                    .col(uuid(TicketFields::Id).primary_key())
                    .col(uuid(TicketFields::TenantId))
                    .col(string_len(TicketFields::Key, 40))
                    .col(string_len(TicketFields::Label, 100))
                    .col(string_len(TicketFields::Kind, 20))
                    .col(json(TicketFields::Options))
                    .col(boolean(TicketFields::RequiredOnSolve))
                    .col(boolean(TicketFields::Active))
                    .col(integer(TicketFields::Position))
                    .col(timestamp_with_time_zone(TicketFields::CreatedAt))
                    .col(timestamp_with_time_zone(TicketFields::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TicketFields::Table)
                            .from_col(TicketFields::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .index(Index::create().unique().col(TicketFields::TenantId).col(TicketFields::Key))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketFieldValues::Table)
                    .col(uuid(TicketFieldValues::TenantId))
                    .col(uuid(TicketFieldValues::TicketId))
                    .col(uuid(TicketFieldValues::FieldId))
                    .col(json(TicketFieldValues::Value))
                    .col(text(TicketFieldValues::Text))
                    .primary_key(Index::create().col(TicketFieldValues::TicketId).col(TicketFieldValues::FieldId))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TicketFieldValues::Table)
                            .from_col(TicketFieldValues::TicketId)
                            .to(Alias::new("tickets"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TicketFieldValues::Table)
                            .from_col(TicketFieldValues::FieldId)
                            .to(TicketFields::Table, TicketFields::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_ticket_field_values_filter")
                    .table(TicketFieldValues::Table)
                    .col(TicketFieldValues::TenantId)
                    .col(TicketFieldValues::FieldId)
                    .col(TicketFieldValues::Text)
                    .to_owned(),
            )
            .await?;
        crate::tenant_isolation(manager, &["ticket_fields", "ticket_field_values"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TicketFieldValues::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(TicketFields::Table).if_exists().to_owned()).await
    }
}
