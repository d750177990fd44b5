//! The application commands `/inc`, `/oncall` and `/change`: their definitions (registered with
//! `warroom discord register-commands`) and the turning of typed options back into the one grammar,
//! so that `domain::command::parse` yields the same `Command` as on every other platform.

use super::interaction::{CommandOption, INTEGER, STRING, SUB_COMMAND, USER};
use serde_json::{Value, json};

/// What an option holds and how it is written into the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Free text, written as is.
    Text,
    /// A whole number.
    Integer,
    /// A Discord user, written as `@<person id>` (or `@<snowflake>` for a guest).
    User,
    /// One of fixed choices.
    Choice(&'static [&'static str]),
    /// A service of the catalog (autocompleted).
    Service,
    /// An open incident's id (autocompleted); not written into the line, it names the incident.
    Incident,
}

/// One option of a subcommand.
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    /// The option's name.
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// Whether Discord insists on it.
    pub required: bool,
    /// Written before the value in the command line (`service:`).
    pub prefix: &'static str,
    /// Its description.
    pub about: &'static str,
}

/// One subcommand: its Discord name, the grammar words it stands for, and its options in line order.
#[derive(Debug, Clone, Copy)]
pub struct Sub {
    /// The subcommand's Discord name.
    pub name: &'static str,
    /// The grammar's words after the family (`changes confirm`); empty for the family alone.
    pub words: &'static str,
    /// Its description.
    pub about: &'static str,
    /// Its options.
    pub args: &'static [Arg],
}

const fn arg(name: &'static str, kind: Kind, required: bool, about: &'static str) -> Arg {
    Arg {
        name,
        kind,
        required,
        prefix: "",
        about,
    }
}

const SEVERITIES: &[&str] = &["P0", "P1", "P2", "P3"];
const TYPES: &[&str] = &["outage", "degradation", "security", "user-impact"];
const STATUSES: &[&str] = &[
    "triaging",
    "mitigating",
    "resolved",
    "reviewing",
    "closed",
    "cancelled",
];
const ROLES: &[&str] = &["commander", "tech-lead", "comms", "scribe"];
const INCIDENT: Arg = arg(
    "incident",
    Kind::Incident,
    false,
    "The incident (default: this war room's)",
);
const TEXT: Arg = arg("text", Kind::Text, true, "What to say");

/// `/inc`'s subcommands.
pub const INC: &[Sub] = &[
    Sub {
        name: "declare",
        words: "declare",
        about: "Declare an incident (no title: opens the declare form)",
        args: &[
            arg(
                "severity",
                Kind::Choice(SEVERITIES),
                false,
                "Severity (default P2)",
            ),
            Arg {
                prefix: "service:",
                ..arg("service", Kind::Service, false, "The affected service")
            },
            Arg {
                prefix: "type:",
                ..arg("type", Kind::Choice(TYPES), false, "Incident type")
            },
            arg("title", Kind::Text, false, "What is wrong"),
        ],
    },
    Sub {
        name: "sev",
        words: "sev",
        about: "Change the severity",
        args: &[
            arg(
                "severity",
                Kind::Choice(SEVERITIES),
                true,
                "The new severity",
            ),
            INCIDENT,
        ],
    },
    Sub {
        name: "status",
        words: "status",
        about: "Move the incident on",
        args: &[
            arg("status", Kind::Choice(STATUSES), true, "The new status"),
            INCIDENT,
        ],
    },
    Sub {
        name: "reopen",
        words: "reopen",
        about: "Reopen a resolved incident",
        args: &[INCIDENT],
    },
    Sub {
        name: "role",
        words: "role",
        about: "Give a role",
        args: &[
            arg("role", Kind::Choice(ROLES), true, "The role"),
            arg("user", Kind::User, true, "Who takes it"),
            INCIDENT,
        ],
    },
    Sub {
        name: "roles",
        words: "roles",
        about: "Show who holds which role",
        args: &[INCIDENT],
    },
    Sub {
        name: "update",
        words: "update",
        about: "Post a status update (broadcast)",
        args: &[TEXT, INCIDENT],
    },
    Sub {
        name: "note",
        words: "note",
        about: "Add a note to the timeline",
        args: &[TEXT, INCIDENT],
    },
    Sub {
        name: "impact",
        words: "impact",
        about: "State the impact",
        args: &[TEXT, INCIDENT],
    },
    Sub {
        name: "action",
        words: "action",
        about: "Record a follow-up action",
        args: &[
            TEXT,
            arg("owner", Kind::User, false, "Who owns it"),
            INCIDENT,
        ],
    },
    Sub {
        name: "changes",
        words: "changes",
        about: "List the suspect changes",
        args: &[INCIDENT],
    },
    Sub {
        name: "confirm",
        words: "changes confirm",
        about: "Confirm a change as the cause",
        args: &[arg("change", Kind::Text, true, "The change id"), INCIDENT],
    },
    Sub {
        name: "rollback",
        words: "rollback",
        about: "Ask for a change to be rolled back",
        args: &[arg("change", Kind::Text, true, "The change id"), INCIDENT],
    },
    Sub {
        name: "page",
        words: "page",
        about: "Page someone (a user, a team or a service's on-call)",
        args: &[
            arg("user", Kind::User, false, "The person to page"),
            Arg {
                prefix: "team:",
                ..arg("team", Kind::Text, false, "A team id")
            },
            Arg {
                prefix: "service:",
                ..arg("service", Kind::Service, false, "Whoever is on call for it")
            },
            INCIDENT,
        ],
    },
    Sub {
        name: "ack",
        words: "ack",
        about: "Acknowledge the incident or a page",
        args: &[INCIDENT],
    },
    Sub {
        name: "timeline",
        words: "timeline",
        about: "Show the last timeline entries",
        args: &[
            arg("n", Kind::Integer, false, "How many (at most 200)"),
            INCIDENT,
        ],
    },
    Sub {
        name: "postmortem",
        words: "postmortem",
        about: "Draft the postmortem",
        args: &[INCIDENT],
    },
    Sub {
        name: "help",
        words: "help",
        about: "Show the help or one command's usage",
        args: &[arg("command", Kind::Text, false, "A command, e.g. declare")],
    },
];

/// `/oncall`'s subcommands.
pub const ONCALL: &[Sub] = &[
    Sub {
        name: "show",
        words: "",
        about: "Who is on call",
        args: &[arg("schedule", Kind::Text, false, "A schedule")],
    },
    Sub {
        name: "override",
        words: "override",
        about: "Take over the shift for a while",
        args: &[
            arg("user", Kind::User, true, "Who takes the shift"),
            arg("duration", Kind::Text, true, "For how long, e.g. 2h"),
        ],
    },
];

/// `/change`'s subcommands.
pub const CHANGE: &[Sub] = &[
    Sub {
        name: "gate",
        words: "gate",
        about: "May a change to this service ship now?",
        args: &[arg("service", Kind::Service, true, "The service")],
    },
    Sub {
        name: "freeze",
        words: "freeze",
        about: "Freeze changes",
        args: &[
            arg("scope", Kind::Service, true, "A service, or all"),
            arg("duration", Kind::Text, true, "For how long, e.g. 2h"),
            arg("reason", Kind::Text, true, "Why"),
        ],
    },
    Sub {
        name: "unfreeze",
        words: "unfreeze",
        about: "Lift a freeze",
        args: &[arg(
            "target",
            Kind::Text,
            true,
            "A freeze id, a service, or all",
        )],
    },
    Sub {
        name: "approve",
        words: "approve",
        about: "Approve a gated change",
        args: &[arg("id", Kind::Text, true, "The change id")],
    },
];

/// The families: command name, description, subcommands.
pub const FAMILIES: [(&str, &str, &[Sub]); 3] = [
    ("inc", "Incidents: declare, roles, status, updates", INC),
    ("oncall", "Who is on call", ONCALL),
    ("change", "The change gate and freezes", CHANGE),
];

fn option_json(a: &Arg) -> Value {
    let kind = match a.kind {
        Kind::Integer | Kind::Incident => INTEGER,
        Kind::User => USER,
        _ => STRING,
    };
    let mut o =
        json!({"type": kind, "name": a.name, "description": a.about, "required": a.required});
    match a.kind {
        Kind::Choice(choices) => {
            o["choices"] = choices
                .iter()
                .map(|c| json!({"name": c, "value": c}))
                .collect();
        }
        Kind::Service | Kind::Incident => o["autocomplete"] = json!(true),
        Kind::Integer if a.name == "n" => {
            o["min_value"] = json!(1);
            o["max_value"] = json!(crate::domain::command::MAX_TIMELINE);
        }
        _ => {}
    }
    o
}

/// The commands as Discord's bulk-overwrite endpoint takes them (`PUT …/commands`).
pub fn definitions() -> Value {
    let defs: Vec<Value> = FAMILIES
        .iter()
        .map(|(name, about, subs)| {
            let options: Vec<Value> = subs
                .iter()
                .map(|s| {
                    // Required options must come before optional ones.
                    let mut args: Vec<&Arg> = s.args.iter().collect();
                    args.sort_by_key(|a| !a.required);
                    json!({"type": SUB_COMMAND, "name": s.name, "description": s.about,
                        "options": args.into_iter().map(option_json).collect::<Vec<_>>()})
                })
                .collect();
            json!({"name": name, "type": 1, "description": about, "options": options,
                "contexts": [0], "integration_types": [0]})
        })
        .collect();
    Value::Array(defs)
}

/// A command's line in the one grammar, the subcommand used, and the incident its options named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// `/inc declare P1 service:api Checkout down`.
    pub text: String,
    /// The subcommand's Discord name (`declare`).
    pub sub: String,
    /// The `incident` option, if given.
    pub incident: Option<i64>,
    /// Whether a title-less declare asks for the form.
    pub wants_form: bool,
}

/// Finds a family's subcommand and the options typed for it (subcommand groups are flattened).
pub fn subcommand<'a>(
    family: &str,
    options: &'a [CommandOption],
) -> Option<(&'static Sub, &'a [CommandOption])> {
    let (_, _, subs) = FAMILIES.iter().find(|(n, _, _)| *n == family)?;
    let mut opts = options;
    // A group holds the subcommand; warroom's commands have none, but read them anyway.
    while let Some(first) = opts
        .first()
        .filter(|o| o.kind == super::interaction::SUB_COMMAND_GROUP)
    {
        opts = &first.options;
    }
    let chosen = opts.first().filter(|o| o.kind == SUB_COMMAND)?;
    let sub = subs.iter().find(|s| s.name == chosen.name)?;
    Some((sub, &chosen.options))
}

/// Writes a command's options as the grammar's line; `person` names a Discord user (snowflake →
/// the person id, or the snowflake itself for a guest).
pub fn line(
    family: &str,
    options: &[CommandOption],
    person: &dyn Fn(&str) -> String,
) -> Option<Line> {
    let (sub, given) = subcommand(family, options)?;
    let mut words = vec![format!("/{family}")];
    if !sub.words.is_empty() {
        words.push(sub.words.to_string());
    }
    let mut incident = None;
    let mut has_title = false;
    for a in sub.args {
        let Some(value) = given
            .iter()
            .find(|o| o.name == a.name)
            .and_then(CommandOption::text)
        else {
            continue;
        };
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        if value.is_empty() {
            continue;
        }
        match a.kind {
            Kind::Incident => incident = value.trim_start_matches('#').parse().ok(),
            Kind::User => words.push(format!("@{}", person(&value))),
            _ => {
                has_title |= a.name == "title";
                words.push(format!("{}{value}", a.prefix));
            }
        }
    }
    Some(Line {
        text: words.join(" "),
        sub: sub.name.to_string(),
        incident,
        wants_form: family == "inc" && sub.name == "declare" && !has_title,
    })
}

/// The option being typed in an autocomplete interaction: (its kind, what was typed so far).
pub fn focused(family: &str, options: &[CommandOption]) -> Option<(Kind, String)> {
    let (sub, given) = subcommand(family, options)?;
    let o = given.iter().find(|o| o.focused)?;
    let a = sub.args.iter().find(|a| a.name == o.name)?;
    Some((a.kind, o.text().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::command::{Command, IncCommand, parse};

    fn opt(name: &str, kind: u8, value: Value) -> CommandOption {
        CommandOption {
            name: name.into(),
            kind,
            value: Some(value),
            ..Default::default()
        }
    }

    fn sub(name: &str, options: Vec<CommandOption>) -> Vec<CommandOption> {
        vec![CommandOption {
            name: name.into(),
            kind: SUB_COMMAND,
            options,
            ..Default::default()
        }]
    }

    #[test]
    fn options_become_the_same_command_as_typed_text() {
        let person = |id: &str| {
            if id == "111" {
                "alice".into()
            } else {
                id.to_string()
            }
        };
        let declare = sub(
            "declare",
            vec![
                opt("title", STRING, json!("Checkout  down")),
                opt("severity", STRING, json!("P1")),
                opt("service", STRING, json!("checkout")),
            ],
        );
        let l = line("inc", &declare, &person).unwrap();
        assert_eq!(l.text, "/inc declare P1 service:checkout Checkout down");
        assert_eq!(
            parse(&l.text).unwrap(),
            parse("/inc declare P1 service:checkout Checkout down").unwrap()
        );
        let role = sub(
            "role",
            vec![
                opt("user", USER, json!("111")),
                opt("role", STRING, json!("commander")),
                opt("incident", INTEGER, json!(7)),
            ],
        );
        let l = line("inc", &role, &person).unwrap();
        assert_eq!(l.text, "/inc role commander @alice");
        assert_eq!(l.incident, Some(7));
        let guest = sub(
            "role",
            vec![
                opt("role", STRING, json!("scribe")),
                opt("user", USER, json!("222333444555666777")),
            ],
        );
        let l = line("inc", &guest, &person).unwrap();
        assert!(matches!(
            parse(&l.text).unwrap(),
            Command::Inc(IncCommand::Role { user, .. }) if user == "222333444555666777"
        ));
        let confirm = sub("confirm", vec![opt("change", STRING, json!("c-9"))]);
        assert_eq!(
            line("inc", &confirm, &person).unwrap().text,
            "/inc changes confirm c-9"
        );
        let show = sub("show", vec![]);
        assert_eq!(line("oncall", &show, &person).unwrap().text, "/oncall");
        assert!(
            line("inc", &sub("declare", vec![]), &person)
                .unwrap()
                .wants_form
        );
        assert!(line("inc", &sub("nope", vec![]), &person).is_none());
    }

    #[test]
    fn every_definition_is_within_discords_limits() {
        let defs = definitions();
        for d in defs.as_array().unwrap() {
            let subs = d["options"].as_array().unwrap();
            assert!(subs.len() <= 25);
            for s in subs {
                let name = s["name"].as_str().unwrap();
                assert!(name.len() <= 32 && name.chars().all(|c| c.is_ascii_lowercase()));
                assert!(s["description"].as_str().unwrap().len() <= 100);
                let opts = s["options"].as_array().unwrap();
                let first_optional = opts.iter().position(|o| o["required"] == false);
                if let Some(i) = first_optional {
                    assert!(opts[i..].iter().all(|o| o["required"] == false), "{name}");
                }
            }
        }
    }
}
