//! Webhooks: tenants' endpoints (URL, subscribed event types, sealed signing secrets, the
//! previous secret while a rotation overlaps), the event outbox written in the transaction
//! of each change, and one delivery per (endpoint, event) with its attempts.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    TenantId,
    Url,
    Description,
    EventTypes,
    SecretSealed,
    PreviousSecretSealed,
    PreviousSecretUntil,
    Enabled,
    DisabledReason,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    TenantId,
    EventType,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    TenantId,
    EndpointId,
    EventId,
    Status,
    Attempts,
    NextAttemptAt,
    LastStatusCode,
    LastResponse,
    LastError,
    CreatedAt,
    UpdatedAt,
    DeliveredAt,
}

fn tenant_fk<T: IntoIden + 'static>(table: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(Alias::new("tenant_id"))
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
                    .table(WebhookEndpoints::Table)
                    .col(uuid(WebhookEndpoints::Id).primary_key())
                    .col(uuid(WebhookEndpoints::TenantId))
                    .col(string_len(WebhookEndpoints::Url, 2000))
                    .col(text_null(WebhookEndpoints::Description))
                    .col(json_binary(WebhookEndpoints::EventTypes))
                    .col(text(WebhookEndpoints::SecretSealed))
                    .col(text_null(WebhookEndpoints::PreviousSecretSealed))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::PreviousSecretUntil))
                    .col(boolean(WebhookEndpoints::Enabled).default(true))
                    .col(text_null(WebhookEndpoints::DisabledReason))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::FailingSince))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookEndpoints::UpdatedAt))
                    .foreign_key(&mut tenant_fk(WebhookEndpoints::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_endpoints_tenant")
                    .table(WebhookEndpoints::Table)
                    .col(WebhookEndpoints::TenantId)
                    .col(WebhookEndpoints::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(uuid(Events::Id).primary_key())
                    .col(uuid(Events::TenantId))
                    .col(string_len(Events::EventType, 64))
                    .col(json_binary(Events::Data))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .foreign_key(&mut tenant_fk(Events::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_events_tenant_created")
                    .table(Events::Table)
                    .col(Events::TenantId)
                    .col(Events::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .col(uuid(WebhookDeliveries::Id).primary_key())
                    .col(uuid(WebhookDeliveries::TenantId))
                    .col(uuid(WebhookDeliveries::EndpointId))
                    .col(uuid(WebhookDeliveries::EventId))
                    .col(string_len(WebhookDeliveries::Status, 16))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(integer_null(WebhookDeliveries::LastStatusCode))
                    .col(text_null(WebhookDeliveries::LastResponse))
                    .col(text_null(WebhookDeliveries::LastError))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookDeliveries::UpdatedAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::DeliveredAt))
                    .foreign_key(&mut tenant_fk(WebhookDeliveries::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EventId)
                            .to(Events::Table, Events::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            (
                "ux_webhook_deliveries_endpoint_event",
                vec![WebhookDeliveries::EndpointId, WebhookDeliveries::EventId],
                true,
            ),
            ("ix_webhook_deliveries_due", vec![WebhookDeliveries::Status, WebhookDeliveries::NextAttemptAt], false),
            (
                "ix_webhook_deliveries_endpoint",
                vec![WebhookDeliveries::TenantId, WebhookDeliveries::EndpointId, WebhookDeliveries::Id],
                false,
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(WebhookDeliveries::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            let role = crate::APP_ROLE;
            let current_tenant = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)";
            for table in ["webhook_endpoints", "events", "webhook_deliveries"] {
                manager
                    .get_connection()
                    .execute_unprepared(&format!(
                        "GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role};
                         ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
                         CREATE POLICY tenant_isolation ON {table}
                             USING (tenant_id = {current_tenant})
                             WITH CHECK (tenant_id = {current_tenant});"
                    ))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhook_deliveries", "events", "webhook_endpoints"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
