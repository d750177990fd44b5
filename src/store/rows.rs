//! Mapping between stored columns and domain values.

use super::{StoreError, StoreResult};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::str::FromStr;

/// Epoch milliseconds of a time, as stored.
pub fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Epoch milliseconds of an optional time.
pub fn ms_opt(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(ms)
}

/// A time from stored epoch milliseconds.
pub fn time(v: i64) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(v)
        .ok_or_else(|| StoreError::Corrupt(format!("time {v} out of range")))
}

/// Reads a required time column.
pub fn get_time(row: &AnyRow, col: &str) -> StoreResult<DateTime<Utc>> {
    time(row.try_get::<i64, _>(col)?)
}

/// Reads a nullable time column.
pub fn get_time_opt(row: &AnyRow, col: &str) -> StoreResult<Option<DateTime<Utc>>> {
    row.try_get::<Option<i64>, _>(col)?.map(time).transpose()
}

/// Reads a text column and parses it into a domain value.
pub fn get_parsed<T: FromStr>(row: &AnyRow, col: &str) -> StoreResult<T>
where
    T::Err: std::fmt::Display,
{
    let raw: String = row.try_get(col)?;
    raw.parse()
        .map_err(|e: T::Err| StoreError::Corrupt(format!("{col}: {e}")))
}

/// Reads a JSON text column.
pub fn get_json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> StoreResult<T> {
    let raw: String = row.try_get(col)?;
    serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
}

/// Serializes a value for a JSON text column.
pub fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_string())
}
