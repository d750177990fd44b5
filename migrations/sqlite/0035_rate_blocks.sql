-- Platform rate limits learned from answers, shared by every replica: a bucket (a Discord route, or
-- its global limit) that the platform said is spent, and until when (ms since the epoch).
CREATE TABLE rate_blocks (
    bucket   TEXT   PRIMARY KEY,
    until_ms BIGINT NOT NULL
);
