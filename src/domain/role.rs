//! Incident roles: one person per role at a time.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A role in the war room; anyone without one is a responder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// The incident manager, who decides.
    Commander,
    /// Leads the technical investigation.
    TechLead,
    /// Communications lead: status updates and stakeholders.
    Comms,
    /// Keeps the record.
    Scribe,
}

/// A role name that is not one of the four.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`: expected one of commander, tech-lead, comms, scribe")]
pub struct UnknownRole(pub String);

impl Role {
    /// Every role, in the order pages show them.
    pub const ALL: [Role; 4] = [Role::Commander, Role::TechLead, Role::Comms, Role::Scribe];

    /// The canonical name (`tech-lead` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Commander => "commander",
            Role::TechLead => "tech-lead",
            Role::Comms => "comms",
            Role::Scribe => "scribe",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "commander" | "ic" | "incident-commander" => Ok(Role::Commander),
            "tech-lead" | "techlead" | "tech_lead" | "tl" => Ok(Role::TechLead),
            "comms" | "communications" | "comms-lead" => Ok(Role::Comms),
            "scribe" => Ok(Role::Scribe),
            _ => Err(UnknownRole(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_aliases() {
        assert_eq!("Commander".parse::<Role>().unwrap(), Role::Commander);
        assert_eq!("ic".parse::<Role>().unwrap(), Role::Commander);
        assert_eq!("tech-lead".parse::<Role>().unwrap(), Role::TechLead);
        assert_eq!(Role::TechLead.to_string(), "tech-lead");
        assert!("boss".parse::<Role>().is_err());
    }
}
