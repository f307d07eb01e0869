-- SPDX-License-Identifier: Apache-2.0
-- Content moves out of PostgreSQL into the blob store (fs or s3, see docs/blobs.md). A row
-- of `blobs` now records a blob the store holds; its bytes are there, not here.
--
-- SQL cannot write the store, so the bytes of rows written before this migration stay in
-- `content` until mse-server copies them into the store at start-up (verified against the
-- address, then `content` is cleared and `backend` set); a later migration may drop the column
-- once no row keeps bytes.
ALTER TABLE blobs
    ALTER COLUMN content DROP NOT NULL,
    -- Which store holds it ('fs' or 's3'); NULL while the bytes are still in `content`.
    ADD COLUMN backend text CHECK (backend IN ('fs', 's3')),
    -- The latest upload; the grace period of an unreferenced upload runs from here.
    ADD COLUMN uploaded_at timestamptz NOT NULL DEFAULT now(),
    -- Set when a submitted record first references it. From then on only retention may
    -- delete it; until then the collector deletes it once the grace period has passed.
    ADD COLUMN referenced_at timestamptz,
    ADD CONSTRAINT blobs_stored CHECK ((content IS NULL) = (backend IS NOT NULL));

UPDATE blobs b SET referenced_at = b.created_at
WHERE EXISTS (
    SELECT 1 FROM archive_appointments a
    CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.attachments) = 'array'
                                                 THEN a.attachments ELSE '[]' END) AS e (a)
    WHERE e.a ->> 'sha256' = b.sha256);

-- The collector's candidates.
CREATE INDEX blobs_unreferenced ON blobs (uploaded_at) WHERE referenced_at IS NULL;
-- Rows still holding their bytes (only until the start-up copy has run).
CREATE INDEX blobs_in_database ON blobs (sha256) WHERE content IS NOT NULL;

-- A collected blob takes its holders with it (they said who uploaded it, nothing more).
ALTER TABLE blob_holders DROP CONSTRAINT blob_holders_sha256_fkey,
    ADD CONSTRAINT blob_holders_sha256_fkey FOREIGN KEY (sha256) REFERENCES blobs (sha256)
        ON DELETE CASCADE;
