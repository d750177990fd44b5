//! The one Store API over SQLite (embedded default) and PostgreSQL (scale-out).
//!
//! Both backends run the same runtime queries through sqlx's `Any` driver: timestamps are stored as
//! epoch milliseconds (`BIGINT`) and structured data as JSON text, which both databases carry alike.
//! Where the backends differ (connection set-up, migrations, row locking for claims) the code
//! branches on [`Backend`]. No SQL lives outside this module.

mod action_items;
mod alert_ingest;
mod alert_marks;
mod alerts;
mod audit;
mod changes;
pub mod checkpoint;
mod connect;
mod delivery_tx;
mod discord_delivery;
mod discord_gateway;
mod gates;
mod heartbeats;
mod incidents;
mod insights;
mod jobs;
mod leader_lock;
mod oncall;
mod outbox;
mod outbox_view;
mod pages;
mod people;
mod postmortems;
mod rate_buckets;
mod reminders;
mod reports;
mod rooms;
mod rows;
mod signin;
mod signin_throttle;
mod slack;
mod status_page;
mod timeline;
mod tokens;
mod tx;

pub use alert_ingest::{AlertWrite, GroupTiming, KnownAlert, Repeat};
pub use alert_marks::DispatchMark;
pub use alerts::{AlertFilter, AlertGroup, AlertRecord};
pub use audit::AuditFilter;
pub use changes::{ChangeEvent, ChangeFilter, LinkedChange};
pub use discord_gateway::{DiscordGatewaySession, DiscordMessageRecord, DiscordRoomCursor};
pub use gates::FreezeTarget;
pub use incidents::IncidentFilter;
pub use jobs::{Job, JobCounts, JobView};
pub use leader_lock::LeaderLock;
pub use oncall::{NewOverride, OncallOverride};
pub use outbox::{NewOutbox, OutboxEntry, OutboxStatus};
pub use outbox_view::{OutboxCounts, OutboxTrouble};
pub use pages::{NewPage, Page};
pub use people::{GuestRecord, SlackLink};
pub use postmortems::StoredPostmortem;
pub use reports::ReportData;
pub use rooms::{ChatRoom, RoomPost};
pub use signin::{LocalAccount, NewSession, OidcLogin, StoredSession};
pub use slack::SlackMessageRef;
pub use tokens::NewApiToken;
pub use tx::Tx;

use sqlx::AnyPool;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (one writer).
    Sqlite,
    /// PostgreSQL (several replicas may share it).
    Postgres,
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no supported backend.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    /// The database answered with an error or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row holds a value this build cannot read.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// Creating the SQLite file's folder failed.
    #[error("cannot create the database folder: {0}")]
    Io(#[from] std::io::Error),
}

impl StoreError {
    /// Whether the database could not be reached (as opposed to refusing a query).
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Database(
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::WorkerCrashed,
            ) => true,
            StoreError::Database(sqlx::Error::Database(e)) => {
                e.code().is_some_and(|c| unavailable_code(&c))
            }
            _ => false,
        }
    }
}

impl StoreError {
    /// Whether the database refused a value the caller sent (PostgreSQL's data exceptions, class 22:
    /// a NUL character in text, a number out of range …), which is the caller's error, not ours.
    pub fn is_refused_value(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e
                .code()
                .is_some_and(|c| c.len() == 5 && c.starts_with("22")),
            _ => false,
        }
    }
}

/// Database error codes that mean "not now" rather than "no": PostgreSQL's connection exceptions
/// (class 08), shutdowns and start-ups (57P01–57P03), too many connections (53300); SQLite's busy and
/// locked (5, 6 and their extended codes) once the busy timeout has passed.
fn unavailable_code(code: &str) -> bool {
    if code.len() == 5 {
        // A PostgreSQL SQLSTATE (always five characters).
        code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300")
    } else {
        // A SQLite result code, primary or extended (primary = low byte).
        code.parse::<i64>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
    }
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    /// Pool for writes and transactions (one connection on SQLite).
    write: AnyPool,
    /// Pool for reads (the same pool on PostgreSQL).
    read: AnyPool,
    backend: Backend,
}

impl Store {
    /// Which backend this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens a transaction: a state change, its timeline events and its outbox rows commit together.
    pub async fn begin(&self) -> StoreResult<Tx> {
        Ok(Tx::new(self.write.begin().await?, self.backend))
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn outage_codes_are_told_from_refusals() {
        for code in [
            "08006", "08001", "57P01", "57P03", "53300", "5", "6", "517", "261",
        ] {
            assert!(super::unavailable_code(code), "{code}");
        }
        for code in ["23505", "42501", "42P01", "19", "2067", "1"] {
            assert!(!super::unavailable_code(code), "{code}");
        }
    }
}
