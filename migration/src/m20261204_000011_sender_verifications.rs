//! Sending addresses a tenant proved it reads (`sender_verifications`): the shared mail
//! server sends a tenant's replies only from an address verified here, so no tenant sends
//! as another's address. Only the SHA-256 of each mailed code is kept.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum SenderVerifications {
    Table,
    Id,
    TenantId,
    Address,
    CodeHash,
    Attempts,
    CreatedAt,
    VerifiedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SenderVerifications::Table)
                    .col(uuid(SenderVerifications::Id).primary_key())
                    .col(uuid(SenderVerifications::TenantId))
                    .col(string_len(SenderVerifications::Address, 254))
                    .col(string_len(SenderVerifications::CodeHash, 64))
                    .col(integer(SenderVerifications::Attempts).default(0))
                    .col(timestamp_with_time_zone(SenderVerifications::CreatedAt))
                    .col(timestamp_with_time_zone_null(SenderVerifications::VerifiedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(SenderVerifications::Table)
                            .from_col(SenderVerifications::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_sender_verifications_address")
                    .table(SenderVerifications::Table)
                    .col(SenderVerifications::TenantId)
                    .col(SenderVerifications::Address)
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
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON sender_verifications TO {role};
                     ALTER TABLE sender_verifications ENABLE ROW LEVEL SECURITY;
                     CREATE POLICY tenant_isolation ON sender_verifications
                         USING (tenant_id = {current_tenant})
                         WITH CHECK (tenant_id = {current_tenant});"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SenderVerifications::Table).if_exists().to_owned()).await
    }
}
