-- Duplicate reports counted apart from the wide `alerts` row: a report that only repeats the stored state
-- adds to this narrow row instead of rewriting the alert. An alert's reports = alerts.reports + this count.
-- Free room on each page keeps the counter updates HOT (no index write).
CREATE TABLE alert_duplicates (
    fingerprint TEXT   PRIMARY KEY,
    reports     BIGINT NOT NULL
) WITH (fillfactor = 50);
