-- Changes: deliberate actions on production, with their lifecycle history.
CREATE TABLE changes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    source        TEXT    NOT NULL,
    external_id   TEXT,
    kind          TEXT    NOT NULL,
    service       TEXT    NOT NULL,
    services      TEXT    NOT NULL DEFAULT '[]',
    environment   TEXT,
    summary       TEXT    NOT NULL,
    author        TEXT,
    version       TEXT,
    links         TEXT    NOT NULL DEFAULT '[]',
    status        TEXT    NOT NULL,
    rollback_of   BIGINT,
    rollback_plan TEXT,
    started_at    BIGINT,
    ended_at      BIGINT,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX changes_external ON changes (source, external_id);
CREATE INDEX changes_started ON changes (started_at);
CREATE INDEX changes_service ON changes (service, started_at);

-- Every lifecycle step of a change (changes are not incidents: their own history).
CREATE TABLE change_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    change_id   BIGINT  NOT NULL REFERENCES changes (id),
    at          BIGINT  NOT NULL,
    actor       TEXT,
    from_status TEXT,
    to_status   TEXT    NOT NULL,
    text        TEXT,
    data        TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX change_events_change ON change_events (change_id, id);

-- Suspects linked to incidents by correlation, and the one confirmed as the cause.
CREATE TABLE incident_changes (
    incident_id BIGINT  NOT NULL REFERENCES incidents (id),
    change_id   BIGINT  NOT NULL REFERENCES changes (id),
    score       DOUBLE PRECISION NOT NULL,
    rank        BIGINT  NOT NULL,
    evidence    TEXT    NOT NULL DEFAULT '[]',
    confirmed   BIGINT  NOT NULL DEFAULT 0,
    linked_at   BIGINT  NOT NULL,
    PRIMARY KEY (incident_id, change_id)
);
CREATE INDEX incident_changes_change ON incident_changes (change_id);

-- Change freezes declared from chat or the API (cron windows live in the configuration).
CREATE TABLE change_freezes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    scope      TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    starts_at  BIGINT  NOT NULL,
    ends_at    BIGINT  NOT NULL,
    created_by TEXT,
    created_at BIGINT  NOT NULL
);
CREATE INDEX change_freezes_ends ON change_freezes (ends_at);

-- The remaining error budget per service (0.0 exhausted … 1.0 untouched), pushed through the API.
CREATE TABLE error_budgets (
    service    TEXT    PRIMARY KEY,
    remaining  DOUBLE PRECISION NOT NULL,
    updated_by TEXT,
    updated_at BIGINT  NOT NULL
);

-- Gate overrides by permitted people.
CREATE TABLE gate_overrides (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    service    TEXT    NOT NULL,
    kind       TEXT,
    by_user    TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    reasons    TEXT    NOT NULL DEFAULT '[]',
    created_at BIGINT  NOT NULL
);

-- Durable scheduled jobs (rollback watch and verification), claimed with a lease.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT    NOT NULL,
    job_key       TEXT    UNIQUE,
    payload       TEXT    NOT NULL DEFAULT '{}',
    run_at        BIGINT  NOT NULL,
    status        TEXT    NOT NULL DEFAULT 'pending',
    attempts      BIGINT  NOT NULL DEFAULT 0,
    claimed_until BIGINT,
    last_error    TEXT,
    created_at    BIGINT  NOT NULL,
    done_at       BIGINT
);
CREATE INDEX jobs_due ON jobs (status, run_at);
