//! Tenants, people and credentials, customers, tickets and messages, audit and idempotency.
//! On PostgreSQL, tenant-owned tables get row-level security keyed on `app.tenant_id`.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Tables whose rows belong to one tenant, each with a `tenant_id` column.
const TENANT_OWNED: &[&str] = &[
    "users",
    "api_keys",
    "sessions",
    "customers",
    "tickets",
    "ticket_tags",
    "messages",
    "audit_events",
    "idempotency_keys",
];

#[derive(DeriveIden)]
enum Tenants {
    Table,
    Id,
    Name,
    Slug,
    TicketCounter,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    TenantId,
    Email,
    Name,
    PasswordHash,
    Role,
    Active,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    TenantId,
    UserId,
    Name,
    Role,
    Prefix,
    KeyHash,
    CreatedAt,
    LastUsedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TenantId,
    UserId,
    TokenHash,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Id,
    TenantId,
    Email,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    TenantId,
    Number,
    Subject,
    Status,
    Priority,
    Channel,
    CustomerId,
    AssigneeId,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum TicketTags {
    Table,
    TicketId,
    Tag,
    TenantId,
}

#[derive(DeriveIden)]
enum Messages {
    Table,
    Id,
    TenantId,
    TicketId,
    Author,
    AuthorUserId,
    Body,
    CreatedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    TenantId,
    ActorKind,
    ActorId,
    Action,
    TargetKind,
    TargetId,
    TargetLabel,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    TenantId,
    Key,
    Scope,
    RequestHash,
    Response,
    CreatedAt,
}

fn tenant_fk<T: IntoIden + 'static>(table: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(Alias::new("tenant_id"))
        .to(Tenants::Table, Tenants::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(uuid(Tenants::Id).primary_key())
                    .col(string_len(Tenants::Name, 200))
                    .col(string_len_uniq(Tenants::Slug, 63))
                    .col(big_integer(Tenants::TicketCounter).default(0))
                    .col(timestamp_with_time_zone(Tenants::CreatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid(Users::Id).primary_key())
                    .col(uuid(Users::TenantId))
                    .col(string_len(Users::Email, 254))
                    .col(string_len_null(Users::Name, 200))
                    .col(text_null(Users::PasswordHash))
                    .col(string_len(Users::Role, 20))
                    .col(boolean(Users::Active))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Users::Table))
                    .index(Index::create().unique().col(Users::TenantId).col(Users::Email))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(uuid(ApiKeys::Id).primary_key())
                    .col(uuid(ApiKeys::TenantId))
                    .col(uuid_null(ApiKeys::UserId))
                    .col(string_len(ApiKeys::Name, 200))
                    .col(string_len(ApiKeys::Role, 20))
                    .col(string_len(ApiKeys::Prefix, 32))
                    .col(string_len_uniq(ApiKeys::KeyHash, 64))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .foreign_key(&mut tenant_fk(ApiKeys::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(ApiKeys::Table, ApiKeys::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(uuid(Sessions::Id).primary_key())
                    .col(uuid(Sessions::TenantId))
                    .col(uuid(Sessions::UserId))
                    .col(string_len_uniq(Sessions::TokenHash, 64))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::ExpiresAt))
                    .foreign_key(&mut tenant_fk(Sessions::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Customers::Table)
                    .col(uuid(Customers::Id).primary_key())
                    .col(uuid(Customers::TenantId))
                    .col(string_len(Customers::Email, 254))
                    .col(string_len_null(Customers::Name, 200))
                    .col(timestamp_with_time_zone(Customers::CreatedAt))
                    .foreign_key(&mut tenant_fk(Customers::Table))
                    .index(Index::create().unique().col(Customers::TenantId).col(Customers::Email))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Tickets::Table)
                    .col(uuid(Tickets::Id).primary_key())
                    .col(uuid(Tickets::TenantId))
                    .col(big_integer(Tickets::Number))
                    .col(string_len(Tickets::Subject, 500))
                    .col(string_len(Tickets::Status, 20))
                    .col(string_len(Tickets::Priority, 20))
                    .col(string_len(Tickets::Channel, 20))
                    .col(uuid(Tickets::CustomerId))
                    .col(uuid_null(Tickets::AssigneeId))
                    .col(timestamp_with_time_zone(Tickets::CreatedAt))
                    .col(timestamp_with_time_zone(Tickets::UpdatedAt))
                    .foreign_key(&mut tenant_fk(Tickets::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Tickets::Table, Tickets::CustomerId)
                            .to(Customers::Table, Customers::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Tickets::Table, Tickets::AssigneeId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .index(Index::create().unique().col(Tickets::TenantId).col(Tickets::Number))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(TicketTags::Table)
                    .col(uuid(TicketTags::TicketId))
                    .col(string_len(TicketTags::Tag, 50))
                    .col(uuid(TicketTags::TenantId))
                    .primary_key(Index::create().col(TicketTags::TicketId).col(TicketTags::Tag))
                    .foreign_key(&mut tenant_fk(TicketTags::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(TicketTags::Table, TicketTags::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Messages::Table)
                    .col(uuid(Messages::Id).primary_key())
                    .col(uuid(Messages::TenantId))
                    .col(uuid(Messages::TicketId))
                    .col(string_len(Messages::Author, 20))
                    .col(uuid_null(Messages::AuthorUserId))
                    .col(text(Messages::Body))
                    .col(timestamp_with_time_zone(Messages::CreatedAt))
                    .foreign_key(&mut tenant_fk(Messages::Table))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Messages::Table, Messages::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Messages::Table, Messages::AuthorUserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .col(uuid(AuditEvents::Id).primary_key())
                    .col(uuid(AuditEvents::TenantId))
                    .col(string_len(AuditEvents::ActorKind, 20))
                    .col(uuid_null(AuditEvents::ActorId))
                    .col(string_len(AuditEvents::Action, 100))
                    .col(string_len(AuditEvents::TargetKind, 50))
                    .col(uuid_null(AuditEvents::TargetId))
                    .col(string_len_null(AuditEvents::TargetLabel, 254))
                    .col(json_binary(AuditEvents::Data))
                    .col(timestamp_with_time_zone(AuditEvents::CreatedAt))
                    .foreign_key(&mut tenant_fk(AuditEvents::Table))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(uuid(IdempotencyKeys::TenantId))
                    .col(string_len(IdempotencyKeys::Key, 255))
                    .col(string_len(IdempotencyKeys::Scope, 100))
                    .col(string_len(IdempotencyKeys::RequestHash, 64))
                    .col(json_binary(IdempotencyKeys::Response))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .primary_key(Index::create().col(IdempotencyKeys::TenantId).col(IdempotencyKeys::Key))
                    .foreign_key(&mut tenant_fk(IdempotencyKeys::Table))
                    .to_owned(),
            )
            .await?;

        let indexes = [
            Index::create()
                .name("ix_tickets_tenant_id_id")
                .table(Tickets::Table)
                .col(Tickets::TenantId)
                .col(Tickets::Id)
                .to_owned(),
            Index::create()
                .name("ix_tickets_tenant_status")
                .table(Tickets::Table)
                .col(Tickets::TenantId)
                .col(Tickets::Status)
                .col(Tickets::Id)
                .to_owned(),
            Index::create()
                .name("ix_tickets_tenant_assignee")
                .table(Tickets::Table)
                .col(Tickets::TenantId)
                .col(Tickets::AssigneeId)
                .to_owned(),
            Index::create().name("ix_tickets_customer").table(Tickets::Table).col(Tickets::CustomerId).to_owned(),
            Index::create()
                .name("ix_ticket_tags_tenant_tag")
                .table(TicketTags::Table)
                .col(TicketTags::TenantId)
                .col(TicketTags::Tag)
                .to_owned(),
            Index::create()
                .name("ix_messages_ticket")
                .table(Messages::Table)
                .col(Messages::TicketId)
                .col(Messages::Id)
                .to_owned(),
            Index::create()
                .name("ix_messages_tenant_id_id")
                .table(Messages::Table)
                .col(Messages::TenantId)
                .col(Messages::Id)
                .to_owned(),
            Index::create()
                .name("ix_users_tenant_id_id")
                .table(Users::Table)
                .col(Users::TenantId)
                .col(Users::Id)
                .to_owned(),
            Index::create()
                .name("ix_api_keys_tenant_id_id")
                .table(ApiKeys::Table)
                .col(ApiKeys::TenantId)
                .col(ApiKeys::Id)
                .to_owned(),
            Index::create().name("ix_sessions_expires_at").table(Sessions::Table).col(Sessions::ExpiresAt).to_owned(),
            Index::create()
                .name("ix_audit_events_tenant_id_id")
                .table(AuditEvents::Table)
                .col(AuditEvents::TenantId)
                .col(AuditEvents::Id)
                .to_owned(),
            Index::create()
                .name("ix_audit_events_tenant_action")
                .table(AuditEvents::Table)
                .col(AuditEvents::TenantId)
                .col(AuditEvents::Action)
                .col(AuditEvents::CreatedAt)
                .to_owned(),
            Index::create()
                .name("ix_idempotency_keys_created_at")
                .table(IdempotencyKeys::Table)
                .col(IdempotencyKeys::CreatedAt)
                .to_owned(),
        ];
        for index in indexes {
            manager.create_index(index).await?;
        }

        if manager.get_database_backend() == DbBackend::Postgres {
            enable_row_level_security(manager).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in TENANT_OWNED.iter().rev().chain(["tenants"].iter()) {
            manager.drop_table(Table::drop().table(Alias::new(*table)).if_exists().cascade().to_owned()).await?;
        }
        Ok(())
    }
}

/// Creates the application role and isolates every tenant-owned table by `app.tenant_id`.
///
/// The role cannot log in; the service's connection user switches to it inside each
/// tenant transaction (`set_config('role', …, true)`). The connection user is the table
/// owner and bypasses the policies, which is what migrations and the few cross-tenant
/// lookups (credential by hash) need.
async fn enable_row_level_security(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let role = crate::APP_ROLE;
    db.execute_unprepared(&format!(
        "DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN;
            END IF;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$;"
    ))
    .await?;
    db.execute_unprepared(&format!(
        "DO $$ BEGIN
            EXECUTE format('GRANT {role} TO %I', current_user);
        EXCEPTION WHEN others THEN NULL;
        END $$;
        GRANT USAGE ON SCHEMA public TO {role};"
    ))
    .await?;
    let current_tenant = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)";
    db.execute_unprepared(&format!(
        "GRANT SELECT, UPDATE ON tenants TO {role};
         ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
         CREATE POLICY tenant_isolation ON tenants USING (id = {current_tenant}) WITH CHECK (id = {current_tenant});"
    ))
    .await?;
    for table in TENANT_OWNED {
        db.execute_unprepared(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role};
             ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
             CREATE POLICY tenant_isolation ON {table}
                 USING (tenant_id = {current_tenant})
                 WITH CHECK (tenant_id = {current_tenant});"
        ))
        .await?;
    }
    Ok(())
}
