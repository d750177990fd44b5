//! Typed configuration: defaults, then a TOML file, then `WARROOM_<SECTION>__<KEY>` variables.

mod catalog_file;
mod load;
mod sections;
mod validate;

pub use catalog_file::{CatalogFileError, load_catalog};
pub use load::{ConfigError, Problem, load, load_for_check};
pub use sections::*;
