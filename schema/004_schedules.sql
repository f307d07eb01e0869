-- SPDX-License-Identifier: Apache-2.0
-- Schedules shared by many tasks: one-off, daily (once or every N minutes in a window), weekly.

CREATE TABLE schedules (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    timezone         text NOT NULL, -- IANA name, checked against the tz database by the server
    type             text NOT NULL CHECK (type IN ('one_off', 'daily', 'weekly')),
    run_at           timestamptz,   -- one_off
    mode             text CHECK (mode IN ('once', 'many')),
    start_minute     smallint CHECK (start_minute BETWEEN 0 AND 1439), -- local minute of day
    end_minute       smallint CHECK (end_minute BETWEEN 0 AND 1439),
    interval_minutes smallint CHECK (interval_minutes BETWEEN 1 AND 1440),
    days_of_week     smallint CHECK (days_of_week BETWEEN 1 AND 127), -- bit 0 Monday … bit 6 Sunday
    version          bigint NOT NULL DEFAULT 1,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       text,
    CHECK (CASE WHEN type = 'one_off' THEN
                    run_at IS NOT NULL AND mode IS NULL AND start_minute IS NULL
                    AND end_minute IS NULL AND interval_minutes IS NULL AND days_of_week IS NULL
                ELSE
                    run_at IS NULL AND start_minute IS NOT NULL
                    AND (type = 'weekly') = (days_of_week IS NOT NULL)
                    AND ((mode = 'once' AND end_minute IS NULL AND interval_minutes IS NULL)
                         OR (mode = 'many' AND end_minute > start_minute
                             AND interval_minutes IS NOT NULL))
           END)
);
CREATE UNIQUE INDEX schedules_name_key ON schedules (lower(name));
CREATE TRIGGER schedules_version BEFORE UPDATE ON schedules
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION mse_bump_version();

-- "HH:MM" for a minute of the day.
CREATE FUNCTION mse_hhmm(m smallint) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lpad((m / 60)::text, 2, '0') || ':' || lpad((m % 60)::text, 2, '0')
$$;

-- ["monday", …] for a days_of_week bit mask, in week order.
CREATE FUNCTION mse_days_json(mask smallint) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT json_agg(d ORDER BY i)
    FROM unnest(ARRAY['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday',
                      'sunday']) WITH ORDINALITY AS t (d, i)
    WHERE mask & (1 << (i - 1)::int) <> 0
$$;
