//! The people of a tenant: agents, admins and owners.

use chrono::{DateTime, Utc};
use copilot_core::{
    Error, Principal, Role,
    page::{Page, PageRequest},
    values::{Email, password, single_line},
};
use copilot_entities::{session, user};
use copilot_store::{Scoped, TenantTx, audit, db_err, is_unique_violation};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::secrets::hash_password;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub active: bool,
    /// The language the person reads and writes (ISO 639-1), if they chose one.
    pub language: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for User {
    fn from(row: user::Model) -> Self {
        Self {
            id: row.id,
            email: row.email,
            name: row.name,
            role: row.role,
            active: row.active,
            language: row.language,
            created_at: row.created_at,
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    pub password: String,
}

/// A partial update; `None` leaves the field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub name: Option<Option<String>>,
    pub role: Option<Role>,
    pub active: Option<bool>,
    pub password: Option<String>,
    /// Required when a person sets their own password.
    pub current_password: Option<String>,
}

pub(crate) async fn insert(
    tx: &TenantTx,
    email: &Email,
    name: Option<String>,
    role: Role,
    password_hash: Option<String>,
) -> Result<User, Error> {
    let now = copilot_core::now();
    let row = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        email: Set(email.as_str().to_owned()),
        name: Set(name),
        password_hash: Set(password_hash),
        role: Set(role),
        active: Set(true),
        language: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    match row.insert(&**tx).await {
        Ok(row) => Ok(User::from(row)),
        Err(error) if is_unique_violation(&error) => Err(Error::conflict(
            "email_taken",
            format!("a user with the e-mail address {} already exists", email.as_str()),
        )),
        Err(error) => Err(db_err(error)),
    }
}

fn optional_name(name: Option<String>) -> Result<Option<String>, Error> {
    name.map(|name| single_line("name", &name, 1, 200)).transpose()
}

/// Adds a user. Admins add agents and admins; only owners add owners.
pub async fn create(tx: &TenantTx, by: &Principal, request: NewUser) -> Result<User, Error> {
    by.require_admin()?;
    if !request.role.is_human() {
        return Err(Error::validation(
            "invalid_role",
            "users are owners, admins or agents; use an API key for integrations",
        ));
    }
    if request.role == Role::Owner && by.role != Role::Owner {
        return Err(Error::Forbidden("only an owner can add another owner"));
    }
    let email = Email::parse(&request.email)?;
    let name = optional_name(request.name)?;
    let hash = hash_password(password(&request.password)?.to_owned()).await?;
    let user = insert(tx, &email, name, request.role, Some(hash)).await?;
    audit::record(
        tx,
        by.actor,
        "user.created",
        audit::Target::new("user", user.id).labelled(&user.email),
        serde_json::json!({ "role": user.role }),
    )
    .await?;
    Ok(user)
}

pub async fn list(tx: &TenantTx, by: &Principal, page: PageRequest) -> Result<Page<User>, Error> {
    by.require_admin()?;
    let mut query = user::Entity::scoped(tx.tenant());
    if let Some(before) = page.cursor {
        query = query.filter(user::Column::Id.lt(before));
    }
    let rows = query.order_by_desc(user::Column::Id).limit(page.limit + 1).all(&**tx).await.map_err(db_err)?;
    let users: Vec<User> = rows.into_iter().map(User::from).collect();
    Ok(Page::from_overfetch(users, page.limit, |user| user.id))
}

/// The most people [`assignees`] lists.
pub const MAX_ASSIGNEES: u64 = 1000;

/// The active people who can be assigned tickets, by name (then e-mail); any member of
/// the tenant may see them.
pub async fn assignees(tx: &TenantTx) -> Result<Vec<User>, Error> {
    let rows = user::Entity::scoped(tx.tenant())
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Email)
        .limit(MAX_ASSIGNEES)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    let mut people: Vec<User> = rows.into_iter().map(User::from).filter(|user| user.role.is_human()).collect();
    people.sort_by_cached_key(|user| (user.name.as_deref().unwrap_or(&user.email).to_lowercase(), user.id));
    Ok(people)
}

/// Reads a user; with `lock`, the row stays locked until the transaction ends.
async fn find_row(tx: &TenantTx, id: Uuid, lock: bool) -> Result<user::Model, Error> {
    let mut query = user::Entity::scoped(tx.tenant()).filter(user::Column::Id.eq(id));
    if lock {
        query = query.lock_exclusive();
    }
    query.one(&**tx).await.map_err(db_err)?.ok_or(Error::NotFound("user"))
}

pub async fn get(tx: &TenantTx, id: Uuid) -> Result<User, Error> {
    Ok(User::from(find_row(tx, id, false).await?))
}

/// Whether a user with role `actor` may change the role, activity or password of a
/// user with role `target`: owners manage everyone, admins manage agents.
fn may_manage(actor: Role, target: Role) -> bool {
    match actor {
        Role::Owner => true,
        Role::Admin => target == Role::Agent,
        Role::Agent | Role::Integration => false,
    }
}

/// Changes a user. Owners manage everyone and admins manage agents; anyone may change
/// their own name and password. Only owners grant the owner role, and the last active
/// owner cannot be demoted or deactivated. A password set by someone else ends the
/// user's sessions. A person who sets their own password gives the current one, and their
/// other sessions end (`session_hash` is the one they use now, kept).
pub async fn update(
    tx: &TenantTx,
    by: &Principal,
    id: Uuid,
    patch: UserPatch,
    session_hash: Option<&str>,
) -> Result<User, Error> {
    let row = find_row(tx, id, true).await?;
    let current = User::from(row.clone());
    let is_self = by.actor.user_id() == Some(id);
    let touches_access = patch.role.is_some() || patch.active.is_some();
    if (touches_access || !is_self) && !may_manage(by.role, current.role) {
        return Err(Error::Forbidden(match by.role {
            Role::Owner | Role::Admin => "admins manage agents; owners and admins are managed by owners",
            Role::Agent | Role::Integration => "this action needs the admin or owner role",
        }));
    }
    if patch.role == Some(Role::Owner) && by.role != Role::Owner {
        return Err(Error::Forbidden("only an owner can grant the owner role"));
    }
    if patch.role.is_some_and(|role| !role.is_human()) {
        return Err(Error::validation("invalid_role", "users are owners, admins or agents"));
    }
    let loses_owner = current.role == Role::Owner
        && current.active
        && (patch.role.is_some_and(|role| role != Role::Owner) || patch.active == Some(false));
    if loses_owner && active_owner_count(tx).await? <= 1 {
        return Err(Error::unprocessable("last_owner", "a tenant needs at least one active owner"));
    }
    let password_reset_by_other = patch.password.is_some() && !is_self;
    let own_password_changed = patch.password.is_some() && is_self;
    if own_password_changed {
        let Some(current_password) = patch.current_password.clone() else {
            return Err(Error::validation(
                "current_password_required",
                "`current_password` is required to change your own password",
            ));
        };
        if !crate::secrets::verify_password(current_password, row.password_hash.clone()).await? {
            return Err(Error::unprocessable("current_password_wrong", "`current_password` is not your password"));
        }
    }

    let mut change: user::ActiveModel = row.into();
    if let Some(name) = patch.name {
        change.name = Set(optional_name(name)?);
    }
    if let Some(role) = patch.role {
        change.role = Set(role);
    }
    if let Some(active) = patch.active {
        change.active = Set(active);
    }
    if let Some(raw) = patch.password {
        change.password_hash = Set(Some(hash_password(password(&raw)?.to_owned()).await?));
    }
    change.updated_at = Set(copilot_core::now());
    let updated = User::from(change.update(&**tx).await.map_err(db_err)?);

    if updated.role != current.role {
        audit::record(
            tx,
            by.actor,
            "user.role_changed",
            audit::Target::new("user", id).labelled(&updated.email),
            serde_json::json!({ "from": current.role, "to": updated.role }),
        )
        .await?;
    }
    if updated.active != current.active {
        let action = if updated.active { "user.reactivated" } else { "user.deactivated" };
        // A deactivated person's keys are revoked for good (reactivation does not bring them back).
        let keys_revoked = if updated.active { 0 } else { crate::api_keys::revoke_of_user(tx, id).await? };
        audit::record(
            tx,
            by.actor,
            action,
            audit::Target::new("user", id).labelled(&updated.email),
            serde_json::json!({ "api_keys_revoked": keys_revoked }),
        )
        .await?;
    }
    if !updated.active || password_reset_by_other {
        end_sessions(tx, id, None).await?;
    } else if own_password_changed {
        end_sessions(tx, id, session_hash).await?;
    }
    Ok(updated)
}

/// Counts active owners, locking their rows so two owners demoting each other at once
/// cannot both pass the check.
async fn active_owner_count(tx: &TenantTx) -> Result<u64, Error> {
    let owners = user::Entity::scoped(tx.tenant())
        .filter(user::Column::Role.eq(Role::Owner.as_str()))
        .filter(user::Column::Active.eq(true))
        .lock_exclusive()
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(owners.len() as u64)
}

/// Ends the user's sessions, all but the one whose token hashes to `keep` when given.
async fn end_sessions(tx: &TenantTx, user_id: Uuid, keep: Option<&str>) -> Result<(), Error> {
    let mut sessions = session::Entity::delete_many()
        .filter(session::Column::TenantId.eq(tx.tenant().0))
        .filter(session::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        sessions = sessions.filter(session::Column::TokenHash.ne(keep));
    }
    sessions.exec(&**tx).await.map_err(db_err)?;
    Ok(())
}

/// Sets the language a signed-in person reads and writes (blank: none).
pub async fn set_language(tx: &TenantTx, by: &Principal, language: Option<&str>) -> Result<User, Error> {
    let Some(id) = by.actor.user_id() else {
        return Err(Error::Forbidden("only a signed-in person has a language"));
    };
    let language = copilot_core::values::language_code("language", language)?;
    let row = user::Entity::scoped(tx.tenant())
        .filter(user::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("user"))?;
    let mut change: user::ActiveModel = row.into();
    change.language = Set(language);
    change.updated_at = Set(copilot_core::now());
    Ok(User::from(change.update(&**tx).await.map_err(db_err)?))
}

/// The languages the tenant's active people chose to read (each once, in order); people
/// who chose none read the tenant's agent language, which the caller adds.
pub async fn languages_in_use(tx: &TenantTx) -> Result<Vec<String>, Error> {
    let languages: Vec<Option<String>> = user::Entity::scoped(tx.tenant())
        .select_only()
        .column(user::Column::Language)
        .distinct()
        .filter(user::Column::Active.eq(true))
        .filter(user::Column::Role.ne(Role::Integration))
        .filter(user::Column::Language.is_not_null())
        .order_by_asc(user::Column::Language)
        .into_tuple()
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(languages.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_manage_everyone() {
        for target in [Role::Owner, Role::Admin, Role::Agent] {
            assert!(may_manage(Role::Owner, target));
        }
    }

    #[test]
    fn admins_manage_only_agents() {
        assert!(may_manage(Role::Admin, Role::Agent));
        assert!(!may_manage(Role::Admin, Role::Admin));
        assert!(!may_manage(Role::Admin, Role::Owner));
    }

    #[test]
    fn agents_and_integrations_manage_nobody() {
        for actor in [Role::Agent, Role::Integration] {
            for target in [Role::Owner, Role::Admin, Role::Agent] {
                assert!(!may_manage(actor, target));
            }
        }
    }
}
