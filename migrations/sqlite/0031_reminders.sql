-- Reminders that escalate: per incident, whether they are on and the streaks the scheduler keeps
-- (JSON: `enabled`, `update`, `commander`), and when its live timer runs (`next_at`, ms). The timer
-- itself is a `jobs` row keyed `reminder:<incident>:<next_at>`; a job for another time is stale.
CREATE TABLE reminders (
    incident_id BIGINT NOT NULL PRIMARY KEY REFERENCES incidents (id),
    state       TEXT   NOT NULL,
    next_at     BIGINT,
    updated_at  BIGINT NOT NULL
);
