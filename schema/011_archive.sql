-- SPDX-License-Identifier: Apache-2.0
-- The replicated data (the "platform" side of MSE): mailboxes, folders, message metadata,
-- appointments and content-addressed attachment content. Rows are keyed by mailbox and EWS
-- id, so the same mailbox replicated by two tasks of a type converges on one copy.

CREATE TABLE archive_mailboxes (
    address       text PRIMARY KEY CHECK (address = lower(address)),
    seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Folders as each feature sees them: Mailbox Folder Replication ('mail') keeps the whole
-- tree, Calendar Replication ('calendar') its calendars. Each maintains its own rows, so one
-- feature's exclusions never hide the other's folders; the archive view merges them.
CREATE TABLE archive_folders (
    mailbox          text NOT NULL REFERENCES archive_mailboxes (address),
    source           text NOT NULL CHECK (source IN ('mail', 'calendar')),
    folder_id        text NOT NULL,
    seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    parent_folder_id text,
    display_name     text NOT NULL,
    folder_class     text,
    path             text NOT NULL,
    -- Deleted in Exchange: kept, marked, at its last-known place.
    deleted_at       timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox, source, folder_id)
);

CREATE TABLE archive_items (
    mailbox             text NOT NULL REFERENCES archive_mailboxes (address),
    item_id             text NOT NULL,
    seq                 bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    folder_id           text NOT NULL,
    change_key          text,
    item_class          text,
    internet_message_id text,
    subject             text,
    sender              jsonb, -- {"name", "email"}
    "from"              jsonb,
    to_recipients       jsonb NOT NULL DEFAULT '[]',
    cc_recipients       jsonb NOT NULL DEFAULT '[]',
    sent_at             timestamptz,
    received_at         timestamptz,
    size                bigint,
    is_read             boolean,
    sensitivity         text,
    has_attachments     boolean,
    deleted_at          timestamptz,
    pass_epoch          bigint, -- the latest full pass that reported it
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox, item_id)
);
CREATE INDEX archive_items_folder ON archive_items (mailbox, folder_id, seq);

CREATE TABLE archive_appointments (
    mailbox              text NOT NULL REFERENCES archive_mailboxes (address),
    item_id              text NOT NULL,
    seq                  bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    folder_id            text NOT NULL,
    change_key           text,
    item_class           text,
    uid                  text,
    subject              text,
    start_at             timestamptz,
    end_at               timestamptz,
    is_all_day           boolean,
    location             text,
    organizer            jsonb,
    required_attendees   jsonb NOT NULL DEFAULT '[]',
    optional_attendees   jsonb NOT NULL DEFAULT '[]',
    calendar_item_type   text,
    is_recurring         boolean,
    recurrence           jsonb,
    modified_occurrences jsonb NOT NULL DEFAULT '[]',
    deleted_occurrences  jsonb NOT NULL DEFAULT '[]',
    sensitivity          text,
    has_attachments      boolean,
    attachments          jsonb NOT NULL DEFAULT '[]', -- [{attachment_id, name, content_type, size, sha256}]
    pass_epoch           bigint,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (mailbox, item_id)
);
CREATE INDEX archive_appointments_folder ON archive_appointments (mailbox, folder_id, start_at);

-- Attachment content, stored once per distinct content (SHA-256).
CREATE TABLE blobs (
    sha256     text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size       bigint NOT NULL,
    content    bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
