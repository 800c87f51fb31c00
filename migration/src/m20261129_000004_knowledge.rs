//! The knowledge base's documents: their state, their uploaded versions and their tags.
//! The chunks and embeddings live in the vector store, not here.

use sea_orm_migration::{prelude::*, schema::*, sea_orm::DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum KnowledgeDocuments {
    Table,
    Id,
    TenantId,
    ExternalId,
    Title,
    Format,
    Filename,
    Status,
    Progress,
    ChunkCount,
    Version,
    ActiveVersion,
    ContentHash,
    SizeBytes,
    Error,
    Attempts,
    NextAttemptAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum KnowledgeDocumentVersions {
    Table,
    DocumentId,
    Version,
    TenantId,
    Format,
    Content,
    ContentHash,
    CreatedAt,
}

#[derive(DeriveIden)]
enum KnowledgeDocumentTags {
    Table,
    DocumentId,
    Tag,
    TenantId,
}

fn tenant_fk<T: IntoIden + 'static>(table: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(Alias::new("tenant_id"))
        .to(Alias::new("tenants"), Alias::new("id"))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn document_fk<T: IntoIden + 'static>(table: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from_tbl(table)
        .from_col(Alias::new("document_id"))
        .to(KnowledgeDocuments::Table, KnowledgeDocuments::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KnowledgeDocuments::Table)
                    .col(uuid(KnowledgeDocuments::Id).primary_key())
                    .col(uuid(KnowledgeDocuments::TenantId))
                    .col(string_len_null(KnowledgeDocuments::ExternalId, 200))
                    .col(string_len(KnowledgeDocuments::Title, 300))
                    .col(string_len(KnowledgeDocuments::Format, 20))
                    .col(string_len_null(KnowledgeDocuments::Filename, 300))
                    .col(string_len(KnowledgeDocuments::Status, 20))
                    .col(double(KnowledgeDocuments::Progress).default(0.0))
                    .col(integer(KnowledgeDocuments::ChunkCount).default(0))
                    .col(integer(KnowledgeDocuments::Version))
                    .col(integer_null(KnowledgeDocuments::ActiveVersion))
                    .col(string_len(KnowledgeDocuments::ContentHash, 64))
                    .col(big_integer(KnowledgeDocuments::SizeBytes))
                    .col(text_null(KnowledgeDocuments::Error))
                    .col(integer(KnowledgeDocuments::Attempts).default(0))
                    .col(timestamp_with_time_zone(KnowledgeDocuments::NextAttemptAt))
                    .col(uuid_null(KnowledgeDocuments::CreatedBy))
                    .col(timestamp_with_time_zone(KnowledgeDocuments::CreatedAt))
                    .col(timestamp_with_time_zone(KnowledgeDocuments::UpdatedAt))
                    .foreign_key(&mut tenant_fk(KnowledgeDocuments::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_knowledge_documents_tenant")
                    .table(KnowledgeDocuments::Table)
                    .col(KnowledgeDocuments::TenantId)
                    .col(KnowledgeDocuments::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_knowledge_documents_external_id")
                    .table(KnowledgeDocuments::Table)
                    .col(KnowledgeDocuments::TenantId)
                    .col(KnowledgeDocuments::ExternalId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_knowledge_documents_due")
                    .table(KnowledgeDocuments::Table)
                    .col(KnowledgeDocuments::Status)
                    .col(KnowledgeDocuments::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KnowledgeDocumentVersions::Table)
                    .col(uuid(KnowledgeDocumentVersions::DocumentId))
                    .col(integer(KnowledgeDocumentVersions::Version))
                    .col(uuid(KnowledgeDocumentVersions::TenantId))
                    .col(string_len(KnowledgeDocumentVersions::Format, 20))
                    .col(blob(KnowledgeDocumentVersions::Content))
                    .col(string_len(KnowledgeDocumentVersions::ContentHash, 64))
                    .col(timestamp_with_time_zone(KnowledgeDocumentVersions::CreatedAt))
                    .primary_key(
                        Index::create()
                            .col(KnowledgeDocumentVersions::DocumentId)
                            .col(KnowledgeDocumentVersions::Version),
                    )
                    .foreign_key(&mut tenant_fk(KnowledgeDocumentVersions::Table))
                    .foreign_key(&mut document_fk(KnowledgeDocumentVersions::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KnowledgeDocumentTags::Table)
                    .col(uuid(KnowledgeDocumentTags::DocumentId))
                    .col(string_len(KnowledgeDocumentTags::Tag, 50))
                    .col(uuid(KnowledgeDocumentTags::TenantId))
                    .primary_key(Index::create().col(KnowledgeDocumentTags::DocumentId).col(KnowledgeDocumentTags::Tag))
                    .foreign_key(&mut tenant_fk(KnowledgeDocumentTags::Table))
                    .foreign_key(&mut document_fk(KnowledgeDocumentTags::Table))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_knowledge_document_tags_tag")
                    .table(KnowledgeDocumentTags::Table)
                    .col(KnowledgeDocumentTags::TenantId)
                    .col(KnowledgeDocumentTags::Tag)
                    .to_owned(),
            )
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            let role = crate::APP_ROLE;
            let current_tenant = "(SELECT nullif(current_setting('app.tenant_id', true), '')::uuid)";
            for table in ["knowledge_documents", "knowledge_document_versions", "knowledge_document_tags"] {
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
        for table in ["knowledge_document_tags", "knowledge_document_versions", "knowledge_documents"] {
            manager.drop_table(Table::drop().table(Alias::new(table)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
