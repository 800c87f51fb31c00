//! `ticket_id` on events and webhook deliveries: the ticket an event is about, so that an
//! endpoint receives one ticket's events one at a time, in the order they happened.

use sea_orm_migration::{prelude::*, schema::uuid_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: [&str; 2] = ["events", "webhook_deliveries"];
const INDEX: &str = "ix_webhook_deliveries_ticket_order";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            manager
                .alter_table(
                    Table::alter().table(Alias::new(table)).add_column(uuid_null(Alias::new("ticket_id"))).to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Alias::new("webhook_deliveries"))
                    .col(Alias::new("endpoint_id"))
                    .col(Alias::new("ticket_id"))
                    .col(Alias::new("event_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(Alias::new("webhook_deliveries")).to_owned()).await?;
        for table in TABLES {
            manager
                .alter_table(Table::alter().table(Alias::new(table)).drop_column(Alias::new("ticket_id")).to_owned())
                .await?;
        }
        Ok(())
    }
}
