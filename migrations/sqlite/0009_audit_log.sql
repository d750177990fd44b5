-- Who did what, allowed or refused: guarded actions that went ahead, and every refusal (a refusal in an
-- incident is also a `refused` event on its timeline).
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT  NOT NULL,
    actor       TEXT    NOT NULL,
    actor_kind  TEXT    NOT NULL,
    platform    TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    allowed     INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    incident_id BIGINT,
    subject     TEXT
);
CREATE INDEX audit_log_actor ON audit_log (actor, id);

-- A freeze lifted early keeps its row: `ends_at` becomes the lift time, and who lifted it is kept.
ALTER TABLE change_freezes ADD COLUMN lifted_by TEXT;
ALTER TABLE change_freezes ADD COLUMN lifted_at BIGINT;
