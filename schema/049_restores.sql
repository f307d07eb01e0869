-- SPDX-License-Identifier: Apache-2.0
-- Restores (docs/restore.md): archived messages written back into Exchange. A restore takes
-- the selection exports take (schema 044, mse_selection_messages), read once when it is asked
-- for: the messages it names are listed in restore_items then, each with the folder it goes
-- to, so what a restore does never changes as the archive moves on. The site whose workers
-- reach the target is its server connection's.

CREATE TABLE restores (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    mailbox         text NOT NULL CHECK (mailbox = lower(mailbox)),
    -- As validated by the server, the export selection: {mailbox, folder_ids?, folder_paths?,
    -- item_ids?, from?, to?, include_deleted}.
    selection       jsonb NOT NULL CHECK (jsonb_typeof(selection) = 'object'),
    as_of           timestamptz NOT NULL,
    target_mailbox  text NOT NULL CHECK (target_mailbox = lower(target_mailbox)),
    -- original: each message into the folder it was in (re-created when missing); folder: all
    -- of them below one new folder, their folder structure kept beneath it.
    destination     text NOT NULL CHECK (destination IN ('original', 'folder')),
    folder_name     text CHECK (length(folder_name) BETWEEN 1 AND 255),
    -- skip: a message whose Message-ID the target folder already holds is not written again.
    on_conflict     text NOT NULL CHECK (on_conflict IN ('skip', 'copy')),
    -- NULL once the connection was deleted (a restore is kept as the record of what was
    -- written into a mailbox).
    connection_id   uuid REFERENCES server_connections (id) ON DELETE SET NULL,
    state           text NOT NULL DEFAULT 'queued'
                    CHECK (state IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    -- Counts of restore_items by outcome, kept with them (a list shows them without a scan).
    items           bigint NOT NULL DEFAULT 0,
    restored        bigint NOT NULL DEFAULT 0,
    skipped         bigint NOT NULL DEFAULT 0,
    failed          bigint NOT NULL DEFAULT 0,
    error_code      text CHECK (length(error_code) <= 64),
    error_text      text CHECK (length(error_text) <= 2000),
    created_by      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((destination = 'folder') = (folder_name IS NOT NULL))
);
CREATE INDEX restores_queued ON restores (seq) WHERE state IN ('queued', 'running');
CREATE INDEX restores_connection ON restores (connection_id);

-- A restore whose server connection is deleted before it ended can no longer reach its target:
-- it fails, saying why, rather than waiting for a site that will never have it.
CREATE FUNCTION mse_restores_connection_gone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE restores SET state = 'failed', error_code = 'connection_deleted',
                        error_text = 'its server connection was deleted before it ended',
                        finished_at = now(), updated_at = now()
     WHERE connection_id = OLD.id AND state IN ('queued', 'running');
    RETURN OLD;
END
$$;
CREATE TRIGGER server_connections_restores BEFORE DELETE ON server_connections
    FOR EACH ROW EXECUTE FUNCTION mse_restores_connection_gone();

-- One selected message and what became of it. pos is its place in the selection's order
-- (folder path, then archive order), the key per-item results are paged by.
CREATE TABLE restore_items (
    restore_id      uuid NOT NULL REFERENCES restores (id) ON DELETE CASCADE,
    pos             bigint NOT NULL,
    item_id         text NOT NULL,
    folder_id       text NOT NULL,
    folder_path     text NOT NULL,
    -- The folder of the target mailbox the message goes to.
    target_path     text NOT NULL,
    content_sha256  text CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    content_size    bigint,
    deleted         boolean NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'restored', 'skipped', 'failed')),
    code            text CHECK (length(code) <= 64),
    detail          text CHECK (length(detail) <= 2000),
    target_item_id  text CHECK (length(target_item_id) <= 1024),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (restore_id, pos)
);
CREATE INDEX restore_items_state ON restore_items (restore_id, state, pos);
-- The site executing a restore reads the content of its items, and only theirs.
CREATE INDEX restore_items_content ON restore_items (restore_id, content_sha256);

-- Lists the messages a restore's selection names as of its instant, each with its target
-- folder, and counts them; returns how many. Messages archived without content cannot be
-- written back: they are failed (no_content) at once.
CREATE FUNCTION mse_restore_fill(r uuid) RETURNS bigint
LANGUAGE sql AS $$
    WITH x AS (SELECT * FROM restores WHERE id = r),
    ins AS (
        INSERT INTO restore_items (restore_id, pos, item_id, folder_id, folder_path, target_path,
                                   content_sha256, content_size, deleted, state, code, detail)
        SELECT x.id, row_number() OVER (ORDER BY m.folder_path COLLATE "C", m.seq), m.item_id,
               m.folder_id, m.folder_path,
               CASE WHEN x.destination = 'folder' THEN '/' || x.folder_name || m.folder_path
                    ELSE m.folder_path END,
               m.content_sha256, m.content_size, m.deleted,
               CASE WHEN m.content_sha256 IS NULL THEN 'failed' ELSE 'pending' END,
               CASE WHEN m.content_sha256 IS NULL THEN 'no_content' END,
               CASE WHEN m.content_sha256 IS NULL
                    THEN 'the message was archived without its content' END
        FROM x, mse_selection_messages(x.selection, x.as_of, NULL, NULL, NULL) m
        RETURNING state)
    UPDATE restores SET items = (SELECT count(*) FROM ins),
                        failed = (SELECT count(*) FROM ins WHERE state = 'failed')
     WHERE id = r
    RETURNING items
$$;
