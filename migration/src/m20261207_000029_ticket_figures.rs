//! A ticket's figures kept on its row, so that questions about many tickets read one table:
//! `message_count` (its messages, notes included), `first_reply_at` (its first public
//! reply) and `solved_at` (when it was last solved or closed; empty while open). Existing
//! tickets are counted from their messages; one already solved or closed takes the time the
//! audit log last saw it solved, else its last change. Messages get an index by tenant and time.

use sea_orm_migration::{
    prelude::*,
    schema::{integer, timestamp_with_time_zone_null},
    sea_orm::DbBackend,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tickets {
    Table,
    MessageCount,
    FirstReplyAt,
    SolvedAt,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    TenantId,
    CreatedAt,
    Author,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column a statement: SQLite adds one at a time.
        for column in [
            integer(Tickets::MessageCount).default(0).to_owned(),
            timestamp_with_time_zone_null(Tickets::FirstReplyAt).to_owned(),
            timestamp_with_time_zone_null(Tickets::SolvedAt).to_owned(),
        ] {
            let mut column = column;
            manager.alter_table(Table::alter().table(Tickets::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE tickets SET
                    message_count = (SELECT count(*) FROM messages WHERE messages.ticket_id = tickets.id),
                    first_reply_at = (SELECT min(messages.created_at) FROM messages
                                      WHERE messages.ticket_id = tickets.id AND messages.author = 'agent')",
            )
            .await?;
        // A solved or closed ticket was solved when the audit log last saw it move there from
        // an open state; else (older than the log) at its last change.
        let field = |name: &str| match manager.get_database_backend() {
            DbBackend::Postgres => format!("a.data->>'{name}'"),
            _ => format!("json_extract(a.data, '$.{name}')"),
        };
        manager
            .get_connection()
            .execute_unprepared(&format!(
                "UPDATE tickets SET solved_at = COALESCE(
                    (SELECT max(a.created_at) FROM audit_events a
                     WHERE a.tenant_id = tickets.tenant_id AND a.target_id = tickets.id
                       AND a.action = 'ticket.status_changed'
                       AND {to} IN ('solved', 'closed') AND {from} NOT IN ('solved', 'closed')),
                    updated_at)
                 WHERE status IN ('solved', 'closed')",
                to = field("to"),
                from = field("from"),
            ))
            .await?;
        // Questions about messages read one tenant's messages by time (and author).
        manager
            .create_index(
                Index::create()
                    .name("ix_messages_tenant_created_author")
                    .table(Messages::Table)
                    .col(Messages::TenantId)
                    .col(Messages::CreatedAt)
                    .col(Messages::Author)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_messages_tenant_created_author").table(Messages::Table).to_owned())
            .await?;
        for column in [Tickets::SolvedAt, Tickets::FirstReplyAt, Tickets::MessageCount] {
            manager.alter_table(Table::alter().table(Tickets::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
