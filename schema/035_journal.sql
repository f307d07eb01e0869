-- SPDX-License-Identifier: Apache-2.0
-- Journal ingest (docs/journal.md): messages an MTA journals to POST /api/v1/journal, stored
-- once per distinct content (the raw message is a blob of the blob store), searchable by
-- PostgreSQL full-text search, and attributed to the internal mailboxes among their sender
-- and recipients. A `journal` API client may post messages and do nothing else.
ALTER TABLE api_clients DROP CONSTRAINT api_clients_role_check,
    ADD CONSTRAINT api_clients_role_check
        CHECK (role IN ('admin', 'read_only', 'site', 'journal'));

CREATE TABLE journal_messages (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq             bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    -- The raw message; its blob row is marked referenced in the same transaction.
    sha256          text NOT NULL UNIQUE REFERENCES blobs (sha256),
    size            bigint NOT NULL CHECK (size > 0),
    message_id      text,
    subject         text,
    from_address    text,           -- lower case; the first From (or Sender) mailbox
    from_name       text,
    to_addresses    text[] NOT NULL, -- lower case
    cc_addresses    text[] NOT NULL,
    sent_at         timestamptz,    -- the Date header, NULL when absent or unreadable
    has_attachments boolean NOT NULL,
    body_text       text NOT NULL,  -- the body parts' text as the MIME library extracted it
    envelope_sender text,           -- lower case, as the MTA gave it
    envelope_rcpts  text[] NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    -- 'simple' (no stemming, no stop words): mail is written in every language, and an
    -- address must stay one searchable word. Subject weighs most (A), then the addresses
    -- (B), then the body text (D); written by the insert (array_to_string is not immutable,
    -- so this cannot be a generated column).
    search          tsvector NOT NULL
);
CREATE INDEX journal_messages_search ON journal_messages USING gin (search);
CREATE INDEX journal_messages_from ON journal_messages (from_address, seq);
CREATE INDEX journal_messages_to ON journal_messages USING gin ((to_addresses || cc_addresses));
CREATE INDEX journal_messages_sent ON journal_messages (sent_at);

-- Which internal mailboxes a journaled message belongs to (sender and each recipient that is
-- an archived mailbox or in an internal domain, as it was when the message arrived).
CREATE TABLE journal_mailboxes (
    message uuid NOT NULL REFERENCES journal_messages (id) ON DELETE CASCADE,
    address text NOT NULL CHECK (address = lower(address)),
    PRIMARY KEY (address, message)
);
CREATE INDEX journal_mailboxes_message ON journal_mailboxes (message);
