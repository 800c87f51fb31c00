//! A resent reply starts a fresh series of attempts: `deliveries.attempts_before_resend`
//! keeps how many attempts were made before the latest resend, so the retry budget and
//! backoff count from there while `attempts` keeps growing (it fences claims).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    AttemptsBeforeResend,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Deliveries::Table)
                    .add_column(ColumnDef::new(Deliveries::AttemptsBeforeResend).integer().not_null().default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Deliveries::Table).drop_column(Deliveries::AttemptsBeforeResend).to_owned(),
            )
            .await
    }
}
