-- Lead time for changes needs when the deployed commit was made (GitHub's workflow_run.head_commit.timestamp,
-- or `committed_at` in a native report); action items may carry a due date (reminders read `due_at`).
ALTER TABLE changes ADD COLUMN committed_at BIGINT;
ALTER TABLE action_items ADD COLUMN due_at BIGINT;
