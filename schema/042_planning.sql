-- SPDX-License-Identifier: Apache-2.0
-- Throughput planning (issue 18, seed 004): baselines per task from the passes already
-- recorded (task_mailboxes for the first full pass, execution_mailboxes for every pass), whether
-- one execution of a task's whole group fits within its schedule's interval, and the
-- least-squares fits of pass duration against mailbox size that the planner scales from.
--
-- A mailbox's size is the item count of its first full pass (first_full_sync_items): the
-- incremental passes of a mailbox are read against it too, so that a planner asked about
-- "mailboxes of 10,000 items" scales both kinds of pass from one figure, as seed 004 does.

-- A task may process up to max_parallel_mailboxes mailboxes of one execution at once: 1, the
-- default, is seed 004's one by one. Each mailbox is still processed under its own lock. A
-- running execution keeps the value it was claimed with (its snapshot), as it keeps its
-- definition; a change applies from the next claim.
ALTER TABLE exchange_tasks
    ADD COLUMN max_parallel_mailboxes smallint NOT NULL DEFAULT 1
        CHECK (max_parallel_mailboxes BETWEEN 1 AND 16);

-- Only what an administrator set changes the version (the ETag); this is one of those.
DROP TRIGGER exchange_tasks_version ON exchange_tasks;
CREATE TRIGGER exchange_tasks_version BEFORE UPDATE ON exchange_tasks
    FOR EACH ROW WHEN ((OLD.name, OLD.definition_id, OLD.schedule_id, OLD.enabled,
                        OLD.pending_changes, OLD.deletion_pending, OLD.deleted_at,
                        OLD.max_parallel_mailboxes)
                       IS DISTINCT FROM
                       (NEW.name, NEW.definition_id, NEW.schedule_id, NEW.enabled,
                        NEW.pending_changes, NEW.deletion_pending, NEW.deleted_at,
                        NEW.max_parallel_mailboxes))
    EXECUTE FUNCTION mse_bump_version();

CREATE OR REPLACE FUNCTION mse_execution_snapshot(task uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT jsonb_build_object(
        'task', jsonb_build_object('id', t.id, 'name', t.name, 'type', t.type,
                                   'max_parallel_mailboxes', t.max_parallel_mailboxes),
        'definition', jsonb_build_object('id', d.id, 'type', d.type, 'settings', d.settings),
        'group', jsonb_build_object('kind', t.group_kind, 'value', t.group_value),
        'site', jsonb_build_object('id', s.id, 'name', s.name))
    FROM exchange_tasks t
    JOIN definitions d ON d.id = t.definition_id
    JOIN sites s ON s.id = t.site_id
    WHERE t.id = task);
END
$$;

-- A mailbox's completed passes (healthy or warning) of live tasks, with the task's type and the
-- mailbox's size; a pass still running or that failed says nothing about how long one takes.
CREATE VIEW mse_passes AS
SELECT e.task_id, t.type, m.address, m.execution_id, m.full_sync, m.duration_ms, m.items,
       tm.first_full_sync_items AS mailbox_items
FROM execution_mailboxes m
JOIN executions e ON e.id = m.execution_id
JOIN exchange_tasks t ON t.id = e.task_id AND t.deleted_at IS NULL
LEFT JOIN task_mailboxes tm ON tm.task_id = e.task_id AND tm.address = m.address
WHERE m.state IN ('healthy', 'warning') AND m.duration_ms IS NOT NULL;

-- The time one execution may take before its schedule wants the next one, in minutes: the
-- interval of a schedule that runs many times a day, a day for once a day, and for once on some
-- days of the week the shortest gap between two of them. A one-off schedule has none (null).
CREATE FUNCTION mse_schedule_interval_minutes(s schedules) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN s.type = 'one_off' THEN NULL
        WHEN s.mode = 'many' THEN s.interval_minutes::integer
        WHEN s.type = 'daily' THEN 1440
        ELSE 1440 * (SELECT min(j) FROM generate_series(0, 6) AS i, generate_series(1, 7) AS j
                     WHERE s.days_of_week & (1 << i) <> 0
                       AND s.days_of_week & (1 << ((i + j) % 7)) <> 0)
    END
$$;

-- A task's baselines (seed 004's "record how long the first execution takes … and subsequent
-- executions"): its first full passes and incremental passes, the median and 95th percentile of
-- each, and the time one execution of its whole group takes. That time is estimated per member
-- of the group from the median of its own incremental passes, or the task's median for a
-- member that has none yet; null while the task has no incremental pass at all. The time an
-- execution spends between mailboxes (claim, group resolution, locks, reports) is measured
-- from the last completed execution and added per mailbox.
CREATE FUNCTION mse_task_baseline(p_task uuid) RETURNS json
LANGUAGE sql STABLE AS $$
    WITH inc AS (SELECT p.address, p.duration_ms, p.items FROM mse_passes p
                 WHERE p.task_id = p_task AND p.full_sync IS FALSE),
    task_inc AS (SELECT count(*) AS n,
                        percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
                        percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95,
                        percentile_cont(0.5) WITHIN GROUP (ORDER BY items) AS items_p50
                 FROM inc),
    own AS (SELECT address, percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50
            FROM inc GROUP BY address),
    firsts AS (SELECT count(*) AS n,
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY first_full_sync_ms) AS p50,
                      percentile_cont(0.95) WITHIN GROUP (ORDER BY first_full_sync_ms) AS p95,
                      avg(first_full_sync_items) AS items_avg,
                      sum(first_full_sync_ms) AS ms_sum
               FROM task_mailboxes WHERE task_id = p_task AND first_full_sync_ms IS NOT NULL),
    members AS (SELECT m.address, o.p50 FROM task_mailboxes m
                LEFT JOIN own o ON o.address = m.address
                WHERE m.task_id = p_task AND m.in_group),
    last_x AS (SELECT e.id, e.mailboxes_total,
                      (extract(epoch FROM e.finished_at - e.started_at) * 1000)::bigint AS ms,
                      (SELECT count(*) FROM execution_mailboxes m WHERE m.execution_id = e.id)
                          AS boxes,
                      (SELECT coalesce(sum(m.duration_ms), 0) FROM execution_mailboxes m
                       WHERE m.execution_id = e.id) AS boxes_ms
               FROM executions e
               WHERE e.task_id = p_task AND e.state = 'completed' AND e.started_at IS NOT NULL
               ORDER BY e.seq DESC LIMIT 1),
    overhead AS (SELECT CASE WHEN boxes > 0 THEN greatest(ms - boxes_ms, 0) / boxes END AS ms
                 FROM last_x)
    SELECT json_build_object(
        'group_mailboxes', (SELECT count(*) FROM members),
        'first_full_pass', json_build_object(
            'mailboxes', f.n, 'median_ms', round(f.p50)::bigint, 'p95_ms', round(f.p95)::bigint,
            'average_items', round(f.items_avg)::bigint),
        'incremental', json_build_object(
            'passes', i.n, 'median_ms', round(i.p50)::bigint, 'p95_ms', round(i.p95)::bigint,
            'median_items', round(i.items_p50)::bigint),
        'overhead_per_mailbox_ms', (SELECT round(ms)::bigint FROM overhead),
        'last_execution_ms', (SELECT ms FROM last_x),
        'execution_estimate_ms', CASE WHEN i.n > 0 THEN
            (SELECT round(sum(coalesce(m.p50, i.p50))
                          + count(*) * coalesce((SELECT ms FROM overhead), 0))::bigint
             FROM members m) END)
    FROM task_inc i, firsts f
$$;

-- Whether one execution of the task's whole group fits within its schedule's interval, from
-- its baseline: fits is null when either is unknown (no incremental pass yet, a one-off
-- schedule). tasks_needed is how many tasks, each with an equal share of the group, would
-- each finish within the interval (seed 004: "split the 5,000 mailboxes into 20 groups").
-- A task that processes p_parallel mailboxes at once takes a p_parallel-th of the time (the
-- baseline's estimate is one by one).
CREATE FUNCTION mse_task_fit(p_baseline json, p_interval_minutes integer, p_parallel integer)
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    WITH x AS (SELECT ceil((p_baseline ->> 'execution_estimate_ms')::numeric
                           / greatest(p_parallel, 1))::bigint AS est,
                      (p_baseline ->> 'execution_estimate_ms')::bigint AS one_by_one,
                      p_interval_minutes::bigint * 60000 AS window_ms,
                      (p_baseline ->> 'group_mailboxes')::bigint AS boxes)
    SELECT json_build_object(
        'interval_minutes', p_interval_minutes,
        'execution_estimate_ms', est,
        'fits', CASE WHEN est IS NULL OR window_ms IS NULL THEN NULL ELSE est <= window_ms END,
        'tasks_needed', CASE WHEN est IS NULL OR window_ms IS NULL THEN NULL
                             ELSE greatest(1, ceil(est::numeric / window_ms))::bigint END,
        -- Mailboxes at once that would make this one task fit; null past the column's cap.
        'parallel_needed', CASE WHEN est IS NULL OR window_ms IS NULL THEN NULL
                                WHEN ceil(one_by_one::numeric / window_ms) <= 16
                                THEN greatest(1, ceil(one_by_one::numeric / window_ms))::integer
                           END,
        'warning', CASE WHEN est > window_ms THEN format(
            'One execution of the group (%s mailboxes) takes about %s minutes, longer than the '
            'schedule''s interval of %s minutes: split the group into %s tasks of about %s '
            'mailboxes each, started at different times%s.',
            boxes, ceil(est / 60000.0), p_interval_minutes, ceil(est::numeric / window_ms),
            ceil(boxes / ceil(est::numeric / window_ms)),
            CASE WHEN ceil(one_by_one::numeric / window_ms) <= 16
                 THEN format(', or set max_parallel_mailboxes to %s',
                             ceil(one_by_one::numeric / window_ms)) ELSE '' END) END)
    FROM x
$$;

-- Planning figures for one task type and kind of pass: a least-squares fit of pass duration
-- against mailbox size over every measured pass of live tasks of that type (PostgreSQL's regr_*
-- aggregates), its residual standard error, and the distinct sizes it saw (a fit needs two).
-- Also the measured time an execution of that type spends between mailboxes, per mailbox.
CREATE FUNCTION mse_planning_fit(p_type text, p_full boolean, OUT o_n bigint,
                                 OUT o_sizes bigint, OUT o_intercept_ms double precision,
                                 OUT o_ms_per_item double precision,
                                 OUT o_stderr_ms double precision, OUT o_r2 double precision,
                                 OUT o_mean_ms double precision, OUT o_overhead_ms double precision)
LANGUAGE sql STABLE AS $$
    -- First passes from each mailbox's baseline (every attempt of the pass counted, schema
    -- 026), incremental ones from the passes the worker reported as incremental.
    WITH p AS (SELECT duration_ms::float8 AS y, mailbox_items::float8 AS x FROM mse_passes
               WHERE NOT p_full AND type = p_type AND full_sync IS FALSE
                 AND mailbox_items IS NOT NULL
               UNION ALL
               SELECT tm.first_full_sync_ms::float8, tm.first_full_sync_items::float8
               FROM task_mailboxes tm
               JOIN exchange_tasks t ON t.id = tm.task_id AND t.deleted_at IS NULL
               WHERE p_full AND t.type = p_type AND tm.first_full_sync_ms IS NOT NULL
                 AND tm.first_full_sync_items IS NOT NULL),
    f AS (SELECT regr_count(y, x) AS n, count(DISTINCT x) AS sizes,
                 regr_intercept(y, x) AS a, regr_slope(y, x) AS b, regr_r2(y, x) AS r2,
                 regr_syy(y, x) AS syy, regr_sxy(y, x) AS sxy, regr_sxx(y, x) AS sxx,
                 avg(y) AS mean
          FROM p),
    -- Executions of that type that completed: wall time less their mailboxes' passes.
    x AS (SELECT (extract(epoch FROM e.finished_at - e.started_at) * 1000
                  - coalesce(sum(m.duration_ms), 0)) / count(m.address) AS ms
          FROM executions e
          JOIN exchange_tasks t ON t.id = e.task_id AND t.deleted_at IS NULL AND t.type = p_type
          JOIN execution_mailboxes m ON m.execution_id = e.id
          WHERE e.state = 'completed' AND e.started_at IS NOT NULL
          GROUP BY e.id)
    SELECT f.n, f.sizes, f.a, f.b,
           CASE WHEN f.n > 2 AND f.sxx > 0
                THEN sqrt(greatest(f.syy - f.sxy * f.sxy / f.sxx, 0) / (f.n - 2)) END,
           f.r2, f.mean, (SELECT greatest(avg(ms), 0) FROM x)
    FROM f
$$;

-- One mailbox of a task as its listing shows its baseline: its incremental passes (count,
-- median, 95th percentile, the latest's items) and the bytes of its items the archive holds
-- for this task (the sizes Exchange reported).
CREATE FUNCTION mse_task_mailbox_baseline(p_task uuid, p_address text) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'incremental_passes', count(*),
        'incremental_median_ms',
            round(percentile_cont(0.5) WITHIN GROUP (ORDER BY p.duration_ms))::bigint,
        'incremental_p95_ms',
            round(percentile_cont(0.95) WITHIN GROUP (ORDER BY p.duration_ms))::bigint,
        'archive_bytes', (SELECT coalesce(sum(i.size), 0)::bigint FROM archive_items i
                          JOIN archive_partitions a ON a.id = i.partition_id
                          WHERE i.mailbox = p_address AND a.task_id = p_task
                            AND i.deleted_at IS NULL))
    FROM mse_passes p
    WHERE p.task_id = p_task AND p.address = p_address AND p.full_sync IS FALSE
$$;

-- What GET /metrics shows per live task: its baseline and whether its group fits.
CREATE FUNCTION mse_planning_task_metrics()
RETURNS TABLE (task_id uuid, type text, execution_estimate_ms bigint, interval_minutes integer,
               fits boolean, tasks_needed bigint, incremental_p50_ms bigint,
               incremental_p95_ms bigint, first_p50_ms bigint, first_p95_ms bigint)
LANGUAGE sql STABLE AS $$
    SELECT t.id, t.type, (f.doc ->> 'execution_estimate_ms')::bigint, s.minutes,
           (f.doc ->> 'fits')::boolean, (f.doc ->> 'tasks_needed')::bigint,
           (b.doc -> 'incremental' ->> 'median_ms')::bigint,
           (b.doc -> 'incremental' ->> 'p95_ms')::bigint,
           (b.doc -> 'first_full_pass' ->> 'median_ms')::bigint,
           (b.doc -> 'first_full_pass' ->> 'p95_ms')::bigint
    FROM exchange_tasks t
    CROSS JOIN LATERAL (SELECT mse_task_baseline(t.id) AS doc) b
    CROSS JOIN LATERAL (SELECT (SELECT mse_schedule_interval_minutes(x) FROM schedules x
                                WHERE x.id = t.schedule_id) AS minutes) s
    CROSS JOIN LATERAL (SELECT mse_task_fit(b.doc, s.minutes, t.max_parallel_mailboxes) AS doc) f
    WHERE t.deleted_at IS NULL
    ORDER BY t.seq
$$;
