//! The addresses each person has signed in from (`login_addresses`, as SHA-256 hashes):
//! while an account is throttled after failed sign-ins, the right password from one of
//! these still signs its owner in.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginAddresses {
    Table,
    Id,
    TenantId,
    UserId,
    AddressHash,
    LastSeenAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginAddresses::Table)
                    .col(uuid(LoginAddresses::Id).primary_key())
                    .col(uuid(LoginAddresses::TenantId))
                    .col(uuid(LoginAddresses::UserId))
                    .col(string_len(LoginAddresses::AddressHash, 64))
                    .col(timestamp_with_time_zone(LoginAddresses::LastSeenAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(LoginAddresses::Table)
                            .from_col(LoginAddresses::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(LoginAddresses::Table)
                            .from_col(LoginAddresses::UserId)
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_login_addresses_user_address")
                    .table(LoginAddresses::Table)
                    .col(LoginAddresses::TenantId)
                    .col(LoginAddresses::UserId)
                    .col(LoginAddresses::AddressHash)
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
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON login_addresses TO {role};
                     ALTER TABLE login_addresses ENABLE ROW LEVEL SECURITY;
                     CREATE POLICY tenant_isolation ON login_addresses
                         USING (tenant_id = {current_tenant})
                         WITH CHECK (tenant_id = {current_tenant});"
                ))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(LoginAddresses::Table).if_exists().to_owned()).await
    }
}
