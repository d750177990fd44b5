-- A group whose dispatch keeps failing is isolated with its own backoff instead of stopping every round:
-- how many dispatches failed in a row, and the last error (shown in GET /api/v1/alerts/groups).
ALTER TABLE alert_groups ADD COLUMN dispatch_failures BIGINT NOT NULL DEFAULT 0;
ALTER TABLE alert_groups ADD COLUMN last_error TEXT;
