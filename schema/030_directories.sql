-- SPDX-License-Identifier: Apache-2.0
-- A site's Active Directory (reached by the site's workers over LDAP), its tests, the groups
-- and OUs the workers reported for look-up, and requests to resolve a task's group again.

CREATE TABLE site_directories (
    site_id         uuid PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    urls            text[] NOT NULL CHECK (cardinality(urls) BETWEEN 1 AND 8),
    bind_dn         text NOT NULL,
    -- The bind password sealed with the master key (AES-256-GCM, bound to the site id).
    password_sealed bytea NOT NULL,
    base_dn         text NOT NULL,
    tls_verify      boolean NOT NULL DEFAULT true,
    page_size       integer NOT NULL DEFAULT 500 CHECK (page_size BETWEEN 1 AND 5000),
    version         bigint NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    updated_by      text
);
CREATE TRIGGER site_directories_version BEFORE UPDATE ON site_directories
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION mse_bump_version();

-- "Test the directory": requested by an administrator, run by a worker of the site.
CREATE TABLE directory_tests (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    site_id      uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'succeeded',
                                                                  'failed')),
    reason_code  text,
    detail       text CHECK (length(detail) <= 2000),
    worker_id    text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX directory_tests_pending ON directory_tests (site_id, requested_at)
    WHERE state = 'pending';

-- The groups and OUs of a site's directory, replaced by each catalogue a worker sends.
CREATE TABLE directory_groups (
    site_id      uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    dn           text NOT NULL,
    name         text,
    mail         text,
    kind         text NOT NULL CHECK (kind IN ('security_group', 'distribution_group', 'ou')),
    member_count integer,
    reported_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (site_id, seq)
);
CREATE UNIQUE INDEX directory_groups_dn ON directory_groups (site_id, lower(dn));

-- "Resolve the membership again at the next opportunity": workers drop the cached membership
-- of each (kind, value) listed after the last request they applied.
CREATE TABLE membership_refreshes (
    seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id      uuid NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    task_id      uuid NOT NULL REFERENCES exchange_tasks (id) ON DELETE CASCADE,
    group_kind   text NOT NULL,
    group_value  text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    requested_by text
);
CREATE INDEX membership_refreshes_site ON membership_refreshes (site_id, seq);
