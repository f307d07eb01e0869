-- SPDX-License-Identifier: Apache-2.0
-- Sync & Recover (docs/sync-recover.md): the Exchange servers a site's workers reach, the tests
-- of those connections, the sync tasks that archive mailboxes through them, and each task's
-- per-mailbox state from which its status is computed.

CREATE TABLE server_connections (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The site whose workers reach this Exchange; a site with connections cannot be deleted.
    site_id         uuid NOT NULL REFERENCES sites (id),
    ews_url         text NOT NULL CHECK (length(ews_url) BETWEEN 1 AND 2000),
    authentication  text NOT NULL CHECK (authentication IN ('basic', 'ntlm', 'oauth2_bearer')),
    service_account text NOT NULL CHECK (length(service_account) BETWEEN 1 AND 320),
    -- The password or bearer token sealed with the master key (AES-256-GCM, bound to the id).
    secret_sealed   bytea NOT NULL,
    impersonation   boolean NOT NULL DEFAULT true,
    tls_verify      boolean NOT NULL DEFAULT true,
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      text
);
CREATE UNIQUE INDEX server_connections_name ON server_connections (lower(name));
CREATE INDEX server_connections_site ON server_connections (site_id);
CREATE TRIGGER server_connections_version BEFORE UPDATE ON server_connections
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION mse_bump_version();

-- "Test the connection": requested by an administrator, run by a worker of the site.
CREATE TABLE server_connection_tests (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    connection_id  uuid NOT NULL REFERENCES server_connections (id) ON DELETE CASCADE,
    site_id        uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    mailbox        text CHECK (length(mailbox) <= 320),
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded',
                                                                    'failed')),
    latency_ms     integer CHECK (latency_ms >= 0),
    server_version text CHECK (length(server_version) <= 200),
    reason_code    text CHECK (length(reason_code) <= 64),
    detail         text CHECK (length(detail) <= 2000),
    worker_id      text,
    requested_at   timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz
);
CREATE INDEX server_connection_tests_pending ON server_connection_tests (site_id, requested_at)
    WHERE state = 'pending';
CREATE INDEX server_connection_tests_connection ON server_connection_tests (connection_id,
                                                                           requested_at);

CREATE TABLE sync_tasks (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq                 bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    connection_id       uuid NOT NULL REFERENCES server_connections (id),
    group_kind          text NOT NULL CHECK (group_kind IN ('ad_group', 'group_email', 'mailbox',
                                                            'mailbox_list')),
    group_value         text NOT NULL,
    mail                boolean NOT NULL DEFAULT true,
    calendars           boolean NOT NULL DEFAULT true,
    message_classes     text[] NOT NULL DEFAULT '{}',
    include_sensitive   boolean NOT NULL DEFAULT false,
    exclusions_active   boolean NOT NULL DEFAULT false,
    -- [{day, from, to, region}], checked and normalised by the server.
    exclusions          jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(exclusions) = 'array'),
    interval_minutes    integer NOT NULL DEFAULT 15 CHECK (interval_minutes BETWEEN 1 AND 1440),
    enabled             boolean NOT NULL DEFAULT true,
    version             bigint NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    updated_by          text
);
CREATE UNIQUE INDEX sync_tasks_name ON sync_tasks (lower(name));
CREATE INDEX sync_tasks_connection ON sync_tasks (connection_id);
CREATE TRIGGER sync_tasks_version BEFORE UPDATE ON sync_tasks
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION mse_bump_version();

-- What a worker last reported for one mailbox of a sync task; the task's status derives from
-- these rows (seed 002: a warning is normally "synchronised by another task").
CREATE TABLE sync_task_mailboxes (
    task_id      uuid NOT NULL REFERENCES sync_tasks (id) ON DELETE CASCADE,
    seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    address      text NOT NULL,
    state        text NOT NULL CHECK (state IN ('pending', 'ok', 'warning', 'error')),
    reason_code  text,
    detail       text CHECK (length(detail) <= 2000),
    last_sync_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (task_id, address)
);

-- A task's status as seed 002 defines it, from its mailboxes' states, and the detail that says
-- which mailboxes and why. This engine version does not synchronise content yet: an enabled
-- task no mailbox of which was archived is never shown as plainly "enabled".
CREATE FUNCTION mse_sync_task_summary(task uuid, enabled boolean, OUT status text,
                                      OUT detail text, OUT total bigint, OUT ok bigint,
                                      OUT warning bigint, OUT failing bigint)
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN NOT $2 THEN 'disabled'
                WHEN n.failing > 0 AND n.failing = n.total THEN 'failed'
                WHEN n.failing > 0 THEN 'enabled_with_errors'
                WHEN n.warning > 0 OR n.ok = 0 THEN 'enabled_with_warning'
                ELSE 'enabled' END,
           concat_ws('; ',
                     'content synchronisation is not yet implemented by this engine version:'
                     ' no mailbox content is archived',
                     (SELECT string_agg(p.address || ': ' || p.state
                                        || coalesce(' (' || p.reason_code || ')', '')
                                        || coalesce(' ' || p.detail, ''), '; ' ORDER BY p.address)
                      FROM (SELECT address, state, reason_code, detail FROM sync_task_mailboxes
                            WHERE task_id = $1 AND state IN ('warning', 'error')
                            ORDER BY address LIMIT 10) p)),
           n.total, n.ok, n.warning, n.failing
    FROM (SELECT count(*) AS total, count(*) FILTER (WHERE state = 'ok') AS ok,
                 count(*) FILTER (WHERE state = 'warning') AS warning,
                 count(*) FILTER (WHERE state = 'error') AS failing
          FROM sync_task_mailboxes WHERE task_id = $1) n
$$;
