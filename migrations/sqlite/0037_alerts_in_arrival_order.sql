-- Storms of new alerts (issue 12): keyed by fingerprint (`WITHOUT ROWID`, migration 0030), every new
-- alert went into a random place of a table of wide rows, so each one dirtied a page of its own, written
-- to the WAL at its ingest commit and again at its dispatch mark, and once more by each checkpoint: 27-28 KB
-- reached the disk per new alert (BENCHMARKS.md, storms, fourth pass). Rows now go in arrival order (a rowid table): a storm's new alerts share
-- the table's last pages, at ingest and at dispatch; only the narrow fingerprint index is written at
-- random places.
CREATE TABLE alerts_in_arrival_order (
    id                  INTEGER PRIMARY KEY,
    fingerprint         TEXT    NOT NULL UNIQUE,
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
INSERT INTO alerts_in_arrival_order (fingerprint, source, status, alertname, service, grade, labels,
    annotations, starts_at, ends_at, generator_url, group_key, incident_id, inhibited_by, dirty, flaps,
    reports, acknowledged_at, first_seen, updated_at, announced_at)
SELECT fingerprint, source, status, alertname, service, grade, labels, annotations, starts_at, ends_at,
    generator_url, group_key, incident_id, inhibited_by, dirty, flaps, reports, acknowledged_at, first_seen,
    updated_at, announced_at FROM alerts ORDER BY first_seen, fingerprint;
DROP TABLE alerts;
ALTER TABLE alerts_in_arrival_order RENAME TO alerts;
CREATE INDEX alerts_pending ON alerts (group_key) WHERE dirty = 1;
CREATE INDEX alerts_incident_start ON alerts (incident_id, starts_at) WHERE incident_id IS NOT NULL;
CREATE INDEX alerts_inhibited_by ON alerts (inhibited_by) WHERE inhibited_by IS NOT NULL;
