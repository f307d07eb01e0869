-- SPDX-License-Identifier: Apache-2.0
-- A mailbox's pass is one logical pass across its attempts. A worker that dies mid-pass never
-- reports what it did, and the attempt that resumes it only knows its own share; so the
-- server counts what reached the archive itself:
--
-- * items: every applied batch adds its item and appointment upserts to the execution, the
--   execution's mailbox and the task's mailbox (items_replicated) when it is applied — once,
--   whichever attempt sent it (a replayed batch is not applied again).
-- * time: each lock grant opens an attempt; an attempt that never finished (its worker died,
--   its lease ran out) counts from its start to its last applied batch, the finishing attempt
--   as its worker measured it. duration_ms of the execution's mailbox is their sum.
-- * baseline (seed 004): only a completed pass (healthy or warning) sets first_full_sync_*,
--   and the first one that completes while none is set does, whether its worker started it
--   from nothing or resumed it from checkpoints. Its items and time include every earlier
--   attempt since the mailbox joined the task, in this execution and in failed ones before.
ALTER TABLE execution_mailboxes
    ADD COLUMN attempt_started_at  timestamptz,          -- the attempt under way, if any
    ADD COLUMN last_applied_at     timestamptz,          -- the last batch applied for it
    ADD COLUMN earlier_attempts_ms bigint NOT NULL DEFAULT 0,
    ADD COLUMN items_reported      bigint;               -- the finishing worker's own count

ALTER TABLE task_mailboxes
    ADD COLUMN first_full_sync_items bigint,
    -- Accumulated while no baseline is set, by the attempts of the first full pass.
    ADD COLUMN full_pass_items bigint NOT NULL DEFAULT 0,
    ADD COLUMN full_pass_ms    bigint NOT NULL DEFAULT 0;
