-- SPDX-License-Identifier: Apache-2.0
-- Sync & Recover synchronises content (docs/sync-recover.md, issue 12). A sync task runs
-- through the execution machinery of Exchange tasks — claims, leases, fencing, mailbox locks
-- across every task, checkpoints, partitions, applied batches — through a twin row of
-- exchange_tasks with the same id and type 'sync_recover', kept by the triggers below and
-- hidden from the /exchange-tasks routes. Archived items keep their versions.

-- ---- the twin task ----

ALTER TABLE exchange_tasks DROP CONSTRAINT exchange_tasks_type_check,
    ADD CONSTRAINT exchange_tasks_type_check CHECK (type IN ('mailbox_folder_replication',
                                                             'calendar_replication',
                                                             'mailbox_storage_management',
                                                             'managed_folders',
                                                             'sync_recover')),
    DROP CONSTRAINT exchange_tasks_check,
    -- A sync task has no definition or schedule: its settings and interval are its own.
    ADD CONSTRAINT exchange_tasks_check CHECK (deleted_at IS NOT NULL
        OR (site_id IS NOT NULL AND (type = 'sync_recover'
            OR (definition_id IS NOT NULL AND schedule_id IS NOT NULL))));

-- The twin follows its sync task: name, site (the connection's), group, enabled.
CREATE FUNCTION mse_sync_twin_write() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO exchange_tasks (id, name, site_id, type, group_kind, group_value, enabled,
                                    created_by, updated_by)
        SELECT NEW.id, NEW.name, c.site_id, 'sync_recover', NEW.group_kind, NEW.group_value,
               NEW.enabled, NEW.updated_by, NEW.updated_by
        FROM server_connections c WHERE c.id = NEW.connection_id;
        RETURN NULL;
    END IF;
    UPDATE exchange_tasks t
       SET name = NEW.name, enabled = NEW.enabled, updated_by = NEW.updated_by,
           site_id = (SELECT c.site_id FROM server_connections c WHERE c.id = NEW.connection_id)
     WHERE t.id = NEW.id;
    IF OLD.enabled AND NOT NEW.enabled THEN
        -- Stopped: a queued execution never starts, a running one ends after its mailbox.
        UPDATE executions e SET state = 'cancelled', result = 'cancelled',
                                cancel_requested = true, finished_at = now()
         WHERE e.task_id = NEW.id AND e.state = 'queued';
        UPDATE executions e SET cancel_requested = true
         WHERE e.task_id = NEW.id AND e.state IN ('running', 'waiting');
        UPDATE exchange_tasks t SET live_state = NULL
         WHERE t.id = NEW.id AND t.live_state = 'queued';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sync_tasks_twin AFTER INSERT OR UPDATE ON sync_tasks
    FOR EACH ROW EXECUTE FUNCTION mse_sync_twin_write();

-- A deleted sync task's twin stays, soft-deleted like any task: executions, checkpoints and
-- the archive keep a valid reference (the archive outlives the task until retention).
CREATE FUNCTION mse_sync_twin_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE executions e SET state = 'cancelled', result = 'cancelled', finished_at = now()
     WHERE e.task_id = OLD.id AND e.state = 'queued';
    UPDATE exchange_tasks t
       SET deleted_at = now(), next_run_at = NULL, live_state = NULL, active_execution_id = NULL,
           deletion_pending = false, pending_changes = NULL
     WHERE t.id = OLD.id AND t.deleted_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER sync_tasks_twin_delete AFTER DELETE ON sync_tasks
    FOR EACH ROW EXECUTE FUNCTION mse_sync_twin_delete();

-- A connection moved to another site takes its tasks' next executions there.
CREATE FUNCTION mse_sync_twin_site() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE exchange_tasks t SET site_id = NEW.site_id
      FROM sync_tasks s WHERE s.connection_id = NEW.id AND t.id = s.id AND t.deleted_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER server_connections_twin_site AFTER UPDATE OF site_id ON server_connections
    FOR EACH ROW WHEN (OLD.site_id IS DISTINCT FROM NEW.site_id)
    EXECUTE FUNCTION mse_sync_twin_site();

INSERT INTO exchange_tasks (id, name, site_id, type, group_kind, group_value, enabled,
                            created_by, updated_by)
SELECT s.id, s.name, c.site_id, 'sync_recover', s.group_kind, s.group_value, s.enabled,
       s.updated_by, s.updated_by
FROM sync_tasks s JOIN server_connections c ON c.id = s.connection_id;

-- What the workers reported per mailbox now lives in task_mailboxes, as for every task.
DROP FUNCTION mse_sync_task_summary(uuid, boolean);
DROP TABLE sync_task_mailboxes;

-- The settings a sync execution runs with, frozen at its first claim like an Exchange task's.
-- The server adds, at every claim, the effective message classes (its default list plus
-- these additions) and the connection's secret, which is never stored here.
CREATE OR REPLACE FUNCTION mse_execution_snapshot(task uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM sync_tasks s WHERE s.id = task) THEN
        RETURN (SELECT jsonb_build_object(
            'task', jsonb_build_object('id', s.id, 'name', s.name, 'type', 'sync_recover'),
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
        JOIN server_connections c ON c.id = s.connection_id
        JOIN sites x ON x.id = c.site_id
        WHERE s.id = task);
    END IF;
    RETURN (SELECT jsonb_build_object(
        'task', jsonb_build_object('id', t.id, 'name', t.name, 'type', t.type),
        'definition', jsonb_build_object('id', d.id, 'type', d.type, 'settings', d.settings),
        'group', jsonb_build_object('kind', t.group_kind, 'value', t.group_value),
        'site', jsonb_build_object('id', s.id, 'name', s.name))
    FROM exchange_tasks t
    JOIN definitions d ON d.id = t.definition_id
    JOIN sites s ON s.id = t.site_id
    WHERE t.id = task);
END
$$;

-- ---- the scheduler's question for sync tasks ----

-- True when now is inside one of the windows ([{day, from, to, region}]): a window's times
-- are local to its region; `to` before `from` spans midnight (its end belongs to the next day).
CREATE FUNCTION mse_sync_excluded(windows jsonb, at timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(bool_or(CASE
        WHEN w.f < w.t THEN (w.d = 'all' OR w.d = w.today) AND w.now >= w.f AND w.now < w.t
        ELSE ((w.d = 'all' OR w.d = w.today) AND w.now >= w.f)
          OR ((w.d = 'all' OR w.d = w.yesterday) AND w.now < w.t) END), false)
    FROM (SELECT e ->> 'day' AS d, (e ->> 'from')::time AS f, (e ->> 'to')::time AS t,
                 (at AT TIME ZONE (e ->> 'region'))::time AS now,
                 lower(to_char(at AT TIME ZONE (e ->> 'region'), 'FMDay')) AS today,
                 lower(to_char((at AT TIME ZONE (e ->> 'region')) - interval '1 day', 'FMDay'))
                     AS yesterday
          FROM jsonb_array_elements(windows) AS e) AS w
$$;

-- Queues an execution for every sync task that is due: enabled, no deletion waiting, no
-- execution active, never run or its last execution ended interval_minutes ago or more, and
-- now outside its exclusion windows when they are active. Returns how many were queued.
CREATE FUNCTION mse_sync_schedule() RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_n bigint;
BEGIN
    WITH due AS (
        SELECT t.id, t.site_id FROM sync_tasks s
        JOIN exchange_tasks t ON t.id = s.id AND t.deleted_at IS NULL AND NOT t.deletion_pending
        WHERE s.enabled
          AND NOT EXISTS (SELECT 1 FROM executions e WHERE e.task_id = s.id
                          AND e.state IN ('queued', 'running', 'waiting'))
          AND coalesce((SELECT max(e.finished_at) FROM executions e WHERE e.task_id = s.id),
                       '-infinity') <= now() - make_interval(mins => s.interval_minutes)
          AND NOT (s.exclusions_active AND mse_sync_excluded(s.exclusions, now()))
        ORDER BY s.seq
        FOR UPDATE OF t SKIP LOCKED),
    ins AS (INSERT INTO executions (task_id, site_id, trigger, state)
            SELECT id, site_id, 'schedule', 'queued' FROM due
            ON CONFLICT (task_id) WHERE state IN ('queued', 'running', 'waiting') DO NOTHING
            RETURNING task_id),
    upd AS (UPDATE exchange_tasks t SET live_state = coalesce(t.live_state, 'queued')
            FROM ins WHERE t.id = ins.task_id)
    SELECT count(*) INTO v_n FROM ins;
    RETURN v_n;
END
$$;
CREATE INDEX executions_task_finished ON executions (task_id, finished_at);

-- ---- content and versions ----

ALTER TABLE archive_items
    -- The message's RFC 5322 content (EWS MimeContent) in the blob store, and its size.
    ADD COLUMN content_sha256 text CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    ADD COLUMN content_size bigint CHECK (content_size >= 0);
CREATE INDEX archive_items_content ON archive_items (content_sha256)
    WHERE content_sha256 IS NOT NULL;

-- Each version of an archived item, current during [valid_from, valid_to): every applied
-- change to a field below (a move included) closes the current one and opens the next, and a
-- deletion closes it. Written by the statement triggers on archive_items, in the transaction
-- of the change. An item removed from the archive (made private) takes its versions along.
CREATE TABLE archive_item_versions (
    partition_id        bigint NOT NULL,
    item_id             text NOT NULL,
    valid_from          timestamptz NOT NULL,
    valid_to            timestamptz,
    folder_id           text NOT NULL,
    item_class          text,
    internet_message_id text,
    subject             text,
    sender              jsonb,
    "from"              jsonb,
    to_recipients       jsonb NOT NULL,
    cc_recipients       jsonb NOT NULL,
    sent_at             timestamptz,
    received_at         timestamptz,
    size                bigint,
    is_read             boolean,
    sensitivity         text,
    has_attachments     boolean,
    content_sha256      text,
    content_size        bigint,
    PRIMARY KEY (partition_id, item_id, valid_from),
    FOREIGN KEY (partition_id, item_id) REFERENCES archive_items (partition_id, item_id)
        ON DELETE CASCADE,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX archive_item_versions_open ON archive_item_versions (partition_id, item_id)
    WHERE valid_to IS NULL;
CREATE INDEX archive_item_versions_folder ON archive_item_versions (partition_id, folder_id,
                                                                    valid_from);

-- The same for folders (their place and names), so a past listing shows the tree as it was.
CREATE TABLE archive_folder_versions (
    partition_id     bigint NOT NULL,
    folder_id        text NOT NULL,
    valid_from       timestamptz NOT NULL,
    valid_to         timestamptz,
    source           text NOT NULL,
    parent_folder_id text,
    display_name     text NOT NULL,
    folder_class     text,
    path             text NOT NULL,
    PRIMARY KEY (partition_id, folder_id, valid_from),
    FOREIGN KEY (partition_id, folder_id) REFERENCES archive_folders (partition_id, folder_id)
        ON DELETE CASCADE,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX archive_folder_versions_open ON archive_folder_versions (partition_id,
                                                                             folder_id)
    WHERE valid_to IS NULL;

-- What makes a new item version (change_key, pass_epoch and updated_at do not). The changed
-- keys are collected once into arrays; the version statements run one after the other, so a
-- version opened earlier in the same transaction (never seen by anyone) is replaced, not kept
-- as an empty interval.
CREATE FUNCTION archive_item_versions_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_parts bigint[];
    v_ids text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO archive_item_versions
        SELECT n.partition_id, n.item_id, now(), NULL, n.folder_id, n.item_class,
               n.internet_message_id, n.subject, n.sender, n."from", n.to_recipients,
               n.cc_recipients, n.sent_at, n.received_at, n.size, n.is_read, n.sensitivity,
               n.has_attachments, n.content_sha256, n.content_size
        FROM new_rows n WHERE n.deleted_at IS NULL;
        RETURN NULL;
    END IF;
    SELECT array_agg(n.partition_id), array_agg(n.item_id) INTO v_parts, v_ids
    FROM new_rows n
    JOIN old_rows o ON o.partition_id = n.partition_id AND o.item_id = n.item_id
    WHERE (n.folder_id, n.item_class, n.internet_message_id, n.subject, n.sender, n."from",
           n.to_recipients, n.cc_recipients, n.sent_at, n.received_at, n.size, n.is_read,
           n.sensitivity, n.has_attachments, n.content_sha256, n.content_size,
           n.deleted_at IS NULL)
          IS DISTINCT FROM
          (o.folder_id, o.item_class, o.internet_message_id, o.subject, o.sender, o."from",
           o.to_recipients, o.cc_recipients, o.sent_at, o.received_at, o.size, o.is_read,
           o.sensitivity, o.has_attachments, o.content_sha256, o.content_size,
           o.deleted_at IS NULL);
    IF v_ids IS NULL THEN
        RETURN NULL;
    END IF;
    DELETE FROM archive_item_versions v USING unnest(v_parts, v_ids) AS c (p, i)
     WHERE v.partition_id = c.p AND v.item_id = c.i AND v.valid_to IS NULL
       AND v.valid_from = now();
    UPDATE archive_item_versions v SET valid_to = now() FROM unnest(v_parts, v_ids) AS c (p, i)
     WHERE v.partition_id = c.p AND v.item_id = c.i AND v.valid_to IS NULL;
    INSERT INTO archive_item_versions
    SELECT n.partition_id, n.item_id, now(), NULL, n.folder_id, n.item_class,
           n.internet_message_id, n.subject, n.sender, n."from", n.to_recipients,
           n.cc_recipients, n.sent_at, n.received_at, n.size, n.is_read, n.sensitivity,
           n.has_attachments, n.content_sha256, n.content_size
    FROM new_rows n JOIN unnest(v_parts, v_ids) AS c (p, i)
      ON c.p = n.partition_id AND c.i = n.item_id
    WHERE n.deleted_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER archive_items_versions_ins AFTER INSERT ON archive_items
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION archive_item_versions_write();
CREATE TRIGGER archive_items_versions_upd AFTER UPDATE ON archive_items
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION archive_item_versions_write();

-- The same for folders.
CREATE FUNCTION archive_folder_versions_write() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_parts bigint[];
    v_ids text[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO archive_folder_versions
        SELECT n.partition_id, n.folder_id, now(), NULL, n.source, n.parent_folder_id,
               n.display_name, n.folder_class, n.path
        FROM new_rows n WHERE n.deleted_at IS NULL;
        RETURN NULL;
    END IF;
    SELECT array_agg(n.partition_id), array_agg(n.folder_id) INTO v_parts, v_ids
    FROM new_rows n
    JOIN old_rows o ON o.partition_id = n.partition_id AND o.folder_id = n.folder_id
    WHERE (n.parent_folder_id, n.display_name, n.folder_class, n.path, n.deleted_at IS NULL)
          IS DISTINCT FROM
          (o.parent_folder_id, o.display_name, o.folder_class, o.path, o.deleted_at IS NULL);
    IF v_ids IS NULL THEN
        RETURN NULL;
    END IF;
    DELETE FROM archive_folder_versions v USING unnest(v_parts, v_ids) AS c (p, i)
     WHERE v.partition_id = c.p AND v.folder_id = c.i AND v.valid_to IS NULL
       AND v.valid_from = now();
    UPDATE archive_folder_versions v SET valid_to = now() FROM unnest(v_parts, v_ids) AS c (p, i)
     WHERE v.partition_id = c.p AND v.folder_id = c.i AND v.valid_to IS NULL;
    INSERT INTO archive_folder_versions
    SELECT n.partition_id, n.folder_id, now(), NULL, n.source, n.parent_folder_id,
           n.display_name, n.folder_class, n.path
    FROM new_rows n JOIN unnest(v_parts, v_ids) AS c (p, i)
      ON c.p = n.partition_id AND c.i = n.folder_id
    WHERE n.deleted_at IS NULL;
    RETURN NULL;
END
$$;
CREATE TRIGGER archive_folders_versions_ins AFTER INSERT ON archive_folders
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION archive_folder_versions_write();
CREATE TRIGGER archive_folders_versions_upd AFTER UPDATE ON archive_folders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION archive_folder_versions_write();

-- What was archived before versions: one version each, current since it was last written.
INSERT INTO archive_item_versions
SELECT i.partition_id, i.item_id, i.updated_at, NULL, i.folder_id, i.item_class,
       i.internet_message_id, i.subject, i.sender, i."from", i.to_recipients, i.cc_recipients,
       i.sent_at, i.received_at, i.size, i.is_read, i.sensitivity, i.has_attachments, NULL, NULL
FROM archive_items i WHERE i.deleted_at IS NULL;
INSERT INTO archive_folder_versions
SELECT f.partition_id, f.folder_id, f.updated_at, NULL, f.source, f.parent_folder_id,
       f.display_name, f.folder_class, f.path
FROM archive_folders f WHERE f.deleted_at IS NULL;

-- ---- status ----

-- A sync task's status as seed 002 defines it, from its mailboxes' states (task_mailboxes of
-- the members at the latest resolution) and its last execution, with a detail naming the
-- mailboxes that are not fine and why (up to ten). A mailbox waiting for the lock another
-- task holds is a warning: "synchronised by another task".
CREATE FUNCTION mse_sync_task_summary(task uuid, enabled boolean, OUT status text,
                                      OUT detail text, OUT total bigint, OUT ok bigint,
                                      OUT warning bigint, OUT failing bigint)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT $2 THEN 'disabled'
                WHEN x.error_code IS NOT NULL
                  OR (n.failing > 0 AND n.failing = n.total) THEN 'failed'
                WHEN n.failing > 0 THEN 'enabled_with_errors'
                WHEN n.warning > 0 THEN 'enabled_with_warning'
                ELSE 'enabled' END,
           coalesce(concat_ws('; ',
                CASE WHEN x.error_code IS NOT NULL
                     THEN 'the last run failed: ' || x.error_code
                          || coalesce(' ' || x.error_text, '') END,
                (SELECT string_agg(p.address || ': ' || p.state
                                   || coalesce(' (' || p.reason_code || ')', '')
                                   || coalesce(' ' || p.reason_text, ''), '; '
                                   ORDER BY p.address)
                 FROM (SELECT m.address,
                              CASE m.state WHEN 'error' THEN 'error' ELSE 'warning' END AS state,
                              CASE WHEN m.state = 'waiting_for_lock'
                                   THEN coalesce(m.reason_code, 'mailbox_locked')
                                   ELSE m.reason_code END AS reason_code,
                              CASE WHEN m.state = 'waiting_for_lock' THEN coalesce(m.reason_text,
                                   'synchronised by another task'
                                   || coalesce(' ("' || (SELECT o.name FROM mailbox_locks l
                                       JOIN exchange_tasks o ON o.id = l.task_id
                                       WHERE l.address = m.address AND l.task_id <> $1) || '")',
                                               ''))
                                   ELSE m.reason_text END AS reason_text
                       FROM task_mailboxes m
                       WHERE m.task_id = $1 AND m.in_group
                         AND m.state IN ('warning', 'waiting_for_lock', 'error')
                       ORDER BY m.address LIMIT 10) p)), ''),
           n.total, n.ok, n.warning, n.failing
    FROM (SELECT count(*) AS total, count(*) FILTER (WHERE state = 'healthy') AS ok,
                 count(*) FILTER (WHERE state IN ('warning', 'waiting_for_lock')) AS warning,
                 count(*) FILTER (WHERE state = 'error') AS failing
          FROM task_mailboxes WHERE task_id = $1 AND in_group) n
    LEFT JOIN LATERAL (SELECT e.error_code, e.error_text FROM exchange_tasks t
                       JOIN executions e ON e.id = t.last_execution_id
                       WHERE t.id = $1) x ON true
$$;
