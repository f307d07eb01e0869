-- SPDX-License-Identifier: Apache-2.0
-- The execution lifecycle (docs/worker-protocol.md): executions with leases and fencing
-- tokens, per-mailbox progress, mailbox locks across tasks, sync checkpoints, applied batches.

CREATE TABLE executions (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    task_id          uuid NOT NULL REFERENCES exchange_tasks (id),
    site_id          uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    trigger          text NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    state            text NOT NULL CHECK (state IN ('queued', 'running', 'waiting', 'completed',
                                                    'cancelled', 'skipped')),
    result           text CHECK (result IN ('ok', 'warning', 'errors', 'failed', 'cancelled',
                                            'skipped')),
    queued_at        timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    -- Task, definition, group and site as they were at the first claim: a running execution
    -- finishes with the settings it started with (seed 001).
    snapshot         jsonb,
    worker_id        text,
    fencing_token    bigint NOT NULL DEFAULT 0,
    lease_expires_at timestamptz,
    claims           integer NOT NULL DEFAULT 0,
    lease_expiries   integer NOT NULL DEFAULT 0,
    cancel_requested boolean NOT NULL DEFAULT false,
    command          text,
    latest_detail    text,
    progress_at      timestamptz,
    membership_known boolean NOT NULL DEFAULT false,
    -- Why the whole execution failed (the group could not be resolved, say).
    error_code       text,
    error_text       text,
    mailboxes_total  integer NOT NULL DEFAULT 0,
    items            bigint NOT NULL DEFAULT 0,
    submissions      bigint NOT NULL DEFAULT 0,
    CHECK ((state IN ('running', 'waiting')) = (lease_expires_at IS NOT NULL))
);
-- Never two active executions of one task, whoever creates them (scheduler, run-now, two servers).
CREATE UNIQUE INDEX executions_one_active ON executions (task_id)
    WHERE state IN ('queued', 'running', 'waiting');
CREATE INDEX executions_claimable ON executions (site_id, seq) WHERE state = 'queued';
CREATE INDEX executions_leased ON executions (lease_expires_at)
    WHERE state IN ('running', 'waiting');
CREATE INDEX executions_task ON executions (task_id, seq);

-- The mailboxes one execution processes, in group order, and how each went.
CREATE TABLE execution_mailboxes (
    execution_id uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    address      text NOT NULL CHECK (address = lower(address)),
    position     integer NOT NULL,
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'syncing', 'waiting_for_lock', 'healthy', 'warning',
                                  'error', 'skipped')),
    reason_code  text,
    reason_text  text,
    items        bigint NOT NULL DEFAULT 0,
    full_sync    boolean,
    started_at   timestamptz,
    finished_at  timestamptz,
    duration_ms  bigint,
    PRIMARY KEY (execution_id, address)
);
CREATE UNIQUE INDEX execution_mailboxes_order ON execution_mailboxes (execution_id, position);

-- Per task, each mailbox's latest state and the baseline figures seed 004 asks administrators
-- to record: first full sync and latest sync, each with its duration.
CREATE TABLE task_mailboxes (
    task_id             uuid NOT NULL REFERENCES exchange_tasks (id) ON DELETE CASCADE,
    address             text NOT NULL CHECK (address = lower(address)),
    seq                 bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    state               text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'syncing', 'waiting_for_lock', 'healthy',
                                         'warning', 'error', 'skipped')),
    reason_code         text,
    reason_text         text,
    in_group            boolean NOT NULL DEFAULT true, -- member at the latest resolution
    items_replicated    bigint NOT NULL DEFAULT 0,
    first_full_sync_at  timestamptz,
    first_full_sync_ms  bigint,
    last_sync_at        timestamptz,
    last_sync_ms        bigint,
    last_execution_id   uuid,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, address)
);

-- One holder per mailbox across all tasks and sites. The lock is only as good as its
-- holder's lease: a holder whose lease ran out no longer counts (see mse_lock_mailbox).
CREATE TABLE mailbox_locks (
    address      text PRIMARY KEY CHECK (address = lower(address)),
    execution_id uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    task_id      uuid NOT NULL,
    acquired_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mailbox_locks_execution ON mailbox_locks (execution_id);

-- EWS sync state after the last applied submission, per (site, task, mailbox, scope): scope
-- is 'hierarchy' or an EWS folder id. Incremental state is tied to the site and the task
-- (seeds 000, 004): another task or site starts over.
CREATE TABLE sync_checkpoints (
    site_id         uuid NOT NULL,
    task_id         uuid NOT NULL,
    mailbox         text NOT NULL CHECK (mailbox = lower(mailbox)),
    scope           text NOT NULL,
    state           text NOT NULL,
    -- Set while a pass that started from nothing is under way; its last page marks deleted
    -- whatever it did not report (a resync catches deletions that happened meanwhile).
    full_pass_epoch bigint,
    batch_id        uuid NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, task_id, mailbox, scope)
);

-- Every applied submission, so a replay is acknowledged instead of applied twice.
CREATE TABLE applied_batches (
    batch_id     uuid PRIMARY KEY,
    execution_id uuid NOT NULL,
    task_id      uuid NOT NULL,
    mailbox      text NOT NULL,
    scope        text NOT NULL,
    sequence     bigint NOT NULL, -- the task's sequence after this batch
    records      integer NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX applied_batches_task ON applied_batches (task_id, sequence);

-- A site is online while one of its workers is: a worker is gone after three missed
-- heartbeats, whatever interval the server asked it to keep (MSE_HEARTBEAT_SECONDS).
ALTER TABLE site_workers
    ADD COLUMN offline_at timestamptz NOT NULL DEFAULT now() + interval '30 seconds';
DROP FUNCTION mse_worker_offline_after();

-- What administrators see of a task between and during executions.
ALTER TABLE exchange_tasks
    ADD COLUMN live_state text CHECK (live_state IN ('queued', 'running', 'waiting')),
    ADD COLUMN health text CHECK (health IN ('ok', 'warning', 'errors', 'failed')),
    ADD COLUMN last_execution_id uuid;

-- Full passes get increasing numbers: a sweep removes only what an older pass reported.
CREATE SEQUENCE mse_pass_epoch;

-- The settings an execution runs with, frozen at its first claim.
CREATE FUNCTION mse_execution_snapshot(task uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'task', jsonb_build_object('id', t.id, 'name', t.name, 'type', t.type),
        'definition', jsonb_build_object('id', d.id, 'type', d.type, 'settings', d.settings),
        'group', jsonb_build_object('kind', t.group_kind, 'value', t.group_value),
        'site', jsonb_build_object('id', s.id, 'name', s.name))
    FROM exchange_tasks t
    JOIN definitions d ON d.id = t.definition_id
    JOIN sites s ON s.id = t.site_id
    WHERE t.id = task
$$;

-- An execution as the API shows it (history, run-now answers).
CREATE FUNCTION mse_execution_json(e executions) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', e.id, 'task_id', e.task_id, 'site_id', e.site_id, 'trigger', e.trigger,
        'state', e.state, 'result', e.result,
        'queued_at', mse_ts(e.queued_at), 'started_at', mse_ts(e.started_at),
        'finished_at', mse_ts(e.finished_at),
        'duration_ms', (extract(epoch FROM e.finished_at - e.started_at) * 1000)::bigint,
        'command', e.command, 'latest_detail', e.latest_detail,
        'cancel_requested', e.cancel_requested,
        'error', CASE WHEN e.error_code IS NULL THEN NULL
                      ELSE json_build_object('code', e.error_code, 'text', e.error_text) END,
        'mailboxes', (SELECT json_build_object(
                'total', count(*),
                'pending', count(*) FILTER (WHERE m.state = 'pending'),
                'syncing', count(*) FILTER (WHERE m.state = 'syncing'),
                'waiting_for_lock', count(*) FILTER (WHERE m.state = 'waiting_for_lock'),
                'healthy', count(*) FILTER (WHERE m.state = 'healthy'),
                'warning', count(*) FILTER (WHERE m.state = 'warning'),
                'error', count(*) FILTER (WHERE m.state = 'error'),
                'skipped', count(*) FILTER (WHERE m.state = 'skipped'))
            FROM execution_mailboxes m WHERE m.execution_id = e.id),
        'items', e.items, 'submissions', e.submissions, 'claims', e.claims,
        'lease_expiries', e.lease_expiries)
$$;
