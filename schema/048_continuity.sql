-- SPDX-License-Identifier: Apache-2.0
-- Continuity (docs/continuity.md): end users' credentials bound to one mailbox (role
-- mailbox_user) with the delegate mailboxes an administrator assigned them, and continuity
-- events whose state (scheduled, active, ended) follows from their times, computed on read:
-- no background job has to flip it, and every server agrees on it.

ALTER TABLE api_clients DROP CONSTRAINT api_clients_role_check,
    ADD CONSTRAINT api_clients_role_check
        CHECK (role IN ('admin', 'read_only', 'site', 'journal', 'mailbox_user')),
    ADD COLUMN mailbox text CHECK (mailbox = lower(mailbox)),
    ADD COLUMN delegates text[] NOT NULL DEFAULT '{}'
        CHECK (cardinality(delegates) <= 100 AND delegates::text = lower(delegates::text)),
    ADD CONSTRAINT api_clients_mailbox_user CHECK ((role = 'mailbox_user') = (mailbox IS NOT NULL)),
    ADD CONSTRAINT api_clients_delegates_of_users
        CHECK (role = 'mailbox_user' OR cardinality(delegates) = 0);

CREATE TABLE continuity_events (
    id                        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq                       bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    name                      text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- 'all' mailboxes, or a group as tasks name one (normalised by the server's group parser).
    scope_kind                text NOT NULL CHECK (scope_kind IN ('all', 'ad_group', 'group_email',
                                                                  'mailbox', 'mailbox_list')),
    scope_value               text CHECK ((scope_kind = 'all') = (scope_value IS NULL)),
    -- The listed mailboxes as an array, so that a status poll finds its events by index.
    scope_members             text[] GENERATED ALWAYS AS (
        CASE WHEN scope_kind IN ('mailbox', 'mailbox_list')
             THEN string_to_array(lower(scope_value), ';') END) STORED,
    start_at                  timestamptz NOT NULL,
    end_at                    timestamptz CHECK (end_at > start_at), -- NULL: open until ended
    ended_at                  timestamptz, -- the `end` action
    expand_distribution_lists boolean NOT NULL DEFAULT false,
    cloned_from               uuid REFERENCES continuity_events (id) ON DELETE SET NULL,
    version                   bigint NOT NULL DEFAULT 1,
    created_at                timestamptz NOT NULL DEFAULT now(),
    created_by                text,
    updated_at                timestamptz NOT NULL DEFAULT now(),
    updated_by                text
);
-- Every column but the generated one (a BEFORE trigger's condition cannot name it).
CREATE TRIGGER continuity_events_version BEFORE UPDATE ON continuity_events
    FOR EACH ROW WHEN ((OLD.name, OLD.scope_kind, OLD.scope_value, OLD.start_at, OLD.end_at,
                        OLD.ended_at, OLD.expand_distribution_lists, OLD.updated_by)
                       IS DISTINCT FROM
                       (NEW.name, NEW.scope_kind, NEW.scope_value, NEW.start_at, NEW.end_at,
                        NEW.ended_at, NEW.expand_distribution_lists, NEW.updated_by))
    EXECUTE FUNCTION mse_bump_version();
-- Status polls read only the events that are not over yet: by listed mailbox, or by kind.
CREATE INDEX continuity_events_open_members ON continuity_events USING gin (scope_members)
    WHERE ended_at IS NULL;
CREATE INDEX continuity_events_open_kind ON continuity_events (scope_kind)
    WHERE ended_at IS NULL AND scope_kind IN ('all', 'ad_group', 'group_email');

-- When the event stops: its planned end or the `end` action, whichever comes first.
CREATE FUNCTION mse_continuity_until(e continuity_events) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT least(e.end_at, e.ended_at)
$$;

CREATE FUNCTION mse_continuity_state(e continuity_events) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN mse_continuity_until(e) <= now() THEN 'ended'
                WHEN e.start_at > now() THEN 'scheduled'
                ELSE 'active' END
$$;

-- The execution holding the latest membership a worker reported for a group (an Exchange or
-- sync task's, as its snapshot names the group), or NULL when none was ever reported.
CREATE INDEX executions_group_resolved ON executions
    ((snapshot #>> '{group,kind}'), lower(snapshot #>> '{group,value}'), membership_resolved_at)
    WHERE membership_resolved_at IS NOT NULL;

CREATE FUNCTION mse_group_resolution(kind text, value text) RETURNS executions
LANGUAGE sql STABLE AS $$
    SELECT e.* FROM executions e
    WHERE e.membership_resolved_at IS NOT NULL AND e.snapshot #>> '{group,kind}' = kind
      AND lower(e.snapshot #>> '{group,value}') = lower(value)
    ORDER BY e.membership_resolved_at DESC, e.seq DESC LIMIT 1
$$;

-- What the server knows of the event's scope, for the administrator (issue 15: a scope the
-- server cannot resolve is said so, never silently matches nobody).
CREATE FUNCTION mse_continuity_scope_doc(e continuity_events) RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r executions;
BEGIN
    IF e.scope_kind = 'all' THEN
        RETURN json_build_object('state', 'all', 'mailboxes', NULL, 'resolved_at', NULL,
                                 'execution_id', NULL, 'detail', 'every mailbox');
    ELSIF e.scope_kind IN ('mailbox', 'mailbox_list') THEN
        RETURN json_build_object('state', 'listed', 'mailboxes',
                                 cardinality(string_to_array(e.scope_value, ';')),
                                 'resolved_at', NULL, 'execution_id', NULL,
                                 'detail', 'the mailboxes listed');
    END IF;
    r := mse_group_resolution(e.scope_kind, e.scope_value);
    IF r.id IS NULL THEN
        RETURN json_build_object('state', 'unresolved', 'mailboxes', NULL, 'resolved_at', NULL,
            'execution_id', NULL,
            'detail', 'no worker has reported the membership of this group yet: the event '
                      'applies to nobody in it until an Exchange or sync task naming the same '
                      'group has resolved it (run one, or refresh its membership)');
    END IF;
    RETURN json_build_object('state', 'resolved',
        'mailboxes', (SELECT count(*) FROM execution_mailboxes m WHERE m.execution_id = r.id),
        'resolved_at', mse_ts(r.membership_resolved_at), 'execution_id', r.id,
        'detail', 'the membership a worker reported for this group at resolved_at');
END;
$$;

CREATE FUNCTION mse_continuity_event_doc(e continuity_events) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', e.id, 'name', e.name,
        'scope', json_build_object('kind', e.scope_kind, 'value', e.scope_value),
        'start', mse_ts(e.start_at), 'end', mse_ts(e.end_at), 'ended_at', mse_ts(e.ended_at),
        'until', mse_ts(mse_continuity_until(e)), 'state', mse_continuity_state(e),
        'expand_distribution_lists', e.expand_distribution_lists,
        'cloned_from', e.cloned_from, 'scope_resolution', mse_continuity_scope_doc(e),
        'created_at', mse_ts(e.created_at), 'created_by', e.created_by,
        'updated_at', mse_ts(e.updated_at), 'updated_by', e.updated_by)::text
$$;

-- A mailbox user's continuity status: per mailbox (its own first, then its delegates), the
-- events not over yet that take it in, merged into windows (overlapping or touching events
-- make one window, so a client never enters continuity twice), the window holding now and
-- the next one. Events whose group scope is unresolved are listed apart. Nothing in it is
-- relative to the instant of the request, so its hash changes only when the status does.
-- PL/pgSQL, not SQL: its statement's plan is kept per connection, where an SQL function's
-- body would be planned again on every poll (most of the poll's cost).
CREATE FUNCTION mse_continuity_status(own text, delegates text[]) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (WITH boxes AS (
        SELECT b.addr, b.ord FROM unnest(array_prepend(own, delegates)) WITH ORDINALITY
            AS b (addr, ord)
    ), hits AS (
        -- Set-based, each branch by index: the events of every mailbox, those listing one of
        -- these mailboxes, and group events (m NULL: the group's membership is unknown).
        SELECT b.addr, b.ord, e.id, e.name, e.start_at, mse_continuity_until(e) AS until,
               true AS m
        FROM boxes b JOIN continuity_events e ON e.scope_kind = 'all' AND e.ended_at IS NULL
        UNION ALL
        SELECT b.addr, b.ord, e.id, e.name, e.start_at, mse_continuity_until(e), true
        FROM boxes b JOIN continuity_events e
            ON e.scope_members @> ARRAY[b.addr] AND e.ended_at IS NULL
        UNION ALL
        SELECT b.addr, b.ord, e.id, e.name, e.start_at, mse_continuity_until(e),
               CASE WHEN r.id IS NULL THEN NULL
                    ELSE EXISTS (SELECT 1 FROM execution_mailboxes m
                                 WHERE m.execution_id = r.id AND m.address = b.addr) END
        FROM continuity_events e CROSS JOIN LATERAL mse_group_resolution(e.scope_kind,
                                                                         e.scope_value) r
            CROSS JOIN boxes b
        WHERE e.scope_kind IN ('ad_group', 'group_email') AND e.ended_at IS NULL
    ), live AS (
        SELECT h.* FROM hits h WHERE (h.until IS NULL OR h.until > now()) AND h.m IS NOT FALSE
    ), matched AS (
        -- An island starts where an event begins after every earlier one of the mailbox ended.
        SELECT h.*, CASE WHEN h.start_at <= max(coalesce(h.until, 'infinity')) OVER w
                         THEN 0 ELSE 1 END AS starts
        FROM live h WHERE h.m
        WINDOW w AS (PARTITION BY h.addr ORDER BY h.start_at, h.id
                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
    ), islands AS (
        SELECT m.*, sum(m.starts) OVER (PARTITION BY m.addr ORDER BY m.start_at, m.id) AS island
        FROM matched m
    ), windows AS (
        SELECT i.addr, i.island, min(i.start_at) AS w_start,
               CASE WHEN bool_or(i.until IS NULL) THEN NULL ELSE max(i.until) END AS w_end,
               json_agg(i.id ORDER BY i.start_at, i.id) AS events
        FROM islands i GROUP BY i.addr, i.island
    ), per_box AS (
        SELECT b.addr, b.ord, c.w_start AS c_start, c.w_end AS c_end, c.events AS c_events,
               n.w_start AS n_start, n.w_end AS n_end, n.events AS n_events
        FROM boxes b
        LEFT JOIN LATERAL (SELECT * FROM windows w WHERE w.addr = b.addr AND w.w_start <= now()
                           ORDER BY w.w_start LIMIT 1) c ON true
        LEFT JOIN LATERAL (SELECT * FROM windows w WHERE w.addr = b.addr AND w.w_start > now()
                           ORDER BY w.w_start LIMIT 1) n ON true
    ), unresolved AS (
        SELECT DISTINCT ON (h.id) h.id, h.name, h.start_at FROM live h WHERE h.m IS NULL
    )
    SELECT json_build_object(
        'mailbox', own,
        'active', coalesce(bool_or(p.c_start IS NOT NULL), false),
        'check_interval_seconds', 180,
        'new_mail_interval_seconds',
            CASE WHEN bool_or(p.c_start IS NOT NULL) THEN 60 END,
        'mailboxes', json_agg(json_build_object(
            'address', p.addr, 'delegate', p.ord > 1, 'active', p.c_start IS NOT NULL,
            'window', CASE WHEN p.c_start IS NOT NULL THEN json_build_object(
                'start', mse_ts(p.c_start), 'end', mse_ts(p.c_end),
                'events', p.c_events) END,
            'next_window', CASE WHEN p.n_start IS NOT NULL THEN json_build_object(
                'start', mse_ts(p.n_start), 'end', mse_ts(p.n_end),
                'events', p.n_events) END) ORDER BY p.ord),
        'unresolved_events', (SELECT coalesce(json_agg(json_build_object('id', u.id,
                'name', u.name) ORDER BY u.start_at, u.id), '[]'::json) FROM unresolved u))::text
    FROM per_box p);
END;
$$;
