-- Why a page left `sent` without anyone acknowledging it when the cause was not its own timer: the
-- incident ended (`incident_resolved`, `incident_cancelled`, `incident_closed` …), so the page became
-- `exhausted` in the unit of work that ended it and its timers were cancelled there. NULL otherwise.
ALTER TABLE pages ADD COLUMN stop_reason TEXT;
