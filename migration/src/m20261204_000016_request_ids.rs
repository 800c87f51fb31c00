//! `request_id` on the jobs a request queues (a message's triage, its draft, a reply's
//! delivery): the `X-Request-Id` of the request that caused them, so the worker that runs
//! a job logs under the request's id.

use sea_orm_migration::{prelude::*, schema::string_len_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 3] = ["message_triage", "drafts", "deliveries"];

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
