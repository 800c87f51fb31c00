//! Who is asking: the tenant, the acting user or key, and its role.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The id of a tenant. Every store function takes one first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(pub Uuid);

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

named_enum!(
    /// What a credential may do. Humans are owners, admins or agents; machines are integrations.
    Role, "invalid_role" {
        Owner => "owner",
        Admin => "admin",
        Agent => "agent",
        Integration => "integration",
    }
);

impl Role {
    /// Owners and admins manage users, keys and settings.
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// How much a role may do, for comparing roles.
    fn rank(self) -> u8 {
        match self {
            Role::Owner => 3,
            Role::Admin => 2,
            Role::Agent => 1,
            Role::Integration => 0,
        }
    }

    /// The role with fewer rights of the two.
    pub fn lesser(self, other: Role) -> Role {
        if other.rank() < self.rank() { other } else { self }
    }

    /// Roles a human user can hold.
    pub fn is_human(self) -> bool {
        !matches!(self, Role::Integration)
    }
}

/// The acting identity behind a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Actor {
    User(Uuid),
    ApiKey(Uuid),
    /// The operator acting through the platform token or the command line.
    Platform,
    /// Someone not yet authenticated (a failed login).
    Anonymous,
    /// Mail forwarded to the tenant's secret inbound URL.
    InboundEmail,
    /// The service itself, deciding by a documented rule (a model version's gate).
    Service,
}

named_enum!(
    /// What kind of identity acted, as audit records name it.
    ActorKind, "invalid_actor_kind" {
        User => "user",
        ApiKey => "api_key",
        Platform => "platform",
        Anonymous => "anonymous",
        InboundEmail => "inbound_email",
        Service => "service",
    }
);

impl Actor {
    /// What kind of identity this is, for audit records (with [`Actor::id`]).
    pub fn kind(self) -> ActorKind {
        match self {
            Actor::User(_) => ActorKind::User,
            Actor::ApiKey(_) => ActorKind::ApiKey,
            Actor::Platform => ActorKind::Platform,
            Actor::Anonymous => ActorKind::Anonymous,
            Actor::InboundEmail => ActorKind::InboundEmail,
            Actor::Service => ActorKind::Service,
        }
    }

    pub fn id(self) -> Option<Uuid> {
        match self {
            Actor::User(id) | Actor::ApiKey(id) => Some(id),
            Actor::Platform | Actor::Anonymous | Actor::InboundEmail | Actor::Service => None,
        }
    }

    pub fn user_id(self) -> Option<Uuid> {
        match self {
            Actor::User(id) => Some(id),
            _ => None,
        }
    }
}

/// An authenticated caller inside one tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: TenantId,
    pub actor: Actor,
    pub role: Role,
}

impl Principal {
    /// Fails with `forbidden` unless the caller is an owner or admin.
    pub fn require_admin(&self) -> crate::Result<()> {
        if self.role.is_admin() {
            Ok(())
        } else {
            Err(crate::Error::Forbidden("this action needs the admin or owner role"))
        }
    }

    /// Fails with `forbidden` for machine keys on human-only actions.
    pub fn require_human_role(&self) -> crate::Result<()> {
        if self.role.is_human() {
            Ok(())
        } else {
            Err(crate::Error::Forbidden("integration keys cannot perform this action"))
        }
    }

    /// The owner of a new item that is either shared with the desk (none; admins only) or
    /// the caller's own (a person's; keys own nothing).
    pub fn owner_of_new(&self, shared: bool) -> crate::Result<Option<Uuid>> {
        self.require_human_role()?;
        if shared {
            self.require_admin()?;
            return Ok(None);
        }
        self.actor.user_id().map(Some).ok_or(crate::Error::Forbidden("a personal item belongs to a person"))
    }

    /// Fails unless the caller may change an item owned by `owner`: a shared one (none) is
    /// the admins', a personal one its owner's alone and `not_found` to everyone else.
    pub fn require_keeper(&self, owner: Option<Uuid>, what: &'static str) -> crate::Result<()> {
        self.require_human_role()?;
        match owner {
            None => self.require_admin(),
            Some(owner) if self.actor.user_id() == Some(owner) => Ok(()),
            Some(_) => Err(crate::Error::NotFound(what)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().ok(), Some(*role));
        }
    }

    #[test]
    fn unknown_role_is_a_validation_error() {
        let error = "root".parse::<Role>().err().map(|e| e.code());
        assert_eq!(error, Some("invalid_role"));
    }

    #[test]
    fn the_lesser_role_has_fewer_rights() {
        assert_eq!(Role::Owner.lesser(Role::Agent), Role::Agent);
        assert_eq!(Role::Agent.lesser(Role::Owner), Role::Agent);
        assert_eq!(Role::Admin.lesser(Role::Integration), Role::Integration);
    }

    #[test]
    fn only_owner_and_admin_are_admins() {
        assert!(Role::Owner.is_admin());
        assert!(Role::Admin.is_admin());
        assert!(!Role::Agent.is_admin());
        assert!(!Role::Integration.is_admin());
    }
}
