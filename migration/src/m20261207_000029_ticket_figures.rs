//! A ticket's figures kept on its row, so that questions about many tickets read one table:
//! `message_count` (its messages, notes included), `first_reply_at` (its first public
//! reply) and `solved_at` (when it was last solved or closed; empty while open). Existing
//! tickets are counted from their messages; one already solved or closed takes its last
//! change as the time it was solved. Messages get an index by tenant and time.

use sea_orm_migration::{
    prelude::*,
    schema::{integer, timestamp_with_time_zone_null},
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
                                      WHERE messages.ticket_id = tickets.id AND messages.author = 'agent'),
                    solved_at = CASE WHEN status IN ('solved', 'closed') THEN updated_at END",
            )
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
