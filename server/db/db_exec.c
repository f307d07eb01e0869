/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SQL of the execution lifecycle: creating executions, claims under leases with fencing
 * tokens, heartbeats, membership, mailbox locks, progress, mailbox and execution ends, and the
 * scheduler's sweeps. Documents come back rendered as JSON text by PostgreSQL.
 */
#include "db_exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "db_util.h"
#include "exec_state.h"

#define FENCE DB_EXEC_FENCE

/* The checkpoints of (site, task, mailbox) as the worker's engine reads them. */
#define CHECKPOINTS_JSON(site, task, mailbox)                                                      \
    "json_build_object('hierarchy', (SELECT c.state FROM sync_checkpoints c WHERE c.site_id "      \
    "= " site " AND c.task_id = " task " AND c.mailbox = " mailbox " AND c.scope = '#hierarchy')," \
    " 'folders', coalesce((SELECT json_object_agg(c.scope, c.state) FROM sync_checkpoints c"       \
    " WHERE c.site_id = " site " AND c.task_id = " task " AND c.mailbox = " mailbox                \
    " AND c.scope <> '#hierarchy'), '{}'::json))"

DB_STMT(exec_fence_ok, 3, false, "SELECT count(*) FROM executions e WHERE " FENCE);
DB_STMT(exec_fence_why, 2, true,
        "SELECT e.state FROM executions e WHERE e.id = $1::uuid AND e.site_id = $2::uuid");

DB_STMT(exec_task_state, 1, false,
        "SELECT t.enabled, (SELECT e.id FROM executions e WHERE e.task_id = t.id"
        " AND e.state IN " EXS_SQL_ACTIVE ")"
        " FROM exchange_tasks t WHERE t.id = $1::uuid AND " LIVE_EXCHANGE_TASK " FOR UPDATE");
DB_STMT(exec_queue_manual, 1, false,
        "WITH x AS (INSERT INTO executions (task_id, site_id, trigger, state)"
        " SELECT t.id, t.site_id, 'manual', " SQL_EXS_QUEUED
        " FROM exchange_tasks t WHERE t.id = $1::uuid"
        " RETURNING *),"
        " t AS (UPDATE exchange_tasks t SET live_state = coalesce(t.live_state, " SQL_EXS_QUEUED ")"
        " FROM x WHERE t.id = x.task_id)"
        " SELECT mse_execution_json(x)::text FROM x");
DB_STMT(exec_active, 1, false,
        "SELECT e.id, e.state FROM executions e WHERE e.task_id = $1::uuid"
        " AND e.state IN " EXS_SQL_ACTIVE " FOR UPDATE");
DB_STMT(exec_cancel_queued, 1, false,
        "WITH x AS (UPDATE executions SET state = " SQL_EXS_CANCELLED
        ", result = " SQL_RES_CANCELLED ","
        " cancel_requested = true, finished_at = now() WHERE id = $1::uuid RETURNING *),"
        " t AS (UPDATE exchange_tasks t SET live_state = NULL FROM x WHERE t.id = x.task_id)"
        " SELECT mse_execution_json(x)::text FROM x");
DB_STMT(exec_request_stop, 1, false,
        "UPDATE executions x SET cancel_requested = true WHERE id = $1::uuid"
        " RETURNING mse_execution_json(x)::text");
DB_STMT(exec_list, 3, true,
        "SELECT mse_execution_json(e)::text, e.seq FROM executions e WHERE e.task_id = $1::uuid"
        " AND ($2::bigint IS NULL OR e.seq < $2) ORDER BY e.seq DESC LIMIT $3");
DB_STMT(exec_get, 2, true,
        "SELECT mse_execution_json(e)::text FROM executions e"
        " WHERE e.task_id = $1::uuid AND e.id = $2::uuid");
DB_STMT(exec_task_live, 1, true,
        "SELECT count(*) FROM exchange_tasks t WHERE t.id = $1::uuid AND " LIVE_EXCHANGE_TASK);
DB_STMT(exec_task_mailboxes, 4, true,
        "SELECT json_build_object('address', m.address, 'state', m.state,"
        " 'reason_code', m.reason_code, 'reason_text', m.reason_text, 'in_group', m.in_group,"
        " 'items_replicated', m.items_replicated,"
        " 'first_full_sync_at', mse_ts(m.first_full_sync_at),"
        " 'first_full_sync_duration_ms', m.first_full_sync_ms,"
        " 'first_full_sync_items', m.first_full_sync_items,"
        " 'last_sync_at', mse_ts(m.last_sync_at), 'last_sync_duration_ms', m.last_sync_ms,"
        " 'last_execution_id', m.last_execution_id,"
        " 'baseline', mse_task_mailbox_baseline(m.task_id, m.address))::text, m.seq"
        " FROM task_mailboxes m WHERE m.task_id = $1::uuid AND ($2::text IS NULL OR m.state = $2)"
        " AND ($3::bigint IS NULL OR m.seq > $3) ORDER BY m.seq LIMIT $4");

DB_STMT(exec_heartbeat, 9, false,
        "WITH w AS (INSERT INTO site_workers (site_id, worker_id, host, version, backend,"
        " offline_at) VALUES ($1::uuid, $2, $3, $4, $9, now() + make_interval(secs => 3 * $8::int))"
        " ON CONFLICT (site_id, worker_id) DO UPDATE SET host = EXCLUDED.host,"
        " version = EXCLUDED.version, backend = EXCLUDED.backend, last_seen_at = now(),"
        " offline_at = EXCLUDED.offline_at),"
        /* A heartbeat served is proof of serving (schema 025): a slow scheduler is no outage. */
        " s AS (UPDATE server_liveness SET alive_at = greatest(alive_at, now())),"
        " r AS (UPDATE executions e SET lease_expires_at = now() + make_interval(secs => $7::int)"
        " FROM unnest($5::uuid[], $6::bigint[]) AS h (id, token) WHERE e.id = h.id"
        " AND e.fencing_token = h.token AND e.site_id = $1::uuid"
        " AND e.state IN " EXS_SQL_LEASED " AND e.lease_expires_at > now()"
        " RETURNING e.id, e.fencing_token, e.cancel_requested)"
        " SELECT json_build_object('heartbeat_seconds', $8::int, 'lease_seconds', $7::int,"
        " 'site_enabled', (SELECT s.enabled FROM sites s WHERE s.id = $1::uuid),"
        " 'server_time', mse_ts(now()), 'executions', coalesce((SELECT json_agg("
        " json_build_object('id', h.id, 'fencing_token', h.token,"
        " 'lease', CASE WHEN r.id IS NULL THEN 'lost'"
        " ELSE 'renewed' END, 'cancel_requested', coalesce(r.cancel_requested, false))"
        " ORDER BY h.n) FROM unnest($5::uuid[], $6::bigint[]) WITH ORDINALITY AS h (id, token, n)"
        " LEFT JOIN r ON r.id = h.id AND r.fencing_token = h.token), '[]'::json))::text");
DB_STMT(exec_claim, 3, false,
        "WITH c AS (SELECT e.id FROM executions e"
        " JOIN exchange_tasks t ON t.id = e.task_id AND t.deleted_at IS NULL"
        " JOIN sites s ON s.id = e.site_id AND s.enabled"
        " WHERE e.site_id = $1::uuid AND e.state = " SQL_EXS_QUEUED " ORDER BY e.seq"
        " LIMIT 1 FOR UPDATE OF e SKIP LOCKED),"
        " u AS (UPDATE executions e SET state = " SQL_EXS_RUNNING ", worker_id = $2,"
        " fencing_token = e.fencing_token + 1,"
        " lease_expires_at = now() + make_interval(secs => $3::int), claims = e.claims + 1,"
        " started_at = coalesce(e.started_at, now()),"
        " snapshot = coalesce(e.snapshot, mse_execution_snapshot(e.task_id))"
        " FROM c WHERE e.id = c.id RETURNING e.*),"
        " t AS (UPDATE exchange_tasks t SET active_execution_id = u.id, live_state "
        "= " SQL_EXS_RUNNING " FROM u WHERE t.id = u.task_id)"
        " SELECT (u.snapshot || jsonb_build_object('id', u.id, 'fencing_token', u.fencing_token,"
        " 'lease_seconds', $3::int, 'lease_expires_at', mse_ts(u.lease_expires_at),"
        " 'trigger', u.trigger, 'membership_known', u.membership_known,"
        " 'cancel_requested', u.cancel_requested, 'mailboxes', coalesce((SELECT"
        " jsonb_agg(jsonb_build_object('address', m.address, 'state', m.state)"
        " ORDER BY m.position) FROM execution_mailboxes m WHERE m.execution_id = u.id),"
        " '[]'::jsonb)))::text FROM u");

/*
 * The resolved addresses ($4, possibly repeated) become the execution's mailboxes in group
 * order, first occurrence first. Hashed set operations throughout: a group of MSE_MAX_MEMBERS
 * must not cost a comparison per pair of addresses.
 */
DB_STMT(exec_membership, 6, false,
        "WITH e AS (SELECT e.* FROM executions e WHERE " FENCE " FOR UPDATE),"
        " fresh AS (SELECT e.* FROM e WHERE NOT e.membership_known),"
        " a AS (SELECT u.addr, row_number() OVER (ORDER BY min(u.ord)) AS pos"
        " FROM unnest($4::text[]) WITH ORDINALITY AS u (addr, ord) WHERE $5::text IS NULL"
        " GROUP BY u.addr),"
        " ins AS (INSERT INTO execution_mailboxes (execution_id, address, position)"
        " SELECT f.id, a.addr, a.pos FROM fresh f, a ON CONFLICT DO NOTHING),"
        " upd AS (UPDATE executions x SET membership_known = true,"
        " mailboxes_total = (SELECT count(*) FROM a), error_code = $5, error_text = $6"
        " FROM fresh f WHERE x.id = f.id),"
        " tm AS (INSERT INTO task_mailboxes (task_id, address) SELECT f.task_id, a.addr"
        " FROM fresh f, a ORDER BY a.pos"
        " ON CONFLICT (task_id, address) DO UPDATE SET in_group = true, updated_at = now()),"
        " gone AS (UPDATE task_mailboxes m SET in_group = false, updated_at = now() FROM fresh f"
        " WHERE m.task_id = f.task_id AND $5::text IS NULL AND m.in_group"
        " AND NOT EXISTS (SELECT 1 FROM a WHERE a.addr = m.address))"
        " SELECT count(*) FROM e");
/* The execution's own error, whatever its membership (a second report of one keeps the first). */
DB_STMT(exec_fail, 5, false,
        "UPDATE executions e SET membership_known = true, error_code = $4, error_text = $5"
        " WHERE " FENCE);
/*
 * For the group kinds whose members the server knows exactly (a mailbox, a list of them), the
 * first reported address that is not one of them. A site is the least trusted principal: its
 * report must not bring another mailbox into its task (security review, F1).
 */
DB_STMT(exec_membership_outside, 4, false,
        "SELECT u.addr FROM executions e CROSS JOIN LATERAL unnest($4::text[]) WITH ORDINALITY"
        " AS u (addr, ord) WHERE " FENCE " AND e.snapshot #>> '{group,kind}' IN ('mailbox',"
        " 'mailbox_list') AND u.addr NOT IN (SELECT lower(btrim(g)) FROM"
        " regexp_split_to_table(e.snapshot #>> '{group,value}', ';') AS g)"
        " ORDER BY u.ord LIMIT 1");
DB_STMT(exec_membership_doc, 1, false,
        "SELECT json_build_object('mailboxes', coalesce(json_agg(json_build_object("
        " 'address', m.address, 'state', m.state) ORDER BY m.position), '[]'::json))::text"
        " FROM execution_mailboxes m WHERE m.execution_id = $1::uuid");

DB_STMT(exec_membership_details, 7, false,
        "UPDATE executions e SET skipped_members = coalesce($4::jsonb, '[]'),"
        " skipped_members_total = $5::int,"
        " membership_resolved_at = least(coalesce($6::timestamptz, now()), now()),"
        " membership_from_cache = $7::boolean"
        " WHERE " FENCE " AND e.membership_resolved_at IS NULL");

DB_STMT(exec_lock_check, 4, false,
        "SELECT e.task_id, m.state FROM executions e JOIN execution_mailboxes m"
        " ON m.execution_id = e.id AND m.address = $4 WHERE " FENCE " FOR UPDATE OF e");
/*
 * A holder whose row is locked is writing (a submission, a completion): its lease may run out
 * while the write is applied, and the write still lands. Its mailbox is not taken until the
 * write has ended; SKIP LOCKED instead of waiting, because two executions that each hold a
 * mailbox the other wants would otherwise wait for each other.
 */
DB_STMT(exec_lock_holder_busy, 2, false,
        "WITH l AS (SELECT execution_id FROM mailbox_locks WHERE address = $1"
        " AND execution_id <> $2::uuid),"
        " h AS (SELECT h.id FROM executions h WHERE h.id IN (SELECT execution_id FROM l)"
        " FOR UPDATE SKIP LOCKED)"
        " SELECT (SELECT count(*) FROM l) - (SELECT count(*) FROM h)");
DB_STMT(exec_lock_take, 3, false,
        "INSERT INTO mailbox_locks AS l (address, execution_id, task_id)"
        " VALUES ($1, $2::uuid, $3::uuid) ON CONFLICT (address) DO UPDATE"
        " SET execution_id = EXCLUDED.execution_id, task_id = EXCLUDED.task_id,"
        " acquired_at = now() WHERE l.execution_id = EXCLUDED.execution_id OR NOT EXISTS"
        " (SELECT 1 FROM executions h WHERE h.id = l.execution_id"
        " AND h.state IN " EXS_SQL_LEASED " AND h.lease_expires_at > now())"
        " RETURNING l.execution_id");
/*
 * Each grant opens an attempt (schema 026); one still open did not finish (its worker died or
 * lost its lease, or Exchange asked to come back later) and counts up to its last applied batch.
 */
#define ATTEMPT_OPEN                                                                               \
    "earlier_attempts_ms = earlier_attempts_ms + CASE WHEN attempt_started_at IS NULL THEN 0"      \
    " ELSE greatest(0, (extract(epoch FROM last_applied_at - attempt_started_at) * 1000)"          \
    "::bigint) END, attempt_started_at = now()"
/*
 * The task's command names the mailbox whose lock was asked for ($1 execution, $2 address),
 * as the worker's does: set here, the command and the latest detail never name two
 * mailboxes, whether the lock is granted or the execution waits for it.
 */
#define MAILBOX_COMMAND(address)                                                                   \
    "(SELECT format('Processing mailbox %s of %s: %s', m.position, e.mailboxes_total,"             \
    " m.address) FROM execution_mailboxes m JOIN executions e ON e.id = m.execution_id"            \
    " WHERE m.execution_id = $1::uuid AND m.address = " address ")"
DB_STMT(exec_lock_granted, 4, false,
        "WITH x AS (UPDATE executions SET state = " SQL_EXS_RUNNING " WHERE id = $1::uuid"
        " AND state = " SQL_EXS_WAITING "),"
        " m AS (UPDATE execution_mailboxes SET state = " SQL_MBS_SYNCING ","
        " started_at = coalesce(started_at, now()), " ATTEMPT_OPEN
        " WHERE execution_id = $1::uuid AND address = $3),"
        " tm AS (UPDATE task_mailboxes SET state = " SQL_MBS_SYNCING ", updated_at = now()"
        " WHERE task_id = $4::uuid AND address = $3),"
        " t AS (UPDATE exchange_tasks SET live_state = " SQL_EXS_RUNNING ","
        " command = " MAILBOX_COMMAND(
                "$3") ", latest_detail = 'Starting' WHERE id = $4::uuid)"
                      " SELECT json_build_object('checkpoints', " CHECKPOINTS_JSON("$2::uuid",
                                                                                   "$4::uuid",
                                                                                   "$3") ")::text");
DB_STMT(exec_lock_denied, 4, false,
        "WITH h AS (SELECT t.id, t.name FROM mailbox_locks l JOIN exchange_tasks t"
        " ON t.id = l.task_id WHERE l.address = $2),"
        " d AS (SELECT format('Waiting for mailbox %s: locked by task \"%s\"', $2::text,"
        " coalesce((SELECT name FROM h), 'unknown')) AS text),"
        " x AS (UPDATE executions SET state = " SQL_EXS_WAITING " WHERE id = $1::uuid),"
        " m AS (UPDATE execution_mailboxes SET state = " SQL_MBS_WAITING_FOR_LOCK
        " WHERE execution_id = $1::uuid AND address = $2),"
        " tm AS (UPDATE task_mailboxes SET state = " SQL_MBS_WAITING_FOR_LOCK ", updated_at = now()"
        " WHERE task_id = $3::uuid AND address = $2),"
        " t AS (UPDATE exchange_tasks SET live_state = " SQL_EXS_WAITING ", latest_detail = d.text,"
        " command = " MAILBOX_COMMAND(
                "$2") " FROM d WHERE id = $3::uuid)"
                      " SELECT json_build_object('task_id', h.id, 'task_name', h.name, 'detail', "
                      "d.text,"
                      " 'site_id', $4::uuid)::text FROM d LEFT JOIN h ON true");

/*
 * The claim is checked under a row lock: a bare join would let a re-claim that commits while
 * this statement waits for the task's row go unseen (the task row would be re-checked, the
 * execution row would not).
 */
DB_STMT(exec_progress, 5, false,
        "WITH e AS (SELECT e.task_id, e.cancel_requested FROM executions e WHERE " FENCE
        " FOR SHARE) UPDATE exchange_tasks t SET command = $4, latest_detail = $5 FROM e"
        " WHERE t.id = e.task_id RETURNING e.cancel_requested");

/*
 * A mailbox ends once per execution: a finish repeated because its answer was lost is
 * acknowledged and changes nothing. Items were counted as their batches were applied; the
 * time is every attempt's (schema 026). Only a completed pass sets the baseline, the first
 * one to complete while none is set, with what every attempt of the first pass did; a pass
 * that fails adds its items and time to the first pass still to complete.
 */
#define PASS_DONE   "$5 IN " MBS_SQL_PASSED
#define NO_BASELINE "t.first_full_sync_at IS NULL"
DB_STMT(exec_finish_mailbox, 10, false,
        "WITH e AS (SELECT e.id, e.task_id FROM executions e WHERE " FENCE " FOR UPDATE),"
        " mb AS (SELECT m.address FROM execution_mailboxes m JOIN e ON m.execution_id = e.id"
        " WHERE m.address = $4),"
        " m AS (UPDATE execution_mailboxes m SET state = $5, reason_code = $6, reason_text = $7,"
        " items_reported = $8::bigint, full_sync = $9::boolean, finished_at = now(),"
        " duration_ms = m.earlier_attempts_ms + $10::bigint, attempt_started_at = NULL"
        " FROM e WHERE m.execution_id = e.id AND m.address = $4"
        " AND m.state IN " MBS_SQL_UNFINISHED " RETURNING m.address, m.duration_ms),"
        " tm AS (UPDATE task_mailboxes t SET state = $5, reason_code = $6, reason_text = $7,"
        " last_sync_at = now(), last_sync_ms = m.duration_ms,"
        " first_full_sync_at = CASE WHEN " NO_BASELINE " AND " PASS_DONE
        " THEN now() ELSE t.first_full_sync_at END,"
        " first_full_sync_ms = CASE WHEN " NO_BASELINE " AND " PASS_DONE
        " THEN t.full_pass_ms + m.duration_ms ELSE t.first_full_sync_ms END,"
        " first_full_sync_items = CASE WHEN " NO_BASELINE " AND " PASS_DONE
        " THEN t.full_pass_items ELSE t.first_full_sync_items END,"
        " full_pass_ms = CASE WHEN " NO_BASELINE " AND NOT " PASS_DONE
        " THEN t.full_pass_ms + m.duration_ms ELSE t.full_pass_ms END,"
        " last_execution_id = e.id, updated_at = now() FROM e, m"
        " WHERE t.task_id = e.task_id AND t.address = m.address),"
        " l AS (DELETE FROM mailbox_locks l USING e, m WHERE l.address = m.address"
        " AND l.execution_id = e.id)"
        " SELECT (SELECT count(*) FROM e), (SELECT count(*) FROM mb)");

/* Schema 014: the whole end in one round trip; see mse_execution_complete for the outcomes. */
DB_STMT(exec_complete, 4, false,
        "SELECT o_outcome, o_task_id, o_doc, o_pending"
        " FROM mse_execution_complete($1::uuid, $2::uuid, $3::bigint, $4::boolean)");
DB_STMT(exec_release, 3, false,
        "WITH e AS (SELECT e.id, e.task_id FROM executions e WHERE " FENCE " FOR UPDATE),"
        " x AS (UPDATE executions x SET state = " SQL_EXS_QUEUED ", lease_expires_at = NULL,"
        " worker_id = NULL FROM e WHERE x.id = e.id),"
        " m AS (UPDATE execution_mailboxes m SET state = " SQL_MBS_PENDING " FROM e"
        " WHERE m.execution_id = e.id AND m.state IN " MBS_SQL_ATTEMPTED " RETURNING m.address),"
        " tm AS (UPDATE task_mailboxes t SET state = " SQL_MBS_PENDING
        ", updated_at = now() FROM e, m"
        " WHERE t.task_id = e.task_id AND t.address = m.address),"
        " l AS (DELETE FROM mailbox_locks l USING e WHERE l.execution_id = e.id),"
        " t AS (UPDATE exchange_tasks t SET live_state = " SQL_EXS_QUEUED
        " FROM e WHERE t.id = e.task_id)"
        " SELECT count(*) FROM e");
DB_STMT(exec_lock_row, 3, false,
        "SELECT e.task_id, (e.snapshot->'task'->>'type') FROM executions e WHERE " FENCE
        " FOR UPDATE");

DB_STMT(exec_expire, 0, false,
        "WITH x AS (UPDATE executions SET state = " SQL_EXS_QUEUED ", lease_expires_at = NULL,"
        " worker_id = NULL, lease_expiries = lease_expiries + 1"
        " WHERE state IN " EXS_SQL_LEASED " AND lease_expires_at < now()"
        " RETURNING id, task_id),"
        " m AS (UPDATE execution_mailboxes m SET state = " SQL_MBS_PENDING " FROM x"
        " WHERE m.execution_id = x.id AND m.state IN " MBS_SQL_ATTEMPTED
        " RETURNING x.task_id, m.address),"
        " tm AS (UPDATE task_mailboxes t SET state = " SQL_MBS_PENDING ", updated_at = now() FROM m"
        " WHERE t.task_id = m.task_id AND t.address = m.address),"
        " l AS (DELETE FROM mailbox_locks l USING x WHERE l.execution_id = x.id),"
        " t AS (UPDATE exchange_tasks t SET live_state = " SQL_EXS_QUEUED
        " FROM x WHERE t.id = x.task_id)"
        " SELECT count(*) FROM x");
/*
 * A queued execution whose site has no worker online says so, on the execution and its task:
 * otherwise it sits at queued with no detail. Written only when it changes (every tick).
 */
#define WAITING_FOR_WORKER                                                                         \
    "SELECT x.id, x.task_id, s.name, (SELECT max(w.offline_at) FROM site_workers w"                \
    " WHERE w.site_id = x.site_id) AS since FROM executions x JOIN sites s ON s.id = x.site_id"    \
    " WHERE x.state = " SQL_EXS_QUEUED " AND NOT EXISTS (SELECT 1 FROM site_workers w"             \
    " WHERE w.site_id = x.site_id AND w.offline_at > now())"
DB_STMT(exec_waiting_for_worker, 0, false,
        "WITH q AS (" WAITING_FOR_WORKER "),"
        " d AS (SELECT q.id, q.task_id, CASE WHEN q.since IS NULL"
        " THEN format('Waiting for a worker of site %s: no worker of site %s has ever connected',"
        " q.name, q.name) ELSE format('Waiting for a worker of site %s (offline since %s)',"
        " q.name, to_char(q.since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')) END"
        " AS detail FROM q),"
        " ux AS (UPDATE executions x SET latest_detail = d.detail FROM d"
        " WHERE x.id = d.id AND x.latest_detail IS DISTINCT FROM d.detail),"
        " ut AS (UPDATE exchange_tasks t SET latest_detail = d.detail FROM d"
        " WHERE t.id = d.task_id AND t.live_state = " SQL_EXS_QUEUED
        " AND t.latest_detail IS DISTINCT FROM d.detail)"
        " SELECT count(*) FROM d");
/* Schema 025: leases do not run out while nothing could serve their workers. */
DB_STMT(exec_leases_resume, 1, false, "SELECT mse_leases_resume($1::int)");
DB_STMT(exec_due, 1, false,
        "SELECT t.id, t.schedule_id, extract(epoch FROM t.next_run_at)::bigint"
        " FROM exchange_tasks t WHERE t.next_run_at <= now() AND t.deleted_at IS NULL"
        " AND t.enabled ORDER BY t.next_run_at LIMIT $1 FOR UPDATE SKIP LOCKED");
DB_STMT(exec_schedule, 3, false,
        "WITH ins AS (INSERT INTO executions (task_id, site_id, trigger, state)"
        " SELECT t.id, t.site_id, 'schedule', " SQL_EXS_QUEUED " FROM exchange_tasks t"
        " WHERE t.id = $1::uuid ON CONFLICT (task_id)"
        " WHERE state IN " EXS_SQL_ACTIVE " DO NOTHING RETURNING id),"
        " skip AS (INSERT INTO executions (task_id, site_id, trigger, state, result, started_at,"
        " finished_at) SELECT t.id, t.site_id, 'schedule', " SQL_EXS_SKIPPED ", " SQL_RES_SKIPPED
        ", now(), now()"
        " FROM exchange_tasks t WHERE t.id = $1::uuid AND NOT EXISTS (SELECT 1 FROM ins)),"
        " upd AS (UPDATE exchange_tasks t SET next_run_at = CASE WHEN $2::boolean"
        " THEN to_timestamp($3::bigint) END, live_state = CASE WHEN EXISTS (SELECT 1 FROM ins)"
        " THEN coalesce(t.live_state, " SQL_EXS_QUEUED
        ") ELSE t.live_state END WHERE t.id = $1::uuid)"
        " SELECT EXISTS (SELECT 1 FROM ins)");
DB_STMT(exec_housekeeping, 0, false,
        "WITH i AS (DELETE FROM idempotency_keys WHERE created_at < now() - interval '25 hours'),"
        " a AS (DELETE FROM access_tokens WHERE expires_at < now() - interval '1 day')"
        " SELECT 1");
DB_STMT(exec_metrics, 0, true,
        "SELECT 'mse_executions', 'state', s.state, count(e.id)"
        " FROM unnest(ARRAY[" EXS_SQL_LIST_ALL "]) AS s (state)"
        " LEFT JOIN executions e ON e.state = s.state GROUP BY s.state"
        " UNION ALL SELECT 'mse_task_mailboxes', 'state', s.state, count(m.address)"
        " FROM unnest(ARRAY[" MBS_SQL_LIST_ALL
        "]) AS s (state) LEFT JOIN task_mailboxes m ON m.state = s.state"
        " GROUP BY s.state"
        " UNION ALL SELECT 'mse_sites_online', '', '', count(DISTINCT w.site_id) FROM site_workers "
        "w"
        " WHERE w.offline_at > now()"
        " UNION ALL SELECT 'mse_mailbox_locks', '', '', count(*) FROM mailbox_locks"
        " UNION ALL SELECT 'mse_executions_waiting_for_worker', '', '', count(*)"
        " FROM (" WAITING_FOR_WORKER ") q"
        " UNION ALL SELECT 'mse_tasks', 'enabled', t.enabled::text, count(*)"
        " FROM exchange_tasks t WHERE " LIVE_EXCHANGE_TASK " GROUP BY t.enabled");

enum mse_rc db_exec_fence_failure(struct db *db, const struct fence *f, enum exec_outcome *out,
                                  struct db_error *err)
{
    struct db_res res;
    const char *params[] = { f->execution_id, f->site_id };
    enum mse_rc rc = db_query(db, &exec_fence_why, params, &res, err);
    if (rc == MSE_OK)
        *out = db_res_rows(&res) == 1 ? EXO_LEASE_LOST : EXO_NO_EXECUTION;
    db_res_clear(&res);
    return rc;
}

/* Runs a statement returning one text cell into a malloc'd *out (NULL for no row). */
static enum mse_rc text_query(struct db *db, struct db_stmt *st, const char *const *params,
                              char **out, struct db_error *err)
{
    struct db_res res;
    *out = NULL;
    enum mse_rc rc = db_query(db, st, params, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) == 1 && db_res_get(&res, 0, 0)) {
        *out = strdup(db_res_get(&res, 0, 0));
        if (!*out)
            rc = MSE_ERR_NOMEM;
    }
    db_res_clear(&res);
    return rc;
}

static const char *fence_params(const struct fence *f, const char **p)
{
    p[0] = f->execution_id;
    p[1] = f->site_id;
    p[2] = f->token;
    return NULL;
}

/*
 * A statement naming a mailbox came back empty: EXO_NOT_MEMBER when the claim holds (the
 * mailbox is not one of the execution's), else why the claim does not hold.
 */
static enum mse_rc not_member(struct db *db, const struct fence *f, enum exec_outcome *out,
                              struct db_error *err)
{
    const char *params[3];
    int64_t n = 0;
    fence_params(f, params);
    enum mse_rc rc = db_int_query(db, &exec_fence_ok, params, &n, err);
    if (rc != MSE_OK)
        return rc;
    if (n == 1) {
        *out = EXO_NOT_MEMBER;
        return MSE_OK;
    }
    return db_exec_fence_failure(db, f, out, err);
}

enum mse_rc db_exec_run_now(struct db *db, const char *task_id, char **json, char active_id[37],
                            enum exec_outcome *out, struct db_error *err)
{
    struct db_res res;
    const char *params[] = { task_id };
    *json = NULL;
    active_id[0] = '\0';
    *out = EXO_DONE;
    enum mse_rc rc = db_query(db, &exec_task_state, params, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) != 1)
        *out = EXO_NO_TASK;
    else if (rc == MSE_OK && db_res_get(&res, 0, 1)) {
        snprintf(active_id, 37, "%s", db_res_get(&res, 0, 1));
        *out = EXO_TASK_ACTIVE;
    } else if (rc == MSE_OK && db_res_get(&res, 0, 0)[0] != 't') {
        *out = EXO_TASK_DISABLED;
    }
    db_res_clear(&res);
    if (rc == MSE_OK && *out == EXO_DONE)
        rc = text_query(db, &exec_queue_manual, params, json, err);
    return rc;
}

enum mse_rc db_exec_stop(struct db *db, const char *task_id, char **json, enum exec_outcome *out,
                         struct db_error *err)
{
    struct db_res res;
    const char *params[] = { task_id };
    char id[37];
    enum exec_state state = EXEC_NONE;
    *json = NULL;
    *out = EXO_DONE;
    enum mse_rc rc = db_query(db, &exec_active, params, &res, err);
    if (rc == MSE_OK && db_res_rows(&res) != 1)
        *out = EXO_NOT_ACTIVE;
    if (rc == MSE_OK && *out == EXO_DONE) {
        snprintf(id, sizeof(id), "%s", db_res_get(&res, 0, 0));
        /* The schema's CHECK allows no other spelling: anything else is a bug, not input. */
        if (exec_state_parse(db_res_get(&res, 0, 1), &state) != MSE_OK)
            rc = MSE_ERR_INTERNAL;
    }
    db_res_clear(&res);
    if (rc != MSE_OK || *out != EXO_DONE)
        return rc;
    const char *p[] = { id };
    /* Not claimed yet: nothing runs, so it ends now. Running: after the current mailbox. */
    return text_query(db, state == EXEC_QUEUED ? &exec_cancel_queued : &exec_request_stop, p, json,
                      err);
}

enum mse_rc db_exec_list(struct db *db, const char *task_id, bool has_before, int64_t before,
                         unsigned limit, char **items, int64_t *last_seq, bool *more,
                         struct db_error *err)
{
    char b[24], l[16];
    snprintf(b, sizeof(b), "%lld", (long long)before);
    snprintf(l, sizeof(l), "%u", limit + 1);
    const char *params[] = { task_id, has_before ? b : NULL, l };
    return db_page_query(db, &exec_list, params, limit, items, last_seq, more, err);
}

enum mse_rc db_exec_get(struct db *db, const char *task_id, const char *execution_id, char **json,
                        struct db_error *err)
{
    const char *params[] = { task_id, execution_id };
    enum mse_rc rc = text_query(db, &exec_get, params, json, err);
    return rc == MSE_OK && !*json ? MSE_ERR_NOT_FOUND : rc;
}

enum mse_rc db_exec_task_exists(struct db *db, const char *task_id, bool *exists,
                                struct db_error *err)
{
    int64_t n = 0;
    const char *params[] = { task_id };
    enum mse_rc rc = db_int_query(db, &exec_task_live, params, &n, err);
    *exists = n > 0;
    return rc;
}

enum mse_rc db_exec_task_mailboxes(struct db *db, const char *task_id, const char *state,
                                   bool has_after, int64_t after, unsigned limit, char **items,
                                   int64_t *last_seq, bool *more, struct db_error *err)
{
    char a[24], l[16];
    snprintf(a, sizeof(a), "%lld", (long long)after);
    snprintf(l, sizeof(l), "%u", limit + 1);
    const char *params[] = { task_id, state, has_after ? a : NULL, l };
    return db_page_query(db, &exec_task_mailboxes, params, limit, items, last_seq, more, err);
}

enum mse_rc db_exec_heartbeat(struct db *db, const char *site_id, const char *worker_id,
                              const char *host, const char *version, const char *backend,
                              const char *ids, const char *tokens, unsigned lease_s,
                              unsigned heartbeat_s, char **json, struct db_error *err)
{
    char lease[16], hb[16];
    snprintf(lease, sizeof(lease), "%u", lease_s);
    snprintf(hb, sizeof(hb), "%u", heartbeat_s);
    const char *params[] = { site_id, worker_id, host, version, ids, tokens, lease, hb, backend };
    return text_query(db, &exec_heartbeat, params, json, err);
}

enum mse_rc db_exec_claim(struct db *db, const char *site_id, const char *worker_id,
                          unsigned lease_s, char **json, enum exec_outcome *out,
                          struct db_error *err)
{
    char lease[16];
    snprintf(lease, sizeof(lease), "%u", lease_s);
    const char *params[] = { site_id, worker_id, lease };
    enum mse_rc rc = text_query(db, &exec_claim, params, json, err);
    *out = rc == MSE_OK && !*json ? EXO_NOTHING_QUEUED : EXO_DONE;
    return rc;
}

enum mse_rc db_exec_membership(struct db *db, const struct fence *f, const char *addresses,
                               const char *error_code, const char *error_text,
                               char outside[MSE_MAX_ADDRESS + 1], char **json,
                               enum exec_outcome *out, struct db_error *err)
{
    const char *params[6];
    struct db_res res;
    int64_t n = 0;
    *json = NULL;
    outside[0] = '\0';
    *out = EXO_DONE;
    fence_params(f, params);
    params[3] = addresses;
    params[4] = error_code;
    params[5] = error_text;
    enum mse_rc rc = MSE_OK;
    if (!error_code) {
        rc = db_query(db, &exec_membership_outside, params, &res, err);
        if (rc == MSE_OK && db_res_rows(&res) == 1) {
            snprintf(outside, MSE_MAX_ADDRESS + 1, "%s", db_res_get(&res, 0, 0));
            *out = EXO_OUTSIDE_GROUP;
        }
        db_res_clear(&res);
    }
    if (rc != MSE_OK || *out != EXO_DONE)
        return rc;
    rc = db_int_query(db, &exec_membership, params, &n, err);
    if (rc == MSE_OK && n == 0)
        return db_exec_fence_failure(db, f, out, err);
    if (rc == MSE_OK)
        rc = text_query(db, &exec_membership_doc, params, json, err);
    return rc;
}

enum mse_rc db_exec_fail(struct db *db, const struct fence *f, const char *error_code,
                         const char *error_text, enum exec_outcome *out, struct db_error *err)
{
    const char *params[5];
    struct db_res res;
    *out = EXO_DONE;
    fence_params(f, params);
    params[3] = error_code;
    params[4] = error_text;
    enum mse_rc rc = db_query(db, &exec_fail, params, &res, err);
    long n = rc == MSE_OK ? db_res_affected(&res) : 0;
    if (rc == MSE_OK)
        db_res_clear(&res);
    if (rc == MSE_OK && n == 0)
        return db_exec_fence_failure(db, f, out, err);
    return rc;
}

enum mse_rc db_exec_membership_details(struct db *db, const struct fence *f, const char *skipped,
                                       int64_t skipped_total, const char *resolved_at,
                                       const char *from_cache, struct db_error *err)
{
    const char *params[7];
    char total[24];
    snprintf(total, sizeof(total), "%lld", (long long)skipped_total);
    fence_params(f, params);
    params[3] = skipped;
    params[4] = total;
    params[5] = resolved_at;
    params[6] = from_cache;
    struct db_res res;
    enum mse_rc rc = db_query(db, &exec_membership_details, params, &res, err);
    if (rc == MSE_OK)
        db_res_clear(&res);
    return rc;
}

enum mse_rc db_exec_lock(struct db *db, const struct fence *f, const char *mailbox, char **json,
                         enum exec_outcome *out, struct db_error *err)
{
    const char *params[4];
    struct db_res res;
    char task[37];
    *json = NULL;
    *out = EXO_DONE;
    fence_params(f, params);
    params[3] = mailbox;
    enum mse_rc rc = db_query(db, &exec_lock_check, params, &res, err);
    bool found = rc == MSE_OK && db_res_rows(&res) == 1;
    if (found)
        snprintf(task, sizeof(task), "%s", db_res_get(&res, 0, 0));
    db_res_clear(&res);
    if (rc != MSE_OK)
        return rc;
    if (!found)
        return not_member(db, f, out, err);
    const char *busy_p[] = { mailbox, f->execution_id };
    int64_t busy = 0;
    rc = db_int_query(db, &exec_lock_holder_busy, busy_p, &busy, err);
    if (rc != MSE_OK)
        return rc;
    bool granted = false;
    if (busy == 0) {
        const char *take[] = { mailbox, f->execution_id, task };
        rc = db_query(db, &exec_lock_take, take, &res, err);
        granted = rc == MSE_OK && db_res_rows(&res) == 1;
        db_res_clear(&res);
        if (rc != MSE_OK)
            return rc;
    }
    if (granted) {
        const char *p[] = { f->execution_id, f->site_id, mailbox, task };
        return text_query(db, &exec_lock_granted, p, json, err);
    }
    const char *p[] = { f->execution_id, mailbox, task, f->site_id };
    rc = text_query(db, &exec_lock_denied, p, json, err);
    if (rc == MSE_OK)
        *out = EXO_MAILBOX_LOCKED;
    return rc;
}

enum mse_rc db_exec_progress(struct db *db, const struct fence *f, const char *command,
                             const char *detail, bool *cancel, enum exec_outcome *out,
                             struct db_error *err)
{
    const char *params[5];
    struct db_res res;
    fence_params(f, params);
    params[3] = command;
    params[4] = detail;
    *cancel = false;
    *out = EXO_DONE;
    enum mse_rc rc = db_query(db, &exec_progress, params, &res, err);
    bool done = rc == MSE_OK && db_res_rows(&res) == 1;
    if (done)
        *cancel = db_res_get(&res, 0, 0)[0] == 't';
    db_res_clear(&res);
    if (rc == MSE_OK && !done)
        return db_exec_fence_failure(db, f, out, err);
    return rc;
}

enum mse_rc db_exec_finish_mailbox(struct db *db, const struct fence *f, const char *mailbox,
                                   const struct mailbox_result *r, enum exec_outcome *out,
                                   struct db_error *err)
{
    const char *params[10];
    struct db_res res;
    bool fenced = false;
    *out = EXO_DONE;
    fence_params(f, params);
    params[3] = mailbox;
    params[4] = r->state;
    params[5] = r->reason_code;
    params[6] = r->reason_text;
    params[7] = r->items;
    params[8] = r->full_sync ? "true" : "false";
    params[9] = r->duration_ms;
    enum mse_rc rc = db_query(db, &exec_finish_mailbox, params, &res, err);
    if (rc == MSE_OK) {
        fenced = strcmp(db_res_get(&res, 0, 0), "1") == 0;
        bool member = strcmp(db_res_get(&res, 0, 1), "1") == 0;
        *out = member ? EXO_DONE : EXO_NOT_MEMBER;
    }
    db_res_clear(&res);
    if (rc == MSE_OK && !fenced)
        return db_exec_fence_failure(db, f, out, err);
    return rc;
}

void exec_end_cleanup(struct exec_end *e)
{
    free(e->doc);
    e->doc = NULL;
}

/* Reads the row of mse_execution_complete into *end; *fenced when the claim did not hold. */
static enum mse_rc complete_read(struct db_res *res, struct exec_end *end, bool *fenced)
{
    if (db_res_rows(res) != 1 || !db_res_get(res, 0, 0))
        return MSE_ERR_INTERNAL;
    const char *outcome = db_res_get(res, 0, 0);
    *fenced = strcmp(outcome, "fenced") == 0;
    if (*fenced)
        return MSE_OK;
    snprintf(end->task_id, sizeof(end->task_id), "%s", db_res_get(res, 0, 1));
    end->deferred = strcmp(outcome, "deferred") == 0;
    if (end->deferred)
        return MSE_OK;
    const char *doc = db_res_get(res, 0, 2), *pending = db_res_get(res, 0, 3);
    if (strcmp(outcome, "ok") != 0 || !doc || !pending)
        return MSE_ERR_INTERNAL;
    end->pending = pending[0] == 't';
    return (end->doc = strdup(doc)) ? MSE_OK : MSE_ERR_NOMEM;
}

enum mse_rc db_exec_complete(struct db *db, const struct fence *f, bool deferred,
                             struct exec_end *end, enum exec_outcome *out, struct db_error *err)
{
    const char *params[4];
    struct db_res res;
    bool fenced = false;
    memset(end, 0, sizeof(*end));
    *out = EXO_DONE;
    fence_params(f, params);
    params[3] = deferred ? "true" : "false";
    enum mse_rc rc = db_query(db, &exec_complete, params, &res, err);
    if (rc == MSE_OK)
        rc = complete_read(&res, end, &fenced);
    db_res_clear(&res);
    if (rc == MSE_OK && fenced)
        return db_exec_fence_failure(db, f, out, err);
    return rc;
}

enum mse_rc db_exec_release(struct db *db, const struct fence *f, enum exec_outcome *out,
                            struct db_error *err)
{
    const char *params[3];
    int64_t n = 0;
    *out = EXO_DONE;
    fence_params(f, params);
    enum mse_rc rc = db_int_query(db, &exec_release, params, &n, err);
    if (rc == MSE_OK && n == 0)
        return db_exec_fence_failure(db, f, out, err);
    return rc;
}

enum mse_rc db_exec_lock_row(struct db *db, const struct fence *f, char task_id[37], char type[40],
                             enum exec_outcome *out, struct db_error *err)
{
    const char *params[3];
    struct db_res res;
    *out = EXO_DONE;
    fence_params(f, params);
    enum mse_rc rc = db_query(db, &exec_lock_row, params, &res, err);
    bool found = rc == MSE_OK && db_res_rows(&res) == 1;
    if (found) {
        snprintf(task_id, 37, "%s", db_res_get(&res, 0, 0));
        const char *t = db_res_get(&res, 0, 1);
        snprintf(type, 40, "%s", t ? t : "");
    }
    db_res_clear(&res);
    if (rc == MSE_OK && !found)
        return db_exec_fence_failure(db, f, out, err);
    return rc;
}

enum mse_rc db_exec_expire_leases(struct db *db, int64_t *count, struct db_error *err)
{
    return db_int_query(db, &exec_expire, NULL, count, err);
}

enum mse_rc db_exec_waiting_for_worker(struct db *db, int64_t *count, struct db_error *err)
{
    return db_int_query(db, &exec_waiting_for_worker, NULL, count, err);
}

enum mse_rc db_exec_leases_resume(struct db *db, unsigned threshold_s, int64_t *count,
                                  struct db_error *err)
{
    char t[16];
    snprintf(t, sizeof(t), "%u", threshold_s);
    const char *params[] = { t };
    return db_int_query(db, &exec_leases_resume, params, count, err);
}

enum mse_rc db_exec_due_tasks(struct db *db, unsigned max, struct due_task *out, unsigned *n,
                              struct db_error *err)
{
    char m[16];
    struct db_res res;
    snprintf(m, sizeof(m), "%u", max);
    const char *params[] = { m };
    *n = 0;
    enum mse_rc rc = db_query(db, &exec_due, params, &res, err);
    for (int i = 0; rc == MSE_OK && i < db_res_rows(&res) && *n < max; i++) {
        int64_t t;
        struct due_task *d = &out[*n];
        snprintf(d->id, sizeof(d->id), "%s", db_res_get(&res, i, 0));
        snprintf(d->schedule_id, sizeof(d->schedule_id), "%s", db_res_get(&res, i, 1));
        rc = mse_parse_int(db_res_get(&res, i, 2), INT64_MIN, INT64_MAX, &t);
        d->next_run_at = (time_t)t;
        (*n)++;
    }
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_exec_schedule(struct db *db, const char *task_id, bool has_next, time_t next,
                             bool *queued, struct db_error *err)
{
    char n[24];
    struct db_res res;
    snprintf(n, sizeof(n), "%lld", (long long)next);
    const char *params[] = { task_id, has_next ? "true" : "false", n };
    enum mse_rc rc = db_query(db, &exec_schedule, params, &res, err);
    *queued = rc == MSE_OK && db_res_rows(&res) == 1 && db_res_get(&res, 0, 0)[0] == 't';
    db_res_clear(&res);
    return rc;
}

enum mse_rc db_exec_housekeeping(struct db *db, struct db_error *err)
{
    return db_run(db, &exec_housekeeping, NULL, err);
}

/* HELP text of each gauge exec_metrics returns (Prometheus' linter wants one for each). */
static const char *metric_help(const char *name)
{
    static const struct {
        const char *name, *help;
    } helps[] = {
        { "mse_executions", "Executions by state." },
        { "mse_task_mailboxes", "Mailboxes of tasks by their latest state." },
        { "mse_sites_online", "Sites with a worker online." },
        { "mse_mailbox_locks", "Mailbox locks held." },
        { "mse_executions_waiting_for_worker",
          "Queued executions no worker of their site claims." },
        { "mse_tasks", "Live exchange tasks, enabled or not." },
    };
    for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++)
        if (strcmp(helps[i].name, name) == 0)
            return helps[i].help;
    return "An MSE gauge.";
}

enum mse_rc db_exec_metrics(struct db *db, char **text, struct db_error *err)
{
    struct db_res res;
    struct mse_buf b;
    const char *last = "";
    *text = NULL;
    mse_buf_init(&b, 1 << 20);
    enum mse_rc rc = db_query(db, &exec_metrics, NULL, &res, err);
    for (int i = 0; rc == MSE_OK && i < db_res_rows(&res); i++) {
        const char *name = db_res_get(&res, i, 0), *label = db_res_get(&res, i, 1);
        const char *value = db_res_get(&res, i, 2), *count = db_res_get(&res, i, 3);
        if (strcmp(name, last) != 0)
            rc = mse_buf_printf(&b, "# HELP %s %s\n# TYPE %s gauge\n", name, metric_help(name),
                                name);
        last = name;
        if (rc == MSE_OK && label[0])
            rc = mse_buf_printf(&b, "%s{%s=\"%s\"} %s\n", name, label, value, count);
        else if (rc == MSE_OK)
            rc = mse_buf_printf(&b, "%s %s\n", name, count);
    }
    db_res_clear(&res);
    if (rc == MSE_OK)
        rc = mse_buf_take(&b, text, NULL);
    mse_buf_cleanup(&b);
    return rc;
}
