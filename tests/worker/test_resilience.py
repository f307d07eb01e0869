# SPDX-License-Identifier: Apache-2.0
"""Claims that outlive their lease: the whole chain (server, PostgreSQL, worker, ews-sim).

A worker whose heartbeats did not reach the server within the lease (a network partition, a
stalled host) finds, once they arrive again, that another slot of its own process has claimed
the execution anew. The old claim must stop and the new one must go on.
"""
import signal
import time

import pytest
import requests

from conftest import admin_server
from admin_helpers import make_definition, make_site, make_task, ok
from e2e import MFR, simlib
from test_service import assert_archive_equals, start_worker

# Heartbeats every 10 s, leases of 30 s: an idle slot's claim waits at the server and is woken
# when the expired execution is queued again, so a claim made after an expiry lands well before
# the worker's next heartbeat, and a loaded machine does not let the lease lapse on its own.
HEARTBEAT_S = 10


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, {"MSE_HEARTBEAT_SECONDS": HEARTBEAT_S,
                                       "MSE_SCHEDULER_INTERVAL_MS": 200})


@pytest.fixture(scope="module")
def sim():
    # Two requests are held by delays at once; the rest must still be answered.
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE, env={"EWS_SIM_THREADS": "6"})
    yield s
    s.stop_clean()


def wait_until(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while not (value := cond()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


def test_a_lapsed_claim_stops_and_the_new_claim_of_the_same_worker_goes_on(
        api, database, server, sim):
    address = sim.get("/mailboxes")["items"][0]["address"]
    site = make_site(api)
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "mailbox_list", "value": address})
    # The first claim's first hierarchy request hangs, long past the lease (and long past the
    # heartbeat that will list both claims, however loaded the machine); the second claim's
    # is slow too, so that both claims are listed in one heartbeat.
    first = ok(sim.control("POST", "/faults", json={
        "kind": "delay", "operation": "SyncFolderHierarchy", "mailbox": address, "count": 1,
        "delay_ms": 60000}), 201)
    sim.control("POST", "/faults", expect=201, json={
        "kind": "delay", "operation": "SyncFolderHierarchy", "mailbox": address, "count": 1,
        "delay_ms": 20000})
    worker = start_worker(server, sim, site, MSE_WORKER_EWS_TIMEOUT=120)
    try:
        x = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
        def fired():
            try:
                return any(f["id"] == first["id"] and f["fired"] == 1
                           for f in sim.get("/faults")["items"])
            except requests.ConnectionError:
                return False  # a kept-alive connection the loaded sim closed: ask again
        wait_until(fired, 120, "the first claim's hierarchy request")

        # Right after a heartbeat, the lease runs out as if the heartbeats had been lost.
        def last_seen():
            return database.scalar("SELECT max(last_seen_at) FROM site_workers "
                                   "WHERE site_id = %s", site["id"])
        seen = last_seen()
        wait_until(lambda: last_seen() > seen, 12 * HEARTBEAT_S, "a heartbeat")
        lapsed = database.query(
            "UPDATE executions SET lease_expires_at = now() - interval '1 second' "
            "WHERE id = %s AND state IN ('running', 'waiting') AND fencing_token = 1 "
            "RETURNING id", x["id"])
        if not lapsed:
            pytest.skip("the machine is so loaded that the lease lapsed on its own first")
        wait_until(lambda: database.scalar("SELECT fencing_token FROM executions WHERE id = %s",
                                           x["id"]) == 2, 60, "the second claim")
        path = f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"
        e = wait_until(lambda: (d := ok(api.get(path)))["state"] not in
                       ("queued", "running", "waiting") and d, 300, "the execution to end")
        # The heartbeat that listed both claims stopped the old one only: no third claim.
        assert e["result"] == "ok" and e["claims"] == 2 and e["lease_expiries"] == 1, e
        log = worker.output()
        assert "fencing token 1) was lost" in log, log
        assert "fencing token 2) was lost" not in log, log
        assert log.count("pass ended error cancelled") == 1, log
        assert assert_archive_equals(database, sim, address, MFR) > 0
        assert ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))["sequence"] == \
            e["submissions"]
    finally:
        sim.control("DELETE", "/faults", expect=200)
        rc = worker.stop(signal.SIGTERM, timeout=60)
    worker.assert_clean_exit(rc)
