//! Triage of customer messages: one `message_triage` row per customer message (a durable
//! work item and its result), and the latest triage on each ticket for filtering.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MessageTriage {
    Table,
    MessageId,
    TenantId,
    TicketId,
    Status,
    Attempts,
    NextAttemptAt,
    Error,
    Intent,
    IntentConfidence,
    Sentiment,
    SentimentScore,
    Language,
    CorrectedIntent,
    CorrectedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    TenantId,
    Intent,
    Sentiment,
    Language,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MessageTriage::Table)
                    .col(uuid(MessageTriage::MessageId).primary_key())
                    .col(uuid(MessageTriage::TenantId))
                    .col(uuid(MessageTriage::TicketId))
                    .col(string_len(MessageTriage::Status, 20))
                    .col(integer(MessageTriage::Attempts).default(0))
                    .col(timestamp_with_time_zone(MessageTriage::NextAttemptAt))
                    .col(text_null(MessageTriage::Error))
                    .col(string_len_null(MessageTriage::Intent, 100))
                    .col(double_null(MessageTriage::IntentConfidence))
                    .col(string_len_null(MessageTriage::Sentiment, 20))
                    .col(double_null(MessageTriage::SentimentScore))
                    .col(string_len_null(MessageTriage::Language, 16))
                    .col(string_len_null(MessageTriage::CorrectedIntent, 100))
                    .col(uuid_null(MessageTriage::CorrectedBy))
                    .col(timestamp_with_time_zone(MessageTriage::CreatedAt))
                    .col(timestamp_with_time_zone(MessageTriage::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(MessageTriage::Table, MessageTriage::MessageId)
                            .to(Alias::new("messages"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(MessageTriage::Table, MessageTriage::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(MessageTriage::Table, MessageTriage::TicketId)
                            .to(Alias::new("tickets"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_message_triage_due")
                    .table(MessageTriage::Table)
                    .col(MessageTriage::Status)
                    .col(MessageTriage::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_message_triage_ticket")
                    .table(MessageTriage::Table)
                    .col(MessageTriage::TenantId)
                    .col(MessageTriage::TicketId)
                    .to_owned(),
            )
            .await?;

        // SQLite alters one column per statement.
        for column in [
            string_len_null(Tickets::Intent, 100),
            string_len_null(Tickets::Sentiment, 20),
            string_len_null(Tickets::Language, 16),
        ] {
            manager.alter_table(Table::alter().table(Tickets::Table).add_column(column).to_owned()).await?;
        }
        for (name, column) in [
            ("ix_tickets_tenant_intent", Tickets::Intent),
            ("ix_tickets_tenant_sentiment", Tickets::Sentiment),
            ("ix_tickets_tenant_language", Tickets::Language),
        ] {
            manager
                .create_index(
                    Index::create().name(name).table(Tickets::Table).col(Tickets::TenantId).col(column).to_owned(),
                )
                .await?;
        }

        if manager.get_database_backend() == DbBackend::Postgres {
            let role = crate::APP_ROLE;
            let current_tenant = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)";
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON message_triage TO {role};
                     ALTER TABLE message_triage ENABLE ROW LEVEL SECURITY;
                     CREATE POLICY tenant_isolation ON message_triage
                         USING (tenant_id = {current_tenant})
                         WITH CHECK (tenant_id = {current_tenant});"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(MessageTriage::Table).if_exists().to_owned()).await?;
        for column in [Tickets::Intent, Tickets::Sentiment, Tickets::Language] {
            manager.alter_table(Table::alter().table(Tickets::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
