//! SLA policies: in order, the first whose conditions a ticket meets sets its targets —
//! minutes to the first reply, to each next reply and to resolution, each counted in
//! business hours (the default schedule's) or on the calendar.

use chrono::{DateTime, Utc};
use copilot_core::{
    Error, Principal,
    model::{Channel, Priority},
    values,
};
use copilot_entities::sla_policy;
use copilot_store::{Scoped, TenantTx, audit, db_err};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// Policies one tenant may keep.
pub const MAX_POLICIES: usize = 50;
/// The longest target: a year.
pub const MAX_TARGET_MINUTES: i64 = 525_600;
/// Values of one condition.
const MAX_VALUES: usize = 50;
/// The longest lead time of a warning: a week.
pub const MAX_WARNING_MINUTES: i64 = 10_080;
/// The lead time of a warning when a new policy names none.
pub const DEFAULT_WARNING_MINUTES: i64 = 15;

pub use copilot_core::sla::TargetKind;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    pub minutes: i64,
    /// Counted in the default schedule's business hours, else on the calendar.
    pub business_hours: bool,
}

/// What a ticket must have for the policy to apply; an empty list asks nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conditions {
    #[serde(default)]
    pub priority: Vec<String>,
    #[serde(default)]
    pub channel: Vec<String>,
    #[serde(default)]
    pub intent: Vec<String>,
    /// Any of these tags.
    #[serde(default)]
    pub tag: Vec<String>,
    /// The customer's e-mail domain (`acme.com`).
    #[serde(default)]
    pub customer_domain: Vec<String>,
}

/// A ticket as a policy sees it.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub priority: &'a str,
    pub channel: &'a str,
    pub intent: Option<&'a str>,
    pub tags: &'a [String],
    pub customer_email: &'a str,
}

impl Conditions {
    pub fn matches(&self, facts: &Facts) -> bool {
        let any = |wanted: &[String], value: Option<&str>| {
            wanted.is_empty() || value.is_some_and(|v| wanted.iter().any(|w| w == v))
        };
        let domain = facts.customer_email.rsplit_once('@').map(|(_, d)| d.to_lowercase());
        any(&self.priority, Some(facts.priority))
            && any(&self.channel, Some(facts.channel))
            && any(&self.intent, facts.intent)
            && (self.tag.is_empty() || facts.tags.iter().any(|t| self.tag.contains(t)))
            && any(&self.customer_domain, domain.as_deref())
    }
}

#[derive(Clone, Debug)]
pub struct Policy {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub conditions: Conditions,
    pub targets: Vec<Target>,
    /// Whether a pending ticket's clocks stop until the customer writes again.
    pub pause_when_pending: bool,
    /// How long before a target falls due `sla.warning` is sent; 0 sends none.
    pub warning_minutes: i64,
    pub updated_at: DateTime<Utc>,
}

/// The first policy, in order, whose conditions the ticket meets.
pub fn first_match<'a>(policies: &'a [Policy], facts: &Facts) -> Option<&'a Policy> {
    policies.iter().find(|policy| policy.conditions.matches(facts))
}

/// A new policy, or the parts of one to change.
#[derive(Clone, Debug, Default)]
pub struct PolicyIn {
    pub name: Option<String>,
    pub conditions: Option<Conditions>,
    pub targets: Option<Vec<Target>>,
    pub pause_when_pending: Option<bool>,
    pub warning_minutes: Option<i64>,
    /// Where it stands in the order, from 0; last when absent.
    pub position: Option<usize>,
}

fn invalid(detail: impl std::fmt::Display) -> Error {
    Error::validation("invalid_policy", detail.to_string())
}

fn checked_conditions(conditions: Conditions) -> Result<Conditions, Error> {
    let lists = [
        ("priority", &conditions.priority),
        ("channel", &conditions.channel),
        ("intent", &conditions.intent),
        ("tag", &conditions.tag),
        ("customer_domain", &conditions.customer_domain),
    ];
    if let Some((name, _)) = lists.iter().find(|(_, values)| values.len() > MAX_VALUES) {
        return Err(invalid(format!("`conditions.{name}` has more than {MAX_VALUES} values")));
    }
    for priority in &conditions.priority {
        priority.parse::<Priority>().map_err(|_| invalid(format!("`{priority}` is not a priority")))?;
    }
    for channel in &conditions.channel {
        channel.parse::<Channel>().map_err(|_| invalid(format!("`{channel}` is not a channel")))?;
    }
    let intent = conditions
        .intent
        .iter()
        .map(|intent| values::single_line("conditions.intent", intent, 1, 100))
        .collect::<Result<Vec<_>, _>>()?;
    let tag = if conditions.tag.is_empty() { Vec::new() } else { values::tags(&conditions.tag)? };
    let customer_domain = conditions
        .customer_domain
        .iter()
        .map(|domain| {
            let domain = domain.trim().trim_start_matches('@').to_lowercase();
            let ok = domain.contains('.')
                && domain.len() <= 253
                && domain
                    .split('.')
                    .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            if ok { Ok(domain) } else { Err(invalid(format!("`{domain}` is not an e-mail domain"))) }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Conditions { priority: conditions.priority, channel: conditions.channel, intent, tag, customer_domain })
}

fn checked_warning(minutes: i64) -> Result<i64, Error> {
    if !(0..=MAX_WARNING_MINUTES).contains(&minutes) {
        return Err(invalid(format!("`warning_minutes` is 0 (no warning) to {MAX_WARNING_MINUTES}")));
    }
    Ok(minutes)
}

fn checked_targets(targets: Vec<Target>) -> Result<Vec<Target>, Error> {
    if targets.is_empty() {
        return Err(invalid("a policy has at least one target"));
    }
    for (i, target) in targets.iter().enumerate() {
        if targets[..i].iter().any(|t| t.kind == target.kind) {
            return Err(invalid(format!("`{:?}` is targeted twice", target.kind)));
        }
        if !(1..=MAX_TARGET_MINUTES).contains(&target.minutes) {
            return Err(invalid(format!("a target is 1 to {MAX_TARGET_MINUTES} minutes")));
        }
    }
    Ok(targets)
}

/// A stored policy; none (and said) when its conditions or targets no longer read, so that
/// an unreadable condition never widens into "every ticket".
fn read(row: sla_policy::Model) -> Option<Policy> {
    let parts = serde_json::from_value::<Conditions>(row.conditions)
        .and_then(|conditions| Ok((conditions, serde_json::from_value::<Vec<Target>>(row.targets)?)));
    match parts {
        Ok((conditions, targets)) => Some(Policy {
            id: row.id,
            name: row.name,
            position: row.position,
            conditions,
            targets,
            pause_when_pending: row.pause_when_pending,
            warning_minutes: row.warning_minutes,
            updated_at: row.updated_at,
        }),
        Err(error) => {
            tracing::warn!(tenant = %row.tenant_id, policy = %row.name, %error, "a stored SLA policy no longer reads");
            None
        }
    }
}

/// The tenant's policies in order.
pub async fn list(tx: &TenantTx) -> Result<Vec<Policy>, Error> {
    let rows = sla_policy::Entity::scoped(tx.tenant())
        .order_by_asc(sla_policy::Column::Position)
        .order_by_asc(sla_policy::Column::Id)
        .all(&**tx)
        .await
        .map_err(db_err)?;
    Ok(rows.into_iter().filter_map(read).collect())
}

async fn find(tx: &TenantTx, id: Uuid) -> Result<sla_policy::Model, Error> {
    sla_policy::Entity::scoped(tx.tenant())
        .filter(sla_policy::Column::Id.eq(id))
        .one(&**tx)
        .await
        .map_err(db_err)?
        .ok_or(Error::NotFound("sla policy"))
}

/// Targets counted in business hours need business hours.
async fn require_hours(tx: &TenantTx, targets: &[Target]) -> Result<(), Error> {
    if targets.iter().any(|t| t.business_hours) && crate::schedules::time_zone(tx).await?.is_none() {
        return Err(Error::unprocessable(
            "no_business_hours",
            "a target in business hours needs business hours: PUT /v1/settings/business-hours first",
        ));
    }
    Ok(())
}

/// Writes the order: `ids` at positions 0, 1, ….
async fn renumber(tx: &TenantTx, ids: &[Uuid]) -> Result<(), Error> {
    for (position, id) in ids.iter().enumerate() {
        sla_policy::Entity::update_many()
            .col_expr(sla_policy::Column::Position, sea_orm::sea_query::Expr::value(position as i32))
            .filter(sla_policy::Column::TenantId.eq(tx.tenant().0))
            .filter(sla_policy::Column::Id.eq(*id))
            .exec(&**tx)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

fn unique_name(policies: &[Policy], name: &str, except: Option<Uuid>) -> Result<(), Error> {
    if policies.iter().any(|p| p.name == name && Some(p.id) != except) {
        return Err(Error::conflict("policy_exists", format!("a policy is already named `{name}`")));
    }
    Ok(())
}

/// Adds a policy (admins).
pub async fn create(tx: &TenantTx, by: &Principal, input: PolicyIn) -> Result<Policy, Error> {
    by.require_admin()?;
    let name = values::single_line("name", input.name.as_deref().unwrap_or_default(), 1, 80)?;
    let conditions = checked_conditions(input.conditions.unwrap_or_default())?;
    let targets = checked_targets(input.targets.unwrap_or_default())?;
    let warning_minutes = checked_warning(input.warning_minutes.unwrap_or(DEFAULT_WARNING_MINUTES))?;
    require_hours(tx, &targets).await?;
    // One change of the order at a time per tenant.
    copilot_store::locks::in_tenant(tx, "sla_policies").await?;
    let policies = list(tx).await?;
    if policies.len() >= MAX_POLICIES {
        return Err(Error::conflict("too_many_policies", format!("at most {MAX_POLICIES} policies")));
    }
    unique_name(&policies, &name, None)?;
    let now = copilot_core::now();
    let row = sla_policy::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tx.tenant().0),
        name: Set(name.clone()),
        position: Set(policies.len() as i32),
        conditions: Set(json!(conditions)),
        targets: Set(json!(targets)),
        pause_when_pending: Set(input.pause_when_pending.unwrap_or(true)),
        warning_minutes: Set(warning_minutes),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&**tx)
    .await
    .map_err(db_err)?;
    let mut order: Vec<Uuid> = policies.iter().map(|p| p.id).collect();
    order.insert(input.position.unwrap_or(order.len()).min(order.len()), row.id);
    renumber(tx, &order).await?;
    audit::record(
        tx,
        by.actor,
        "sla_policy.created",
        audit::Target::new("sla_policy", row.id).labelled(&name),
        json!({}),
    )
    .await?;
    let id = row.id;
    read(find(tx, id).await?).ok_or_else(|| Error::internal("a policy just written does not read"))
}

/// Changes a policy (admins): what is given replaces what it had.
pub async fn update(tx: &TenantTx, by: &Principal, id: Uuid, patch: PolicyIn) -> Result<Policy, Error> {
    by.require_admin()?;
    copilot_store::locks::in_tenant(tx, "sla_policies").await?;
    let row = find(tx, id).await?;
    let policies = list(tx).await?;
    let mut change: sla_policy::ActiveModel = row.clone().into();
    if let Some(name) = &patch.name {
        let name = values::single_line("name", name, 1, 80)?;
        unique_name(&policies, &name, Some(id))?;
        change.name = Set(name);
    }
    if let Some(conditions) = patch.conditions {
        change.conditions = Set(json!(checked_conditions(conditions)?));
    }
    if let Some(targets) = patch.targets {
        let targets = checked_targets(targets)?;
        require_hours(tx, &targets).await?;
        change.targets = Set(json!(targets));
    }
    if let Some(pause) = patch.pause_when_pending {
        change.pause_when_pending = Set(pause);
    }
    if let Some(minutes) = patch.warning_minutes {
        change.warning_minutes = Set(checked_warning(minutes)?);
    }
    change.updated_at = Set(copilot_core::now());
    change.update(&**tx).await.map_err(db_err)?;
    if let Some(position) = patch.position {
        let mut order: Vec<Uuid> = policies.iter().map(|p| p.id).filter(|p| *p != id).collect();
        order.insert(position.min(order.len()), id);
        renumber(tx, &order).await?;
    }
    audit::record(
        tx,
        by.actor,
        "sla_policy.updated",
        audit::Target::new("sla_policy", id).labelled(&row.name),
        json!({}),
    )
    .await?;
    read(find(tx, id).await?).ok_or_else(|| Error::internal("a policy just written does not read"))
}

/// Removes a policy (admins); the others close up.
pub async fn delete(tx: &TenantTx, by: &Principal, id: Uuid) -> Result<(), Error> {
    by.require_admin()?;
    copilot_store::locks::in_tenant(tx, "sla_policies").await?;
    let row = find(tx, id).await?;
    sla_policy::Entity::delete_many()
        .filter(sla_policy::Column::TenantId.eq(tx.tenant().0))
        .filter(sla_policy::Column::Id.eq(id))
        .exec(&**tx)
        .await
        .map_err(db_err)?;
    let order: Vec<Uuid> = list(tx).await?.into_iter().map(|p| p.id).collect();
    renumber(tx, &order).await?;
    audit::record(
        tx,
        by.actor,
        "sla_policy.deleted",
        audit::Target::new("sla_policy", id).labelled(&row.name),
        json!({}),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(name: &str, conditions: Conditions) -> Policy {
        Policy {
            id: Uuid::now_v7(),
            name: name.into(),
            position: 0,
            conditions,
            targets: vec![Target { kind: TargetKind::FirstReply, minutes: 60, business_hours: false }],
            pause_when_pending: true,
            warning_minutes: 15,
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn the_first_policy_whose_conditions_hold_wins() {
        let vip = Conditions {
            tag: vec!["vip".into()],
            priority: vec!["urgent".into(), "high".into()],
            ..Default::default()
        };
        let acme = Conditions { customer_domain: vec!["acme.com".into()], ..Default::default() };
        let policies = [policy("VIP", vip), policy("Acme", acme), policy("Everyone", Conditions::default())];
        fn facts<'a>(priority: &'a str, tags: &'a [String], customer_email: &'a str) -> Facts<'a> {
            Facts { priority, channel: "email", intent: Some("refund_request"), tags, customer_email }
        }
        let static_tags = &["vip".to_owned()];
        assert_eq!(
            first_match(&policies, &facts("urgent", static_tags, "a@acme.com")).map(|p| p.name.as_str()),
            Some("VIP")
        );
        assert_eq!(
            first_match(&policies, &facts("normal", static_tags, "a@ACME.com")).map(|p| p.name.as_str()),
            Some("Acme")
        );
        assert_eq!(first_match(&policies, &facts("urgent", &[], "a@b.org")).map(|p| p.name.as_str()), Some("Everyone"));
        assert!(first_match(&policies[..2], &facts("low", &[], "a@b.org")).is_none());
    }

    #[test]
    fn bad_policies_are_refused() {
        assert!(checked_targets(vec![]).is_err());
        let target = |kind, minutes| Target { kind, minutes, business_hours: false };
        assert!(checked_targets(vec![target(TargetKind::FirstReply, 0)]).is_err());
        assert!(checked_targets(vec![target(TargetKind::FirstReply, 5), target(TargetKind::FirstReply, 9)]).is_err());
        assert!(checked_targets(vec![target(TargetKind::Resolution, MAX_TARGET_MINUTES + 1)]).is_err());
        assert!(checked_warning(-1).is_err() && checked_warning(MAX_WARNING_MINUTES + 1).is_err());
        for conditions in [
            Conditions { priority: vec!["asap".into()], ..Default::default() },
            Conditions { channel: vec!["fax".into()], ..Default::default() },
            Conditions { customer_domain: vec!["not a domain".into()], ..Default::default() },
            Conditions { intent: vec!["x".repeat(101)], ..Default::default() },
        ] {
            assert!(checked_conditions(conditions).is_err());
        }
        let domain = checked_conditions(Conditions { customer_domain: vec!["@Acme.COM".into()], ..Default::default() });
        assert_eq!(domain.expect("valid").customer_domain, ["acme.com"]);
    }
}
