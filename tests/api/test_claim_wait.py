# SPDX-License-Identifier: Apache-2.0
"""Claims that wait for work (long polling): a claim with wait_seconds is parked until an
execution of its site is queued (schema 040 NOTIFYs), its wait is over, or the server stops.

The waits asked for here are far longer than any test runs (MSE_CLAIM_WAIT_MAX is raised to
the protocol's cap), so a claim that answers was woken by what the test did, not by its
deadline; the server's log (debug) names each wake by the claim's request id."""
import json
import re
import signal
import socket
import threading
import time
import uuid

import pytest

import harness
from admin_helpers import make_definition, make_site, make_task, ok
from conftest import BOOTSTRAP_ID, BOOTSTRAP_SECRET, FAST, admin_server
from api_client import ApiClient
from scripted_worker import ScriptedWorker

LONG_WAIT = 300  # MSE_PROTO_MAX_CLAIM_WAIT: no test waits for it to pass
SETTINGS = {**FAST, "MSE_CLAIM_WAIT_MAX": LONG_WAIT, "MSE_LOG_LEVEL": "debug"}


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, SETTINGS)


def new_task(api, site):
    return make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "mailbox", "value": "anna@example.com"})


def run(api, task):
    return ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)


def parked(anon):
    m = re.search(r"^mse_http_parked (\d+)$", anon.get("/metrics").text, re.M)
    return int(m.group(1))


def wait_until(predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class ParkedClaim:
    """A claim sent from a thread of its own, with its own request id."""

    def __init__(self, anon, site, wait=LONG_WAIT):
        self.worker = ScriptedWorker(anon, site["credentials"])
        self.request_id = f"claim-{uuid.uuid4().hex[:12]}"
        self.response = None
        self.error = None
        self.thread = threading.Thread(target=self._send, args=(wait,), daemon=True)
        self.thread.start()

    def _send(self, wait):
        try:
            self.response = self.worker.claim(wait=wait, request_id=self.request_id,
                                              timeout=LONG_WAIT + 60)
        except Exception as e:  # a closed connection is an answer too, for the stop test
            self.error = e

    def result(self, timeout=60):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f"claim {self.request_id} still waiting"
        return self.response


def access_lines(server, request_id):
    """The request's access-log lines. The line is written once libmicrohttpd has sent the
    answer, so it may reach the log just after the client has it: wait for the first."""
    wait_until(lambda: _access_lines(server, request_id), f"the access line of {request_id}")
    return _access_lines(server, request_id)


def _access_lines(server, request_id):
    out = []
    for line in server.lines:
        if f'"request_id":"{request_id}"' in line and '"route":"/api/v1/worker/claims"' in line:
            out.append(json.loads(line))
    return out


def wakes(server, request_id):
    return [line for line in server.lines
            if "parked request woken" in line and request_id in line]


def test_a_waiting_claim_gets_the_execution_queued_after_it_parked(api, anon, server):
    site = make_site(api)
    task = new_task(api, site)
    before = parked(anon)
    c = ParkedClaim(anon, site)
    wait_until(lambda: parked(anon) == before + 1, "the claim to park")
    execution = run(api, task)  # queued after the claim started waiting
    r = c.result()
    assert r.status_code == 200, r.text
    assert r.json()["id"] == execution["id"]
    # One request, answered once, woken once: by the notification, not by its deadline.
    lines = [(x["status"]) for x in access_lines(server, c.request_id)]
    assert lines == [200], lines
    assert len(wakes(server, c.request_id)) == 1
    assert parked(anon) == before


def test_a_claim_without_wait_answers_at_once(api, anon, server):
    """Workers that do not ask to wait are answered as before (204, nothing parked)."""
    site = make_site(api)
    w = ScriptedWorker(anon, site["credentials"])
    rid = f"claim-{uuid.uuid4().hex[:12]}"
    assert w.claim(request_id=rid).status_code == 204
    assert w.claim(wait=0).status_code == 204
    assert not wakes(server, rid)


def test_work_already_queued_is_claimed_without_parking(api, anon, server):
    site = make_site(api)
    execution = run(api, new_task(api, site))
    w = ScriptedWorker(anon, site["credentials"])
    rid = f"claim-{uuid.uuid4().hex[:12]}"
    r = w.claim(wait=LONG_WAIT, request_id=rid)
    assert r.status_code == 200 and r.json()["id"] == execution["id"]
    assert not wakes(server, rid)


def test_another_sites_queueing_does_not_wake_or_feed_a_waiting_claim(api, anon, server):
    a, b = make_site(api), make_site(api)
    task_a, task_b = new_task(api, a), new_task(api, b)
    before = parked(anon)
    claim_a = ParkedClaim(anon, a)
    claim_b = ParkedClaim(anon, b)
    wait_until(lambda: parked(anon) == before + 2, "both claims to park")
    execution_b = run(api, task_b)
    rb = claim_b.result()
    assert rb.status_code == 200 and rb.json()["id"] == execution_b["id"]
    # B's notification has been handled (it woke B); A is still parked and was not woken.
    assert parked(anon) == before + 1
    assert not wakes(server, claim_a.request_id)
    execution_a = run(api, task_a)
    ra = claim_a.result()
    assert ra.status_code == 200, ra.text
    assert ra.json()["id"] == execution_a["id"]
    assert ra.json()["task"]["id"] == task_a["id"]
    assert len(wakes(server, claim_a.request_id)) == 1
    assert [x["status"] for x in access_lines(server, claim_a.request_id)] == [200]


def test_a_claim_whose_wait_is_over_answers_204(api, anon, server):
    site = make_site(api)
    # Two seconds: a loaded machine may take most of one to look at the queue, and a claim
    # whose wait is over before it could park answers at once, unwoken.
    c = ParkedClaim(anon, site, wait=2)
    r = c.result()
    assert r.status_code == 204
    # Woken by its deadline. The server logs the wake before it answers, but the test's reader
    # of the server's output may see the line only after the client has the answer.
    wait_until(lambda: wakes(server, c.request_id), f"the wake of {c.request_id}")
    assert len(wakes(server, c.request_id)) == 1
    # Idle: logged at debug, like every idle poll.
    lines = access_lines(server, c.request_id)
    assert [(x["status"], x["level"]) for x in lines] == [(204, "debug")], lines


def test_a_wait_beyond_the_protocol_cap_is_refused(api, anon):
    site = make_site(api)
    w = ScriptedWorker(anon, site["credentials"])
    r = w.claim(wait=LONG_WAIT + 1)
    assert r.status_code == 422
    assert "wait_seconds" in r.text


def test_stop_answers_parked_claims_within_the_grace(database):
    """SIGTERM with claims parked: each is answered (204) or its connection closed, the server
    exits 0 inside its grace without cutting requests off, and the sanitizers stay quiet."""
    srv = harness.Server(database.conninfo,
                         env={**SETTINGS, "MSE_SHUTDOWN_GRACE": 60,
                              "MSE_BOOTSTRAP_CLIENT_ID": BOOTSTRAP_ID,
                              "MSE_BOOTSTRAP_CLIENT_SECRET": BOOTSTRAP_SECRET})
    try:
        anon = ApiClient(srv.url)
        api = anon.as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        sites = [make_site(api), make_site(api)]
        claims = [ParkedClaim(anon, sites[i % 2]) for i in range(6)]
        wait_until(lambda: parked(anon) == 6, "six claims to park")
        srv.send_signal(signal.SIGTERM)
        for c in claims:
            c.result()
        rc = srv.wait(60)
    except BaseException:
        srv.proc.kill()
        raise
    srv.assert_clean_exit(rc)
    assert "cut off" not in srv.output()
    # None was left to the connection's end: the stop answered every one of them.
    assert [c.error for c in claims] == [None] * 6
    assert [c.response.status_code for c in claims] == [204] * 6


def test_stop_with_claims_whose_clients_went_away(database):
    """Parked claims whose workers closed their connections (a worker that stopped) do not
    hold the server's stop: it exits 0 inside its grace."""
    srv = harness.Server(database.conninfo,
                         env={**SETTINGS, "MSE_SHUTDOWN_GRACE": 60,
                              "MSE_BOOTSTRAP_CLIENT_ID": BOOTSTRAP_ID,
                              "MSE_BOOTSTRAP_CLIENT_SECRET": BOOTSTRAP_SECRET})
    try:
        anon = ApiClient(srv.url)
        api = anon.as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        site = make_site(api)
        token = anon.token_for(site["credentials"]["client_id"],
                               site["credentials"]["client_secret"])
        body = json.dumps({"worker_id": "gone", "wait_seconds": LONG_WAIT}).encode()
        socks = []
        for _ in range(3):
            s = socket.create_connection((srv.host, srv.port))
            s.sendall(b"POST /api/v1/worker/claims HTTP/1.1\r\nHost: x\r\n"
                      b"Authorization: Bearer " + token.encode() + b"\r\n"
                      b"Content-Type: application/json\r\nContent-Length: " +
                      str(len(body)).encode() + b"\r\n\r\n" + body)
            socks.append(s)
        wait_until(lambda: parked(anon) == 3, "three claims to park")
        for s in socks:
            s.close()
        srv.send_signal(signal.SIGTERM)
        rc = srv.wait(90)
    except BaseException:
        srv.proc.kill()
        raise
    srv.assert_clean_exit(rc)
    assert "cut off" not in srv.output()
