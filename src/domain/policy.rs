//! Permissions: which roles may do which action, decided against an [`Actor`] — never a typed name.
//!
//! Roles are granted in the configuration (`roles.<role> = [person | "team:ID"]`); the policy names
//! the roles each action needs (`policy.<action> = [role]`), with defaults that need no policy written.
//! Holding a role implies the roles below it: `admin` holds every role; `commander` holds `responder`;
//! `responder` and `approver` hold `viewer`. While `roles.responder` is empty every known actor (a person,
//! a token owner or a service account, never a guest) is a responder, and guests do the ordinary
//! (unguarded) things too. The person holding an incident's `commander` role is a commander for that
//! incident — unless a guest holds it: guests never do a guarded thing.

use super::actor::{Actor, ActorKind};
use super::{Role, Severity, Status};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// A permission role granted in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessRole {
    /// Reads only.
    Viewer,
    /// Works the incident: notes, updates, ordinary status moves.
    Responder,
    /// Runs incidents: close, cancel, reopen, major severities, rollbacks, causes.
    Commander,
    /// Approves changes.
    Approver,
    /// May do everything.
    Admin,
    /// An unknown platform user (only in policy lists: `policy.respond = ["responder", "guest"]`).
    Guest,
}

impl AccessRole {
    /// The roles `roles.<role>` may grant.
    pub const GRANTABLE: [AccessRole; 5] = [
        AccessRole::Viewer,
        AccessRole::Responder,
        AccessRole::Commander,
        AccessRole::Approver,
        AccessRole::Admin,
    ];

    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessRole::Viewer => "viewer",
            AccessRole::Responder => "responder",
            AccessRole::Commander => "commander",
            AccessRole::Approver => "approver",
            AccessRole::Admin => "admin",
            AccessRole::Guest => "guest",
        }
    }

    /// How a refusal names it ("the commander", "an admin").
    fn phrase(self) -> &'static str {
        match self {
            AccessRole::Viewer => "a viewer",
            AccessRole::Responder => "a responder",
            AccessRole::Commander => "the commander",
            AccessRole::Approver => "an approver",
            AccessRole::Admin => "an admin",
            AccessRole::Guest => "a guest",
        }
    }
}

impl fmt::Display for AccessRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccessRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let all = AccessRole::GRANTABLE
            .iter()
            .chain([AccessRole::Guest].iter());
        all.copied()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown role `{s}`; roles are viewer, responder, commander, approver, admin (and guest in policies)")
            })
    }
}

/// Something an actor may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Declare a P2/P3 incident.
    Declare,
    /// Declare a P0/P1 incident.
    DeclareMajor,
    /// Change the severity to or from P0/P1.
    SetSeverity,
    /// Change the severity between P2 and P3.
    SetSeverityMinor,
    /// Assign a role (or take a free one).
    AssignRole,
    /// Take, hand over or clear the commander role while somebody else holds it (or as a guest).
    ReassignCommander,
    /// Ordinary lifecycle moves (triaging, mitigating, reviewing).
    Status,
    /// Resolve an incident.
    Resolve,
    /// Close an incident.
    Close,
    /// Cancel an incident (false alarm).
    Cancel,
    /// Re-open a resolved incident.
    Reopen,
    /// Acknowledge an incident.
    Acknowledge,
    /// Notes, status updates, impact statements, action items.
    Respond,
    /// Approve a change (also: record or move a change as `approved`).
    ApproveChange,
    /// Move a change through its lifecycle by hand.
    ChangeStatus,
    /// Open a closed change gate.
    OverrideGate,
    /// Declare a change freeze.
    Freeze,
    /// Lift a change freeze.
    Unfreeze,
    /// Run a rollback hook.
    Rollback,
    /// Confirm a change as an incident's cause.
    ConfirmCause,
}

impl Action {
    /// Every action, in the order the README lists them.
    pub const ALL: [Action; 20] = [
        Action::Declare,
        Action::DeclareMajor,
        Action::SetSeverity,
        Action::SetSeverityMinor,
        Action::AssignRole,
        Action::ReassignCommander,
        Action::Status,
        Action::Resolve,
        Action::Close,
        Action::Cancel,
        Action::Reopen,
        Action::Acknowledge,
        Action::Respond,
        Action::ApproveChange,
        Action::ChangeStatus,
        Action::OverrideGate,
        Action::Freeze,
        Action::Unfreeze,
        Action::Rollback,
        Action::ConfirmCause,
    ];

    /// The policy key (`policy.close`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Declare => "declare",
            Action::DeclareMajor => "declare_major",
            Action::SetSeverity => "set_severity",
            Action::SetSeverityMinor => "set_severity_minor",
            Action::AssignRole => "assign_role",
            Action::ReassignCommander => "reassign_commander",
            Action::Status => "status",
            Action::Resolve => "resolve",
            Action::Close => "close",
            Action::Cancel => "cancel",
            Action::Reopen => "reopen",
            Action::Acknowledge => "acknowledge",
            Action::Respond => "respond",
            Action::ApproveChange => "approve_change",
            Action::ChangeStatus => "change_status",
            Action::OverrideGate => "override_gate",
            Action::Freeze => "freeze",
            Action::Unfreeze => "unfreeze",
            Action::Rollback => "rollback",
            Action::ConfirmCause => "confirm_cause",
        }
    }

    /// What doing it is called in a refusal ("closing an incident").
    fn gerund(self) -> &'static str {
        match self {
            Action::Declare => "declaring an incident",
            Action::DeclareMajor => "declaring a P0/P1 incident",
            Action::SetSeverity => "changing the severity to or from P0/P1",
            Action::SetSeverityMinor => "changing the severity",
            Action::AssignRole => "assigning roles",
            Action::ReassignCommander => "taking over the commander role",
            Action::Status => "changing the status",
            Action::Resolve => "resolving an incident",
            Action::Close => "closing an incident",
            Action::Cancel => "cancelling an incident",
            Action::Reopen => "re-opening an incident",
            Action::Acknowledge => "acknowledging an incident",
            Action::Respond => "adding to the timeline",
            Action::ApproveChange => "approving a change",
            Action::ChangeStatus => "moving a change",
            Action::OverrideGate => "overriding the change gate",
            Action::Freeze => "freezing changes",
            Action::Unfreeze => "lifting a freeze",
            Action::Rollback => "running a rollback",
            Action::ConfirmCause => "confirming a cause",
        }
    }

    /// The roles that may do it when `policy.<action>` is not written.
    pub fn default_roles(self) -> &'static [AccessRole] {
        use AccessRole::*;
        match self {
            // The ordinary actions: responders, and guests while `roles.responder` is not written.
            Action::Respond
            | Action::Declare
            | Action::SetSeverityMinor
            | Action::AssignRole
            | Action::Status
            | Action::Resolve
            | Action::Acknowledge => &[Responder, Guest],
            Action::ChangeStatus | Action::Freeze => &[Responder],
            Action::ApproveChange => &[Approver],
            Action::OverrideGate => &[Admin],
            Action::DeclareMajor
            | Action::SetSeverity
            | Action::ReassignCommander
            | Action::Close
            | Action::Cancel
            | Action::Reopen
            | Action::Unfreeze
            | Action::Rollback
            | Action::ConfirmCause => &[Commander, Admin],
        }
    }

    /// Whether it is guarded: allowed ones are written to the audit log too.
    pub fn is_guarded(self) -> bool {
        !matches!(
            self,
            Action::Respond
                | Action::Declare
                | Action::SetSeverityMinor
                | Action::AssignRole
                | Action::Status
                | Action::Resolve
                | Action::Acknowledge
        )
    }

    /// The action a severity change from `from` to `to` needs.
    pub fn for_severity(from: Severity, to: Severity) -> Action {
        let major = |s: Severity| matches!(s, Severity::P0 | Severity::P1);
        if major(from) || major(to) {
            Action::SetSeverity
        } else {
            Action::SetSeverityMinor
        }
    }

    /// The action moving an incident from `from` to `to` needs.
    pub fn for_transition(from: Status, to: Status) -> Action {
        match (from, to) {
            (_, Status::Closed) => Action::Close,
            (_, Status::Cancelled) => Action::Cancel,
            (Status::Resolved | Status::Reviewing, Status::Mitigating) => Action::Reopen,
            (_, Status::Resolved) => Action::Resolve,
            _ => Action::Status,
        }
    }

    /// The action giving `role` (held by `holder`) to somebody needs, asked by `who`: guests never
    /// take the commander role, and taking it from somebody else is a reassignment.
    pub fn for_role(role: Role, holder: Option<&str>, who: &Actor) -> Action {
        let taken = role == Role::Commander
            && (who.is_guest() || holder.is_some_and(|h| !h.eq_ignore_ascii_case(&who.id)));
        if taken {
            Action::ReassignCommander
        } else {
            Action::AssignRole
        }
    }

    /// The action declaring at `severity` needs.
    pub fn for_declare(severity: Severity) -> Action {
        if matches!(severity, Severity::P0 | Severity::P1) {
            Action::DeclareMajor
        } else {
            Action::Declare
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
                format!("unknown action `{s}`; actions are {}", names.join(", "))
            })
    }
}

/// The grants of a configuration, checked and compiled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// `roles.<role>`: person ids and `team:ID` entries.
    pub members: BTreeMap<AccessRole, Vec<String>>,
    /// `policy.<action>`: the roles it needs (absent = the default).
    pub actions: BTreeMap<Action, Vec<AccessRole>>,
    /// People granted one action by a legacy list (`changes.approvers`, `overriders`, `rollbackers`).
    pub people: BTreeMap<Action, Vec<String>>,
}

/// Who asks, as the decision sees them.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The actor.
    pub actor: &'a Actor,
    /// The teams the actor belongs to (`Directory::teams_of`).
    pub teams: &'a [String],
    /// The person holding the incident's `commander` role, if there is an incident and a holder.
    pub incident_commander: Option<&'a str>,
}

/// The answer: allowed or not, and why, in words a person understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the action may go ahead.
    pub allowed: bool,
    /// Why ("closing an incident needs the commander or an admin; alice is a responder").
    pub reason: String,
}

fn listed(list: &[String], actor: &Actor, teams: &[String]) -> bool {
    list.iter().any(|entry| {
        let entry = entry.trim().trim_start_matches('@');
        match entry.strip_prefix("team:") {
            Some(team) => teams.iter().any(|t| t.eq_ignore_ascii_case(team)),
            None => entry.eq_ignore_ascii_case(&actor.id),
        }
    })
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => "nobody".to_string(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

impl Policy {
    /// The roles `subject` holds, explicit grants first.
    pub fn roles_of(&self, subject: &Subject<'_>) -> BTreeSet<AccessRole> {
        let actor = subject.actor;
        let mut held = BTreeSet::new();
        if actor.kind == ActorKind::Guest {
            held.insert(AccessRole::Guest);
            return held;
        }
        for (role, list) in &self.members {
            if listed(list, actor, subject.teams) {
                held.insert(*role);
            }
        }
        let responders_listed = self
            .members
            .get(&AccessRole::Responder)
            .is_some_and(|l| !l.is_empty());
        if !responders_listed {
            held.insert(AccessRole::Responder);
        }
        if subject
            .incident_commander
            .is_some_and(|c| c.eq_ignore_ascii_case(&actor.id))
        {
            held.insert(AccessRole::Commander);
        }
        // Higher roles imply the lower ones.
        if held.contains(&AccessRole::Admin) {
            held.extend(AccessRole::GRANTABLE);
        }
        if held.contains(&AccessRole::Commander) {
            held.insert(AccessRole::Responder);
        }
        if held.contains(&AccessRole::Responder) || held.contains(&AccessRole::Approver) {
            held.insert(AccessRole::Viewer);
        }
        held
    }

    /// The roles `action` needs. A default names `guest` only while `roles.responder` is not written:
    /// once responders are listed, nobody else — no guest either — does the ordinary things.
    pub fn needs(&self, action: Action) -> Vec<AccessRole> {
        if let Some(written) = self.actions.get(&action) {
            return written.clone();
        }
        let responders_listed = self
            .members
            .get(&AccessRole::Responder)
            .is_some_and(|l| !l.is_empty());
        action
            .default_roles()
            .iter()
            .copied()
            .filter(|r| !(responders_listed && *r == AccessRole::Guest))
            .collect()
    }

    /// May `subject` do `action`?
    pub fn decide(&self, action: Action, subject: &Subject<'_>) -> Decision {
        let actor = subject.actor;
        if actor.kind == ActorKind::System {
            return Decision {
                allowed: true,
                reason: format!("{} is warroom itself", actor.id),
            };
        }
        let held = self.roles_of(subject);
        let needs = self.needs(action);
        if let Some(role) = needs.iter().find(|r| held.contains(r)) {
            return Decision {
                allowed: true,
                reason: format!("{} is {}", actor.id, role.phrase()),
            };
        }
        if actor.kind != ActorKind::Guest
            && let Some(list) = self.people.get(&action)
            && listed(list, actor, subject.teams)
        {
            return Decision {
                allowed: true,
                reason: format!("{} is granted {action} by name", actor.id),
            };
        }
        let commander = subject
            .incident_commander
            .map(|c| format!("the commander ({c})"));
        let mut who: Vec<&str> = needs
            .iter()
            .map(|r| match (r, &commander) {
                (AccessRole::Commander, Some(c)) => c.as_str(),
                _ => r.phrase(),
            })
            .collect();
        let by_name = self.people.get(&action).filter(|l| !l.is_empty());
        let names = by_name.map(|l| l.join(", "));
        if let Some(n) = &names {
            who.push(n);
        }
        let is = if actor.kind == ActorKind::Guest {
            "is a guest (not in the people directory)".to_string()
        } else {
            held.iter()
                .next_back()
                .map_or("holds no role".to_string(), |r| {
                    format!("is {}", r.phrase())
                })
        };
        let name = if actor.name != actor.id && !actor.name.is_empty() {
            format!("{} ({})", actor.id, actor.name)
        } else {
            actor.id.clone()
        };
        Decision {
            allowed: false,
            reason: format!("{} needs {}; {name} {is}", action.gerund(), join_or(&who)),
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
