-- SPDX-License-Identifier: Apache-2.0
-- Definitions: a feature's settings (validated and normalised by the server), shared by tasks.

CREATE TABLE definitions (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    type        text NOT NULL CHECK (type IN ('mailbox_folder_replication', 'calendar_replication',
                                              'mailbox_storage_management', 'managed_folders')),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    settings    jsonb NOT NULL CHECK (jsonb_typeof(settings) = 'object'),
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text
);
CREATE INDEX definitions_type ON definitions (type, seq);
CREATE TRIGGER definitions_version BEFORE UPDATE ON definitions
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION mse_bump_version();

-- The type is fixed at creation: tasks of that type rely on it.
CREATE FUNCTION mse_definition_type_fixed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.type <> OLD.type THEN
        RAISE EXCEPTION 'a definition''s type cannot change' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER definitions_type_fixed BEFORE UPDATE OF type ON definitions
    FOR EACH ROW EXECUTE FUNCTION mse_definition_type_fixed();
