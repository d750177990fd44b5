//! API tokens: scopes, owners, the `wr_<prefix>_<secret>` format and the stored hash of the secret.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

/// What a token may do: one scope per route group of `/api/v1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// List and read incidents, their timelines and postmortems.
    #[serde(rename = "incidents:read")]
    IncidentsRead,
    /// Declare and change incidents, add notes (implies `incidents:read`).
    #[serde(rename = "incidents:write")]
    IncidentsWrite,
    /// List and read changes, freezes, linked changes; ask the gate.
    #[serde(rename = "changes:read")]
    ChangesRead,
    /// Record and move changes, approve, freeze, override the gate, push budgets (implies `changes:read`).
    #[serde(rename = "changes:write")]
    ChangesWrite,
    /// Read alerts, alert groups and services.
    #[serde(rename = "alerts:read")]
    AlertsRead,
    /// Read reports.
    #[serde(rename = "reports:read")]
    ReportsRead,
    /// Read people and teams.
    #[serde(rename = "people:read")]
    PeopleRead,
    /// Read the audit log.
    #[serde(rename = "audit:read")]
    AuditRead,
    /// Everything except `act-as`.
    #[serde(rename = "admin")]
    Admin,
    /// Act for a directory person named by `X-Warroom-User` (a bot relaying for its users).
    #[serde(rename = "act-as")]
    ActAs,
}

impl Scope {
    /// Every scope, in the order the documentation lists them.
    pub const ALL: [Scope; 10] = [
        Scope::IncidentsRead,
        Scope::IncidentsWrite,
        Scope::ChangesRead,
        Scope::ChangesWrite,
        Scope::AlertsRead,
        Scope::ReportsRead,
        Scope::PeopleRead,
        Scope::AuditRead,
        Scope::Admin,
        Scope::ActAs,
    ];

    /// The scope's name (`incidents:write`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::IncidentsRead => "incidents:read",
            Scope::IncidentsWrite => "incidents:write",
            Scope::ChangesRead => "changes:read",
            Scope::ChangesWrite => "changes:write",
            Scope::AlertsRead => "alerts:read",
            Scope::ReportsRead => "reports:read",
            Scope::PeopleRead => "people:read",
            Scope::AuditRead => "audit:read",
            Scope::Admin => "admin",
            Scope::ActAs => "act-as",
        }
    }

    /// The scopes that also grant this one (`admin` grants all but `act-as`; a write grants its read).
    fn granted_by(self) -> &'static [Scope] {
        match self {
            Scope::ActAs => &[],
            Scope::Admin => &[],
            Scope::IncidentsRead => &[Scope::IncidentsWrite, Scope::Admin],
            Scope::ChangesRead => &[Scope::ChangesWrite, Scope::Admin],
            _ => &[Scope::Admin],
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that is not one of [`Scope::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a scope (use {list})", list = Scope::ALL.map(Scope::as_str).join(", "))]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Scope, UnknownScope> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s.trim())
            .ok_or_else(|| UnknownScope(s.trim().to_string()))
    }
}

/// The scopes a token (or a trusted local client) holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// Exactly these scopes.
    pub fn new(scopes: impl IntoIterator<Item = Scope>) -> Scopes {
        Scopes(scopes.into_iter().collect())
    }

    /// `a,b,c` (blanks ignored); at least one scope.
    pub fn parse_list(raw: &str) -> Result<Scopes, UnknownScope> {
        let scopes = raw
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<BTreeSet<_>, _>>()?;
        if scopes.is_empty() {
            return Err(UnknownScope(String::new()));
        }
        Ok(Scopes(scopes))
    }

    /// What the configured `api.tokens` hold: everything except `act-as`.
    pub fn all_but_act_as() -> Scopes {
        Scopes::new([Scope::Admin])
    }

    /// Everything, `act-as` included: a trusted local client when no token exists.
    pub fn everything() -> Scopes {
        Scopes::new([Scope::Admin, Scope::ActAs])
    }

    /// Whether `scope` is held, directly or through a scope that implies it.
    pub fn allows(&self, scope: Scope) -> bool {
        self.0.contains(&scope) || scope.granted_by().iter().any(|s| self.0.contains(s))
    }

    /// The scopes as named, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|s| s.as_str()).collect()
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.names().join(","))
    }
}

/// Whom a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "id")]
pub enum TokenOwner {
    /// A person of the directory: the token acts as them.
    Person(String),
    /// A service account (`ci`): the token acts as that service.
    Service(String),
}

impl TokenOwner {
    /// The owner's id (person id or service account name).
    pub fn id(&self) -> &str {
        match self {
            TokenOwner::Person(id) | TokenOwner::Service(id) => id,
        }
    }
}

impl fmt::Display for TokenOwner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenOwner::Person(id) => write!(f, "person:{id}"),
            TokenOwner::Service(id) => write!(f, "service:{id}"),
        }
    }
}

/// A stored API token (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiToken {
    /// Its number (`warroom token revoke ID`).
    pub id: i64,
    /// What it is for.
    pub name: String,
    /// The public part shown in lists and logs (`wr_<prefix>_…`).
    pub prefix: String,
    /// Whom it acts as.
    pub owner: TokenOwner,
    /// What it may do.
    pub scopes: Scopes,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was last presented (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Why a known token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// `warroom token revoke` was run on it.
    #[error("this token was revoked")]
    Revoked,
    /// Its expiry has passed.
    #[error("this token has expired")]
    Expired,
}

impl ApiToken {
    /// Whether the token may be used at `now`.
    pub fn usable(&self, now: DateTime<Utc>) -> Result<(), TokenRefusal> {
        if self.revoked_at.is_some() {
            return Err(TokenRefusal::Revoked);
        }
        if self.expires_at.is_some_and(|e| e <= now) {
            return Err(TokenRefusal::Expired);
        }
        Ok(())
    }

    /// `active`, `revoked` or `expired`, as lists show it.
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        match self.usable(now) {
            Ok(()) => "active",
            Err(TokenRefusal::Revoked) => "revoked",
            Err(TokenRefusal::Expired) => "expired",
        }
    }
}

/// What every warroom token starts with.
pub const TOKEN_PREFIX: &str = "wr_";

/// The token a client presents: `wr_<prefix>_<secret>`.
pub fn format_token(prefix: &str, secret: &str) -> String {
    format!("{TOKEN_PREFIX}{prefix}_{secret}")
}

/// Splits a presented token into its public prefix and its secret, if it has warroom's shape.
pub fn split_token(raw: &str) -> Option<(&str, &str)> {
    let (prefix, secret) = raw.strip_prefix(TOKEN_PREFIX)?.split_once('_')?;
    let ok = |s: &str| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_hexdigit());
    (ok(prefix) && ok(secret)).then_some((prefix, secret))
}

/// Whether `given` equals one of `accepted`, compared in constant time.
pub fn matches_any(given: &str, accepted: &[String]) -> bool {
    use subtle::ConstantTimeEq;
    accepted.iter().fold(false, |ok, t| {
        ok | bool::from(t.as_bytes().ct_eq(given.as_bytes()))
    })
}

/// The stored form of a secret: its SHA-256, in hex.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_implies_all_but_act_as_and_writes_imply_reads() {
        let admin = Scopes::all_but_act_as();
        for s in Scope::ALL {
            assert_eq!(admin.allows(s), s != Scope::ActAs, "{s}");
        }
        let w = Scopes::parse_list("incidents:write, changes:write").unwrap();
        assert!(w.allows(Scope::IncidentsRead) && w.allows(Scope::ChangesRead));
        assert!(!w.allows(Scope::AlertsRead) && !w.allows(Scope::Admin));
        let r = Scopes::parse_list("incidents:read").unwrap();
        assert!(!r.allows(Scope::IncidentsWrite));
        assert!(Scopes::everything().allows(Scope::ActAs));
        assert_eq!(w.to_string(), "incidents:write,changes:write");
    }

    #[test]
    fn unknown_scopes_are_named() {
        let e = Scopes::parse_list("incidents:read,root").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("`root` is not a scope (use incidents:read,")
        );
        assert!(Scopes::parse_list(" , ").is_err());
        let json = serde_json::to_string(&Scopes::new([Scope::ActAs, Scope::AlertsRead])).unwrap();
        assert_eq!(json, r#"["alerts:read","act-as"]"#);
    }

    #[test]
    fn tokens_split_and_hash() {
        let t = format_token("0a1b2c3d4e", "ff00");
        assert_eq!(t, "wr_0a1b2c3d4e_ff00");
        assert_eq!(split_token(&t), Some(("0a1b2c3d4e", "ff00")));
        assert_eq!(split_token("wr__ff"), None);
        assert_eq!(split_token("wr_abc_xyz"), None);
        assert_eq!(split_token("s3cret"), None);
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn revoked_and_expired_tokens_are_refused() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut t = ApiToken {
            id: 1,
            name: "ci".into(),
            prefix: "ab".into(),
            owner: TokenOwner::Service("ci".into()),
            scopes: Scopes::all_but_act_as(),
            created_at: now,
            last_used_at: None,
            expires_at: Some(now + chrono::Duration::days(1)),
            revoked_at: None,
        };
        assert_eq!(t.usable(now), Ok(()));
        assert_eq!(
            t.usable(now + chrono::Duration::days(2)),
            Err(TokenRefusal::Expired)
        );
        t.revoked_at = Some(now);
        assert_eq!(t.state(now), "revoked");
    }
}
