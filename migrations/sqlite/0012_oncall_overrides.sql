-- On-call overrides: `person` is on call for `schedule` from `starts` until `ends`, whoever the layers say.
-- Removed overrides keep their row (removed, removed_by) so the history stays readable.
CREATE TABLE oncall_overrides (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule   TEXT    NOT NULL,
    person     TEXT    NOT NULL,
    starts     BIGINT  NOT NULL,
    ends       BIGINT  NOT NULL,
    created_by TEXT    NOT NULL,
    reason     TEXT,
    created    BIGINT  NOT NULL,
    removed    BIGINT,
    removed_by TEXT
);
CREATE INDEX oncall_overrides_schedule_ends ON oncall_overrides (schedule, ends);
