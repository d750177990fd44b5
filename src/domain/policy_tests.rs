use super::*;

fn person(id: &str) -> Actor {
    Actor::named(id, id, "web")
}

fn decide(policy: &Policy, action: Action, actor: &Actor, commander: Option<&str>) -> Decision {
    policy.decide(
        action,
        &Subject {
            actor,
            teams: &[],
            incident_commander: commander,
        },
    )
}

fn admins(ids: &[&str]) -> Policy {
    let mut p = Policy::default();
    p.members.insert(
        AccessRole::Admin,
        ids.iter().map(|s| s.to_string()).collect(),
    );
    p
}

#[test]
fn known_people_respond_and_do_the_ordinary_things_by_default() {
    let p = Policy::default();
    let alice = person("alice");
    for a in [
        Action::Respond,
        Action::Declare,
        Action::Status,
        Action::Resolve,
        Action::AssignRole,
        Action::Acknowledge,
        Action::SetSeverityMinor,
        Action::Freeze,
        Action::ChangeStatus,
    ] {
        assert!(decide(&p, a, &alice, None).allowed, "{a}");
    }
}

#[test]
fn guarded_actions_need_the_commander_or_an_admin_by_default() {
    let p = admins(&["root"]);
    let alice = person("alice");
    for a in [
        Action::DeclareMajor,
        Action::SetSeverity,
        Action::ReassignCommander,
        Action::Close,
        Action::Cancel,
        Action::Reopen,
        Action::Unfreeze,
        Action::Rollback,
        Action::ConfirmCause,
    ] {
        let d = decide(&p, a, &alice, Some("bob"));
        assert!(!d.allowed, "{a}");
        assert!(decide(&p, a, &alice, Some("alice")).allowed, "{a}");
        assert!(decide(&p, a, &person("root"), None).allowed, "{a}");
    }
    let d = decide(&p, Action::Close, &alice, None);
    assert_eq!(
        d.reason,
        "closing an incident needs the commander or an admin; alice is a responder"
    );
    let d = decide(&p, Action::Close, &alice, Some("bob"));
    assert_eq!(
        d.reason,
        "closing an incident needs the commander (bob) or an admin; alice is a responder"
    );
}

#[test]
fn approving_needs_an_approver_and_overriding_an_admin() {
    let mut p = admins(&["root"]);
    p.members
        .insert(AccessRole::Approver, vec!["erin".to_string()]);
    assert!(decide(&p, Action::ApproveChange, &person("erin"), None).allowed);
    assert!(decide(&p, Action::ApproveChange, &person("root"), None).allowed);
    let d = decide(&p, Action::ApproveChange, &person("alice"), Some("alice"));
    assert!(!d.allowed);
    assert!(
        d.reason.starts_with("approving a change needs an approver"),
        "{}",
        d.reason
    );
    assert!(!decide(&p, Action::OverrideGate, &person("alice"), Some("alice")).allowed);
    assert!(!decide(&p, Action::OverrideGate, &person("erin"), None).allowed);
    assert!(decide(&p, Action::OverrideGate, &person("root"), None).allowed);
}

#[test]
fn guests_respond_but_do_nothing_guarded() {
    let p = Policy::default();
    let guest = Actor::guest("slack", "U9", Some("mallory"));
    for a in [
        Action::Respond,
        Action::Declare,
        Action::Status,
        Action::Resolve,
        Action::AssignRole,
        Action::Acknowledge,
        Action::SetSeverityMinor,
    ] {
        assert!(decide(&p, a, &guest, None).allowed, "{a}");
    }
    // Nothing guarded, not even as the incident's commander.
    for a in Action::ALL.into_iter().filter(|a| a.is_guarded()) {
        let d = decide(&p, a, &guest, Some("slack:U9"));
        assert!(!d.allowed, "{a}");
    }
    let d = decide(&p, Action::Close, &guest, None);
    assert_eq!(
        d.reason,
        "closing an incident needs the commander or an admin; slack:U9 (mallory) is a guest (not in the people directory)"
    );
    // Once responders are listed, guests do nothing but what a policy names them for.
    let mut listed = Policy::default();
    listed
        .members
        .insert(AccessRole::Responder, vec!["team:oncall".to_string()]);
    assert!(!decide(&listed, Action::Declare, &guest, None).allowed);
    listed.actions.insert(
        Action::Respond,
        vec![AccessRole::Responder, AccessRole::Guest],
    );
    assert!(decide(&listed, Action::Respond, &guest, None).allowed);
    // A guest is never an admin, even if listed by its id.
    let p = admins(&["slack:U9"]);
    assert!(!decide(&p, Action::Close, &guest, None).allowed);
}

#[test]
fn warroom_itself_may_do_everything() {
    let p = Policy::default();
    for a in Action::ALL {
        assert!(decide(&p, a, &Actor::system(), None).allowed, "{a}");
    }
}

#[test]
fn teams_grant_roles() {
    let mut p = Policy::default();
    p.members
        .insert(AccessRole::Commander, vec!["team:sre".to_string()]);
    let alice = person("alice");
    let teams = vec!["sre".to_string()];
    let subject = Subject {
        actor: &alice,
        teams: &teams,
        incident_commander: None,
    };
    assert!(p.decide(Action::Close, &subject).allowed);
    assert!(p.decide(Action::DeclareMajor, &subject).allowed);
    assert!(!decide(&p, Action::Close, &person("bob"), None).allowed);
}

#[test]
fn a_written_responder_list_makes_everyone_else_a_viewer() {
    let mut p = Policy::default();
    p.members
        .insert(AccessRole::Responder, vec!["team:oncall".to_string()]);
    p.members
        .insert(AccessRole::Viewer, vec!["vic".to_string()]);
    let d = decide(&p, Action::Status, &person("vic"), None);
    assert!(!d.allowed);
    assert_eq!(
        d.reason,
        "changing the status needs a responder; vic is a viewer"
    );
    let d = decide(&p, Action::Respond, &person("zed"), None);
    assert_eq!(
        d.reason,
        "adding to the timeline needs a responder; zed holds no role"
    );
    // The incident's commander still responds.
    assert!(decide(&p, Action::Status, &person("vic"), Some("vic")).allowed);
}

#[test]
fn policies_replace_the_default_roles_and_legacy_lists_grant_by_name() {
    let mut p = admins(&["root"]);
    p.actions
        .insert(Action::Resolve, vec![AccessRole::Commander]);
    p.actions.insert(Action::Unfreeze, vec![]);
    p.people.insert(Action::Rollback, vec!["carol".to_string()]);
    assert!(!decide(&p, Action::Resolve, &person("alice"), None).allowed);
    assert!(decide(&p, Action::Resolve, &person("alice"), Some("alice")).allowed);
    let d = decide(&p, Action::Unfreeze, &person("root"), None);
    assert!(!d.allowed);
    assert!(
        d.reason.starts_with("lifting a freeze needs nobody"),
        "{}",
        d.reason
    );
    assert!(decide(&p, Action::Rollback, &person("carol"), None).allowed);
    let d = decide(&p, Action::Rollback, &person("dave"), None);
    assert_eq!(
        d.reason,
        "running a rollback needs the commander, an admin or carol; dave is a responder"
    );
}

#[test]
fn severity_and_declare_pick_the_major_action() {
    use Severity::*;
    assert_eq!(Action::for_severity(P2, P1), Action::SetSeverity);
    assert_eq!(Action::for_severity(P0, P3), Action::SetSeverity);
    assert_eq!(Action::for_severity(P3, P2), Action::SetSeverityMinor);
    assert_eq!(Action::for_declare(P0), Action::DeclareMajor);
    assert_eq!(Action::for_declare(P2), Action::Declare);
}

#[test]
fn names_parse_and_unknown_ones_are_named() {
    for a in Action::ALL {
        assert_eq!(a.as_str().parse::<Action>(), Ok(a));
    }
    assert!("delete".parse::<Action>().unwrap_err().contains("`delete`"));
    assert_eq!("Admin".parse::<AccessRole>(), Ok(AccessRole::Admin));
    assert!("owner".parse::<AccessRole>().is_err());
}
