-- SPDX-License-Identifier: Apache-2.0
-- Group members that are not mailboxes of the organisation (outside addresses, contacts,
-- public folders, private lists), as the worker reported them with the membership
-- (issue 22, item 12): listed on the execution, and so on its task, instead of dropped
-- without a word. NULL until a membership with skipped members is reported.
ALTER TABLE executions
    ADD COLUMN skipped_members jsonb
        CHECK (skipped_members IS NULL OR jsonb_typeof(skipped_members) = 'array'),
    ADD COLUMN skipped_members_total integer NOT NULL DEFAULT 0
        CHECK (skipped_members_total >= 0);

CREATE OR REPLACE FUNCTION mse_execution_json(e executions) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN json_build_object(
        'id', e.id, 'task_id', e.task_id, 'site_id', e.site_id, 'trigger', e.trigger,
        'state', e.state, 'result', e.result,
        'queued_at', mse_ts(e.queued_at), 'started_at', mse_ts(e.started_at),
        'finished_at', mse_ts(e.finished_at),
        'duration_ms', (extract(epoch FROM e.finished_at - e.started_at) * 1000)::bigint,
        'command', e.command, 'latest_detail', e.latest_detail,
        'cancel_requested', e.cancel_requested,
        'mailboxes_requested', e.mailboxes_requested, 'retry_of', e.retry_of,
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
        'progress_percent', (SELECT CASE WHEN count(*) > 0 THEN (100 * count(*) FILTER (
                WHERE m.state IN ('healthy', 'warning', 'error', 'skipped')) / count(*))::int END
            FROM execution_mailboxes m WHERE m.execution_id = e.id),
        'skipped_members', json_build_object(
                'total', e.skipped_members_total,
                'listed', coalesce(e.skipped_members, '[]'::jsonb)),
        'items', e.items, 'submissions', e.submissions, 'claims', e.claims,
        'lease_expiries', e.lease_expiries);
END
$$;
