-- SPDX-License-Identifier: Apache-2.0
-- "Refresh membership" for sync tasks too (issue 14): a request names either the Exchange task
-- or the sync task it was made for; the workers of the site see only the group either way.
ALTER TABLE membership_refreshes
    ALTER COLUMN task_id DROP NOT NULL,
    ADD COLUMN sync_task_id uuid REFERENCES sync_tasks (id) ON DELETE CASCADE,
    ADD CONSTRAINT membership_refreshes_one_task CHECK (num_nonnulls(task_id, sync_task_id) = 1);
