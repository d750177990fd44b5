//! The pure domain core: no I/O, no clock reads (time is passed in).

pub mod action_item;
pub mod actor;
pub mod alert;
pub mod alert_policy;
pub mod alert_rules;
pub mod audit;
pub mod catalog;
pub mod command;
pub mod escape;
pub mod incident;
pub mod people;
pub mod policy;
pub mod postmortem;
mod postmortem_builder;
mod postmortem_finish;
pub mod postmortem_review;
pub mod postmortem_text;
pub mod report;
pub mod role;
pub mod severity;
pub mod status_page;
pub mod timeline;
pub mod token;

pub use action_item::ActionItem;
pub use actor::{Actor, ActorKind};
pub use catalog::{Catalog, Service};
pub use incident::{Incident, IncidentType, NewIncident, Status, TransitionError};
pub use people::{Directory, Person, Team};
pub use role::Role;
pub use severity::Severity;
pub use timeline::{EventKind, NewEvent, TimelineEvent};
pub mod change;
pub mod correlation;
pub mod cron5;
pub mod gate;
pub mod oncall;
