# SPDX-License-Identifier: Apache-2.0
"""A server connection's test run end to end: mse-server, PostgreSQL, a real mse-worker of the
connection's site and ews-sim as Exchange. The worker opens the mailbox's inbox through the
connection's own URL, credentials and impersonation, and reports ok with the latency, or
Exchange's exact error."""
import signal
import time

import pytest

from conftest import FAST, admin_server
from admin_helpers import make_site, ok, unique
from e2e import simlib
from test_service import start_worker

BASE = "/api/v1/server-connections"


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


@pytest.fixture(scope="module")
def sim():
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE)
    yield s
    s.stop_clean()


def outcome(api, conn, **body):
    t = ok(api.post(f"{BASE}/{conn['id']}/test", json=body), 202)
    deadline = time.monotonic() + 60
    while True:
        got = ok(api.get(f"{BASE}/{conn['id']}/tests/{t['id']}"))
        if got["state"] != "pending":
            return got
        assert time.monotonic() < deadline, "no test outcome within 60 s"
        time.sleep(0.3)


def test_the_sites_worker_reaches_ews_sim_and_reports_exactly(api, server, sim):
    site = make_site(api)
    conn = ok(api.post(BASE, json={
        "name": unique("sim"), "site_id": site["id"], "ews_url": sim.ews_url,
        "authentication": "basic", "service_account": simlib.SERVICE_USER,
        "secret": simlib.SERVICE_PASSWORD, "impersonation": True}), 201)
    # The worker's own EWS settings point elsewhere: the test must use the connection's.
    worker = start_worker(server, sim, site, MSE_WORKER_EWS_PASSWORD="not-the-password")
    try:
        good = outcome(api, conn, mailbox="anna.schmidt@contoso.example")
        assert good["state"] == "succeeded", good
        assert good["latency_ms"] >= 0 and good["detail"] is None and good["worker_id"]
        assert good["server_version"] == "15.1.2507.6 (Exchange2016)", good
        missing = outcome(api, conn, mailbox="nobody@contoso.example")
        assert missing["state"] == "failed" and missing["reason_code"]
        assert missing["detail"], missing
        ok(api.patch(f"{BASE}/{conn['id']}", json={"secret": "wrong-password"}))
        refused = outcome(api, conn, mailbox="anna.schmidt@contoso.example")
        assert refused["state"] == "failed" and refused["reason_code"] != "invalid_configuration"
        assert "401" in refused["detail"] or "nauthori" in refused["detail"], refused
        assert ok(api.get(f"{BASE}/{conn['id']}"))["last_test"] == refused
    finally:
        rc = worker.stop(signal.SIGTERM, timeout=60)
    worker.assert_clean_exit(rc)
