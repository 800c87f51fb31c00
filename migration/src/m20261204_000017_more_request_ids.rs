//! `request_id` on the other jobs a request queues (a document version's ingestion, an
//! event's webhook delivery, an intent head's training), as on triage, drafts and
//! deliveries: the worker that runs the job logs under the request's id.

use sea_orm_migration::{prelude::*, schema::string_len_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 3] = ["knowledge_documents", "webhook_deliveries", "intent_models"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(string_len_null(Alias::new("request_id"), 128))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(Table::alter().table(Alias::new(table)).drop_column(Alias::new("request_id")).to_owned())
                .await?;
        }
        Ok(())
    }
}
