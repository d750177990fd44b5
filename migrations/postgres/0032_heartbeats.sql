-- Heartbeats (dead man's switches): the state of each `[[heartbeat]]` of the catalog. The definitions
-- live in the catalog file; the check that notices a miss is a `jobs` row (kind `heartbeat_check`).
-- Times are epoch milliseconds.
CREATE TABLE heartbeats (
    name        TEXT   PRIMARY KEY,
    since       BIGINT NOT NULL,
    last_beat   BIGINT,
    last_source TEXT,
    beats       BIGINT NOT NULL DEFAULT 0,
    status      TEXT   NOT NULL DEFAULT 'ok',
    missed_at   BIGINT,
    incident_id BIGINT,
    check_at    BIGINT
);
