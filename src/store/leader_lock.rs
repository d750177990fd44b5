//! Leadership among replicas: a PostgreSQL session advisory lock held on a connection of its own
//! (released by PostgreSQL when that connection or the process dies); on SQLite the one process leads.
//! The lock is keyed on the key and the schema, so deployments that share a database in separate
//! schemas (and the tests, one schema each) do not take each other's leadership.

use super::{Backend, Store, StoreResult};
use sqlx::AnyConnection;
use sqlx::{Connection, Executor};

/// Leadership held for one advisory-lock key; dropping it (or the process dying) lets it go.
pub struct LeaderLock {
    key: i32,
    /// The connection holding the PostgreSQL lock; `None` on SQLite.
    conn: Option<AnyConnection>,
}

impl std::fmt::Debug for LeaderLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaderLock")
            .field("key", &self.key)
            .finish()
    }
}

impl Store {
    /// Takes leadership for `key` if no other replica holds it (never waits).
    pub async fn try_leader_lock(&self, key: i32) -> StoreResult<Option<LeaderLock>> {
        if self.backend == Backend::Sqlite {
            return Ok(Some(LeaderLock { key, conn: None }));
        }
        // A connection of its own, out of the pool: the lock lives exactly as long as it does.
        let mut conn = self.write.acquire().await?.detach();
        let got: bool =
            sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext(current_schema()))")
                .bind(key)
                .fetch_one(&mut conn)
                .await?;
        if got {
            Ok(Some(LeaderLock {
                key,
                conn: Some(conn),
            }))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }
}

impl LeaderLock {
    /// Whether the lock is still held (its connection still answers).
    pub async fn still_held(&mut self) -> bool {
        match &mut self.conn {
            None => true,
            Some(conn) => conn.execute("SELECT 1").await.is_ok(),
        }
    }

    /// Gives leadership up now (another replica may take it at once).
    pub async fn release(mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1, hashtext(current_schema()))")
                .bind(self.key)
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}
