-- A fenced outbox: a claim carries a token that completing, failing or rescheduling must present;
-- `starts` counts deliveries that began (so a retry after a crash looks before it repeats), while
-- `attempts` now counts only attempts that reported back.
ALTER TABLE outbox ADD COLUMN claim_token TEXT;
ALTER TABLE outbox ADD COLUMN starts BIGINT NOT NULL DEFAULT 0;
CREATE INDEX outbox_claim ON outbox (claim_token);
CREATE INDEX outbox_status_id ON outbox (status, id);

-- Platform rate limits shared by every replica: one token bucket per platform/method (or channel),
-- updated atomically; a negative balance is a queue of reservations waiting their turn.
CREATE TABLE rate_buckets (
    bucket     TEXT   PRIMARY KEY,
    tokens     REAL   NOT NULL,
    updated_at BIGINT NOT NULL
);
