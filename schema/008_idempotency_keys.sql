-- SPDX-License-Identifier: Apache-2.0
-- Responses to POST requests made with an Idempotency-Key, replayed for 24 hours.

CREATE TABLE idempotency_keys (
    client_uuid  uuid NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash text NOT NULL, -- SHA-256 of method, path and body
    status       smallint NOT NULL,
    location     text,
    etag         text,
    body         bytea NOT NULL, -- AES-256-GCM sealed: it may hold a client secret
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (client_uuid, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (client_uuid, created_at);
