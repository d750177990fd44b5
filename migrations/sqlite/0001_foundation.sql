-- Incidents: the projection of each timeline.
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    title           TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    severity        TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    service         TEXT,
    roles           TEXT    NOT NULL DEFAULT '{}',
    impact          TEXT,
    declared_by     TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    detected_at     BIGINT  NOT NULL,
    declared_at     BIGINT,
    acknowledged_at BIGINT,
    mitigated_at    BIGINT,
    resolved_at     BIGINT,
    closed_at       BIGINT,
    cancelled_at    BIGINT
);
CREATE INDEX incidents_status ON incidents (status);
CREATE INDEX incidents_service ON incidents (service);

-- The append-only timeline: the source of truth.
CREATE TABLE timeline_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT  NOT NULL REFERENCES incidents (id),
    kind        TEXT    NOT NULL,
    at          BIGINT  NOT NULL,
    recorded_at BIGINT  NOT NULL,
    actor       TEXT,
    text        TEXT,
    data        TEXT    NOT NULL DEFAULT '{}',
    source_key  TEXT    UNIQUE
);
CREATE INDEX timeline_events_incident ON timeline_events (incident_id, id);

-- Action items from `/inc action`.
CREATE TABLE action_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT  NOT NULL REFERENCES incidents (id),
    text        TEXT    NOT NULL,
    owner       TEXT,
    status      TEXT    NOT NULL DEFAULT 'open',
    created_by  TEXT,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX action_items_incident ON action_items (incident_id);

-- The durable outbox: every outbound chat action, delivered by a worker.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    destination     TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    incident_id     BIGINT,
    channel_key     TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    idempotency_key TEXT    UNIQUE,
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    claimed_until   BIGINT,
    last_error      TEXT,
    result          TEXT,
    created_at      BIGINT  NOT NULL,
    done_at         BIGINT
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at);
CREATE INDEX outbox_channel ON outbox (channel_key, status, id);

-- Natural keys of inbound events (webhook deliveries, platform event ids).
CREATE TABLE idempotency_keys (
    scope      TEXT   NOT NULL,
    key        TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

-- What the bot posted into a room, with the platform's id for it.
CREATE TABLE room_posts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id BIGINT  NOT NULL REFERENCES incidents (id),
    platform    TEXT    NOT NULL,
    platform_id TEXT,
    text        TEXT    NOT NULL,
    posted_at   BIGINT  NOT NULL,
    outbox_id   BIGINT  UNIQUE
);
CREATE INDEX room_posts_incident ON room_posts (incident_id, id);

-- The war room of an incident on each chat platform.
CREATE TABLE chat_rooms (
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    platform    TEXT   NOT NULL,
    room_id     TEXT   NOT NULL,
    name        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (incident_id, platform)
);
CREATE UNIQUE INDEX chat_rooms_room ON chat_rooms (platform, room_id);
