//! Path parameters shared by the API and the pages.

use super::error::ApiError;
use axum::extract::Path;
use axum::extract::rejection::PathRejection;

/// A positive incident number from a raw path segment.
fn positive(raw: &str) -> Option<i64> {
    raw.parse::<i64>().ok().filter(|id| *id > 0)
}

/// The incident number of an API path; 400 naming the value when it is not one.
pub fn api_incident_id(raw: &str) -> Result<i64, ApiError> {
    positive(raw).ok_or_else(|| {
        ApiError::bad_request(format!("incident id `{raw}` is not a positive number"))
    })
}

/// The incident number of an API path extractor.
pub fn api_incident_path(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(raw) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    api_incident_id(&raw)
}

/// The incident number of a page path: a page that is not an incident is simply not found.
pub fn page_incident_path(path: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(raw) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    positive(&raw).ok_or_else(|| ApiError::not_found(format!("no incident `{raw}`")))
}
