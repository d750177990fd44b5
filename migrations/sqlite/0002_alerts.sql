-- Alerts: the current state of each fingerprint (the natural key of a report is fingerprint + starts_at).
CREATE TABLE alerts (
    fingerprint         TEXT    PRIMARY KEY,
    source              TEXT    NOT NULL,
    status              TEXT    NOT NULL,
    alertname           TEXT    NOT NULL,
    service             TEXT,
    grade               TEXT    NOT NULL,
    labels              TEXT    NOT NULL,
    annotations         TEXT    NOT NULL,
    starts_at           BIGINT  NOT NULL,
    ends_at             BIGINT,
    generator_url       TEXT,
    group_key           TEXT    NOT NULL,
    incident_id         BIGINT,
    inhibited_by        TEXT,
    dirty               BIGINT  NOT NULL DEFAULT 1,
    flaps               BIGINT  NOT NULL DEFAULT 0,
    reports             BIGINT  NOT NULL DEFAULT 1,
    acknowledged_at     BIGINT,
    first_seen          BIGINT  NOT NULL,
    updated_at          BIGINT  NOT NULL,
    announced_at        BIGINT
);
CREATE INDEX alerts_group_dirty ON alerts (group_key, dirty);
CREATE INDEX alerts_status_service ON alerts (status, service);
CREATE INDEX alerts_incident ON alerts (incident_id, status);
CREATE INDEX alerts_inhibited_by ON alerts (inhibited_by);

-- Alert groups: one per group key; durable timers (next_flush_at) survive restarts.
CREATE TABLE alert_groups (
    group_key     TEXT    PRIMARY KEY,
    service       TEXT,
    incident_id   BIGINT,
    first_seen    BIGINT  NOT NULL,
    last_seen     BIGINT  NOT NULL,
    last_flush_at BIGINT,
    next_flush_at BIGINT
);
CREATE INDEX alert_groups_due ON alert_groups (next_flush_at);
