//! Heartbeats (a dead man's switch): `[[heartbeat]]` definitions, what a beat's body says, and the
//! state machine a beat or a due check moves. Pure: time is passed in.

use super::Severity;
use super::catalog::Catalog;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The shortest interval a heartbeat may have.
const MIN_INTERVAL_SECS: i64 = 10;
/// The longest interval a heartbeat may have (30 days).
const MAX_INTERVAL_SECS: i64 = 30 * 86_400;

/// A `[[heartbeat]]` table as written in the catalog file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HeartbeatSpec {
    /// Its name, the last segment of `POST /hooks/heartbeat/{name}`.
    pub name: String,
    /// The catalog service whose incident a miss opens.
    pub service: String,
    /// How long silence may last before it is a miss (humantime, `5m`).
    pub interval: String,
    /// The severity of the incident a miss opens (default P1).
    pub severity: Option<String>,
    /// Whether a resumed beat resolves the incident the miss opened (default true).
    pub auto_resolve: Option<bool>,
}

/// A heartbeat definition that holds together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heartbeat {
    /// Its name.
    pub name: String,
    /// The service it watches.
    pub service: String,
    /// How long silence may last.
    #[serde(skip)]
    pub interval: Duration,
    /// The interval as written (`5m`).
    pub interval_text: String,
    /// The severity a miss opens its incident at.
    pub severity: Severity,
    /// Whether resumed beats resolve the incident.
    pub auto_resolve: bool,
}

/// Why a `[[heartbeat]]` does not hold together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeartbeatError {
    /// The name is empty or has characters a URL path segment should not.
    #[error("heartbeat `{0}`: name must be 1-100 letters, digits, `.`, `_` or `-`")]
    BadName(String),
    /// Two heartbeats share a name.
    #[error("heartbeat `{0}` is defined twice")]
    Duplicate(String),
    /// The service is not in the catalog.
    #[error("heartbeat `{0}`: service `{1}` is not a [[service]]")]
    UnknownService(String, String),
    /// The interval does not parse or is out of range.
    #[error("heartbeat `{0}`: interval `{1}` is not a duration between 10s and 30d (like `5m`)")]
    BadInterval(String, String),
    /// The severity is not P0-P3.
    #[error("heartbeat `{0}`: severity `{1}` is not one of P0, P1, P2, P3")]
    BadSeverity(String, String),
}

/// Whether `name` is a heartbeat name (also what the hook accepts in its path).
pub fn valid_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

impl Heartbeat {
    /// Validates `spec` against the services of `catalog`.
    pub fn from_spec(spec: &HeartbeatSpec, catalog: &Catalog) -> Result<Heartbeat, HeartbeatError> {
        let name = spec.name.trim().to_string();
        if !valid_name(&name) {
            return Err(HeartbeatError::BadName(name));
        }
        let service = spec.service.trim().to_string();
        if catalog.get(&service).is_none() {
            return Err(HeartbeatError::UnknownService(name, service));
        }
        let interval_text = spec.interval.trim().to_string();
        let interval = humantime::parse_duration(&interval_text)
            .ok()
            .and_then(|d| Duration::from_std(d).ok())
            .filter(|d| (MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&d.num_seconds()))
            .ok_or_else(|| HeartbeatError::BadInterval(name.clone(), interval_text.clone()))?;
        let severity = match spec.severity.as_deref().map(str::trim) {
            None => Severity::P1,
            Some(s) => s
                .to_ascii_uppercase()
                .parse()
                .map_err(|_| HeartbeatError::BadSeverity(name.clone(), s.to_string()))?,
        };
        Ok(Heartbeat {
            name,
            service,
            interval,
            interval_text,
            severity,
            auto_resolve: spec.auto_resolve.unwrap_or(true),
        })
    }

    /// Validates every spec; names must be unique.
    pub fn build_all(
        specs: &[HeartbeatSpec],
        catalog: &Catalog,
    ) -> Result<BTreeMap<String, Heartbeat>, HeartbeatError> {
        let mut out = BTreeMap::new();
        for spec in specs {
            let hb = Heartbeat::from_spec(spec, catalog)?;
            if out.contains_key(&hb.name) {
                return Err(HeartbeatError::Duplicate(hb.name));
            }
            out.insert(hb.name.clone(), hb);
        }
        Ok(out)
    }

    /// When silence becomes a miss: one interval after the last beat (or after warroom began
    /// watching, for a heartbeat that never beat).
    pub fn due(&self, state: &HeartbeatState) -> DateTime<Utc> {
        state.last_beat.unwrap_or(state.since) + self.interval
    }

    /// The incident title a miss opens.
    pub fn missed_title(&self, state: &HeartbeatState) -> String {
        format!(
            "Heartbeat {} missed: no signal since {}",
            self.name,
            state
                .last_beat
                .unwrap_or(state.since)
                .format("%Y-%m-%d %H:%M:%S UTC")
        )
    }
}

/// Whether a heartbeat is beating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Beats arrive within the interval (or the first interval has not run out yet).
    Ok,
    /// The interval ran out without a beat.
    Missed,
}

impl Status {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missed => "missed",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "ok" => Some(Status::Ok),
            "missed" => Some(Status::Missed),
            _ => None,
        }
    }
}

/// The stored state of one heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeartbeatState {
    /// Its name.
    pub name: String,
    /// When warroom began watching it.
    pub since: DateTime<Utc>,
    /// The last beat, if any.
    pub last_beat: Option<DateTime<Utc>>,
    /// Where the last beat came from (`empty`, `alertmanager`, `json`).
    pub last_source: Option<String>,
    /// Beats received.
    pub beats: i64,
    /// Ok or missed.
    pub status: Status,
    /// When the last miss was noticed.
    pub missed_at: Option<DateTime<Utc>>,
    /// The incident the last miss opened (or was recorded on).
    pub incident_id: Option<i64>,
    /// When the pending check runs, if one is armed.
    pub check_at: Option<DateTime<Utc>>,
}

impl HeartbeatState {
    /// A heartbeat warroom begins to watch at `now`.
    pub fn new(name: &str, now: DateTime<Utc>) -> HeartbeatState {
        HeartbeatState {
            name: name.to_string(),
            since: now,
            last_beat: None,
            last_source: None,
            beats: 0,
            status: Status::Ok,
            missed_at: None,
            incident_id: None,
            check_at: None,
        }
    }
}

/// What a beat changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Beat {
    /// The beat ended a miss.
    pub resumed: bool,
    /// Arm a check at this time (none was pending).
    pub arm: Option<DateTime<Utc>>,
}

/// What a due check decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A beat came since the check was armed: check again at this time.
    Rearm(DateTime<Utc>),
    /// The interval ran out: this is a miss.
    Missed,
    /// Already missed: nothing to do until a beat comes.
    Nothing,
}

/// Records a beat at `now` from `source`.
pub fn beat(hb: &Heartbeat, state: &mut HeartbeatState, source: &str, now: DateTime<Utc>) -> Beat {
    let resumed = state.status == Status::Missed;
    state.last_beat = Some(now);
    state.last_source = Some(source.to_string());
    state.beats += 1;
    state.status = Status::Ok;
    // A check more than an interval overdue is lost (its job was given up on): arm a new one.
    let lost = state.check_at.is_some_and(|at| at + hb.interval < now);
    let arm = (state.check_at.is_none() || lost).then(|| now + hb.interval);
    if arm.is_some() {
        state.check_at = arm;
    }
    Beat { resumed, arm }
}

/// Runs the armed check at `now` (the pending check is used up either way).
pub fn check(hb: &Heartbeat, state: &mut HeartbeatState, now: DateTime<Utc>) -> Check {
    state.check_at = None;
    if state.status == Status::Missed {
        return Check::Nothing;
    }
    let due = hb.due(state);
    if now < due {
        state.check_at = Some(due);
        return Check::Rearm(due);
    }
    state.status = Status::Missed;
    state.missed_at = Some(now);
    Check::Missed
}

/// Arms a check for a heartbeat warroom (re)starts watching at `now`: none pending, the pending one
/// is later than the interval now allows (the interval was shortened), or it is more than an
/// interval overdue (lost: its job was given up on). `None` when nothing changes.
pub fn arm(
    hb: &Heartbeat,
    state: &mut HeartbeatState,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if state.status == Status::Missed {
        return None;
    }
    let due = hb.due(state);
    match state.check_at {
        Some(at) if at <= due && at + hb.interval >= now => None,
        _ => {
            let at = due.max(now);
            state.check_at = Some(at);
            Some(at)
        }
    }
}

/// What a beat's body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeatBody {
    /// No body: a plain ping (`curl -X POST`).
    Empty,
    /// An Alertmanager webhook whose group is firing (the Watchdog alert): a beat.
    Alertmanager,
    /// An Alertmanager webhook whose alerts all resolved: the Watchdog stopped, so not a beat.
    AlertmanagerResolved,
    /// Some other JSON object: a beat.
    Json,
}

/// Why a beat's body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BodyError(pub String);

#[derive(Deserialize)]
struct AmBody {
    status: Option<String>,
    alerts: Vec<AmAlert>,
}

#[derive(Deserialize)]
struct AmAlert {
    status: Option<String>,
}

/// Reads a beat's body: empty, an Alertmanager webhook (told apart by its `alerts` array), or
/// another JSON object; anything else is refused.
pub fn classify_body(body: &[u8]) -> Result<BeatBody, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(BeatBody::Empty);
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        BodyError(format!(
            "body is not JSON (send no body, or a JSON object): {e}"
        ))
    })?;
    let Some(obj) = value.as_object() else {
        return Err(BodyError("body must be a JSON object".into()));
    };
    if !obj.contains_key("alerts") {
        return Ok(BeatBody::Json);
    }
    let am: AmBody = serde_json::from_value(value)
        .map_err(|e| BodyError(format!("alerts: not an Alertmanager webhook body: {e}")))?;
    let firing = |s: &Option<String>| s.as_deref() != Some("resolved");
    let any_firing = am.alerts.iter().any(|a| firing(&a.status));
    if firing(&am.status) || any_firing {
        Ok(BeatBody::Alertmanager)
    } else {
        Ok(BeatBody::AlertmanagerResolved)
    }
}

impl BeatBody {
    /// The source name recorded with the beat.
    pub fn source(self) -> &'static str {
        match self {
            BeatBody::Empty => "empty",
            BeatBody::Alertmanager | BeatBody::AlertmanagerResolved => "alertmanager",
            BeatBody::Json => "json",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Service;
    use chrono::TimeZone;

    fn catalog() -> Catalog {
        Catalog::new(vec![Service {
            name: "checkout".into(),
            ..Service::default()
        }])
        .unwrap()
    }

    fn spec(name: &str, interval: &str) -> HeartbeatSpec {
        HeartbeatSpec {
            name: name.into(),
            service: "checkout".into(),
            interval: interval.into(),
            ..HeartbeatSpec::default()
        }
    }

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap() + Duration::minutes(min)
    }

    #[test]
    fn specs_are_validated() {
        let c = catalog();
        let hb = Heartbeat::from_spec(&spec("prometheus", "5m"), &c).unwrap();
        assert_eq!(hb.interval, Duration::minutes(5));
        assert_eq!(hb.severity, Severity::P1);
        assert!(hb.auto_resolve);
        let mut s = spec("p", "5m");
        s.severity = Some("p2".into());
        assert_eq!(Heartbeat::from_spec(&s, &c).unwrap().severity, Severity::P2);
        s.severity = Some("urgent".into());
        assert!(matches!(
            Heartbeat::from_spec(&s, &c),
            Err(HeartbeatError::BadSeverity(..))
        ));
        assert!(matches!(
            Heartbeat::from_spec(&spec("a/b", "5m"), &c),
            Err(HeartbeatError::BadName(_))
        ));
        for bad in ["soon", "1s", "60d"] {
            assert!(matches!(
                Heartbeat::from_spec(&spec("p", bad), &c),
                Err(HeartbeatError::BadInterval(..))
            ));
        }
        let mut s = spec("p", "5m");
        s.service = "ghost".into();
        assert_eq!(
            Heartbeat::from_spec(&s, &c).unwrap_err().to_string(),
            "heartbeat `p`: service `ghost` is not a [[service]]"
        );
        assert!(matches!(
            Heartbeat::build_all(&[spec("p", "5m"), spec("p", "1m")], &c),
            Err(HeartbeatError::Duplicate(_))
        ));
    }

    #[test]
    fn beats_keep_it_ok_and_a_silent_interval_is_one_miss() {
        let hb = Heartbeat::from_spec(&spec("p", "5m"), &catalog()).unwrap();
        let mut s = HeartbeatState::new("p", t(0));
        assert_eq!(arm(&hb, &mut s, t(0)), Some(t(5)));
        assert_eq!(arm(&hb, &mut s, t(0)), None, "armed once");
        let b = beat(&hb, &mut s, "empty", t(3));
        assert_eq!(
            b,
            Beat {
                resumed: false,
                arm: None
            }
        );
        // The check armed at 5 finds the beat of 3: it checks again at 8.
        assert_eq!(check(&hb, &mut s, t(5)), Check::Rearm(t(8)));
        assert_eq!(check(&hb, &mut s, t(8)), Check::Missed);
        assert_eq!(s.status, Status::Missed);
        assert_eq!(check(&hb, &mut s, t(60)), Check::Nothing);
        assert_eq!(arm(&hb, &mut s, t(60)), None, "a miss waits for a beat");
        let b = beat(&hb, &mut s, "alertmanager", t(61));
        assert_eq!(
            b,
            Beat {
                resumed: true,
                arm: Some(t(66))
            }
        );
        assert_eq!(s.status, Status::Ok);
        assert_eq!(s.beats, 2);
    }

    #[test]
    fn a_shortened_interval_arms_an_earlier_check() {
        let hb = Heartbeat::from_spec(&spec("p", "2m"), &catalog()).unwrap();
        let mut s = HeartbeatState::new("p", t(0));
        s.check_at = Some(t(10));
        assert_eq!(arm(&hb, &mut s, t(1)), Some(t(2)));
    }

    #[test]
    fn a_lost_check_is_armed_again() {
        let hb = Heartbeat::from_spec(&spec("p", "5m"), &catalog()).unwrap();
        let mut s = HeartbeatState::new("p", t(0));
        s.check_at = Some(t(5));
        assert_eq!(arm(&hb, &mut s, t(9)), None, "late, not lost");
        assert_eq!(arm(&hb, &mut s, t(11)), Some(t(11)), "lost: checks now");
        s.check_at = Some(t(5));
        let b = beat(&hb, &mut s, "empty", t(12));
        assert_eq!(b.arm, Some(t(17)), "a beat re-arms a lost check");
        assert_eq!(beat(&hb, &mut s, "empty", t(13)).arm, None);
    }

    #[test]
    fn bodies_are_told_apart() {
        assert_eq!(classify_body(b"").unwrap(), BeatBody::Empty);
        assert_eq!(classify_body(b" \n").unwrap(), BeatBody::Empty);
        assert_eq!(classify_body(b"{}").unwrap(), BeatBody::Json);
        let firing =
            std::fs::read("../shared/fixtures/alertmanager/firing-single-warning.json").unwrap();
        assert_eq!(classify_body(&firing).unwrap(), BeatBody::Alertmanager);
        let mixed =
            std::fs::read("../shared/fixtures/alertmanager/one-resolved-one-firing.json").unwrap();
        assert_eq!(classify_body(&mixed).unwrap(), BeatBody::Alertmanager);
        let resolved = br#"{"status":"resolved","alerts":[{"status":"resolved"}]}"#;
        assert_eq!(
            classify_body(resolved).unwrap(),
            BeatBody::AlertmanagerResolved
        );
        assert!(classify_body(b"not json").is_err());
        assert!(classify_body(b"[1]").is_err());
        assert!(classify_body(br#"{"alerts": 3}"#).is_err());
    }
}
