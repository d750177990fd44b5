-- Failed password sign-ins, per account (`account:<name>`) and per client address (`addr:<ip>`), so the
-- back-off survives a restart and every replica sees the same count. A successful sign-in deletes both rows.
CREATE TABLE signin_failures (
    key            TEXT   PRIMARY KEY,
    failures       BIGINT NOT NULL,
    last_failed_at BIGINT NOT NULL,
    blocked_until  BIGINT NOT NULL
);
CREATE INDEX signin_failures_last ON signin_failures (last_failed_at);
