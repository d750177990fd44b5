-- Pages: one row per recipient (a person, a chat channel or a webhook gateway) per step of an
-- escalation chain. `chain` groups the pages one policy (or one on-demand page) sends for an incident;
-- `step` counts levels across repeats (round * levels + level). Status: sent → acknowledged |
-- escalated | exhausted. The escalation timers are rows of `jobs`.
CREATE TABLE pages (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id     BIGINT  NOT NULL REFERENCES incidents (id),
    chain           TEXT    NOT NULL,
    policy          TEXT,
    step            BIGINT  NOT NULL,
    level           BIGINT  NOT NULL,
    round           BIGINT  NOT NULL,
    target          TEXT    NOT NULL,
    person          TEXT,
    channel         TEXT,
    webhook         TEXT,
    status          TEXT    NOT NULL DEFAULT 'sent',
    created_by      TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT
);
CREATE INDEX pages_incident_status ON pages (incident_id, status);
CREATE INDEX pages_person_status ON pages (person, status);
