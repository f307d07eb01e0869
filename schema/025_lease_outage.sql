-- SPDX-License-Identifier: Apache-2.0
-- Time in which nothing could serve a worker — PostgreSQL down, or every mse-server down —
-- does not count against leases. No heartbeat can succeed then, and the first sweep after
-- the outage would otherwise re-queue every execution before its worker could renew it.
--
-- Each server stamps server_liveness.alive_at while it serves (every scheduler tick, every
-- heartbeat it answers, and each time it opens a database connection). A stamp older than the threshold (the heartbeat
-- interval: a shorter pause is absorbed by the lease, which is three intervals) means nobody
-- served in between: the leases that were still live at the old stamp are extended by the
-- length of the gap, so that each keeps the time it had left when serving stopped. Leases
-- that had already run out before the outage are not revived.
CREATE TABLE server_liveness (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    alive_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO server_liveness DEFAULT VALUES;

-- Returns how many leases were extended (0 when nothing was missed).
CREATE FUNCTION mse_leases_resume(p_threshold_s integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_last timestamptz;
    v_gap interval;
    v_n bigint := 0;
BEGIN
    -- One row, locked: two servers that come back at once extend the leases once.
    SELECT alive_at INTO v_last FROM server_liveness FOR UPDATE;
    v_gap := clock_timestamp() - v_last;
    IF v_gap > make_interval(secs => p_threshold_s) THEN
        UPDATE executions SET lease_expires_at = lease_expires_at + v_gap
         WHERE state IN ('running', 'waiting') AND lease_expires_at > v_last;
        GET DIAGNOSTICS v_n = ROW_COUNT;
    END IF;
    UPDATE server_liveness SET alive_at = greatest(alive_at, clock_timestamp());
    RETURN v_n;
END $$;
