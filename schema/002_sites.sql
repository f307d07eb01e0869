-- SPDX-License-Identifier: Apache-2.0
-- Sites (installed engine instances) and the workers that report for them; shared helpers.

-- Every admin-editable row carries a version, bumped on change: the ETag of its resource.
CREATE FUNCTION mse_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- RFC 3339 UTC with second precision, the API's time format.
CREATE FUNCTION mse_ts(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;

CREATE TABLE sites (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE, -- list order and cursor key
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text CHECK (length(description) <= 2000),
    enabled     boolean NOT NULL DEFAULT true,
    version     bigint NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text -- client_id of the API client that made the last change
);
CREATE UNIQUE INDEX sites_name_key ON sites (lower(name));
CREATE TRIGGER sites_version BEFORE UPDATE ON sites
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION mse_bump_version();

-- Filled by worker heartbeats (issue #5); a site is online while any worker is recent.
CREATE TABLE site_workers (
    site_id      uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    worker_id    text NOT NULL,
    host         text,
    version      text,
    started_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, worker_id)
);

-- How long after its last heartbeat a worker counts as gone (3 missed 30 s intervals).
CREATE FUNCTION mse_worker_offline_after() RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT interval '90 seconds'
$$;
