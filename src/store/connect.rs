//! Connecting, per-backend connection set-up, and migrations.

use super::{Backend, Store, StoreError, StoreResult};
use sqlx::Executor;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use std::time::Duration;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// How long a request waits for a connection before the store reports itself unavailable.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

impl Store {
    /// Connects to `url` (`sqlite://PATH` or `postgres://…`); creates the SQLite file and folder if missing.
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Store> {
        install_default_drivers();
        let backend = backend_of(url)?;
        match backend {
            Backend::Sqlite => {
                let url = sqlite_url_creating_folder(url)?;
                let write = sqlite_pool(1, WRITER_PRAGMAS).connect(&url).await?;
                let read = sqlite_pool(max_connections.max(2), "")
                    .connect(&url)
                    .await?;
                Ok(Store {
                    write,
                    read,
                    backend,
                })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(max_connections.max(2))
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect(url)
                    .await?;
                Ok(Store {
                    write: pool.clone(),
                    read: pool,
                    backend,
                })
            }
        }
    }

    /// Applies the backend's pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        self.migrator().run(&self.write).await?;
        Ok(())
    }

    /// Whether every migration this build knows has been applied.
    pub async fn migrations_applied(&self) -> StoreResult<bool> {
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE")
                .fetch_one(&self.read)
                .await
                .unwrap_or(0);
        Ok(applied as usize >= self.migrator().iter().count())
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// The backend a URL selects.
pub fn backend_of(url: &str) -> StoreResult<Backend> {
    if url.starts_with("sqlite:") {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}

/// Adds `mode=rwc` so the file is created, and creates its folder.
fn sqlite_url_creating_folder(url: &str) -> StoreResult<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(url.to_string());
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    if rest.contains("mode=") {
        Ok(url.to_string())
    } else if rest.contains('?') {
        Ok(format!("{url}&mode=rwc"))
    } else {
        Ok(format!("{url}?mode=rwc"))
    }
}

/// The one write connection's own settings. A storm of new alerts inserts at random fingerprints all
/// over the alerts b-tree, and `perf` showed over a third of the samples in the kernel under SQLite's
/// threads: writing the WAL, re-reading pages SQLite's default 2 MiB cache had dropped, and `fsync` in
/// the checkpoints the writer ran itself every 1,000 WAL pages. The writer keeps a 32 MiB cache, and checkpoints are the background
/// checkpointer's (`Store::checkpoint`, every 250 ms, off the writer): the writer only checkpoints
/// itself once the WAL reaches 16,384 pages (64 MiB), should the checkpointer fall behind.
const WRITER_PRAGMAS: &str = "PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 16384;";

/// A SQLite pool in WAL mode; `synchronous=NORMAL` is durable against process crashes.
fn sqlite_pool(max: u32, extra_pragmas: &'static str) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |conn, _meta| {
            Box::pin(async move {
                conn.execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                )
                .await?;
                if !extra_pragmas.is_empty() {
                    conn.execute(extra_pragmas).await?;
                }
                Ok(())
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_scheme_selects_the_backend() {
        assert_eq!(backend_of("sqlite://data/w.db").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert!(backend_of("mysql://x").is_err());
    }
}
