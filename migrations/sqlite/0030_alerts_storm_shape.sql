-- Storms of new alerts (issue 12): a new alert was a table row, its primary-key entry and five secondary
-- index entries, all written before the answer. The table is now keyed by fingerprint itself (`WITHOUT
-- ROWID`: row and key are one b-tree entry), and only the index a new alert needs at once stays full-size:
-- the pending-dispatch index holds only alerts that wait for dispatch, and the incident and inhibition
-- indexes hold only alerts that have an incident / an inhibitor (both NULL when an alert arrives). The
-- `(status, service)` and `(incident_id, status)` indexes go: listings by status or service sort the whole
-- table by `updated_at` anyway, and `(incident_id, starts_at)` serves every per-incident read.
CREATE TABLE alerts_by_fingerprint (
    fingerprint         TEXT    NOT NULL PRIMARY KEY,
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
) WITHOUT ROWID;
INSERT INTO alerts_by_fingerprint (fingerprint, source, status, alertname, service, grade, labels, annotations,
    starts_at, ends_at, generator_url, group_key, incident_id, inhibited_by, dirty, flaps, reports,
    acknowledged_at, first_seen, updated_at, announced_at)
SELECT fingerprint, source, status, alertname, service, grade, labels, annotations, starts_at, ends_at,
    generator_url, group_key, incident_id, inhibited_by, dirty, flaps, reports, acknowledged_at, first_seen,
    updated_at, announced_at FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_by_fingerprint RENAME TO alerts;
CREATE INDEX alerts_pending ON alerts (group_key) WHERE dirty = 1;
CREATE INDEX alerts_incident_start ON alerts (incident_id, starts_at) WHERE incident_id IS NOT NULL;
CREATE INDEX alerts_inhibited_by ON alerts (inhibited_by) WHERE inhibited_by IS NOT NULL;
