-- The pinned summary message of each incident's Discord room, edited in place.
CREATE TABLE discord_summaries (
    incident_id BIGINT NOT NULL PRIMARY KEY REFERENCES incidents (id),
    channel_id  TEXT   NOT NULL,
    message_id  TEXT   NOT NULL
);
