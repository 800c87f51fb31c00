//! Repository hygiene checked as tests: module docs on every file, and unscoped queries
//! only where ARCHITECTURE.md allows them.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
}

fn workspace_sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["services", "entities", "migration", "tests"] {
        rust_files(&root().join(dir), &mut files);
    }
    assert!(files.len() > 30, "the walk found the sources");
    files
}

#[test]
fn every_source_file_starts_with_a_module_doc() {
    let missing: Vec<String> = workspace_sources()
        .into_iter()
        .filter(|path| !std::fs::read_to_string(path).unwrap_or_default().starts_with("//!"))
        .map(|path| path.display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a `//!` first line: {missing:?}");
}

#[test]
fn unscoped_queries_appear_only_where_credentials_are_looked_up() {
    // Credential lookups by hash: sessions and API keys, tenant creation, the secret of a
    // tenant's inbound e-mail URL.
    let allowed = [
        "services/store/",
        "services/tenancy/src/auth.rs",
        "services/tenancy/src/tenants.rs",
        "services/mail/src/settings.rs",
        "tests/",
    ];
    let offenders: Vec<String> = workspace_sources()
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(root()).unwrap_or(&path).display().to_string();
            let relative = relative.trim_start_matches("./").to_owned();
            if allowed.iter().any(|prefix| relative.starts_with(prefix)) {
                return None;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            (text.contains("::find()") || text.contains("::find_by_id(")).then_some(relative)
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "bare Entity::find() outside the store layer: {offenders:?}; use Entity::scoped(tenant)"
    );
}

#[test]
fn bulk_writes_outside_the_store_filter_by_tenant() {
    let mut offenders = Vec::new();
    for path in workspace_sources() {
        let relative = path.strip_prefix(root()).unwrap_or(&path).display().to_string();
        if ["services/store/", "tests/"].iter().any(|prefix| relative.starts_with(prefix)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            if line.contains("::delete_many()") || line.contains("::update_many()") {
                let statement: String = lines[index..lines.len().min(index + 8)].join("\n");
                let scoped = statement.contains("Column::TenantId.eq(")
                    || (relative.ends_with("tenancy/src/auth.rs") && statement.contains("Column::KeyHash"))
                    || (relative.ends_with("tenancy/src/auth.rs")
                        && statement.contains("api_key::Column::Id.eq(key.id)"))
                    || (relative.ends_with("tenancy/src/auth.rs") && statement.contains("Column::ExpiresAt.lte"));
                if !scoped {
                    offenders.push(format!("{relative}:{}", index + 1));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "bulk updates or deletes without a tenant filter: {offenders:?}");
}
