//! Tests of the chat command grammar.
use super::*;
use IncCommand as I;
use IncidentType::*;
use PageTarget::{Named, Team, User};
use Role::*;
use Severity::*;
use Status::*;

/// Every command form with the value it parses to (laid out by hand, as a table).
#[test]
#[rustfmt::skip]
fn every_command_form_parses() {
    let s = |text: &str| text.to_string();
    let inc = Command::Inc;
    let dec = |severity, service: Option<&str>, kind, title: &str| {
        inc(I::Declare { severity, service: service.map(s), kind, title: s(title) })
    };
    let role = |role, user: &str| inc(I::Role { role, user: s(user) });
    let act = |text: &str, owner: Option<&str>| {
        inc(I::Action { text: s(text), owner: owner.map(s) })
    };
    let page = |target| inc(I::Page { target });
    let topic = |t: Option<&str>| inc(I::Help { topic: t.map(s) });
    let oncall = Command::Oncall;
    let show = |sch: Option<&str>| oncall(OncallCommand::Show { schedule: sch.map(s) });
    let mins = |m: u64| Duration::from_secs(m * 60);
    let over = |user: &str, m| {
        oncall(OncallCommand::Override { user: s(user), duration: mins(m) })
    };
    let change = Command::Change;
    let freeze = |scope, m, reason: &str| {
        change(ChangeCommand::Freeze { scope, duration: mins(m), reason: s(reason) })
    };
    let st = |status| inc(I::Status(status));
    let tl = |limit| inc(I::Timeline { limit });
    let cases = [
        ("/inc declare Checkout is down", dec(None, None, None, "Checkout is down")),
        ("/inc declare P1 service:db type:outage Down",
            dec(Some(P1), Some("db"), Some(Outage), "Down")),
        ("  inc  Declare type:user-impact SERVICE:pay p2  Double   charged\nat 10:00 ",
            dec(Some(P2), Some("pay"), Some(UserImpact), "Double   charged\nat 10:00")),
        ("/INC DECLARE sev0 Down, service:db", dec(Some(P0), None, None, "Down, service:db")),
        ("/inc declare p2p mesh flaps", dec(None, None, None, "p2p mesh flaps")),
        ("/inc sev p2", inc(I::Sev(P2))), ("/inc severity P0", inc(I::Sev(P0))),
        ("/inc status mitigating", st(Mitigating)), ("/inc STATUS Resolved", st(Resolved)),
        ("/inc triage", st(Triaging)), ("/inc mitigate", st(Mitigating)),
        ("/inc resolve", st(Resolved)), ("/inc review", st(Reviewing)),
        ("/inc close", st(Closed)), ("/inc Cancel", st(Cancelled)),
        ("/inc reopen", inc(I::Reopen)), ("/inc roles", inc(I::Roles)),
        ("/inc ack", inc(I::Ack)),
        ("/inc remind off", inc(I::Remind { on: false })),
        ("/inc Remind ON", inc(I::Remind { on: true })),
        ("/inc changes", inc(I::Changes)), ("/inc postmortem", inc(I::Postmortem)),
        ("/inc role commander @alice", role(Commander, "alice")),
        ("/inc role tech-lead <@U123ABC>", role(TechLead, "U123ABC")),
        ("/inc role comms <@U123ABC|alice>", role(Comms, "U123ABC")),
        ("/inc role scribe <@!123456>", role(Scribe, "123456")),
        ("/inc role IC <@123456>", role(Commander, "123456")),
        ("/inc role commander bob", role(Commander, "bob")),
        ("/inc role @bob Commander", role(Commander, "bob")),
        ("/inc update  Rolled back.\n\nOK  now ", inc(I::Update(s("Rolled back.\n\nOK  now")))),
        ("/inc update --public We are on it", inc(I::PublicUpdate(s("We are on it")))),
        ("/inc update --publicity stunt", inc(I::Update(s("--publicity stunt")))),
        ("/inc note\nsaw <@U1> graphs", inc(I::Note(s("saw <@U1> graphs")))),
        ("/inc impact 5% of EU checkouts fail", inc(I::Impact(s("5% of EU checkouts fail")))),
        ("/inc action Add queue alert @bob", act("Add queue alert", Some("bob"))),
        ("/inc action Fix retries  <@U1|bob>", act("Fix retries", Some("U1"))),
        ("/inc action Ask @bob about it", act("Ask @bob about it", None)),
        ("/inc rollback chg-42", inc(I::Rollback { change: s("chg-42") })),
        ("/inc changes Confirm chg-42", inc(I::ConfirmChange { change: s("chg-42") })),
        ("/inc page @alice", page(User(s("alice")))), ("/inc page <@!42>", page(User(s("42")))),
        ("/inc page team:payments", page(Team(s("payments")))),
        ("/inc page Service:checkout", page(PageTarget::Service(s("checkout")))),
        ("/inc page payments", page(Named(s("payments")))),
        ("/inc timeline", tl(None)), ("/inc timeline 25", tl(Some(25))),
        ("/inc timeline 200", tl(Some(200))),
        ("/inc", topic(None)), ("/inc help", topic(None)),
        ("/inc help declare", topic(Some("inc declare"))),
        ("/inc help oncall", topic(Some("oncall"))),
        ("/inc help /change Freeze", topic(Some("change freeze"))),
        ("/inc help resolve", topic(Some("inc status"))),
        ("/oncall", show(None)), ("/oncall show db", show(Some("db"))),
        ("oncall Platform  Primary", show(Some("Platform  Primary"))),
        ("/oncall override @bob 2h", over("bob", 120)),
        ("/oncall override carol 1d", over("carol", 1440)),
        ("/oncall OVERRIDE <@U1|bob> 1h30m", over("U1", 90)),
        ("/oncall override <@123> 1h 30m", over("123", 90)),
        ("/change gate checkout", change(ChangeCommand::Gate { service: s("checkout") })),
        ("change approve chg-7", change(ChangeCommand::Approve { id: s("chg-7") })),
        ("/change unfreeze 3", change(ChangeCommand::Unfreeze { target: s("3") })),
        ("/change UNFREEZE all", change(ChangeCommand::Unfreeze { target: s("all") })),
        ("/CHANGE FREEZE ALL 2h Big\n sale", freeze(FreezeScope::All, 120, "Big\n sale")),
        ("/change freeze db 30m migrate", freeze(FreezeScope::Service(s("db")), 30, "migrate")),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text), Ok(expected), "{text:?}");
    }
}

/// `input | message | usage key`; an empty key stands for the top-level usage.
const ERRORS: &str = "\
/deploy now | unknown command `/deploy`: expected `/inc`, `/oncall` or `/change` |
/oncal | unknown command `/oncal`: did you mean `/oncall`? |
/inc delcare Down | unknown `/inc` subcommand `delcare`: did you mean `declare`? | inc
/inc decl Down | unknown `/inc` subcommand `decl`: did you mean `declare`? | inc
/inc frobnicate | unknown `/inc` subcommand `frobnicate` | inc
/change gat x | unknown `/change` subcommand `gat`: did you mean `gate`? | change
/change | missing subcommand: `/change` needs one of gate, freeze, unfreeze, approve | change
/inc declare | missing title | inc declare
/inc declare P9 Down | unknown severity `P9`: expected one of P0, P1, P2, P3 | inc declare
/inc declare type:fire Down | unknown incident type `fire`: expected one of outage, degradation, security, user-impact | inc declare
/inc declare service: Down | missing service name after `service:` | inc declare
/inc declare P1 P2 Down | severity given twice | inc declare
/inc declare service:a service:b Down | service given twice | inc declare
/inc declare type:outage type:security Down | type given twice | inc declare
/inc sev | missing severity: expected one of P0, P1, P2, P3 | inc sev
/inc sev P9 | unknown severity `P9`: expected one of P0, P1, P2, P3 | inc sev
/inc sev P1 now | unexpected extra argument `now` for `/inc sev` | inc sev
/inc status | missing status | inc status
/inc status done | unknown status `done`: expected one of detected, declared, triaging, mitigating, resolved, reviewing, closed, cancelled | inc status
/inc resolve now please | unexpected extra argument `now please` for `/inc resolve` | inc status
/inc reopen it | unexpected extra argument `it` for `/inc reopen` | inc reopen
/inc role | `/inc role` needs a role and a user | inc role
/inc role boss @bob | unknown role `boss`: expected one of commander, tech-lead, comms, scribe | inc role
/inc role @bob boss | unknown role `boss`: expected one of commander, tech-lead, comms, scribe | inc role
/inc role commander <@&123> | invalid user mention `<@&123>` | inc role
/inc role commander @bob @carol | unexpected extra argument `@carol` for `/inc role` | inc role
/inc roles all | unexpected extra argument `all` for `/inc roles` | inc roles
/inc ack x | unexpected extra argument `x` for `/inc ack` | inc ack
/inc remind | missing `off` or `on` | inc remind
/inc remind later | `later` is neither `off` nor `on` | inc remind
/inc remind off now | unexpected extra argument `now` for `/inc remind` | inc remind
/inc update | missing update text | inc update
/inc note | missing note text | inc note
/inc impact | missing impact text | inc impact
/inc action | missing action text | inc action
/inc action @bob | missing action text | inc action
/inc changes all | unexpected extra argument `all` for `/inc changes` | inc changes
/inc changes confirm | missing change id | inc changes
/inc changes confirm a b | unexpected extra argument `b` for `/inc changes` | inc changes
/inc rollback | missing change id | inc rollback
/inc rollback a b | unexpected extra argument `b` for `/inc rollback` | inc rollback
/inc page | missing page target | inc page
/inc page team: | missing team name after `team:` | inc page
/inc page @ | invalid user mention `@` | inc page
/inc page a b | unexpected extra argument `b` for `/inc page` | inc page
/inc timeline 0 | timeline length `0` is out of range: expected a number from 1 to 200 | inc timeline
/inc timeline 99999999999999999999999 | timeline length `99999999999999999999999` is out of range: expected a number from 1 to 200 | inc timeline
/inc timeline ten | invalid timeline length `ten`: expected a number from 1 to 200 | inc timeline
/inc timeline 5 6 | unexpected extra argument `6` for `/inc timeline` | inc timeline
/inc help frob | unknown help topic `frob` | inc help
/oncall override | `/oncall override` needs a user and a duration | oncall override
/oncall override @bob | `/oncall override` needs a user and a duration | oncall override
/oncall override @bob soon | invalid duration `soon`: expected e.g. 30m, 2h, 1h30m, 1d | oncall override
/oncall override @bob 0m | duration `0m` must be longer than zero | oncall override
/oncall override <@> 2h | invalid user mention `<@>` | oncall override
/change gate | missing service | change gate
/change gate a b | unexpected extra argument `b` for `/change gate` | change gate
/change approve | missing change id | change approve
/change unfreeze | missing freeze id, service or `all` | change unfreeze
/change unfreeze db now | unexpected extra argument `now` for `/change unfreeze` | change unfreeze
/change freeze | `/change freeze` needs a service or `all`, a duration and a reason | change freeze
/change freeze all | missing duration | change freeze
/change freeze all 2h | missing reason | change freeze
/change freeze all forever Because | invalid duration `forever`: expected e.g. 30m, 2h, 1h30m, 1d | change freeze
/change freeze all 0s Because | duration `0s` must be longer than zero | change freeze";

#[test]
fn every_error_names_the_problem_and_carries_the_usage() {
    let long = format!("/inc declare {} | ", "a".repeat(201));
    let long = long + "title is 201 characters long; at most 200 are allowed | inc declare";
    for line in ERRORS.lines().chain(["| empty command |", &long]) {
        let case: Vec<&str> = line.splitn(3, '|').map(str::trim).collect();
        let [text, message, key] = case[..] else {
            panic!("bad case {line}")
        };
        let expected = (message, usage(key).unwrap_or(TOP_USAGE));
        let err = parse(text).expect_err(text);
        let got = (err.message.as_str(), err.usage.as_str());
        assert_eq!(got, expected, "{text:?}");
    }
    assert_eq!(parse(" \t\n ").unwrap_err().message, "empty command");
    let err = parse("/inc declare").unwrap_err().to_string();
    assert_eq!(err, format!("missing title\nUsage: {}", ENTRIES[0].1));
}

#[test]
fn usage_and_help_cover_every_command() {
    let help = help_text();
    assert_eq!(ENTRIES.len(), 24);
    for (key, line, about) in ENTRIES.iter() {
        assert!(!about.is_empty() && help.contains(line), "{key}");
        assert_eq!(usage(key), Some(*line));
    }
    assert_eq!(usage(" Declare "), Some(ENTRIES[0].1));
    assert_eq!(usage("/change FREEZE"), usage("change freeze"));
    assert_eq!(usage("resolve"), usage("inc status"));
    let oncall = "/oncall [schedule]\n/oncall override @user <duration>";
    assert_eq!(usage("oncall"), Some(oncall));
    assert_eq!(usage("inc").map(|u| u.lines().count()), Some(18));
    assert_eq!(usage("nope").or(usage("")).or(usage("inc sev now")), None);
    assert!(help.starts_with("Incident:\n  /inc declare"), "{help}");
    assert!(help.ends_with("P3 minor, no user impact"), "{help}");
    assert_eq!(words("inc").len(), 24);
    assert_eq!(distance("kitten", "sitting"), 3);
}
