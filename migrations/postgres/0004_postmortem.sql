-- The postmortem draft of each incident, as generated on resolve and refreshed on close.
CREATE TABLE postmortems (
    incident_id      BIGINT  PRIMARY KEY REFERENCES incidents (id),
    format_version   BIGINT  NOT NULL,
    generated        TEXT    NOT NULL,
    generated_at     BIGINT  NOT NULL,
    through_event_id BIGINT  NOT NULL,
    body             TEXT    NOT NULL
);

-- Reports read incidents by creation time and timelines by kind.
CREATE INDEX incidents_created ON incidents (created_at);
CREATE INDEX timeline_events_kind ON timeline_events (kind, incident_id);
