//! `csat_settings` (whether and how a tenant asks its customers) and `csat_surveys` (one
//! per ticket: the request's lifecycle, its e-mail in the outbox, and the rating).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum CsatSettings {
    Table,
    TenantId,
    Enabled,
    Scale,
    DelayMinutes,
    LinkDays,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum CsatSurveys {
    Table,
    Id,
    TenantId,
    TicketId,
    Scale,
    Stage,
    Language,
    Channel,
    Intent,
    AgentId,
    AiDrafted,
    NextAttemptAt,
    LeaseUntil,
    RequestedAt,
    ExpiresAt,
    MailAttempts,
    MailError,
    MailSentAt,
    HeaderMessageId,
    Rating,
    Comment,
    RatedAt,
    ChangedAt,
    Changes,
    WindowStartedAt,
    WindowSubmissions,
    CreatedAt,
    UpdatedAt,
}

fn to_tenants<T: IntoIden + Copy>(table: T, column: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(column)
        .to(Alias::new("tenants"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CsatSettings::Table)
                    .col(uuid(CsatSettings::TenantId).primary_key())
                    .col(boolean(CsatSettings::Enabled))
                    .col(string_len(CsatSettings::Scale, 10))
                    .col(integer(CsatSettings::DelayMinutes))
                    .col(integer(CsatSettings::LinkDays))
                    .col(timestamp_with_time_zone(CsatSettings::UpdatedAt))
                    .foreign_key(&mut to_tenants(CsatSettings::Table, CsatSettings::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(CsatSurveys::Table)
                    .col(uuid(CsatSurveys::Id).primary_key())
                    .col(uuid(CsatSurveys::TenantId))
                    .col(uuid(CsatSurveys::TicketId))
                    .col(string_len(CsatSurveys::Scale, 10))
                    .col(string_len(CsatSurveys::Stage, 20))
                    .col(string_len(CsatSurveys::Language, 10))
                    .col(string_len(CsatSurveys::Channel, 20))
                    .col(string_len_null(CsatSurveys::Intent, 100))
                    .col(uuid_null(CsatSurveys::AgentId))
                    .col(boolean(CsatSurveys::AiDrafted))
                    .col(timestamp_with_time_zone_null(CsatSurveys::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(CsatSurveys::LeaseUntil))
                    .col(timestamp_with_time_zone_null(CsatSurveys::RequestedAt))
                    .col(timestamp_with_time_zone_null(CsatSurveys::ExpiresAt))
                    .col(integer(CsatSurveys::MailAttempts))
                    .col(text_null(CsatSurveys::MailError))
                    .col(timestamp_with_time_zone_null(CsatSurveys::MailSentAt))
                    .col(string_len_null(CsatSurveys::HeaderMessageId, 255))
                    .col(small_integer_null(CsatSurveys::Rating))
                    .col(text_null(CsatSurveys::Comment))
                    .col(timestamp_with_time_zone_null(CsatSurveys::RatedAt))
                    .col(timestamp_with_time_zone_null(CsatSurveys::ChangedAt))
                    .col(integer(CsatSurveys::Changes))
                    .col(timestamp_with_time_zone_null(CsatSurveys::WindowStartedAt))
                    .col(integer(CsatSurveys::WindowSubmissions))
                    .col(timestamp_with_time_zone(CsatSurveys::CreatedAt))
                    .col(timestamp_with_time_zone(CsatSurveys::UpdatedAt))
                    .foreign_key(&mut to_tenants(CsatSurveys::Table, CsatSurveys::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(CsatSurveys::Table)
                            .from_col(CsatSurveys::TicketId)
                            .to(Alias::new("tickets"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_csat_surveys_ticket")
                    .table(CsatSurveys::Table)
                    .col(CsatSurveys::TenantId)
                    .col(CsatSurveys::TicketId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The worker's due requests and mail, across tenants.
        manager
            .create_index(
                Index::create()
                    .name("ix_csat_surveys_due")
                    .table(CsatSurveys::Table)
                    .col(CsatSurveys::Stage)
                    .col(CsatSurveys::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // Analytics by the time the survey went out.
        manager
            .create_index(
                Index::create()
                    .name("ix_csat_surveys_requested")
                    .table(CsatSurveys::Table)
                    .col(CsatSurveys::TenantId)
                    .col(CsatSurveys::RequestedAt)
                    .to_owned(),
            )
            .await?;
        crate::tenant_isolation(manager, &["csat_settings", "csat_surveys"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(CsatSurveys::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(CsatSettings::Table).if_exists().to_owned()).await
    }
}
