-- SPDX-License-Identifier: Apache-2.0
-- OAuth 2.0 clients (admin, read_only, and one per site) and the bearer tokens they hold.

CREATE TABLE api_clients (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    client_id   text NOT NULL UNIQUE CHECK (client_id ~ '^[A-Za-z0-9._~-]{1,64}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role        text NOT NULL CHECK (role IN ('admin', 'read_only', 'site')),
    site_id     uuid UNIQUE REFERENCES sites (id) ON DELETE CASCADE,
    secret_hash text NOT NULL, -- PBKDF2-HMAC-SHA256, self-describing (see common/crypto.h)
    enabled     boolean NOT NULL DEFAULT true,
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text,
    CHECK ((role = 'site') = (site_id IS NOT NULL))
);
CREATE TRIGGER api_clients_version BEFORE UPDATE ON api_clients
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION mse_bump_version();

-- Only the SHA-256 of a token is kept; the token itself exists only in the client's hands.
CREATE TABLE access_tokens (
    token_hash  text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    client_uuid uuid NOT NULL REFERENCES api_clients (id) ON DELETE CASCADE,
    issued_at   timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX access_tokens_client ON access_tokens (client_uuid, expires_at);
