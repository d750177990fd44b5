-- Discord's gateway: war-room messages as recorded (edits, deletions and pins find the original),
-- the last message id seen per war-room channel (the back-fill cursor), and the gateway session
-- the leader may resume (kept here so that a replica taking over resumes the same session).
CREATE TABLE discord_messages (
    channel_id  TEXT   NOT NULL,
    message_id  TEXT   NOT NULL,
    incident_id BIGINT NOT NULL REFERENCES incidents (id),
    event_id    BIGINT NOT NULL,
    author_id   TEXT   NOT NULL,
    author_name TEXT,
    content     TEXT   NOT NULL,
    edited_at   TEXT,
    PRIMARY KEY (channel_id, message_id)
);

CREATE TABLE discord_cursors (
    channel_id      TEXT   NOT NULL PRIMARY KEY,
    last_message_id TEXT   NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE discord_gateway_sessions (
    name        TEXT   NOT NULL PRIMARY KEY,
    session_id  TEXT   NOT NULL,
    resume_url  TEXT   NOT NULL,
    seq         BIGINT NOT NULL,
    bot_user_id TEXT   NOT NULL,
    updated_at  BIGINT NOT NULL
);
