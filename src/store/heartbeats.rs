//! Heartbeat state: one row per `[[heartbeat]]`, written inside the beat's or the check's unit.

use super::rows::{get_time, get_time_opt, ms, ms_opt};
use super::{Backend, Store, StoreError, StoreResult, Tx};
use crate::domain::heartbeat::{HeartbeatState, Status};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

const COLUMNS: &str =
    "name, since, last_beat, last_source, beats, status, missed_at, incident_id, check_at";

fn from_row(r: &AnyRow) -> StoreResult<HeartbeatState> {
    let status: String = r.try_get("status")?;
    Ok(HeartbeatState {
        name: r.try_get("name")?,
        since: get_time(r, "since")?,
        last_beat: get_time_opt(r, "last_beat")?,
        last_source: r.try_get("last_source")?,
        beats: r.try_get("beats")?,
        status: Status::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("heartbeat status `{status}`")))?,
        missed_at: get_time_opt(r, "missed_at")?,
        incident_id: r.try_get("incident_id")?,
        check_at: get_time_opt(r, "check_at")?,
    })
}

impl Tx {
    /// The state of heartbeat `name`, locked until commit; a heartbeat warroom has not watched yet
    /// starts at `now` (inserted first, so replicas meet on one row).
    pub async fn heartbeat_for_update(
        &mut self,
        name: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<HeartbeatState> {
        sqlx::query(
            "INSERT INTO heartbeats (name, since, beats, status) VALUES ($1, $2, 0, 'ok') \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(ms(now))
        .execute(self.conn())
        .await?;
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let sql = format!("SELECT {COLUMNS} FROM heartbeats WHERE name = $1{lock}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_one(self.conn())
            .await?;
        from_row(&row)
    }

    /// Writes a heartbeat's state back.
    pub async fn save_heartbeat(&mut self, s: &HeartbeatState) -> StoreResult<()> {
        sqlx::query(
            "UPDATE heartbeats SET last_beat = $1, last_source = $2, beats = $3, status = $4, \
             missed_at = $5, incident_id = $6, check_at = $7 WHERE name = $8",
        )
        .bind(ms_opt(s.last_beat))
        .bind(s.last_source.as_deref())
        .bind(s.beats)
        .bind(s.status.as_str())
        .bind(ms_opt(s.missed_at))
        .bind(s.incident_id)
        .bind(ms_opt(s.check_at))
        .bind(&s.name)
        .execute(self.conn())
        .await?;
        Ok(())
    }
}

impl Store {
    /// Every stored heartbeat state, by name.
    pub async fn heartbeat_states(&self) -> StoreResult<Vec<HeartbeatState>> {
        let sql = format!("SELECT {COLUMNS} FROM heartbeats ORDER BY name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(from_row).collect()
    }
}
