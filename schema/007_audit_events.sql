-- SPDX-License-Identifier: Apache-2.0
-- The audit log: every change and every failed authentication, written in the change's transaction.

CREATE TABLE audit_events (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- order and cursor key
    id            uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    at            timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor         text, -- client_id of the authenticated caller; NULL when there was none
    actor_id      uuid, -- its api_clients.id at the time (the client may be deleted since)
    action        text NOT NULL, -- "site.create", "exchange_task.update", "auth.failure", …
    resource_type text NOT NULL,
    resource_id   text,
    before        jsonb,
    after         jsonb,
    request_id    text,
    remote_addr   text
);
CREATE INDEX audit_events_resource ON audit_events (resource_type, resource_id, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
CREATE INDEX audit_events_action ON audit_events (action, seq);
CREATE INDEX audit_events_request ON audit_events (request_id);
CREATE INDEX audit_events_at ON audit_events (at);

-- Replaces the value of every member whose name suggests a secret, at any depth.
CREATE FUNCTION mse_redact(doc jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF doc IS NULL THEN
        RETURN NULL;
    ELSIF jsonb_typeof(doc) = 'object' THEN
        RETURN (SELECT coalesce(jsonb_object_agg(k,
                    CASE WHEN k ~* '(secret|password|passwd|token|api_key|master_key|credential_hash)'
                         THEN to_jsonb('[redacted]'::text) ELSE mse_redact(v) END), '{}'::jsonb)
                FROM jsonb_each(doc) AS e (k, v));
    ELSIF jsonb_typeof(doc) = 'array' THEN
        RETURN (SELECT coalesce(jsonb_agg(mse_redact(x) ORDER BY i), '[]'::jsonb)
                FROM jsonb_array_elements(doc) WITH ORDINALITY AS a (x, i));
    END IF;
    RETURN doc;
END;
$$;
