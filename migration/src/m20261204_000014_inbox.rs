//! What the inbox sorts and shows without reading every thread: a ticket's priority as a
//! rank, the sentiment score of its latest triaged customer message, since when its
//! customer has been waiting for a reply, and a preview of its latest public message;
//! and `ticket_presence`, who is viewing or replying to a ticket right now.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tickets {
    Table,
    TenantId,
    Id,
    PriorityRank,
    SentimentScore,
    WaitingSince,
    Preview,
}

#[derive(DeriveIden)]
enum TicketPresence {
    Table,
    Id,
    TenantId,
    TicketId,
    UserId,
    State,
    UpdatedAt,
}

/// Copies the new columns' values from what the tickets already hold.
const BACKFILL: &str = "
UPDATE tickets SET
    priority_rank = CASE priority WHEN 'low' THEN 0 WHEN 'high' THEN 2 WHEN 'urgent' THEN 3 ELSE 1 END,
    sentiment_score = (
        SELECT t.sentiment_score FROM message_triage t
        WHERE t.ticket_id = tickets.id AND t.status = 'done'
        ORDER BY t.message_id DESC LIMIT 1),
    waiting_since = (
        SELECT min(m.created_at) FROM messages m
        WHERE m.ticket_id = tickets.id AND m.author = 'customer'
          AND NOT EXISTS (
              SELECT 1 FROM messages a
              WHERE a.ticket_id = tickets.id AND a.author = 'agent' AND a.created_at >= m.created_at)),
    preview = (
        SELECT substr(m.body, 1, 200) FROM messages m
        WHERE m.ticket_id = tickets.id AND m.author <> 'note'
        ORDER BY m.created_at DESC LIMIT 1)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for column in [
            small_integer(Tickets::PriorityRank).default(1).to_owned(),
            double_null(Tickets::SentimentScore),
            timestamp_with_time_zone_null(Tickets::WaitingSince),
            string_len_null(Tickets::Preview, 200),
        ] {
            manager.alter_table(Table::alter().table(Tickets::Table).add_column(column).to_owned()).await?;
        }
        manager.get_connection().execute_unprepared(BACKFILL).await?;
        for (name, column) in [
            ("ix_tickets_tenant_priority", Tickets::PriorityRank),
            ("ix_tickets_tenant_sentiment_score", Tickets::SentimentScore),
            ("ix_tickets_tenant_waiting", Tickets::WaitingSince),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Tickets::Table)
                        .col(Tickets::TenantId)
                        .col(column)
                        .col(Tickets::Id)
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(TicketPresence::Table)
                    .col(uuid(TicketPresence::Id).primary_key())
                    .col(uuid(TicketPresence::TenantId))
                    .col(uuid(TicketPresence::TicketId))
                    .col(uuid(TicketPresence::UserId))
                    .col(string_len(TicketPresence::State, 16))
                    .col(timestamp_with_time_zone(TicketPresence::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TicketPresence::Table)
                            .from_col(TicketPresence::TicketId)
                            .to(Alias::new("tickets"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TicketPresence::Table)
                            .from_col(TicketPresence::UserId)
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_ticket_presence_person")
                    .table(TicketPresence::Table)
                    .col(TicketPresence::TenantId)
                    .col(TicketPresence::TicketId)
                    .col(TicketPresence::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let role = crate::APP_ROLE;
            let current_tenant = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)";
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ticket_presence TO {role};
                     ALTER TABLE ticket_presence ENABLE ROW LEVEL SECURITY;
                     CREATE POLICY tenant_isolation ON ticket_presence
                         USING (tenant_id = {current_tenant})
                         WITH CHECK (tenant_id = {current_tenant});"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TicketPresence::Table).if_exists().to_owned()).await?;
        for name in ["ix_tickets_tenant_priority", "ix_tickets_tenant_sentiment_score", "ix_tickets_tenant_waiting"] {
            manager.drop_index(Index::drop().name(name).table(Tickets::Table).to_owned()).await?;
        }
        for column in [Tickets::PriorityRank, Tickets::SentimentScore, Tickets::WaitingSince, Tickets::Preview] {
            manager.alter_table(Table::alter().table(Tickets::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
