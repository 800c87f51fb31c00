//! Every training of a tenant's intent head is a model version: what it was trained on
//! (`source_weights`, `example_counts`), how it did on held-out labels (`metrics`), what
//! the gate decided and why (`gate`), and when it started and stopped serving
//! (`activated_at`, `retired_at`). Heads trained before versions existed were each made
//! active when they finished, so the ready ones not active now are retired.

use sea_orm_migration::{
    prelude::*,
    schema::{json_null, timestamp_with_time_zone_null},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IntentModels {
    Table,
    SourceWeights,
    ExampleCounts,
    Metrics,
    Gate,
    ActivatedAt,
    RetiredAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        let columns = [
            json_null(IntentModels::SourceWeights),
            json_null(IntentModels::ExampleCounts),
            json_null(IntentModels::Metrics),
            json_null(IntentModels::Gate),
            timestamp_with_time_zone_null(IntentModels::ActivatedAt),
            timestamp_with_time_zone_null(IntentModels::RetiredAt),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(IntentModels::Table).add_column(&mut column).to_owned()).await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE intent_models SET activated_at = finished_at WHERE status = 'ready' AND finished_at IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE intent_models SET retired_at = finished_at WHERE status = 'ready' AND active = false",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["source_weights", "example_counts", "metrics", "gate", "activated_at", "retired_at"] {
            manager
                .alter_table(Table::alter().table(IntentModels::Table).drop_column(Alias::new(column)).to_owned())
                .await?;
        }
        Ok(())
    }
}
