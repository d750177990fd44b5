//! Inbound wire formats, one file per format: parse and validate, nothing else.

pub mod argocd;
pub mod changes;
pub mod github;
pub mod pagerduty_change;
