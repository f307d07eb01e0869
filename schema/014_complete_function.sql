-- SPDX-License-Identifier: Apache-2.0
-- Ending an execution in one round trip. POST …/complete used to be BEGIN, the fenced row
-- lock, the mailbox counts, the end, the rendered document and COMMIT: six round trips
-- between mse-server and PostgreSQL. The same steps now run inside one PL/pgSQL function
-- (plans kept for the session), called by a single autocommitted statement when the task has
-- no changes waiting, and inside the server's transaction when it has (those are applied by
-- the server after the end, in the same transaction).
--
-- VOLATILE on purpose: each statement inside takes a fresh snapshot after the row lock, so the
-- counts see a mailbox finish that committed while this call waited for the lock (one
-- statement with CTEs would count from its older snapshot).

-- Outcome: 'fenced' (the claim does not hold: nothing changed, the server finds out why),
-- 'deferred' (the task has changes or a deletion waiting and p_deferred is false: nothing
-- changed, the caller ends the execution in a transaction with p_deferred true), 'ok' (ended;
-- o_doc is the execution as GET …/executions/{id} shows it, o_pending whether the task's
-- waiting changes must now be applied).
--
-- The result follows seed 002's task statuses: failed when the execution itself failed
-- (error_code) or every mailbox did, errors when some did, warning when some warned, ok
-- otherwise; cancelled when a stop was asked for. Mailboxes never finished become skipped.
CREATE FUNCTION mse_execution_complete(p_id uuid, p_site uuid, p_token bigint,
                                       p_deferred boolean, OUT o_outcome text,
                                       OUT o_task_id uuid, OUT o_doc text,
                                       OUT o_pending boolean)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_e executions;
    v_healthy bigint;
    v_warning bigint;
    v_error bigint;
    v_total bigint;
    v_health text;
    v_detail text;
    v_command text;
BEGIN
    -- The fence, under the row lock: nothing may re-claim the execution until the end commits.
    SELECT * INTO v_e FROM executions x
     WHERE x.id = p_id AND x.site_id = p_site AND x.fencing_token = p_token
       AND x.state IN ('running', 'waiting') AND x.lease_expires_at > now()
       FOR UPDATE;
    IF NOT FOUND THEN
        o_outcome := 'fenced';
        RETURN;
    END IF;
    o_task_id := v_e.task_id;
    -- The task's row next (the order every writer of both rows keeps): a change stored from now
    -- on sees the execution ended and applies at once.
    SELECT t.pending_changes IS NOT NULL OR t.deletion_pending, t.command
      INTO o_pending, v_command FROM exchange_tasks t WHERE t.id = v_e.task_id FOR UPDATE;
    IF o_pending AND NOT p_deferred THEN
        o_outcome := 'deferred';
        RETURN;
    END IF;

    SELECT count(*) FILTER (WHERE m.state = 'healthy'), count(*) FILTER (WHERE m.state = 'warning'),
           count(*) FILTER (WHERE m.state = 'error'), count(*)
      INTO v_healthy, v_warning, v_error, v_total
      FROM execution_mailboxes m WHERE m.execution_id = p_id;
    v_health := CASE WHEN v_e.error_code IS NOT NULL OR (v_total > 0 AND v_error = v_total)
                     THEN 'failed'
                     WHEN v_error > 0 THEN 'errors'
                     WHEN v_warning > 0 THEN 'warning'
                     ELSE 'ok' END;
    v_detail := format('%s: %s of %s mailboxes processed (%s healthy, %s warning, %s error)',
                       CASE WHEN v_e.cancel_requested THEN 'Stopped'
                            WHEN v_e.error_code IS NOT NULL THEN 'Failed'
                            ELSE 'Completed' END,
                       v_healthy + v_warning + v_error, v_total, v_healthy, v_warning, v_error);

    WITH m AS (UPDATE execution_mailboxes SET state = 'skipped'
                WHERE execution_id = p_id
                  AND state IN ('pending', 'syncing', 'waiting_for_lock')
                RETURNING address)
    UPDATE task_mailboxes t SET state = 'skipped', updated_at = now() FROM m
     WHERE t.task_id = v_e.task_id AND t.address = m.address;
    DELETE FROM mailbox_locks l WHERE l.execution_id = p_id;
    UPDATE exchange_tasks t
       SET active_execution_id = NULL, live_state = NULL, health = v_health,
           last_execution_id = p_id, command = NULL, latest_detail = v_detail
     WHERE t.id = v_e.task_id;
    -- Last, so that the document it returns sees the mailboxes skipped above.
    UPDATE executions x
       SET state = CASE WHEN v_e.cancel_requested THEN 'cancelled' ELSE 'completed' END,
           result = CASE WHEN v_e.cancel_requested THEN 'cancelled' ELSE v_health END,
           finished_at = now(), lease_expires_at = NULL, command = v_command,
           latest_detail = v_detail
     WHERE x.id = p_id
    RETURNING mse_execution_json(x)::text INTO o_doc;
    o_outcome := 'ok';
END
$$;
