//! What a use-case can refuse or fail with.

use crate::domain::TransitionError;
use crate::store::StoreError;

/// A use-case failure; the HTTP layer and the chat replies map each to a clear message.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// No such incident.
    #[error("incident {0} not found")]
    NotFound(i64),
    /// A field is missing or wrong.
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as the caller named it.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// An illegal status change.
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// The request conflicts with the incident's state.
    #[error("{0}")]
    Conflict(String),
    /// The permission policy refused the actor; the reason names what is needed.
    #[error("{reason}")]
    Forbidden {
        /// The policy action (`close`).
        action: String,
        /// Why, in words ("closing an incident needs the commander or an admin; alice is a responder").
        reason: String,
        /// What it acted on (`chg-42`, `freeze #3`), for the audit log.
        subject: Option<String>,
    },
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl EngineError {
    /// An invalid-field error.
    pub fn invalid(field: &str, message: impl Into<String>) -> EngineError {
        EngineError::Invalid {
            field: field.to_string(),
            message: message.into(),
        }
    }
}
