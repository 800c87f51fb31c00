//! Per-tenant intent taxonomies and the heads trained from them.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Intents {
    Table,
    TenantId,
    Label,
    Description,
    Examples,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum IntentModels {
    Table,
    Id,
    TenantId,
    Status,
    Attempts,
    NextAttemptAt,
    Labels,
    Weights,
    CrossValidatedAccuracy,
    Folds,
    ExampleCount,
    Error,
    Active,
    CreatedAt,
    FinishedAt,
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
                    .table(Intents::Table)
                    .col(uuid(Intents::TenantId))
                    .col(string_len(Intents::Label, 100))
                    .col(text_null(Intents::Description))
                    .col(json_binary(Intents::Examples))
                    .col(timestamp_with_time_zone(Intents::CreatedAt))
                    .col(timestamp_with_time_zone(Intents::UpdatedAt))
                    .primary_key(Index::create().col(Intents::TenantId).col(Intents::Label))
                    .foreign_key(&mut tenant_fk(Intents::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IntentModels::Table)
                    .col(uuid(IntentModels::Id).primary_key())
                    .col(uuid(IntentModels::TenantId))
                    .col(string_len(IntentModels::Status, 20))
                    .col(integer(IntentModels::Attempts).default(0))
                    .col(timestamp_with_time_zone(IntentModels::NextAttemptAt))
                    .col(json_binary_null(IntentModels::Labels))
                    .col(json_binary_null(IntentModels::Weights))
                    .col(double_null(IntentModels::CrossValidatedAccuracy))
                    .col(integer_null(IntentModels::Folds))
                    .col(integer(IntentModels::ExampleCount).default(0))
                    .col(text_null(IntentModels::Error))
                    .col(boolean(IntentModels::Active).default(false))
                    .col(timestamp_with_time_zone(IntentModels::CreatedAt))
                    .col(timestamp_with_time_zone_null(IntentModels::FinishedAt))
                    .foreign_key(&mut tenant_fk(IntentModels::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_intent_models_due")
                    .table(IntentModels::Table)
                    .col(IntentModels::Status)
                    .col(IntentModels::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_intent_models_tenant")
                    .table(IntentModels::Table)
                    .col(IntentModels::TenantId)
                    .col(IntentModels::Id)
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let role = crate::APP_ROLE;
            let current_tenant = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)";
            for table in ["intents", "intent_models"] {
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
        manager.drop_table(Table::drop().table(IntentModels::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(Intents::Table).if_exists().to_owned()).await?;
        Ok(())
    }
}
