-- SPDX-License-Identifier: Apache-2.0
-- The archive search (GET /api/v1/archive/search) covers the messages sync tasks archive, not
-- only journaled ones (docs/journal.md, docs/sync-recover.md). A message's body text is read
-- by GMime once per distinct content (content_texts), when the server first sees it archived:
-- its indexer takes content that a version names and that has no text yet, a few at a time
-- (what this migration finds archived already is taken the same way). Each version of an
-- archived message carries the search vector of what it was: its subject, addresses and the
-- text of its content.

-- The text of one content, as the MIME library extracted it from the blob store's copy.
CREATE TABLE content_texts (
    sha256       text PRIMARY KEY REFERENCES blobs (sha256) ON DELETE CASCADE,
    -- 'extracted'; 'not_message' (no header at all); 'missing' (the store lost it).
    outcome      text NOT NULL CHECK (outcome IN ('extracted', 'not_message', 'missing')),
    body_text    text NOT NULL,
    truncated    boolean NOT NULL DEFAULT false,
    extracted_at timestamptz NOT NULL DEFAULT now()
);

-- Subject (A), addresses and names (B), body text (D), configuration 'simple' as for journaled
-- messages: no stemming, no stop words, an address stays one word.
CREATE FUNCTION mse_item_search(subject text, sender jsonb, "from" jsonb, to_recipients jsonb,
                                cc_recipients jsonb, body text) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple', coalesce($1, '')), 'A')
        || setweight(to_tsvector('simple', concat_ws(' ',
               $2 ->> 'email', $2 ->> 'name', $3 ->> 'email', $3 ->> 'name',
               (SELECT string_agg(concat_ws(' ', p ->> 'email', p ->> 'name'), ' ')
                FROM jsonb_array_elements(CASE WHEN jsonb_typeof($4) = 'array' THEN $4
                                               ELSE '[]' END
                                          || CASE WHEN jsonb_typeof($5) = 'array' THEN $5
                                                  ELSE '[]' END) AS e (p)
                WHERE jsonb_typeof(p) = 'object'))), 'B')
        || setweight(to_tsvector('simple', coalesce($6, '')), 'D')
$$;

-- Hits of both sources are ordered by one number: journaled messages and versions draw their
-- sequence from the same generator, so "newest first" holds across both and a key is unique.
DO $$
BEGIN
    EXECUTE format('ALTER TABLE archive_item_versions'
                   ' ADD COLUMN search_seq bigint NOT NULL DEFAULT nextval(%L::regclass),'
                   ' ADD COLUMN search tsvector',
                   pg_get_serial_sequence('journal_messages', 'seq'));
END
$$;
CREATE INDEX archive_item_versions_search ON archive_item_versions USING gin (search)
    WHERE search IS NOT NULL;
-- The indexer's work: versions naming content whose search vector is not written yet.
CREATE INDEX archive_item_versions_unindexed ON archive_item_versions (content_sha256)
    WHERE search IS NULL AND content_sha256 IS NOT NULL;
-- Which versions name a content (retention asks before it deletes a blob).
CREATE INDEX archive_item_versions_content ON archive_item_versions (content_sha256)
    WHERE content_sha256 IS NOT NULL;

-- A version of content whose text is known is searchable as soon as it is written (in the
-- batch's transaction); otherwise the indexer writes its vector once it has read the text.
CREATE FUNCTION archive_item_versions_search() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.content_sha256 IS NOT NULL THEN
        NEW.search := (SELECT mse_item_search(NEW.subject, NEW.sender, NEW."from",
                                              NEW.to_recipients, NEW.cc_recipients, t.body_text)
                       FROM content_texts t WHERE t.sha256 = NEW.content_sha256);
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER archive_item_versions_search BEFORE INSERT ON archive_item_versions
    FOR EACH ROW EXECUTE FUNCTION archive_item_versions_search();

-- ---- retention (docs/retention.md) ----

-- Settings of the whole organisation: one row. retention_days NULL keeps everything forever.
CREATE TABLE organisation_settings (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    retention_days integer CHECK (retention_days BETWEEN 1 AND 36500),
    version        bigint NOT NULL DEFAULT 1,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    updated_by     text
);
INSERT INTO organisation_settings DEFAULT VALUES;

-- The sweeper's candidates: versions that ended, messages deleted in Exchange, oldest first.
CREATE INDEX archive_item_versions_ended ON archive_item_versions (valid_to)
    WHERE valid_to IS NOT NULL;
CREATE INDEX archive_items_deleted ON archive_items (deleted_at) WHERE deleted_at IS NOT NULL;
