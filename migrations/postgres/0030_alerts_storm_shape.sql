-- Storms of new alerts (issue 12): a new alert was a heap row, its primary-key entry and five secondary
-- index entries, all written before the answer (and a dispatch, which sets incident_id and clears dirty,
-- wrote every one of them again). Only the pending-dispatch index now holds a new alert: it keeps only
-- alerts that wait for dispatch, and the incident and inhibition indexes keep only alerts that have an
-- incident / an inhibitor (both NULL when an alert arrives). The `(status, service)` and
-- `(incident_id, status)` indexes go: listings by status or service sort by `updated_at` anyway, and
-- `(incident_id, starts_at)` serves every per-incident read.
DROP INDEX alerts_status_service;
DROP INDEX alerts_incident;
DROP INDEX alerts_group_dirty;
DROP INDEX alerts_inhibited_by;
DROP INDEX alerts_incident_start;
CREATE INDEX alerts_pending ON alerts (group_key) WHERE dirty = 1;
CREATE INDEX alerts_incident_start ON alerts (incident_id, starts_at) WHERE incident_id IS NOT NULL;
CREATE INDEX alerts_inhibited_by ON alerts (inhibited_by) WHERE inhibited_by IS NOT NULL;
