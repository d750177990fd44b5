//! Building the catalog's `[[schedule]]` tables and checking that services name schedules that exist.

use crate::domain::Service;
use crate::domain::oncall::escalation::{EscalationError, EscalationPolicy, EscalationSpec};
use crate::domain::oncall::{Schedule, ScheduleError, ScheduleSpec};
use crate::domain::people::Directory;
use std::collections::BTreeMap;

/// Validates every schedule; once any schedule is declared, a service's `oncall` must name one.
pub fn build(
    specs: &[ScheduleSpec],
    directory: &Directory,
    feeds: &BTreeMap<String, String>,
    services: &[Service],
) -> Result<BTreeMap<String, Schedule>, ScheduleError> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let schedule = spec.build(directory, feeds)?;
        if out.contains_key(&schedule.name) {
            return Err(ScheduleError {
                schedule: schedule.name,
                layer: None,
                message: "is defined twice".into(),
            });
        }
        out.insert(schedule.name.clone(), schedule);
    }
    if !out.is_empty() {
        for s in services {
            if let Some(name) = s.oncall.as_deref().filter(|n| !out.contains_key(*n)) {
                return Err(ScheduleError {
                    schedule: name.to_string(),
                    layer: None,
                    message: format!(
                        "service `{}` names it in `oncall`, but no [[schedule]] has that name",
                        s.name
                    ),
                });
            }
        }
    }
    Ok(out)
}

/// Validates every escalation policy; once any is declared, a service's `escalation` must name one.
pub fn policies(
    specs: &[EscalationSpec],
    directory: &Directory,
    schedules: &BTreeMap<String, Schedule>,
    services: &[Service],
) -> Result<BTreeMap<String, EscalationPolicy>, EscalationError> {
    let mut out = BTreeMap::new();
    for spec in specs {
        let policy = spec.build(directory, schedules)?;
        if out.contains_key(&policy.name) {
            return Err(EscalationError {
                policy: policy.name,
                level: None,
                message: "is defined twice".into(),
            });
        }
        out.insert(policy.name.clone(), policy);
    }
    if !out.is_empty() {
        for s in services {
            if let Some(name) = s.escalation.as_deref().filter(|n| !out.contains_key(*n)) {
                return Err(EscalationError {
                    policy: name.to_string(),
                    level: None,
                    message: format!(
                        "service `{}` names it in `escalation`, but no [[escalation]] has that name",
                        s.name
                    ),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::load;

    /// The example of the product description, verbatim in its names.
    const PRODUCT_EXAMPLE: &str = r#"
[[service]]
name = "checkout"
owner = "payments"
oncall = "payments-primary"
escalation = "payments"

[[person]]
id = "alice"
name = "Alice Ng"
email = "alice@example.com"
timezone = "Europe/Berlin"
slack = "U0123ABCD"
discord = "112233445566778899"
notify = [{ via = "dm", after = "0m" }, { via = "webhook", after = "2m" }]

[[person]]
id = "bob"
email = "bob@example.com"

[[team]]
id = "payments"
members = ["alice", "bob"]

[[schedule]]
name = "payments-primary"
timezone = "Europe/Berlin"
[[schedule.layer]]
people = ["alice", "bob"]
shift = "1w"
start = "2026-01-05T09:00"
restrict = ["mon-fri 09:00-18:00"]
[[schedule.layer]]
ical = "feeds/holiday.ics"

[[escalation]]
name = "payments"
repeat = 1
[[escalation.level]]
targets = ["schedule:payments-primary"]
wait = "5m"
[[escalation.level]]
targets = ["team:payments"]
wait = "10m"
"#;

    const FEED: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Grafana Labs//OnCall//EN\r\n\
        BEGIN:VEVENT\r\nUID:x1\r\nDTSTART:20261224T000000Z\r\nDTEND:20261227T000000Z\r\n\
        SUMMARY:bob\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn write(dir: &std::path::Path, text: &str) -> String {
        std::fs::create_dir_all(dir.join("feeds")).unwrap();
        std::fs::write(dir.join("feeds/holiday.ics"), FEED).unwrap();
        let p = dir.join("services.toml");
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }

    #[test]
    fn the_product_example_loads_with_an_ical_layer_beside_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let c = load(&write(dir.path(), PRODUCT_EXAMPLE)).unwrap();
        let s = c.schedule("payments-primary").unwrap();
        assert_eq!(s.layers.len(), 2);
        let at = |t: &str| s.on_call(t.parse().unwrap(), &[]).people;
        // Tuesday 1 December 2026 is in turn 47 since 5 January: bob (odd turns).
        assert_eq!(at("2026-12-01T10:00:00Z"), ["bob"]);
        assert!(
            at("2026-12-01T20:00:00Z").is_empty(),
            "outside the restriction"
        );
        assert_eq!(at("2026-12-25T20:00:00Z"), ["bob"], "the imported feed");
        assert_eq!(c.schedules().count(), 1);
        let policy = c.escalation("payments").unwrap();
        assert_eq!((policy.repeat, policy.levels.len()), (1, 2));
        assert_eq!(
            policy.levels[0].targets[0].to_string(),
            "schedule:payments-primary"
        );
    }

    #[test]
    fn schedule_problems_name_schedule_and_layer() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                PRODUCT_EXAMPLE.replace(
                    "people = [\"alice\", \"bob\"]",
                    "people = [\"alice\", \"zed\"]",
                ),
                "schedule `payments-primary` layer 1: person `zed` is not a [[person]]",
            ),
            (
                PRODUCT_EXAMPLE.replace(
                    "timezone = \"Europe/Berlin\"\n[[schedule.layer]]",
                    "timezone = \"Berlin\"\n[[schedule.layer]]",
                ),
                "schedule `payments-primary`: timezone `Berlin` is not an IANA zone like Europe/Berlin",
            ),
            (
                PRODUCT_EXAMPLE.replace(
                    "oncall = \"payments-primary\"",
                    "oncall = \"payments-secondary\"",
                ),
                "schedule `payments-secondary`: service `checkout` names it in `oncall`, but no [[schedule]] has that name",
            ),
        ];
        let escalation_cases = [
            (
                PRODUCT_EXAMPLE.replace("escalation = \"payments\"", "escalation = \"billing\""),
                "escalation `billing`: service `checkout` names it in `escalation`, but no [[escalation]] has that name",
            ),
            (
                PRODUCT_EXAMPLE.replace(
                    "targets = [\"team:payments\"]",
                    "targets = [\"team:billing\"]",
                ),
                "escalation `payments` level 2: target `team:billing` is not a [[team]]",
            ),
            (
                PRODUCT_EXAMPLE.replace(
                    "targets = [\"schedule:payments-primary\"]",
                    "targets = [\"schedule:nope\"]",
                ),
                "escalation `payments` level 1: target `schedule:nope` is not a [[schedule]]",
            ),
        ];
        for (text, expected) in cases.iter().chain(&escalation_cases) {
            let e = load(&write(dir.path(), text)).unwrap_err().to_string();
            assert_eq!(&e, expected);
        }
        let p = write(dir.path(), PRODUCT_EXAMPLE);
        std::fs::write(
            dir.path().join("feeds/holiday.ics"),
            FEED.replace("SUMMARY:bob", "SUMMARY:mallory"),
        )
        .unwrap();
        assert_eq!(
            load(&p).unwrap_err().to_string(),
            "schedule `payments-primary` layer 2: ical `feeds/holiday.ics`: event `mallory` names no [[person]] (by id, e-mail or name in SUMMARY or ATTENDEE)"
        );
        std::fs::remove_file(dir.path().join("feeds/holiday.ics")).unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("holiday.ics"));
    }
}
