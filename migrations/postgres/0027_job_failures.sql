-- No poison in jobs: failures in a row (a successful run or poll resets them) drive a job's own
-- backoff, apart from `attempts` (every claim); the time of the last failure is shown to operators.
ALTER TABLE jobs ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN failed_at BIGINT;
