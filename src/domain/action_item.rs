//! Action items: follow-up work with an owner.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A piece of follow-up work from an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionItem {
    /// Its id (0 before it is stored).
    pub id: i64,
    /// The incident it came from.
    pub incident_id: i64,
    /// What is to be done.
    pub text: String,
    /// Who owns it.
    pub owner: Option<String>,
    /// `open` or `done`.
    pub status: String,
    /// Who added it.
    pub created_by: Option<String>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it is due, if a date was set.
    pub due_at: Option<DateTime<Utc>>,
}
