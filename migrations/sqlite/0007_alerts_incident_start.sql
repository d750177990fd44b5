-- The earliest start among an incident's announced alerts, read on every dispatch to decide whether the
-- incident's first signal moved (and its suspect changes need ranking again).
CREATE INDEX alerts_incident_start ON alerts (incident_id, starts_at);
