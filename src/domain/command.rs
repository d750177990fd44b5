//! The chat command grammar: `/inc`, `/oncall` and `/change`, parsed the same on every platform.

use super::incident::{IncidentType, Status, TitleError, validate_title};
use super::role::Role;
use super::severity::Severity;
use std::fmt::{Display, Write as _};
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

/// Most timeline entries `/inc timeline N` may ask for.
pub const MAX_TIMELINE: usize = 200;

/// A parsed chat command: the one grammar on every platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/inc …`: act on the incident of the channel.
    Inc(IncCommand),
    /// `/oncall …`: who is on call.
    Oncall(OncallCommand),
    /// `/change …`: the change gate and freezes.
    Change(ChangeCommand),
}

/// An `/inc` subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncCommand {
    /// `/inc declare [P0-P3] [service:NAME] [type:TYPE] <title>`.
    Declare {
        /// The severity given, if any (the caller picks the default).
        severity: Option<Severity>,
        /// The service given with `service:`, if any.
        service: Option<String>,
        /// The type given with `type:`, if any.
        kind: Option<IncidentType>,
        /// The title: the rest of the line, trimmed.
        title: String,
    },
    /// `/inc sev <P0-P3>`.
    Sev(Severity),
    /// `/inc status <status>` and the shortcuts `/inc triage|mitigate|resolve|review|close|cancel`.
    Status(Status),
    /// `/inc reopen`.
    Reopen,
    /// `/inc role <role> @user`.
    Role {
        /// The role to give.
        role: Role,
        /// The user id or name, without `@` or brackets.
        user: String,
    },
    /// `/inc roles`.
    Roles,
    /// `/inc update <text>`: a broadcast status update.
    Update(String),
    /// `/inc update --public <text>`: a status update that also shows on the stakeholder status page.
    PublicUpdate(String),
    /// `/inc note <text>`.
    Note(String),
    /// `/inc impact <text>`.
    Impact(String),
    /// `/inc action <text> [@owner]`.
    Action {
        /// What is to be done.
        text: String,
        /// The owner, from a trailing mention.
        owner: Option<String>,
    },
    /// `/inc changes`.
    Changes,
    /// `/inc changes confirm <change-id>`: the commander names the cause.
    ConfirmChange {
        /// The id of the change confirmed as the cause.
        change: String,
    },
    /// `/inc rollback <change-id>`.
    Rollback {
        /// The id of the change to roll back.
        change: String,
    },
    /// `/inc page <target>`.
    Page {
        /// Whom to page.
        target: PageTarget,
    },
    /// `/inc ack`.
    Ack,
    /// `/inc remind off|on`: silence this incident's reminders, or turn them back on.
    Remind {
        /// On (`on`) or off (`off`).
        on: bool,
    },
    /// `/inc timeline [N]`.
    Timeline {
        /// How many entries, 1 to [`MAX_TIMELINE`]; `None` leaves the default to the caller.
        limit: Option<usize>,
    },
    /// `/inc postmortem`.
    Postmortem,
    /// `/inc help [command]` (and a bare `/inc`).
    Help {
        /// A topic for which [`usage`] answers, e.g. `inc declare`.
        topic: Option<String>,
    },
}

/// Whom `/inc page` pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageTarget {
    /// `@alice` or a platform mention: one person.
    User(String),
    /// `team:NAME`.
    Team(String),
    /// `service:NAME`: whoever is on call for it.
    Service(String),
    /// A bare name, resolved by the engine against teams, then services.
    Named(String),
}

/// An `/oncall` subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OncallCommand {
    /// `/oncall [schedule]`.
    Show {
        /// The schedule asked about, if any.
        schedule: Option<String>,
    },
    /// `/oncall override @user <duration>`.
    Override {
        /// Who takes the shift.
        user: String,
        /// For how long, from now.
        duration: Duration,
    },
}

/// A `/change` subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeCommand {
    /// `/change gate <service>`.
    Gate {
        /// The service a change is planned for.
        service: String,
    },
    /// `/change freeze <service|all> <duration> <reason>`.
    Freeze {
        /// What is frozen.
        scope: FreezeScope,
        /// For how long, from now.
        duration: Duration,
        /// Why.
        reason: String,
    },
    /// `/change approve <id>`.
    Approve {
        /// The id of the change to approve.
        id: String,
    },
    /// `/change unfreeze <id|service|all>`.
    Unfreeze {
        /// A freeze id (`3`, `#3`), a service, or `all` (every active freeze).
        target: String,
    },
}

/// What a change freeze covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FreezeScope {
    /// Every service.
    All,
    /// One service.
    Service(String),
}

/// A command that could not be parsed: what was wrong, plus the usage of the command meant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}\nUsage: {usage}")]
pub struct CommandError {
    /// What was wrong.
    pub message: String,
    /// The usage of the command that was meant (every line of the family when unclear).
    pub usage: String,
}

impl CommandError {
    fn new(message: impl Into<String>, usage: &str) -> CommandError {
        CommandError {
            message: message.into(),
            usage: usage.to_string(),
        }
    }
}

/// Every subcommand as `key | usage | description`, in help order; no usage contains ` | `.
const TABLE: &str = "\
inc declare | /inc declare [P0-P3] [service:NAME] [type:outage|degradation|security|user-impact] <title> | declare an incident
inc sev | /inc sev <P0-P3> | change the severity
inc status | /inc status <status> (or /inc triage|mitigate|resolve|review|close|cancel) | move the incident on
inc reopen | /inc reopen | reopen a resolved incident
inc role | /inc role <commander|tech-lead|comms|scribe> @user | give a role
inc roles | /inc roles | show who holds which role
inc update | /inc update [--public] <text> | post a status update (broadcast; --public also shows it on /status)
inc note | /inc note <text> | add a note to the timeline
inc impact | /inc impact <text> | state the impact
inc action | /inc action <text> [@owner] | record a follow-up action
inc changes | /inc changes [confirm <change-id>] | list the suspect changes, or confirm one as the cause
inc rollback | /inc rollback <change-id> | ask for a change to be rolled back
inc page | /inc page <@user|team:NAME|service:NAME|NAME> | page someone
inc ack | /inc ack | acknowledge a page
inc remind | /inc remind <off|on> | silence this incident's reminders (status-update nudges, no commander), or turn them back on
inc timeline | /inc timeline [N] | show the last N timeline entries (at most 200)
inc postmortem | /inc postmortem | draft the postmortem
inc help | /inc help [command] | show this help or one command's usage
oncall show | /oncall [schedule] | who is on call
oncall override | /oncall override @user <duration> | take over the shift for a while
change gate | /change gate <service> | may a change to this service ship now?
change freeze | /change freeze <service|all> <duration> <reason> | freeze changes
change unfreeze | /change unfreeze <id|service|all> | lift a freeze (all: every active freeze)
change approve | /change approve <id> | approve a gated change";

/// A subcommand: key (`inc declare`), usage line, description.
type Entry = (&'static str, &'static str, &'static str);

/// [`TABLE`], split once.
static ENTRIES: LazyLock<Vec<Entry>> = LazyLock::new(|| {
    let entry = |line: &'static str| {
        let mut parts = line.split(" | ").map(str::trim);
        let mut next = || parts.next().unwrap_or_default();
        (next(), next(), next())
    };
    TABLE.lines().map(entry).collect()
});

/// The usage shown when not even the command family is clear.
const TOP_USAGE: &str =
    "/inc <subcommand> | /oncall [schedule] | /change <subcommand> (see /inc help)";

/// Command families, in help order, with their help headings.
const FAMILIES: [(&str, &str); 3] = [
    ("inc", "Incident"),
    ("oncall", "On call"),
    ("change", "Changes"),
];

/// The `/inc` shortcuts for `/inc status`.
const SHORTCUTS: [&str; 6] = ["triage", "mitigate", "resolve", "review", "close", "cancel"];

/// The usage lines of each family, joined; built once.
static FAMILY_USAGE: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    let lines = |f: &str| entries(f).map(|e| e.1).collect::<Vec<_>>().join("\n");
    FAMILIES.iter().map(|(f, _)| (*f, lines(f))).collect()
});

fn entries(family: &str) -> impl Iterator<Item = &'static Entry> {
    ENTRIES
        .iter()
        .filter(move |e| e.0.split(' ').next() == Some(family))
}

fn family_usage(family: &str) -> &'static str {
    let found = FAMILY_USAGE.iter().find(|(f, _)| *f == family);
    found.map_or(TOP_USAGE, |(_, u)| u.as_str())
}

/// The `/inc` subcommands as (usage, description), in help order: the hints of a command box.
pub fn inc_hints() -> Vec<(&'static str, &'static str)> {
    entries("inc").map(|e| (e.1, e.2)).collect()
}

/// The usage line of one subcommand, e.g. usage("inc declare").
pub fn usage(topic: &str) -> Option<&'static str> {
    let key = topic_key(topic)?;
    let entry = ENTRIES.iter().find(|e| e.0 == key);
    Some(entry.map_or_else(|| family_usage(key), |e| e.1))
}

/// The key of a help topic: `declare`, `/inc declare`, `resolve`, `change freeze`, `oncall` …
fn topic_key(topic: &str) -> Option<&'static str> {
    let words = topic.split_whitespace().map(|w| w.trim_start_matches('/'));
    let words: Vec<String> = words.map(str::to_ascii_lowercase).collect();
    let family = |w: &str| FAMILIES.iter().map(|f| f.0).find(|f| *f == w);
    match words.as_slice() {
        [w] => family(w).or_else(|| FAMILIES.iter().find_map(|(f, _)| sub_key(f, w))),
        [f, w] => sub_key(family(f)?, w),
        _ => None,
    }
}

/// The key of subcommand `sub` (lowercase) of `family`, with the shortcuts folded in.
fn sub_key(family: &str, sub: &str) -> Option<&'static str> {
    let sub = match sub {
        s if family == "inc" && SHORTCUTS.contains(&s) => "status",
        "severity" if family == "inc" => "sev",
        other => other,
    };
    let mut keys = entries(family).map(|e| e.0);
    keys.find(|k| k.split_once(' ').map(|k| k.1) == Some(sub))
}

/// The subcommand words of `family`, for suggestions.
fn words(family: &str) -> Vec<&'static str> {
    let subs = entries(family).filter_map(|e| e.0.split_once(' ').map(|k| k.1));
    let shortcuts = SHORTCUTS.iter().filter(|_| family == "inc");
    subs.chain(shortcuts.copied()).collect()
}

/// The full help text listing every command (what `/inc help` answers).
pub fn help_text() -> String {
    let mut out = String::new();
    for (family, heading) in FAMILIES {
        let _ = writeln!(out, "{heading}:");
        for (_, line, about) in entries(family) {
            let _ = writeln!(out, "  {line} — {about}");
        }
    }
    let sevs = Severity::ALL.map(|s| format!("{s} {}", s.meaning()));
    let _ = write!(out, "Severities: {}", sevs.join(" · "));
    out
}

/// Parses one chat command, with or without the leading slash.
pub fn parse(text: &str) -> Result<Command, CommandError> {
    let Some((word, rest)) = next_word(text) else {
        return Err(CommandError::new("empty command", TOP_USAGE));
    };
    let rest = rest.trim_end();
    let family = word.strip_prefix('/').unwrap_or(word).to_ascii_lowercase();
    match family.as_str() {
        "inc" => parse_inc(rest).map(Command::Inc),
        "oncall" => parse_oncall(rest).map(Command::Oncall),
        "change" => parse_change(rest).map(Command::Change),
        other => {
            let hint = match suggest(other, &["inc", "oncall", "change"]) {
                Some(s) => format!("did you mean `/{s}`?"),
                None => "expected `/inc`, `/oncall` or `/change`".into(),
            };
            let message = format!("unknown command `{word}`: {hint}");
            Err(CommandError::new(message, TOP_USAGE))
        }
    }
}

/// The subcommand being parsed: its name (lowercase), how messages call it, its usage key.
struct Ctx {
    sub: String,
    name: String,
    key: &'static str,
}

impl Ctx {
    fn new(family: &str, sub: &str, key: &'static str) -> Ctx {
        let name = format!("/{family} {sub}");
        let sub = sub.to_string();
        Ctx { sub, name, key }
    }

    fn fail(&self, message: impl Into<String>) -> CommandError {
        CommandError::new(message, usage(self.key).unwrap_or(TOP_USAGE))
    }

    /// `s` parsed with `FromStr`, its error as the message.
    fn parse<T: FromStr<Err: Display>>(&self, s: &str) -> Result<T, CommandError> {
        s.parse().map_err(|e: T::Err| self.fail(e.to_string()))
    }

    /// Refuses anything left over.
    fn done(&self, extra: &str) -> Result<(), CommandError> {
        if extra.is_empty() {
            return Ok(());
        }
        let name = &self.name;
        Err(self.fail(format!("unexpected extra argument `{extra}` for `{name}`")))
    }

    /// Exactly one word, called `what` in the message when missing.
    fn one<'a>(&self, args: &'a str, what: &str) -> Result<&'a str, CommandError> {
        let (word, extra) = next_word(args).ok_or_else(|| self.fail(format!("missing {what}")))?;
        self.done(extra)?;
        Ok(word)
    }

    /// The rest of the line as text, called `what` in the message when missing.
    fn text(&self, args: &str, what: &str) -> Result<String, CommandError> {
        if args.is_empty() {
            return Err(self.fail(format!("missing {what}")));
        }
        Ok(args.to_string())
    }

    /// A mention, or a plain name; a broken mention is refused.
    fn user(&self, token: &str) -> Result<String, CommandError> {
        match mention(token) {
            Some(user) => Ok(user),
            None if token.starts_with(['@', '<']) => {
                Err(self.fail(format!("invalid user mention `{token}`")))
            }
            None => Ok(token.to_string()),
        }
    }

    /// A humantime duration longer than zero.
    fn duration(&self, text: &str) -> Result<Duration, CommandError> {
        let message = match humantime::parse_duration(text) {
            Ok(d) if !d.is_zero() => return Ok(d),
            Ok(_) => format!("duration `{text}` must be longer than zero"),
            Err(_) => format!("invalid duration `{text}`: expected e.g. 30m, 2h, 1h30m, 1d"),
        };
        Err(self.fail(message))
    }
}

/// Resolves the subcommand `sub` of `family`, or explains that it is unknown.
fn subcommand(family: &str, sub: &str) -> Result<Ctx, CommandError> {
    let lower = sub.to_ascii_lowercase();
    if let Some(key) = sub_key(family, &lower) {
        return Ok(Ctx::new(family, &lower, key));
    }
    let mut message = format!("unknown `/{family}` subcommand `{sub}`");
    if let Some(s) = suggest(&lower, &words(family)) {
        let _ = write!(message, ": did you mean `{s}`?");
    }
    Err(CommandError::new(message, family_usage(family)))
}

fn parse_inc(rest: &str) -> Result<IncCommand, CommandError> {
    let Some((sub, args)) = next_word(rest) else {
        return Ok(IncCommand::Help { topic: None });
    };
    let cx = subcommand("inc", sub)?;
    let none = |cmd: IncCommand| cx.done(args).map(|()| cmd);
    let word = |what: &str| cx.one(args, what).map(str::to_string);
    match cx.sub.as_str() {
        "declare" => declare(&cx, args),
        "sev" | "severity" => {
            let sev = cx.one(args, "severity: expected one of P0, P1, P2, P3")?;
            cx.parse(sev).map(IncCommand::Sev)
        }
        "status" => cx.parse(cx.one(args, "status")?).map(IncCommand::Status),
        "reopen" => none(IncCommand::Reopen),
        "role" => role(&cx, args),
        "roles" => none(IncCommand::Roles),
        "update" => match args.strip_prefix("--public") {
            Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => cx
                .text(rest.trim_start(), "update text")
                .map(IncCommand::PublicUpdate),
            _ => cx.text(args, "update text").map(IncCommand::Update),
        },
        "note" => cx.text(args, "note text").map(IncCommand::Note),
        "impact" => cx.text(args, "impact text").map(IncCommand::Impact),
        "action" => action(&cx, args),
        "changes" => changes(&cx, args),
        "rollback" => word("change id").map(|change| IncCommand::Rollback { change }),
        "page" => page(&cx, cx.one(args, "page target")?),
        "ack" => none(IncCommand::Ack),
        "remind" => match cx.one(args, "`off` or `on`")?.to_ascii_lowercase().as_str() {
            "off" => Ok(IncCommand::Remind { on: false }),
            "on" => Ok(IncCommand::Remind { on: true }),
            other => Err(cx.fail(format!("`{other}` is neither `off` nor `on`"))),
        },
        "timeline" => timeline(&cx, args),
        "postmortem" => none(IncCommand::Postmortem),
        "help" if args.is_empty() => Ok(IncCommand::Help { topic: None }),
        "help" => {
            let key =
                topic_key(args).ok_or_else(|| cx.fail(format!("unknown help topic `{args}`")))?;
            Ok(IncCommand::Help {
                topic: Some(key.to_string()),
            })
        }
        // The shortcuts: triage, mitigate, resolve, review, close, cancel.
        shortcut => {
            cx.done(args)?;
            cx.parse(shortcut).map(IncCommand::Status)
        }
    }
}

fn changes(cx: &Ctx, args: &str) -> Result<IncCommand, CommandError> {
    match next_word(args) {
        None => Ok(IncCommand::Changes),
        Some((w, rest)) if w.eq_ignore_ascii_case("confirm") => {
            let change = cx.one(rest, "change id")?.to_string();
            Ok(IncCommand::ConfirmChange { change })
        }
        Some(_) => cx.done(args).map(|()| IncCommand::Changes),
    }
}

fn declare(cx: &Ctx, args: &str) -> Result<IncCommand, CommandError> {
    let (mut severity, mut service, mut kind) = (None, None, None);
    let mut rest = args;
    while let Some((word, after)) = next_word(rest) {
        let twice = if let Some(name) = strip_prefix_ci(word, "service:") {
            if name.is_empty() {
                return Err(cx.fail("missing service name after `service:`"));
            }
            service.replace(name.to_string()).map(|_| "service")
        } else if let Some(value) = strip_prefix_ci(word, "type:") {
            kind.replace(cx.parse::<IncidentType>(value)?)
                .map(|_| "type")
        } else if looks_like_severity(word) {
            severity
                .replace(cx.parse::<Severity>(word)?)
                .map(|_| "severity")
        } else {
            break;
        };
        if let Some(option) = twice {
            return Err(cx.fail(format!("{option} given twice")));
        }
        rest = after;
    }
    let title = validate_title(rest).map_err(|e| match e {
        TitleError::Empty => cx.fail("missing title"),
        e => cx.fail(e.to_string()),
    })?;
    Ok(IncCommand::Declare {
        severity,
        service,
        kind,
        title,
    })
}

/// `P<digits>` or `SEV<digits>`, any case: meant as a severity even when out of range.
fn looks_like_severity(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    let digits = lower.strip_prefix("sev").or(lower.strip_prefix('p'));
    digits.is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

fn role(cx: &Ctx, args: &str) -> Result<IncCommand, CommandError> {
    let needs = || cx.fail("`/inc role` needs a role and a user");
    let (first, rest) = next_word(args).ok_or_else(needs)?;
    let (second, extra) = next_word(rest).ok_or_else(needs)?;
    cx.done(extra)?;
    // `/inc role @bob commander` is accepted too: a role is never a mention.
    let (role, user) = match mention(first) {
        Some(_) => (second, first),
        None => (first, second),
    };
    let (role, user) = (cx.parse(role)?, cx.user(user)?);
    Ok(IncCommand::Role { role, user })
}

fn action(cx: &Ctx, args: &str) -> Result<IncCommand, CommandError> {
    let (text, owner) = match args.rsplit_once(char::is_whitespace) {
        Some((before, last)) => match mention(last) {
            Some(owner) => (before.trim_end(), Some(owner)),
            None => (args, None),
        },
        None if mention(args).is_some() => ("", None),
        None => (args, None),
    };
    let text = cx.text(text, "action text")?;
    Ok(IncCommand::Action { text, owner })
}

fn page(cx: &Ctx, target: &str) -> Result<IncCommand, CommandError> {
    let named = |prefix: &str, what: &str| match strip_prefix_ci(target, prefix)? {
        "" => Some(Err(cx.fail(format!("missing {what} name after `{prefix}`")))),
        name => Some(Ok(name.to_string())),
    };
    let target = if target.starts_with(['@', '<']) {
        PageTarget::User(cx.user(target)?)
    } else if let Some(team) = named("team:", "team") {
        PageTarget::Team(team?)
    } else if let Some(service) = named("service:", "service") {
        PageTarget::Service(service?)
    } else {
        PageTarget::Named(target.to_string())
    };
    Ok(IncCommand::Page { target })
}

fn timeline(cx: &Ctx, args: &str) -> Result<IncCommand, CommandError> {
    let Some((n, extra)) = next_word(args) else {
        return Ok(IncCommand::Timeline { limit: None });
    };
    cx.done(extra)?;
    let expected = format!("expected a number from 1 to {MAX_TIMELINE}");
    if !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(cx.fail(format!("invalid timeline length `{n}`: {expected}")));
    }
    match n.parse::<usize>() {
        Ok(limit @ 1..=MAX_TIMELINE) => Ok(IncCommand::Timeline { limit: Some(limit) }),
        _ => Err(cx.fail(format!("timeline length `{n}` is out of range: {expected}"))),
    }
}

fn parse_oncall(rest: &str) -> Result<OncallCommand, CommandError> {
    let show = |s: &str| {
        let schedule = (!s.is_empty()).then(|| s.to_string());
        Ok(OncallCommand::Show { schedule })
    };
    let Some((sub, args)) = next_word(rest) else {
        return show("");
    };
    match sub.to_ascii_lowercase().as_str() {
        "show" => show(args),
        "override" => {
            let cx = Ctx::new("oncall", "override", "oncall override");
            let Some((user, duration)) = next_word(args).filter(|(_, d)| !d.is_empty()) else {
                return Err(cx.fail("`/oncall override` needs a user and a duration"));
            };
            let (user, duration) = (cx.user(user)?, cx.duration(duration)?);
            Ok(OncallCommand::Override { user, duration })
        }
        _ => show(rest),
    }
}

fn parse_change(rest: &str) -> Result<ChangeCommand, CommandError> {
    let Some((sub, args)) = next_word(rest) else {
        let message = "missing subcommand: `/change` needs one of gate, freeze, unfreeze, approve";
        return Err(CommandError::new(message, family_usage("change")));
    };
    let cx = subcommand("change", sub)?;
    let word = |what: &str| cx.one(args, what).map(str::to_string);
    match cx.sub.as_str() {
        "gate" => word("service").map(|service| ChangeCommand::Gate { service }),
        "approve" => word("change id").map(|id| ChangeCommand::Approve { id }),
        "unfreeze" => {
            word("freeze id, service or `all`").map(|target| ChangeCommand::Unfreeze { target })
        }
        _ => freeze(&cx, args),
    }
}

fn freeze(cx: &Ctx, args: &str) -> Result<ChangeCommand, CommandError> {
    let Some((scope, rest)) = next_word(args) else {
        return Err(cx.fail("`/change freeze` needs a service or `all`, a duration and a reason"));
    };
    let (duration, reason) = next_word(rest).ok_or_else(|| cx.fail("missing duration"))?;
    let duration = cx.duration(duration)?;
    let reason = cx.text(reason, "reason")?;
    let scope = match strip_prefix_ci(scope, "service:").unwrap_or(scope) {
        s if s.eq_ignore_ascii_case("all") => FreezeScope::All,
        s => FreezeScope::Service(s.to_string()),
    };
    Ok(ChangeCommand::Freeze {
        scope,
        duration,
        reason,
    })
}

/// The first word and the rest of the line with its leading white space removed.
fn next_word(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start();
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    (end > 0).then(|| (&s[..end], s[end..].trim_start()))
}

fn strip_prefix_ci<'a>(word: &'a str, prefix: &str) -> Option<&'a str> {
    let head = word.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &word[prefix.len()..])
}

/// The user of a mention: `@alice`, Slack `<@U1>` / `<@U1|alice>`, Discord `<@1>` / `<@!1>`.
fn mention(token: &str) -> Option<String> {
    let id = match token.strip_prefix("<@").and_then(|t| t.strip_suffix('>')) {
        Some(inner) => inner.trim_start_matches('!').split('|').next()?,
        None => token.strip_prefix('@')?,
    };
    let ok = |c: char| c.is_alphanumeric() || matches!(c, '.' | '_' | '-');
    (!id.is_empty() && id.chars().all(ok)).then(|| id.to_string())
}

/// The candidate closest to `word`, when it is an obvious typo (or a prefix) of one.
fn suggest(word: &str, candidates: &[&'static str]) -> Option<&'static str> {
    let limit = if word.chars().count() <= 4 { 1 } else { 2 };
    let scored = candidates.iter().map(|c| (distance(word, c), *c));
    let close = scored.filter(|(d, _)| *d <= limit).min_by_key(|(d, _)| *d);
    let prefix = || candidates.iter().find(|c| c.starts_with(word));
    close
        .map(|(_, c)| c)
        .or_else(|| prefix().filter(|_| word.len() >= 3).copied())
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let replace = prev[j] + usize::from(ca != *cb);
            cur.push(replace.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
