//! Intent discovery: `intent_discoveries` (a run over the messages the model could not
//! place, a job on the queue kit) and `intent_proposals` (a cluster of such messages: its
//! suggested label, keywords, examples, the nearest existing intent, and what an admin
//! decided; a rejected one's centroid keeps similar clusters out of later runs).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IntentDiscoveries {
    Table,
    Id,
    TenantId,
    Status,
    ScopeFrom,
    ScopeTo,
    Messages,
    Attempts,
    NextAttemptAt,
    Error,
    RequestedBy,
    RequestId,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden)]
enum IntentProposals {
    Table,
    Id,
    TenantId,
    DiscoveryId,
    Size,
    LabelSuggestion,
    Description,
    Keywords,
    Examples,
    MessageIds,
    NearestIntent,
    Similarity,
    Centroid,
    Status,
    DecidedLabel,
    DecidedBy,
    DecidedAt,
    CreatedAt,
}

fn to_tenants<T: IntoIden + 'static>(table: T, column: T) -> ForeignKeyCreateStatement {
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
                    .table(IntentDiscoveries::Table)
                    .col(uuid(IntentDiscoveries::Id).primary_key())
                    .col(uuid(IntentDiscoveries::TenantId))
                    .col(string_len(IntentDiscoveries::Status, 16))
                    .col(timestamp_with_time_zone_null(IntentDiscoveries::ScopeFrom))
                    .col(timestamp_with_time_zone_null(IntentDiscoveries::ScopeTo))
                    .col(integer(IntentDiscoveries::Messages).default(0))
                    .col(integer(IntentDiscoveries::Attempts).default(0))
                    .col(timestamp_with_time_zone(IntentDiscoveries::NextAttemptAt))
                    .col(text_null(IntentDiscoveries::Error))
                    .col(uuid_null(IntentDiscoveries::RequestedBy))
                    .col(string_len_null(IntentDiscoveries::RequestId, 128))
                    .col(timestamp_with_time_zone(IntentDiscoveries::CreatedAt))
                    .col(timestamp_with_time_zone_null(IntentDiscoveries::FinishedAt))
                    .foreign_key(&mut to_tenants(IntentDiscoveries::Table, IntentDiscoveries::TenantId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_intent_discoveries_due")
                    .table(IntentDiscoveries::Table)
                    .col(IntentDiscoveries::Status)
                    .col(IntentDiscoveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IntentProposals::Table)
                    .col(uuid(IntentProposals::Id).primary_key())
                    .col(uuid(IntentProposals::TenantId))
                    .col(uuid(IntentProposals::DiscoveryId))
                    .col(integer(IntentProposals::Size))
                    .col(string_len(IntentProposals::LabelSuggestion, 100))
                    .col(text_null(IntentProposals::Description))
                    .col(json(IntentProposals::Keywords))
                    .col(json(IntentProposals::Examples))
                    .col(json(IntentProposals::MessageIds))
                    .col(string_len_null(IntentProposals::NearestIntent, 100))
                    .col(double_null(IntentProposals::Similarity))
                    .col(json(IntentProposals::Centroid))
                    .col(string_len(IntentProposals::Status, 16))
                    .col(string_len_null(IntentProposals::DecidedLabel, 100))
                    .col(uuid_null(IntentProposals::DecidedBy))
                    .col(timestamp_with_time_zone_null(IntentProposals::DecidedAt))
                    .col(timestamp_with_time_zone(IntentProposals::CreatedAt))
                    .foreign_key(&mut to_tenants(IntentProposals::Table, IntentProposals::TenantId))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(IntentProposals::Table)
                            .from_col(IntentProposals::DiscoveryId)
                            .to(IntentDiscoveries::Table, IntentDiscoveries::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_intent_proposals_discovery")
                    .table(IntentProposals::Table)
                    .col(IntentProposals::TenantId)
                    .col(IntentProposals::DiscoveryId)
                    .to_owned(),
            )
            .await?;
        crate::tenant_isolation(manager, &["intent_discoveries", "intent_proposals"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IntentProposals::Table).if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table(IntentDiscoveries::Table).if_exists().to_owned()).await
    }
}
