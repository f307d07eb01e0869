-- SPDX-License-Identifier: Apache-2.0
-- Archive partitions (security review, F1). Until now archive rows were keyed by mailbox
-- alone, so any execution that held a mailbox's lock could reset, delete or overwrite what
-- another task, even another site's, had archived. Each (site, task, mailbox, feature) now
-- owns a partition: a submission writes only the partition of its own execution's site and
-- task, and nothing one task sends can touch another task's rows. The archive view shows, per
-- mailbox and feature, the partition written most recently (mse_view_partitions).
--
-- Also here: applied batch ids are unique per execution, not globally (F5: a batch id seen
-- from another site must not be answered as that site's replay), and attachment content
-- records which sites uploaded it (F7: a site learns only whether it uploaded content itself).

CREATE TABLE archive_partitions (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox    text NOT NULL REFERENCES archive_mailboxes (address),
    -- NULL for the rows archived before partitions whose task could not be told any more.
    site_id    uuid,
    task_id    uuid,
    feature    text NOT NULL CHECK (feature IN ('mail', 'calendar')),
    created_at timestamptz NOT NULL DEFAULT now(),
    written_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX archive_partitions_owner ON archive_partitions
    (site_id, task_id, mailbox, feature) NULLS NOT DISTINCT;
CREATE INDEX archive_partitions_mailbox ON archive_partitions (mailbox, feature, written_at);

-- Existing rows: every task that replicated a mailbox (it has checkpoints for it) gets a
-- partition holding today's converged copy; rows no task can be found for stay together in a
-- partition without owner.
INSERT INTO archive_partitions (mailbox, site_id, task_id, feature, created_at, written_at)
SELECT c.mailbox, c.site_id, c.task_id,
       CASE t.type WHEN 'calendar_replication' THEN 'calendar' ELSE 'mail' END,
       min(c.updated_at), max(c.updated_at)
FROM sync_checkpoints c
JOIN exchange_tasks t ON t.id = c.task_id
JOIN archive_mailboxes m ON m.address = c.mailbox
WHERE t.type IN ('mailbox_folder_replication', 'calendar_replication')
GROUP BY c.mailbox, c.site_id, c.task_id, t.type;

INSERT INTO archive_partitions (mailbox, feature)
SELECT DISTINCT x.mailbox, x.feature
FROM (SELECT mailbox, source AS feature FROM archive_folders
      UNION SELECT mailbox, 'mail' FROM archive_items
      UNION SELECT mailbox, 'calendar' FROM archive_appointments) AS x
WHERE NOT EXISTS (SELECT 1 FROM archive_partitions p
                  WHERE p.mailbox = x.mailbox AND p.feature = x.feature);

-- The counts are rebuilt per partition below; the old triggers go first.
DROP TRIGGER archive_items_count_ins ON archive_items;
DROP TRIGGER archive_items_count_upd ON archive_items;
DROP TRIGGER archive_items_count_del ON archive_items;
DROP TRIGGER archive_appointments_count_ins ON archive_appointments;
DROP TRIGGER archive_appointments_count_upd ON archive_appointments;
DROP TRIGGER archive_appointments_count_del ON archive_appointments;
DROP TABLE archive_folder_counts;

ALTER TABLE archive_folders ADD COLUMN partition_id bigint REFERENCES archive_partitions (id);
ALTER TABLE archive_items ADD COLUMN partition_id bigint REFERENCES archive_partitions (id);
ALTER TABLE archive_appointments ADD COLUMN partition_id bigint REFERENCES archive_partitions (id);

-- The rows themselves go to the oldest partition of their mailbox and feature; the others
-- get copies (new seq values: pages are keyed by seq, which stays unique).
UPDATE archive_folders f SET partition_id = (SELECT min(p.id) FROM archive_partitions p
    WHERE p.mailbox = f.mailbox AND p.feature = f.source);
UPDATE archive_items i SET partition_id = (SELECT min(p.id) FROM archive_partitions p
    WHERE p.mailbox = i.mailbox AND p.feature = 'mail');
UPDATE archive_appointments a SET partition_id = (SELECT min(p.id) FROM archive_partitions p
    WHERE p.mailbox = a.mailbox AND p.feature = 'calendar');

ALTER TABLE archive_folders DROP CONSTRAINT archive_folders_pkey;
ALTER TABLE archive_items DROP CONSTRAINT archive_items_pkey;
ALTER TABLE archive_appointments DROP CONSTRAINT archive_appointments_pkey;

INSERT INTO archive_folders (partition_id, mailbox, source, folder_id, parent_folder_id,
                             display_name, folder_class, path, deleted_at, updated_at)
SELECT p.id, f.mailbox, f.source, f.folder_id, f.parent_folder_id, f.display_name,
       f.folder_class, f.path, f.deleted_at, f.updated_at
FROM archive_folders f
JOIN archive_partitions p ON p.mailbox = f.mailbox AND p.feature = f.source
                         AND p.id <> f.partition_id
ORDER BY f.seq;
INSERT INTO archive_items (partition_id, mailbox, item_id, folder_id, change_key, item_class,
                           internet_message_id, subject, sender, "from", to_recipients,
                           cc_recipients, sent_at, received_at, size, is_read, sensitivity,
                           has_attachments, deleted_at, pass_epoch, updated_at)
SELECT p.id, i.mailbox, i.item_id, i.folder_id, i.change_key, i.item_class,
       i.internet_message_id, i.subject, i.sender, i."from", i.to_recipients, i.cc_recipients,
       i.sent_at, i.received_at, i.size, i.is_read, i.sensitivity, i.has_attachments,
       i.deleted_at, i.pass_epoch, i.updated_at
FROM archive_items i
JOIN archive_partitions p ON p.mailbox = i.mailbox AND p.feature = 'mail'
                         AND p.id <> i.partition_id
ORDER BY i.seq;
INSERT INTO archive_appointments (partition_id, mailbox, item_id, folder_id, change_key,
                                  item_class, uid, subject, start_at, end_at, is_all_day,
                                  location, organizer, required_attendees, optional_attendees,
                                  calendar_item_type, is_recurring, recurrence,
                                  modified_occurrences, deleted_occurrences, sensitivity,
                                  has_attachments, attachments, pass_epoch, updated_at)
SELECT p.id, a.mailbox, a.item_id, a.folder_id, a.change_key, a.item_class, a.uid, a.subject,
       a.start_at, a.end_at, a.is_all_day, a.location, a.organizer, a.required_attendees,
       a.optional_attendees, a.calendar_item_type, a.is_recurring, a.recurrence,
       a.modified_occurrences, a.deleted_occurrences, a.sensitivity, a.has_attachments,
       a.attachments, a.pass_epoch, a.updated_at
FROM archive_appointments a
JOIN archive_partitions p ON p.mailbox = a.mailbox AND p.feature = 'calendar'
                         AND p.id <> a.partition_id
ORDER BY a.seq;

ALTER TABLE archive_folders ALTER COLUMN partition_id SET NOT NULL,
    ADD PRIMARY KEY (partition_id, folder_id);
ALTER TABLE archive_items ALTER COLUMN partition_id SET NOT NULL,
    ADD PRIMARY KEY (partition_id, item_id);
ALTER TABLE archive_appointments ALTER COLUMN partition_id SET NOT NULL,
    ADD PRIMARY KEY (partition_id, item_id);

DROP INDEX archive_items_folder;
DROP INDEX archive_appointments_folder;
DROP INDEX archive_folders_folder;
DROP INDEX archive_folders_mailbox_seq;
DROP INDEX archive_items_mailbox_seq;
DROP INDEX archive_appointments_mailbox_seq;
CREATE INDEX archive_items_folder ON archive_items (partition_id, folder_id, seq);
CREATE INDEX archive_items_partition_seq ON archive_items (partition_id, seq);
CREATE INDEX archive_appointments_folder ON archive_appointments (partition_id, folder_id, start_at);
CREATE INDEX archive_appointments_partition_seq ON archive_appointments (partition_id, seq);
CREATE INDEX archive_folders_partition_seq ON archive_folders (partition_id, seq);
-- Folder paths by mailbox (filters by path, the record's folder path).
CREATE INDEX archive_folders_mailbox ON archive_folders (mailbox, folder_id);

-- Counts per (partition, folder), kept as before by statement triggers.
CREATE TABLE archive_folder_counts (
    partition_id  bigint NOT NULL,
    folder_id     text NOT NULL,
    items         bigint NOT NULL DEFAULT 0,
    deleted_items bigint NOT NULL DEFAULT 0,
    appointments  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (partition_id, folder_id)
);

CREATE OR REPLACE FUNCTION archive_items_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO archive_folder_counts AS c (partition_id, folder_id, items, deleted_items)
        SELECT n.partition_id, n.folder_id, count(*) FILTER (WHERE n.deleted_at IS NULL),
               count(*) FILTER (WHERE n.deleted_at IS NOT NULL)
        FROM new_rows n GROUP BY n.partition_id, n.folder_id
        ORDER BY n.partition_id, n.folder_id
        ON CONFLICT (partition_id, folder_id) DO UPDATE SET items = c.items + EXCLUDED.items,
            deleted_items = c.deleted_items + EXCLUDED.deleted_items;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO archive_folder_counts AS c (partition_id, folder_id, items, deleted_items)
        SELECT d.partition_id, d.folder_id, sum(d.live), sum(d.gone)
        FROM (SELECT n.partition_id, n.folder_id, (n.deleted_at IS NULL)::int AS live,
                     (n.deleted_at IS NOT NULL)::int AS gone FROM new_rows n
              UNION ALL
              SELECT o.partition_id, o.folder_id, -(o.deleted_at IS NULL)::int,
                     -(o.deleted_at IS NOT NULL)::int FROM old_rows o) AS d
        GROUP BY d.partition_id, d.folder_id HAVING sum(d.live) <> 0 OR sum(d.gone) <> 0
        ORDER BY d.partition_id, d.folder_id
        ON CONFLICT (partition_id, folder_id) DO UPDATE SET items = c.items + EXCLUDED.items,
            deleted_items = c.deleted_items + EXCLUDED.deleted_items;
    ELSE
        UPDATE archive_folder_counts c SET items = c.items - d.live,
            deleted_items = c.deleted_items - d.gone
        FROM (SELECT o.partition_id, o.folder_id,
                     count(*) FILTER (WHERE o.deleted_at IS NULL) AS live,
                     count(*) FILTER (WHERE o.deleted_at IS NOT NULL) AS gone
              FROM old_rows o GROUP BY o.partition_id, o.folder_id) AS d
        WHERE c.partition_id = d.partition_id AND c.folder_id = d.folder_id;
    END IF;
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION archive_appointments_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO archive_folder_counts AS c (partition_id, folder_id, appointments)
        SELECT n.partition_id, n.folder_id, count(*) FROM new_rows n
        GROUP BY n.partition_id, n.folder_id ORDER BY n.partition_id, n.folder_id
        ON CONFLICT (partition_id, folder_id) DO UPDATE
            SET appointments = c.appointments + EXCLUDED.appointments;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO archive_folder_counts AS c (partition_id, folder_id, appointments)
        SELECT d.partition_id, d.folder_id, sum(d.n)
        FROM (SELECT n.partition_id, n.folder_id, 1 AS n FROM new_rows n
              UNION ALL
              SELECT o.partition_id, o.folder_id, -1 FROM old_rows o) AS d
        GROUP BY d.partition_id, d.folder_id HAVING sum(d.n) <> 0
        ORDER BY d.partition_id, d.folder_id
        ON CONFLICT (partition_id, folder_id) DO UPDATE
            SET appointments = c.appointments + EXCLUDED.appointments;
    ELSE
        UPDATE archive_folder_counts c SET appointments = c.appointments - d.n
        FROM (SELECT o.partition_id, o.folder_id, count(*) AS n FROM old_rows o
              GROUP BY o.partition_id, o.folder_id) AS d
        WHERE c.partition_id = d.partition_id AND c.folder_id = d.folder_id;
    END IF;
    RETURN NULL;
END;
$$;

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

INSERT INTO archive_folder_counts (partition_id, folder_id, items, deleted_items, appointments)
SELECT x.partition_id, x.folder_id, sum(x.items), sum(x.deleted_items), sum(x.appointments)
FROM (SELECT partition_id, folder_id, count(*) FILTER (WHERE deleted_at IS NULL) AS items,
             count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted_items, 0 AS appointments
      FROM archive_items GROUP BY partition_id, folder_id
      UNION ALL
      SELECT partition_id, folder_id, 0, 0, count(*) FROM archive_appointments
      GROUP BY partition_id, folder_id) AS x
GROUP BY x.partition_id, x.folder_id;

-- The partition the archive view shows for a mailbox and feature: the one written last.
CREATE FUNCTION mse_view_partition(mailbox text, feature text) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT p.id FROM archive_partitions p WHERE p.mailbox = $1 AND p.feature = $2
    ORDER BY p.written_at DESC, p.id DESC LIMIT 1
$$;
-- Both features' (the view merges their folders).
CREATE FUNCTION mse_view_partitions(mailbox text) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT array_remove(ARRAY[mse_view_partition($1, 'mail'),
                              mse_view_partition($1, 'calendar')], NULL)
$$;

-- F5: a batch id is a replay only within the execution that sent it.
ALTER TABLE applied_batches DROP CONSTRAINT applied_batches_pkey,
    ADD PRIMARY KEY (execution_id, batch_id);

-- F7: which sites uploaded which content. Content is still stored once; a site is told it
-- exists (and may reference it) only once it has uploaded it itself.
CREATE TABLE blob_holders (
    site_id uuid NOT NULL,
    sha256  text NOT NULL REFERENCES blobs (sha256),
    held_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, sha256)
);
INSERT INTO blob_holders (site_id, sha256)
SELECT DISTINCT p.site_id, e.a ->> 'sha256'
FROM archive_appointments a
JOIN archive_partitions p ON p.id = a.partition_id
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.attachments) = 'array'
                                             THEN a.attachments ELSE '[]' END) AS e (a)
WHERE p.site_id IS NOT NULL AND EXISTS (SELECT 1 FROM blobs b WHERE b.sha256 = e.a ->> 'sha256')
ON CONFLICT DO NOTHING;
