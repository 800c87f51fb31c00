//! Service levels on tickets. `ticket_slas`: one row per ticket with the policy that set
//! its targets (a copy, so that later edits of the policy leave it alone), the facts it was
//! matched on, each target's clock, and the next warning or breach due (a durable timer,
//! claimed under a lease). Tickets keep a copy of their service levels (`sla`) and the
//! earliest due time (`sla_due_at`) for the inbox's order, indexed by tenant and status;
//! policies get the lead time of their warnings. Tickets opened before this have a row
//! without facts: no policy applies to them until one is applied explicitly.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum TicketSlas {
    Table,
    TicketId,
    TenantId,
    PolicyId,
    Policy,
    Facts,
    Targets,
    NextAttemptAt,
    LeaseUntil,
    Attempts,
}

#[derive(DeriveIden)]
enum Tickets {
    Table,
    Id,
    TenantId,
    Status,
    Sla,
    SlaDueAt,
}

#[derive(DeriveIden)]
enum SlaPolicies {
    Table,
    WarningMinutes,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SlaPolicies::Table)
                    .add_column(big_integer(SlaPolicies::WarningMinutes).default(15))
                    .to_owned(),
            )
            .await?;
        for column in [json_null(Tickets::Sla).to_owned(), timestamp_with_time_zone_null(Tickets::SlaDueAt).to_owned()]
        {
            let mut column = column;
            manager.alter_table(Table::alter().table(Tickets::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("ix_tickets_sla_due")
                    .table(Tickets::Table)
                    .col(Tickets::TenantId)
                    .col(Tickets::Status)
                    .col(Tickets::SlaDueAt)
                    .col(Tickets::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(TicketSlas::Table)
                    .col(uuid(TicketSlas::TicketId).primary_key())
                    .col(uuid(TicketSlas::TenantId))
                    .col(uuid_null(TicketSlas::PolicyId))
                    .col(json_null(TicketSlas::Policy))
                    .col(json_null(TicketSlas::Facts))
                    .col(json(TicketSlas::Targets))
                    .col(timestamp_with_time_zone_null(TicketSlas::NextAttemptAt))
                    .col(timestamp_with_time_zone_null(TicketSlas::LeaseUntil))
                    .col(integer(TicketSlas::Attempts).default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TicketSlas::Table)
                            .from_col(TicketSlas::TenantId)
                            .to(Alias::new("tenants"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from_tbl(TicketSlas::Table)
                            .from_col(TicketSlas::TicketId)
                            .to(Tickets::Table, Tickets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        let connection = manager.get_connection();
        // The timers: only rows with a warning or breach to come.
        connection
            .execute_unprepared(
                "CREATE INDEX ix_ticket_slas_timer ON ticket_slas (next_attempt_at) WHERE next_attempt_at IS NOT NULL",
            )
            .await?;
        let empty = match manager.get_database_backend() {
            DbBackend::Postgres => "'[]'::json",
            _ => "'[]'",
        };
        connection
            .execute_unprepared(&format!(
                "INSERT INTO ticket_slas (ticket_id, tenant_id, targets, attempts) SELECT id, tenant_id, {empty}, 0 FROM tickets"
            ))
            .await?;
        crate::tenant_isolation(manager, &["ticket_slas"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(TicketSlas::Table).if_exists().to_owned()).await
    }
}
