-- SPDX-License-Identifier: Apache-2.0
-- Schemas 038 (sync tasks run as executions) and 042 (max_parallel_mailboxes) each replaced
-- mse_execution_snapshot without the other's part: a sync task's claim lost its settings and
-- connection, or an Exchange task's its parallelism. One function with both: this file is the
-- function's definition; the bodies in 038 and 042 are history, kept for migrations' order.
CREATE OR REPLACE FUNCTION mse_execution_snapshot(task uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM sync_tasks s WHERE s.id = task) THEN
        RETURN (SELECT jsonb_build_object(
            'task', jsonb_build_object('id', s.id, 'name', s.name, 'type', 'sync_recover',
                                       'max_parallel_mailboxes', t.max_parallel_mailboxes),
            'definition', jsonb_build_object('id', s.id, 'type', 'sync_recover',
                'settings', jsonb_build_object('mail', s.mail, 'calendars', s.calendars,
                    'additional_message_classes', to_jsonb(s.message_classes),
                    'include_sensitive', s.include_sensitive)),
            'group', jsonb_build_object('kind', s.group_kind, 'value', s.group_value),
            'site', jsonb_build_object('id', x.id, 'name', x.name),
            'connection', jsonb_build_object('id', c.id, 'ews_url', c.ews_url,
                'authentication', c.authentication, 'service_account', c.service_account,
                'impersonation', c.impersonation, 'tls_verify', c.tls_verify))
        FROM sync_tasks s
        JOIN exchange_tasks t ON t.id = s.id
        JOIN server_connections c ON c.id = s.connection_id
        JOIN sites x ON x.id = c.site_id
        WHERE s.id = task);
    END IF;
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
