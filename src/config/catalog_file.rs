//! Reading the service catalog file (`catalog.path`): TOML with one `[[services]]` table per service.

use crate::domain::catalog::CatalogError;
use crate::domain::{Catalog, Service};
use serde::Deserialize;

/// The catalog file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CatalogFileError {
    /// Reading failed.
    #[error("cannot read the catalog {0}: {1}")]
    Io(String, std::io::Error),
    /// The TOML is wrong.
    #[error("invalid catalog {0}: {1}")]
    Toml(String, toml::de::Error),
    /// The entries do not hold together.
    #[error("invalid catalog {0}: {1}")]
    Catalog(String, CatalogError),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(default)]
    services: Vec<Service>,
}

/// Loads the catalog at `path`; a missing file is an empty catalog.
pub fn load_catalog(path: &str) -> Result<Catalog, CatalogFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Catalog::default()),
        Err(e) => return Err(CatalogFileError::Io(path.into(), e)),
    };
    let file: CatalogFile =
        toml::from_str(&text).map_err(|e| CatalogFileError::Toml(path.into(), e))?;
    Catalog::new(file.services).map_err(|e| CatalogFileError::Catalog(path.into(), e))
}
