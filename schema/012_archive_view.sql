-- SPDX-License-Identifier: Apache-2.0
-- The archive view's reads: per-folder counts kept current by statement triggers (listing
-- 5,000 mailboxes of 10,000 items never counts rows), indexes for keyset pages, and helpers.

-- Live messages, messages kept as deleted, and appointments, per (mailbox, folder). Mailbox
-- totals are sums over a mailbox's few rows. Rows whose counts reach zero stay (harmless).
CREATE TABLE archive_folder_counts (
    mailbox       text NOT NULL,
    folder_id     text NOT NULL,
    items         bigint NOT NULL DEFAULT 0,
    deleted_items bigint NOT NULL DEFAULT 0,
    appointments  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (mailbox, folder_id)
);

-- Statement-level: one aggregate over the transition table per statement, and no write at
-- all when a statement moved nothing between folders or states (the usual re-upsert).
-- Deltas are applied in key order so that concurrent statements lock rows in one order.
CREATE FUNCTION archive_items_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO archive_folder_counts AS c (mailbox, folder_id, items, deleted_items)
        SELECT n.mailbox, n.folder_id, count(*) FILTER (WHERE n.deleted_at IS NULL),
               count(*) FILTER (WHERE n.deleted_at IS NOT NULL)
        FROM new_rows n GROUP BY n.mailbox, n.folder_id ORDER BY n.mailbox, n.folder_id
        ON CONFLICT (mailbox, folder_id) DO UPDATE SET items = c.items + EXCLUDED.items,
            deleted_items = c.deleted_items + EXCLUDED.deleted_items;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO archive_folder_counts AS c (mailbox, folder_id, items, deleted_items)
        SELECT d.mailbox, d.folder_id, sum(d.live), sum(d.gone)
        FROM (SELECT n.mailbox, n.folder_id, (n.deleted_at IS NULL)::int AS live,
                     (n.deleted_at IS NOT NULL)::int AS gone FROM new_rows n
              UNION ALL
              SELECT o.mailbox, o.folder_id, -(o.deleted_at IS NULL)::int,
                     -(o.deleted_at IS NOT NULL)::int FROM old_rows o) AS d
        GROUP BY d.mailbox, d.folder_id HAVING sum(d.live) <> 0 OR sum(d.gone) <> 0
        ORDER BY d.mailbox, d.folder_id
        ON CONFLICT (mailbox, folder_id) DO UPDATE SET items = c.items + EXCLUDED.items,
            deleted_items = c.deleted_items + EXCLUDED.deleted_items;
    ELSE
        UPDATE archive_folder_counts c SET items = c.items - d.live,
            deleted_items = c.deleted_items - d.gone
        FROM (SELECT o.mailbox, o.folder_id, count(*) FILTER (WHERE o.deleted_at IS NULL) AS live,
                     count(*) FILTER (WHERE o.deleted_at IS NOT NULL) AS gone
              FROM old_rows o GROUP BY o.mailbox, o.folder_id) AS d
        WHERE c.mailbox = d.mailbox AND c.folder_id = d.folder_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION archive_appointments_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO archive_folder_counts AS c (mailbox, folder_id, appointments)
        SELECT n.mailbox, n.folder_id, count(*) FROM new_rows n
        GROUP BY n.mailbox, n.folder_id ORDER BY n.mailbox, n.folder_id
        ON CONFLICT (mailbox, folder_id) DO UPDATE
            SET appointments = c.appointments + EXCLUDED.appointments;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO archive_folder_counts AS c (mailbox, folder_id, appointments)
        SELECT d.mailbox, d.folder_id, sum(d.n)
        FROM (SELECT n.mailbox, n.folder_id, 1 AS n FROM new_rows n
              UNION ALL
              SELECT o.mailbox, o.folder_id, -1 FROM old_rows o) AS d
        GROUP BY d.mailbox, d.folder_id HAVING sum(d.n) <> 0
        ORDER BY d.mailbox, d.folder_id
        ON CONFLICT (mailbox, folder_id) DO UPDATE
            SET appointments = c.appointments + EXCLUDED.appointments;
    ELSE
        UPDATE archive_folder_counts c SET appointments = c.appointments - d.n
        FROM (SELECT o.mailbox, o.folder_id, count(*) AS n FROM old_rows o
              GROUP BY o.mailbox, o.folder_id) AS d
        WHERE c.mailbox = d.mailbox AND c.folder_id = d.folder_id;
    END IF;
    RETURN NULL;
END;
$$;

-- Triggers first: CREATE TRIGGER locks out writers, so the backfill below sees every row
-- that exists and none can slip in between.
CREATE TRIGGER archive_items_count_ins AFTER INSERT ON archive_items
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION archive_items_count();
CREATE TRIGGER archive_items_count_upd AFTER UPDATE ON archive_items
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION archive_items_count();
CREATE TRIGGER archive_items_count_del AFTER DELETE ON archive_items
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION archive_items_count();
CREATE TRIGGER archive_appointments_count_ins AFTER INSERT ON archive_appointments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION archive_appointments_count();
CREATE TRIGGER archive_appointments_count_upd AFTER UPDATE ON archive_appointments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION archive_appointments_count();
CREATE TRIGGER archive_appointments_count_del AFTER DELETE ON archive_appointments
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION archive_appointments_count();

INSERT INTO archive_folder_counts (mailbox, folder_id, items, deleted_items, appointments)
SELECT x.mailbox, x.folder_id, sum(x.items), sum(x.deleted_items), sum(x.appointments)
FROM (SELECT mailbox, folder_id, count(*) FILTER (WHERE deleted_at IS NULL) AS items,
             count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted_items, 0 AS appointments
      FROM archive_items GROUP BY mailbox, folder_id
      UNION ALL
      SELECT mailbox, folder_id, 0, 0, count(*) FROM archive_appointments
      GROUP BY mailbox, folder_id) AS x
GROUP BY x.mailbox, x.folder_id;

-- Keyset pages: mailboxes by address (bytewise, whatever the database's collation), the rest
-- in replication order (seq) within a mailbox.
CREATE INDEX archive_mailboxes_address_c ON archive_mailboxes (address COLLATE "C");
CREATE INDEX archive_folders_mailbox_seq ON archive_folders (mailbox, seq);
-- One folder id across both sources (the view merges them).
CREATE INDEX archive_folders_folder ON archive_folders (mailbox, folder_id, seq);
CREATE INDEX archive_items_mailbox_seq ON archive_items (mailbox, seq);
CREATE INDEX archive_appointments_mailbox_seq ON archive_appointments (mailbox, seq);
-- Which appointments reference a content hash (attachment download checks the mailbox's).
CREATE INDEX archive_appointments_attachments ON archive_appointments
    USING gin (attachments jsonb_path_ops);

-- Percent-encodes s (RFC 3986) except unreserved characters and those listed in keep.
CREATE FUNCTION mse_url_encode(s text, keep text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90
                                         OR b BETWEEN 97 AND 122 OR b IN (45, 46, 95, 126)
                                         OR (b < 128 AND strpos(keep, chr(b)) > 0)
                                    THEN chr(b) ELSE '%' || lpad(upper(to_hex(b)), 2, '0') END,
                               '' ORDER BY i), '')
    FROM (SELECT i, get_byte(convert_to(s, 'UTF8'), i) AS b
          FROM generate_series(0, octet_length(convert_to(s, 'UTF8')) - 1) AS i) AS x
$$;

-- A date as EWS recurrence ranges give it ("2024-05-06", maybe with a zone) at 00:00 UTC;
-- NULL when it is not one. Never raises: stored recurrences are whatever a worker sent.
CREATE FUNCTION mse_recurrence_date(v text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])'
        THEN (make_date(substr(v, 1, 4)::int, substr(v, 6, 2)::int, 1)
              + (substr(v, 9, 2)::int - 1))::timestamp AT TIME ZONE 'UTC' END
$$;

-- A small non-negative JSON integer (EWS intervals and occurrence counts are below 1000).
CREATE FUNCTION mse_recurrence_int(v jsonb) RETURNS int
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(v) = 'number'
        THEN least(greatest(floor(v::numeric), 0), 999)::int END
$$;

-- The latest end any occurrence of a recurring series can have: the end of its range plus
-- the appointment's duration, the latest moved occurrence, or 'infinity' for a series
-- without end or one this cannot bound. An upper bound (deleted occurrences are ignored):
-- a time-range filter keeps every series that may have an occurrence in the range.
CREATE FUNCTION mse_series_end(start_at timestamptz, end_at timestamptz, recurrence jsonb,
                               modified jsonb) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    kind text := recurrence #>> '{range,type}';
    pattern text := recurrence #>> '{pattern,type}';
    range_start timestamptz := coalesce(mse_recurrence_date(recurrence #>> '{range,start_date}'),
                                        start_at);
    n int := mse_recurrence_int(recurrence #> '{range,number_of_occurrences}');
    step int := greatest(coalesce(mse_recurrence_int(recurrence #> '{pattern,interval}'), 1), 1);
    last_day timestamptz;
    result timestamptz := 'infinity';
    moved timestamptz;
BEGIN
    IF kind = 'EndDateRecurrence' THEN
        last_day := mse_recurrence_date(recurrence #>> '{range,end_date}');
    ELSIF kind = 'NumberedRecurrence' AND n IS NOT NULL THEN
        -- n occurrences, at least one per period: all begin within n periods of the first.
        last_day := range_start + CASE pattern
            WHEN 'DailyRecurrence' THEN make_interval(days => n * step)
            WHEN 'WeeklyRecurrence' THEN make_interval(weeks => n * step)
            WHEN 'AbsoluteMonthlyRecurrence' THEN make_interval(months => n * step)
            WHEN 'RelativeMonthlyRecurrence' THEN make_interval(months => n * step)
            WHEN 'AbsoluteYearlyRecurrence' THEN make_interval(years => n)
            WHEN 'RelativeYearlyRecurrence' THEN make_interval(years => n) END;
    END IF;
    IF last_day IS NOT NULL THEN
        result := last_day + interval '1 day' + greatest(end_at - start_at, interval '0');
    END IF;
    IF jsonb_typeof(modified) = 'array' AND jsonb_array_length(modified) > 0
       AND result <> 'infinity' THEN
        BEGIN
            SELECT max((o ->> 'end')::timestamptz) INTO moved
            FROM jsonb_array_elements(modified) AS o WHERE jsonb_typeof(o) = 'object';
        EXCEPTION WHEN others THEN
            RETURN 'infinity'; -- an unreadable exception: do not guess
        END;
        result := greatest(result, moved);
    END IF;
    RETURN result;
END;
$$;

-- The earliest start: the series' first occurrence, or an exception moved before it.
CREATE FUNCTION mse_series_start(start_at timestamptz, modified jsonb) RETURNS timestamptz
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    moved timestamptz;
BEGIN
    IF jsonb_typeof(modified) = 'array' AND jsonb_array_length(modified) > 0 THEN
        BEGIN
            SELECT min((o ->> 'start')::timestamptz) INTO moved
            FROM jsonb_array_elements(modified) AS o WHERE jsonb_typeof(o) = 'object';
        EXCEPTION WHEN others THEN
            RETURN '-infinity';
        END;
    END IF;
    RETURN least(start_at, moved);
END;
$$;

-- Rendering of stored records: the worker protocol takes these members as JSON, so the view
-- shows them through these functions, which keep only the documented members and types.

-- {"name", "email"} (strings or null), or NULL when p is not an object.
CREATE FUNCTION mse_person(p jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(p) = 'object'
        THEN jsonb_build_object('name', p ->> 'name', 'email', p ->> 'email') END
$$;

-- The persons of a list, in order; '[]' for anything else.
CREATE FUNCTION mse_people(v jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_agg(mse_person(e.p) ORDER BY e.n), '[]')
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v ELSE '[]' END)
         WITH ORDINALITY AS e (p, n)
    WHERE jsonb_typeof(e.p) = 'object'
$$;

-- The members of object o named in keys; NULL when o is not an object.
CREATE FUNCTION mse_pick(o jsonb, keys text[]) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(o) = 'object' THEN coalesce(
        (SELECT jsonb_object_agg(k, v) FROM jsonb_each(o) AS e (k, v) WHERE k = ANY (keys)),
        '{}') END
$$;

-- A recurrence as EWS reports it: pattern and range with the keys their types have.
CREATE FUNCTION mse_recurrence(r jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(r) = 'object' THEN jsonb_build_object(
        'pattern', mse_pick(r -> 'pattern', ARRAY['type', 'interval', 'days_of_week',
                            'first_day_of_week', 'day_of_week_index', 'day_of_month', 'month']),
        'range', mse_pick(r -> 'range', ARRAY['type', 'start_date', 'end_date',
                          'number_of_occurrences'])) END
$$;

-- Exceptions of a series: [{item_id, original_start, start, end}].
CREATE FUNCTION mse_modified_occurrences(v jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_agg(mse_pick(e.o, ARRAY['item_id', 'original_start', 'start', 'end'])
                              ORDER BY e.n), '[]')
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v ELSE '[]' END)
         WITH ORDINALITY AS e (o, n)
    WHERE jsonb_typeof(e.o) = 'object'
$$;

-- Cancelled occurrences of a series: their start times.
CREATE FUNCTION mse_deleted_occurrences(v jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_agg(e.t ORDER BY e.n), '[]')
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v ELSE '[]' END)
         WITH ORDINALITY AS e (t, n)
    WHERE jsonb_typeof(e.t) = 'string'
$$;

-- An appointment's attachments with the URL of their content in this mailbox's view.
CREATE FUNCTION mse_attachments(mailbox text, v jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
        'attachment_id', e.a ->> 'attachment_id', 'name', e.a ->> 'name',
        'content_type', e.a ->> 'content_type',
        'size', CASE WHEN jsonb_typeof(e.a -> 'size') = 'number'
                     AND (e.a -> 'size')::numeric < 1e15 THEN floor((e.a -> 'size')::numeric) END,
        'sha256', e.a ->> 'sha256',
        'content_url', '/api/v1/mailboxes/' || mse_url_encode(mailbox, '@') || '/attachments/'
                       || (e.a ->> 'sha256') || coalesce('?attachment_id='
                       || mse_url_encode(e.a ->> 'attachment_id', ''), ''))
        ORDER BY e.n), '[]')
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(v) = 'array' THEN v ELSE '[]' END)
         WITH ORDINALITY AS e (a, n)
    WHERE jsonb_typeof(e.a) = 'object' AND e.a ->> 'sha256' ~ '^[0-9a-f]{64}$'
$$;
