-- SPDX-License-Identifier: Apache-2.0
-- Exports (docs/export.md): archived content handed over as a file — a ZIP of EML files, mbox,
-- or iCalendar — produced in the background by a server from a selection of one mailbox's
-- archive as it was at an instant. The selection functions below are the one definition of
-- "what a selection names", for exports now and for restores later.

CREATE TABLE exports (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    format        text NOT NULL CHECK (format IN ('eml_zip', 'mbox', 'ics')),
    mailbox       text NOT NULL CHECK (mailbox = lower(mailbox)),
    -- As validated by the server: {mailbox, folder_ids?, folder_paths?, item_ids?, from?, to?,
    -- include_deleted}; absent members select everything.
    selection     jsonb NOT NULL CHECK (jsonb_typeof(selection) = 'object'),
    -- The instant the archive is read as of (the request's, or the time of the request).
    as_of         timestamptz NOT NULL,
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'completed', 'failed', 'expired')),
    -- Productions begun: one interrupted by a server's end is started again, up to a limit.
    attempts      integer NOT NULL DEFAULT 0,
    items         bigint NOT NULL DEFAULT 0,
    folders       bigint NOT NULL DEFAULT 0,
    skipped       bigint NOT NULL DEFAULT 0,
    bytes         bigint,
    -- The file as downloaded: its name and media type (an mbox of several folders is a ZIP).
    file_name     text CHECK (length(file_name) <= 400),
    media_type    text CHECK (media_type IN ('application/zip', 'application/mbox',
                                             'text/calendar')),
    sha256        text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    -- Items left out, [{item_id, folder_path, code, detail}], the first 100 of them.
    errors        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(errors) = 'array'),
    error_code    text CHECK (length(error_code) <= 64),
    error_text    text CHECK (length(error_text) <= 2000),
    created_by    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz,
    -- How long the file is kept once completed: MSE_EXPORT_TTL_SECONDS of the server that
    -- took the request, whichever server produces it.
    ttl_seconds   integer NOT NULL CHECK (ttl_seconds > 0),
    expires_at    timestamptz,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((state = 'completed') = (sha256 IS NOT NULL AND expires_at IS NOT NULL)
           OR state = 'expired')
);
CREATE INDEX exports_queued ON exports (seq) WHERE state = 'queued';
CREATE INDEX exports_running ON exports (seq) WHERE state = 'running';
CREATE INDEX exports_expiring ON exports (expires_at) WHERE state = 'completed';

-- A folder path is selected by a listed path (case-insensitive) when it is that path or lies
-- below it.
CREATE FUNCTION mse_selection_path_in(path text, paths text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT 1 FROM unnest(paths) AS p (p)
                   WHERE lower(path) = lower(rtrim(p.p, '/'))
                      OR starts_with(lower(path), lower(rtrim(p.p, '/')) || '/'))
$$;

-- The folder paths a selection names at t: its folder_paths, and the paths its folder_ids had
-- then (a folder selects its subfolders too). NULL when the selection names no folder.
CREATE FUNCTION mse_selection_paths(sel jsonb, t timestamptz) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN sel ? 'folder_ids' OR sel ? 'folder_paths' THEN ARRAY(
        SELECT jsonb_array_elements_text(coalesce(sel -> 'folder_paths', '[]'))
        UNION
        SELECT (SELECT f.path FROM archive_folder_versions f
                WHERE f.partition_id = mse_view_partition(sel ->> 'mailbox', 'mail')
                  AND f.folder_id = i.id AND f.valid_from <= t
                ORDER BY f.valid_from DESC LIMIT 1)
        FROM jsonb_array_elements_text(coalesce(sel -> 'folder_ids', '[]')) AS i (id)) END
$$;

-- Whether a record in folder_id, at path, lies in the folders the selection names (paths is
-- mse_selection_paths; NULL = every folder).
CREATE FUNCTION mse_selection_folder_in(sel jsonb, paths text[], path text, folder_id text)
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT paths IS NULL OR mse_selection_path_in(path, paths)
        OR folder_id IN (SELECT jsonb_array_elements_text(coalesce(sel -> 'folder_ids', '[]')))
$$;

-- The messages a selection names in the mailbox as it was at t, each as its version current
-- then (or, with include_deleted, its last version when it was deleted by then), in the folder
-- it was in and at the path that folder had then; ordered by (folder_path, seq) and read in
-- keyset pages after (after_path, after_seq). A folder the hierarchy never listed is named
-- by its id. Every member the selection has must match: folders (with their subfolders),
-- item ids, and [from, to) on the time received (sent when not received).
CREATE FUNCTION mse_selection_messages(sel jsonb, t timestamptz, after_path text,
                                       after_seq bigint, lim integer)
RETURNS TABLE (seq bigint, item_id text, folder_id text, folder_path text,
               content_sha256 text, content_size bigint, at timestamptz, sender text,
               deleted boolean)
LANGUAGE sql STABLE AS $$
    WITH s AS (SELECT mse_view_partition(sel ->> 'mailbox', 'mail') AS part,
                      mse_selection_paths(sel, t) AS paths,
                      coalesce((sel ->> 'include_deleted')::boolean, false) AS deleted,
                      (sel ->> 'from')::timestamptz AS t_from, (sel ->> 'to')::timestamptz AS t_to),
    r AS (SELECT i.seq, i.item_id, v.folder_id,
                 coalesce((SELECT f.path FROM archive_folder_versions f
                           WHERE f.partition_id = i.partition_id AND f.folder_id = v.folder_id
                             AND f.valid_from <= t ORDER BY f.valid_from DESC LIMIT 1),
                          '/' || v.folder_id) AS folder_path,
                 v.content_sha256, v.content_size, coalesce(v.received_at, v.sent_at) AS at,
                 coalesce(v."from" ->> 'email', v.sender ->> 'email') AS sender,
                 coalesce(v.valid_to <= t, false) AS deleted
          FROM s JOIN archive_items i ON i.partition_id = s.part
          CROSS JOIN LATERAL (SELECT * FROM archive_item_versions x
                              WHERE x.partition_id = i.partition_id AND x.item_id = i.item_id
                                AND x.valid_from <= t ORDER BY x.valid_from DESC LIMIT 1) v
          WHERE (s.deleted OR v.valid_to IS NULL OR v.valid_to > t)
            AND (NOT sel ? 'item_ids' OR i.item_id IN
                 (SELECT jsonb_array_elements_text(sel -> 'item_ids')))
            AND (s.t_from IS NULL OR coalesce(v.received_at, v.sent_at) >= s.t_from)
            AND (s.t_to IS NULL OR coalesce(v.received_at, v.sent_at) < s.t_to))
    SELECT r.* FROM r, s
    WHERE mse_selection_folder_in(sel, s.paths, r.folder_path, r.folder_id)
      AND (after_path IS NULL
           OR (r.folder_path COLLATE "C", r.seq) > (after_path COLLATE "C", after_seq))
    ORDER BY r.folder_path COLLATE "C", r.seq
    LIMIT lim
$$;

-- The appointments a selection names (appointments have no versions: as they are now), with
-- their calendar's path, ordered by (folder_path, seq) in keyset pages like the messages. The
-- range [from, to) selects what overlaps it, a series by its span (as the archive view does).
CREATE FUNCTION mse_selection_appointments(sel jsonb, after_path text, after_seq bigint,
                                           lim integer)
RETURNS TABLE (seq bigint, folder_path text, a archive_appointments)
LANGUAGE sql STABLE AS $$
    WITH s AS (SELECT mse_view_partition(sel ->> 'mailbox', 'calendar') AS part,
                      mse_view_partitions(sel ->> 'mailbox') AS parts,
                      mse_selection_paths(sel, now()) AS paths,
                      (sel ->> 'from')::timestamptz AS t_from, (sel ->> 'to')::timestamptz AS t_to),
    -- A sync task keeps the hierarchy in the mail partition, Calendar Replication in its own.
    r AS (SELECT a.seq, coalesce((SELECT f.path FROM archive_folders f
                                  WHERE f.partition_id = ANY (s.parts)
                                    AND f.folder_id = a.folder_id
                                  ORDER BY f.deleted_at IS NULL DESC, f.updated_at DESC
                                  LIMIT 1), '/' || a.folder_id) AS folder_path, a
          FROM s JOIN archive_appointments a ON a.partition_id = s.part
          WHERE (NOT sel ? 'item_ids' OR a.item_id IN
                 (SELECT jsonb_array_elements_text(sel -> 'item_ids')))
            AND (s.t_from IS NULL OR a.end_at > s.t_from OR a.start_at >= s.t_from
                 OR (a.calendar_item_type = 'RecurringMaster'
                     AND mse_series_end(a.start_at, a.end_at, a.recurrence,
                                        a.modified_occurrences) > s.t_from))
            AND (s.t_to IS NULL OR a.start_at < s.t_to
                 OR (a.calendar_item_type = 'RecurringMaster'
                     AND mse_series_start(a.start_at, a.modified_occurrences) < s.t_to)))
    SELECT r.seq, r.folder_path, r.a FROM r, s
    WHERE mse_selection_folder_in(sel, s.paths, r.folder_path, (r.a).folder_id)
      AND (after_path IS NULL
           OR (r.folder_path COLLATE "C", r.seq) > (after_path COLLATE "C", after_seq))
    ORDER BY r.folder_path COLLATE "C", r.seq
    LIMIT lim
$$;

-- The server producing an export holds a session advisory lock on it (key 1297306968, its
-- seq) from the claim until it has recorded the outcome, so a lock that can be taken means
-- its producer is gone (its connection closed: the server stopped or died). Such an export
-- is queued again, or failed once max_attempts productions have begun. The ids returned are
-- those whose staging file is to be removed.
CREATE FUNCTION mse_exports_recover(max_attempts integer)
RETURNS TABLE (id uuid, state text)
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT e.id, e.seq, e.attempts FROM exports e WHERE e.state = 'running'
             ORDER BY e.seq FOR UPDATE SKIP LOCKED LOOP
        CONTINUE WHEN NOT pg_try_advisory_lock(1297306968, (r.seq % 2147483647)::int);
        IF r.attempts < max_attempts THEN
            UPDATE exports e SET state = 'queued', updated_at = now(), items = 0, folders = 0,
                                 skipped = 0, bytes = NULL, errors = '[]'
             WHERE e.id = r.id;
            id := r.id; state := 'queued';
        ELSE
            UPDATE exports e SET state = 'failed', finished_at = now(), updated_at = now(),
                                 error_code = 'interrupted',
                                 error_text = 'the server producing the export stopped '
                                              || r.attempts || ' time(s); not tried again'
             WHERE e.id = r.id;
            id := r.id; state := 'failed';
        END IF;
        PERFORM pg_advisory_unlock(1297306968, (r.seq % 2147483647)::int);
        RETURN NEXT;
    END LOOP;
END
$$;
