-- Slack users seen by warroom: id → display name, so timelines show people.
CREATE TABLE slack_users (
    user_id    TEXT   PRIMARY KEY,
    name       TEXT   NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX slack_users_name ON slack_users (name);

-- War-room messages: Slack (channel, ts) → the timeline event that recorded them (edits, deletions, pins).
CREATE TABLE slack_messages (
    channel_id  TEXT   NOT NULL,
    ts          TEXT   NOT NULL,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    event_id    BIGINT NOT NULL,
    PRIMARY KEY (channel_id, ts)
);

-- The pinned summary message of each incident's Slack room, edited in place.
CREATE TABLE slack_summaries (
    incident_id BIGINT NOT NULL PRIMARY KEY REFERENCES incidents (id),
    channel_id  TEXT   NOT NULL,
    ts          TEXT   NOT NULL
);
