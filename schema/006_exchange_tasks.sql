-- SPDX-License-Identifier: Apache-2.0
-- Exchange tasks: which site runs which definition on which group, and when.
--
-- Deleting a task sets deleted_at instead of removing the row: replicated data, executions and
-- sync state keep a valid reference to the task that produced them. A deleted task is gone
-- from the API, frees nothing but its schedule/definition references, and never runs again.

CREATE TABLE exchange_tasks (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq                 bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    site_id             uuid REFERENCES sites (id) ON DELETE SET NULL,
    type                text NOT NULL CHECK (type IN ('mailbox_folder_replication',
                                                      'calendar_replication',
                                                      'mailbox_storage_management',
                                                      'managed_folders')),
    definition_id       uuid REFERENCES definitions (id) ON DELETE SET NULL,
    schedule_id         uuid REFERENCES schedules (id) ON DELETE SET NULL,
    group_kind          text NOT NULL CHECK (group_kind IN ('ad_group', 'group_email', 'mailbox',
                                                            'mailbox_list')),
    group_value         text NOT NULL,
    enabled             boolean NOT NULL DEFAULT true,
    -- Live fields, maintained by the execution lifecycle (issue #5).
    command             text,
    latest_detail       text,
    sequence            bigint NOT NULL DEFAULT 0, -- successful submissions to the platform
    next_run_at         timestamptz,               -- next due time; NULL = never (disabled, past)
    active_execution_id uuid,                      -- set while an execution runs
    -- Changes made while an execution runs wait here: a subset of {name, schedule_id,
    -- definition_id, enabled}, validated when stored, applied when the execution ends.
    pending_changes     jsonb CHECK (pending_changes IS NULL
                                     OR jsonb_typeof(pending_changes) = 'object'),
    deletion_pending    boolean NOT NULL DEFAULT false,
    deleted_at          timestamptz,
    version             bigint NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    created_by          text,
    updated_by          text,
    CHECK (deleted_at IS NOT NULL
           OR (site_id IS NOT NULL AND definition_id IS NOT NULL AND schedule_id IS NOT NULL))
);
CREATE INDEX exchange_tasks_live ON exchange_tasks (seq) WHERE deleted_at IS NULL;
CREATE INDEX exchange_tasks_site ON exchange_tasks (site_id, seq) WHERE deleted_at IS NULL;
CREATE INDEX exchange_tasks_schedule ON exchange_tasks (schedule_id) WHERE deleted_at IS NULL;
CREATE INDEX exchange_tasks_definition ON exchange_tasks (definition_id) WHERE deleted_at IS NULL;
-- The scheduler's question: which live tasks are due?
CREATE INDEX exchange_tasks_due ON exchange_tasks (next_run_at)
    WHERE next_run_at IS NOT NULL AND deleted_at IS NULL;

-- Only what an administrator set changes the version (the ETag); live fields do not.
CREATE TRIGGER exchange_tasks_version BEFORE UPDATE ON exchange_tasks
    FOR EACH ROW WHEN ((OLD.name, OLD.definition_id, OLD.schedule_id, OLD.enabled,
                        OLD.pending_changes, OLD.deletion_pending, OLD.deleted_at)
                       IS DISTINCT FROM
                       (NEW.name, NEW.definition_id, NEW.schedule_id, NEW.enabled,
                        NEW.pending_changes, NEW.deletion_pending, NEW.deleted_at))
    EXECUTE FUNCTION mse_bump_version();
