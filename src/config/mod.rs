//! Typed configuration: defaults, then a TOML file, then `WARROOM_<SECTION>__<KEY>` variables.

pub mod alerts;
mod env;
pub mod exposure;
mod load;
mod permissions;
pub mod reminders;
pub mod secrets;
mod sections;
mod validate;
mod validate_server;

pub use alerts::AlertsConfig;
pub use load::{ConfigError, Problem, load, load_for_check};
pub use permissions::Grants;
pub use reminders::RemindersConfig;
pub use sections::*;
