# SPDX-License-Identifier: Apache-2.0
"""Outages of what the workers depend on, mid-sync: PostgreSQL stopped, mse-server killed, each
for 20 s — far longer than a lease. Time in which nothing could serve a heartbeat must not
count against the lease: the worker retries through the outage and keeps its claim, and the
archive ends exactly as if nothing had happened."""
import signal
import time

import pytest

from rig import OUTAGE_S, Rig


@pytest.fixture
def rig():
    r = Rig()
    yield r
    r.stop()


def outage_trial(rig, outage, resume):
    rig.slow_exchange(50)
    worker = rig.start_worker()
    x = rig.run()
    rig.wait_for_submissions(3)
    outage()
    time.sleep(OUTAGE_S)  # the outage itself: its length is what is being tested
    resume()
    e = rig.wait_for_end(x)
    # No re-claim: the lease survived the outage.
    assert e["claims"] == 1 and e["lease_expiries"] == 0, e
    rig.assert_exactly_once(e)
    assert "lease(s) extended" in rig.server.output(), rig.server.output()[-5000:]
    rc = worker.stop(signal.SIGTERM, timeout=60)
    worker.assert_clean_exit(rc)


def test_postgresql_stopped_mid_sync_costs_no_reclaim(rig):
    outage_trial(rig, rig.pg.stop, rig.pg.start)


def test_server_killed_mid_sync_costs_no_reclaim(rig):
    outage_trial(rig, rig.kill_server, rig.start_server)
