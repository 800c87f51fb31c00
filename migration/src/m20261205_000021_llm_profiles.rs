//! Model profiles and routing: a tenant's named LLM endpoints (`llm_profiles`, keys
//! sealed, prices per million tokens), the ordered profiles each feature tries
//! (`llm_routes`), each profile's circuit breaker (`llm_health`), and LLM calls per day,
//! feature and profile with their tokens and cost (`llm_calls`, filled from the monthly
//! `llm_usage` so far). `draft_settings.monthly_cost_budget` caps the month's cost;
//! `drafts.llm_profile` names the profile that wrote a draft.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LlmProfiles {
    Table,
    TenantId,
    Name,
    Position,
    BaseUrl,
    Model,
    ApiKeySealed,
    Temperature,
    MaxTokens,
    TimeoutSeconds,
    PriceInput,
    PriceOutput,
    SupportsJsonSchema,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LlmRoutes {
    Table,
    TenantId,
    Feature,
    Profiles,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LlmHealth {
    Table,
    TenantId,
    Profile,
    State,
    ConsecutiveFailures,
    Trips,
    Until,
    LastError,
    LastErrorAt,
    LastSuccessAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum LlmCalls {
    Table,
    TenantId,
    Day,
    Feature,
    Profile,
    Calls,
    FailedCalls,
    PromptTokens,
    CompletionTokens,
    CostMicros,
    UpdatedAt,
}

fn tenant_fk<T: IntoIden + 'static>(table: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(Alias::new("tenant_id"))
        .to(Alias::new("tenants"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

const TABLES: [&str; 4] = ["llm_profiles", "llm_routes", "llm_health", "llm_calls"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LlmProfiles::Table)
                    .col(uuid(LlmProfiles::TenantId))
                    .col(string_len(LlmProfiles::Name, 64))
                    .col(integer(LlmProfiles::Position))
                    .col(string_len(LlmProfiles::BaseUrl, 500))
                    .col(string_len(LlmProfiles::Model, 200))
                    .col(text_null(LlmProfiles::ApiKeySealed))
                    .col(double_null(LlmProfiles::Temperature))
                    .col(integer_null(LlmProfiles::MaxTokens))
                    .col(integer_null(LlmProfiles::TimeoutSeconds))
                    .col(double_null(LlmProfiles::PriceInput))
                    .col(double_null(LlmProfiles::PriceOutput))
                    .col(boolean(LlmProfiles::SupportsJsonSchema).default(false))
                    .col(timestamp_with_time_zone(LlmProfiles::UpdatedAt))
                    .primary_key(Index::create().col(LlmProfiles::TenantId).col(LlmProfiles::Name))
                    .foreign_key(&mut tenant_fk(LlmProfiles::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LlmRoutes::Table)
                    .col(uuid(LlmRoutes::TenantId))
                    .col(string_len(LlmRoutes::Feature, 16))
                    .col(text(LlmRoutes::Profiles))
                    .col(timestamp_with_time_zone(LlmRoutes::UpdatedAt))
                    .primary_key(Index::create().col(LlmRoutes::TenantId).col(LlmRoutes::Feature))
                    .foreign_key(&mut tenant_fk(LlmRoutes::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LlmHealth::Table)
                    .col(uuid(LlmHealth::TenantId))
                    .col(string_len(LlmHealth::Profile, 64))
                    .col(string_len(LlmHealth::State, 16))
                    .col(integer(LlmHealth::ConsecutiveFailures).default(0))
                    .col(integer(LlmHealth::Trips).default(0))
                    .col(timestamp_with_time_zone_null(LlmHealth::Until))
                    .col(text_null(LlmHealth::LastError))
                    .col(timestamp_with_time_zone_null(LlmHealth::LastErrorAt))
                    .col(timestamp_with_time_zone_null(LlmHealth::LastSuccessAt))
                    .col(timestamp_with_time_zone(LlmHealth::UpdatedAt))
                    .primary_key(Index::create().col(LlmHealth::TenantId).col(LlmHealth::Profile))
                    .foreign_key(&mut tenant_fk(LlmHealth::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(LlmCalls::Table)
                    .col(uuid(LlmCalls::TenantId))
                    .col(string_len(LlmCalls::Day, 10))
                    .col(string_len(LlmCalls::Feature, 16))
                    .col(string_len(LlmCalls::Profile, 64))
                    .col(big_integer(LlmCalls::Calls).default(0))
                    .col(big_integer(LlmCalls::FailedCalls).default(0))
                    .col(big_integer(LlmCalls::PromptTokens).default(0))
                    .col(big_integer(LlmCalls::CompletionTokens).default(0))
                    .col(big_integer(LlmCalls::CostMicros).default(0))
                    .col(timestamp_with_time_zone(LlmCalls::UpdatedAt))
                    .primary_key(
                        Index::create()
                            .col(LlmCalls::TenantId)
                            .col(LlmCalls::Day)
                            .col(LlmCalls::Feature)
                            .col(LlmCalls::Profile),
                    )
                    .foreign_key(&mut tenant_fk(LlmCalls::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("draft_settings"))
                    .add_column(double_null(Alias::new("monthly_cost_budget")))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("drafts"))
                    .add_column(string_len_null(Alias::new("llm_profile"), 64))
                    .to_owned(),
            )
            .await?;
        // The months counted so far become their first day's drafting line.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO llm_calls (tenant_id, day, feature, profile, calls, failed_calls, prompt_tokens,
                                        completion_tokens, cost_micros, updated_at)
                 SELECT tenant_id, month || '-01', 'draft', 'default', llm_drafts, 0, prompt_tokens,
                        completion_tokens, 0, updated_at
                 FROM llm_usage WHERE llm_drafts > 0 OR prompt_tokens > 0 OR completion_tokens > 0",
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let role = crate::APP_ROLE;
            let current_tenant = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)";
            for table in TABLES {
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
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("draft_settings"))
                    .drop_column(Alias::new("monthly_cost_budget"))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Alias::new("drafts")).drop_column(Alias::new("llm_profile")).to_owned())
            .await?;
        for table in TABLES.into_iter().rev() {
            manager.drop_table(Table::drop().table(Alias::new(table)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
