-- SPDX-License-Identifier: Apache-2.0
-- Mailbox Storage Management (docs/storage-management.md). Before a worker deletes or stubs a
-- message it asks the archive to confirm it (POST …/mailboxes/{address}/confirmations): one
-- statement answers a batch of hundreds of candidates, each found by its Message-ID (or its
-- content's SHA-256, already indexed) among the archived messages that carry content and the
-- journaled ones. Without these indexes each candidate would scan the archive.
CREATE INDEX archive_items_message_id ON archive_items (internet_message_id)
    WHERE content_sha256 IS NOT NULL;
CREATE INDEX journal_messages_message_id ON journal_messages (message_id);

-- Whether addr (lower case) is the archived message's sender, its From, or one of its To and
-- Cc recipients: the user of that mailbox may see the archived copy (seed 004).
CREATE FUNCTION mse_archive_addressed(sender jsonb, from_ jsonb, rcpts jsonb, addr text)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT addr IN (lower(sender->>'email'), lower(from_->>'email'))
        OR EXISTS (SELECT 1 FROM jsonb_array_elements(rcpts) r WHERE lower(r->>'email') = addr)
$$;

-- A storage management execution queued with {"mode": "report"} (POST …/run): its workers
-- find and confirm candidates and change nothing. Executions without a row run for real.
CREATE TABLE storage_executions (
    execution_id uuid PRIMARY KEY REFERENCES executions (id) ON DELETE CASCADE,
    mode         text NOT NULL CHECK (mode IN ('run', 'report'))
);

-- What a storage management pass did (or, report-only, would do) in one mailbox: counts per
-- outcome, bytes, the folders, and the unconfirmed items (docs/storage-management.md).
CREATE TABLE storage_reports (
    execution_id uuid NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
    mailbox      text NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    report       jsonb NOT NULL,
    reported_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (execution_id, mailbox)
);
CREATE INDEX storage_reports_page ON storage_reports (execution_id, seq);
