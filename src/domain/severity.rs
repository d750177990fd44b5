//! Incident severity P0–P3.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How bad an incident is: `P0` business down … `P3` minor, no user impact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Severity {
    /// Business down.
    P0,
    /// Core function impaired.
    P1,
    /// Partial impact.
    P2,
    /// Minor, no user impact.
    P3,
}

/// A severity string that is not one of P0–P3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}`: expected one of P0, P1, P2, P3")]
pub struct UnknownSeverity(pub String);

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 4] = [Severity::P0, Severity::P1, Severity::P2, Severity::P3];

    /// The canonical name (`P0` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::P0 => "P0",
            Severity::P1 => "P1",
            Severity::P2 => "P2",
            Severity::P3 => "P3",
        }
    }

    /// What the level means, for help texts and pages.
    pub fn meaning(self) -> &'static str {
        match self {
            Severity::P0 => "business down",
            Severity::P1 => "core function impaired",
            Severity::P2 => "partial impact",
            Severity::P3 => "minor, no user impact",
        }
    }

    /// Whether this is at least as severe as `other` (P0 is the most severe).
    pub fn at_least(self, other: Severity) -> bool {
        self <= other
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "P0" | "SEV0" => Ok(Severity::P0),
            "P1" | "SEV1" => Ok(Severity::P1),
            "P2" | "SEV2" => Ok(Severity::P2),
            "P3" | "SEV3" => Ok(Severity::P3),
            _ => Err(UnknownSeverity(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_orders_most_severe_first() {
        assert_eq!("p1".parse::<Severity>().unwrap(), Severity::P1);
        assert_eq!("SEV0".parse::<Severity>().unwrap(), Severity::P0);
        assert!(Severity::P0 < Severity::P3);
        assert!(Severity::P1.at_least(Severity::P2));
        assert!(!Severity::P3.at_least(Severity::P2));
        let err = "P9".parse::<Severity>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown severity `P9`: expected one of P0, P1, P2, P3"
        );
    }
}
