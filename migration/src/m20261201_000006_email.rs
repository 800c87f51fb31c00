//! The e-mail channel: tenants' e-mail settings (support addresses, From name, a sealed
//! SMTP URL, the hashed secret of their inbound URL), every mail received or sent (the raw
//! original kept, Message-IDs for threading and deduplication), attachments, and the
//! delivery outbox of replies.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum EmailSettings {
    Table,
    TenantId,
    Addresses,
    FromName,
    SmtpUrlSealed,
    InboundTokenHash,
    InboundTokenPrefix,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EmailMessages {
    Table,
    Id,
    TenantId,
    TicketId,
    MessageId,
    Direction,
    HeaderMessageId,
    Kind,
    FromAddress,
    Subject,
    Raw,
    Note,
    CreatedAt,
}

#[derive(DeriveIden)]
enum EmailAttachments {
    Table,
    Id,
    TenantId,
    EmailId,
    MessageId,
    Filename,
    ContentType,
    SizeBytes,
    Content,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    TenantId,
    MessageId,
    TicketId,
    Channel,
    Status,
    Attempts,
    LastError,
    NextAttemptAt,
    LeaseUntil,
    HeaderMessageId,
    CreatedAt,
    UpdatedAt,
    SentAt,
}

fn tenant_fk<T: IntoIden + 'static>(table: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(Alias::new("tenant_id"))
        .to(Alias::new("tenants"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn cascade<T: IntoIden + 'static, C: IntoIden + 'static>(
    table: T,
    column: C,
    parent: &str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(column)
        .to(Alias::new(parent), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(EmailSettings::Table)
                    .col(uuid(EmailSettings::TenantId).primary_key())
                    .col(json_binary(EmailSettings::Addresses))
                    .col(string_len_null(EmailSettings::FromName, 200))
                    .col(text_null(EmailSettings::SmtpUrlSealed))
                    .col(string_len_null(EmailSettings::InboundTokenHash, 64))
                    .col(string_len_null(EmailSettings::InboundTokenPrefix, 16))
                    .col(uuid_null(EmailSettings::UpdatedBy))
                    .col(timestamp_with_time_zone(EmailSettings::UpdatedAt))
                    .foreign_key(&mut tenant_fk(EmailSettings::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_email_settings_inbound_token")
                    .table(EmailSettings::Table)
                    .col(EmailSettings::InboundTokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(EmailMessages::Table)
                    .col(uuid(EmailMessages::Id).primary_key())
                    .col(uuid(EmailMessages::TenantId))
                    .col(uuid_null(EmailMessages::TicketId))
                    .col(uuid_null(EmailMessages::MessageId))
                    .col(string_len(EmailMessages::Direction, 8))
                    .col(string_len(EmailMessages::HeaderMessageId, 1000))
                    .col(string_len(EmailMessages::Kind, 20))
                    .col(string_len_null(EmailMessages::FromAddress, 320))
                    .col(text_null(EmailMessages::Subject))
                    .col(blob_null(EmailMessages::Raw))
                    .col(text_null(EmailMessages::Note))
                    .col(timestamp_with_time_zone(EmailMessages::CreatedAt))
                    .foreign_key(&mut tenant_fk(EmailMessages::Table))
                    .foreign_key(&mut cascade(EmailMessages::Table, EmailMessages::TicketId, "tickets"))
                    .foreign_key(&mut cascade(EmailMessages::Table, EmailMessages::MessageId, "messages"))
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            (
                "ux_email_messages_header_id",
                vec![EmailMessages::TenantId, EmailMessages::Direction, EmailMessages::HeaderMessageId],
                true,
            ),
            ("ix_email_messages_ticket", vec![EmailMessages::TenantId, EmailMessages::TicketId], false),
            ("ix_email_messages_message", vec![EmailMessages::TenantId, EmailMessages::MessageId], false),
        ] {
            let mut index = Index::create();
            index.name(name).table(EmailMessages::Table);
            for column in columns {
                index.col(column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index.to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(EmailAttachments::Table)
                    .col(uuid(EmailAttachments::Id).primary_key())
                    .col(uuid(EmailAttachments::TenantId))
                    .col(uuid(EmailAttachments::EmailId))
                    .col(uuid_null(EmailAttachments::MessageId))
                    .col(text_null(EmailAttachments::Filename))
                    .col(string_len(EmailAttachments::ContentType, 200))
                    .col(big_integer(EmailAttachments::SizeBytes))
                    .col(blob_null(EmailAttachments::Content))
                    .col(timestamp_with_time_zone(EmailAttachments::CreatedAt))
                    .foreign_key(&mut tenant_fk(EmailAttachments::Table))
                    .foreign_key(&mut cascade(EmailAttachments::Table, EmailAttachments::EmailId, "email_messages"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_email_attachments_message")
                    .table(EmailAttachments::Table)
                    .col(EmailAttachments::TenantId)
                    .col(EmailAttachments::MessageId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .col(uuid(Deliveries::Id).primary_key())
                    .col(uuid(Deliveries::TenantId))
                    .col(uuid(Deliveries::MessageId).unique_key())
                    .col(uuid(Deliveries::TicketId))
                    .col(string_len(Deliveries::Channel, 20))
                    .col(string_len(Deliveries::Status, 20))
                    .col(integer(Deliveries::Attempts).default(0))
                    .col(text_null(Deliveries::LastError))
                    .col(timestamp_with_time_zone(Deliveries::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(Deliveries::LeaseUntil))
                    .col(string_len_null(Deliveries::HeaderMessageId, 1000))
                    .col(timestamp_with_time_zone(Deliveries::CreatedAt))
                    .col(timestamp_with_time_zone(Deliveries::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Deliveries::SentAt))
                    .foreign_key(&mut tenant_fk(Deliveries::Table))
                    .foreign_key(&mut cascade(Deliveries::Table, Deliveries::MessageId, "messages"))
                    .foreign_key(&mut cascade(Deliveries::Table, Deliveries::TicketId, "tickets"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_deliveries_due")
                    .table(Deliveries::Table)
                    .col(Deliveries::Status)
                    .col(Deliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let role = crate::APP_ROLE;
            let current_tenant = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)";
            for table in ["email_settings", "email_messages", "email_attachments", "deliveries"] {
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
        for table in ["deliveries", "email_attachments", "email_messages", "email_settings"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
