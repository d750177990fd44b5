-- Guest persons: platform users the directory does not know, recorded when first seen.
CREATE TABLE guests (
    platform    TEXT   NOT NULL,
    platform_id TEXT   NOT NULL,
    name        TEXT,
    first_seen  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL,
    PRIMARY KEY (platform, platform_id)
);

-- Slack users linked to directory people by users.lookupByEmail (user_id NULL: no such Slack user).
CREATE TABLE slack_links (
    email      TEXT   PRIMARY KEY,
    user_id    TEXT,
    checked_at BIGINT NOT NULL
);
CREATE INDEX slack_links_user ON slack_links (user_id);
