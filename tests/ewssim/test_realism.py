# SPDX-License-Identifier: Apache-2.0
"""Exchange at WAN distance: latency, a shared link's bandwidth, EWSMaxConcurrency throttling."""
import os
import threading
import time
import xml.etree.ElementTree as ET

import pytest
import requests

import simlib
from simlib import NS, envelope

ALICE = "alice@example.com"
GET_INBOX = envelope("<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>"
                     "</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id=\"inbox\"/>"
                     "</m:FolderIds></m:GetFolder>", impersonate=ALICE)
OFF = {"latency_ms": 0, "jitter_ms": 0, "us_per_kib": 0, "bandwidth_kibps": 0,
       "max_concurrency": 0, "busy_backoff_ms": 500}


@pytest.fixture
def sim(request):
    # One server thread: a delay that held its thread would serialise every request.
    s = simlib.EwsSim(fixture=os.path.join(simlib.FIXTURES, "org.json"),
                      env={"EWS_SIM_THREADS": "1"})
    yield s
    s.stop_clean()


def concurrently(sim, n, body=GET_INBOX):
    """n requests at once, each on its own connection; their responses and the whole time."""
    out = [None] * n
    start = threading.Barrier(n)

    def one(i):
        start.wait()
        out[i] = requests.post(sim.ews_url, data=body.encode(),
                               headers={"Content-Type": "text/xml; charset=utf-8"},
                               auth=(simlib.SERVICE_USER, simlib.SERVICE_PASSWORD), timeout=60)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out, time.monotonic() - t0


def busy_backoff(resp):
    """BackOffMilliseconds of an ErrorServerBusy fault, or None for any other answer."""
    if resp.status_code != 500 or "ErrorServerBusy" not in resp.text:
        return None
    value = ET.fromstring(resp.text).find("s:Body/s:Fault/detail/t:MessageXml/t:Value", NS)
    assert value.get("Name") == "BackOffMilliseconds"
    return int(value.text)


def test_settings_default_off_and_are_validated(sim):
    assert {k: v for k, v in sim.get("/realism").items() if k != "accounts"} == OFF
    for bad in ({"latency_ms": -1}, {"latency_ms": 1.5}, {"latency_ms": "20"}, {"speed": 3},
                {"latency_ms": 60001}):
        r = sim.control("PUT", "/realism", json=bad, expect=422)
        assert r.headers["Content-Type"].startswith("application/problem+json")
    assert sim.get("/realism")["latency_ms"] == 0  # nothing changed
    got = sim.control("PUT", "/realism", json={"latency_ms": 20}, expect=200).json()
    assert got["latency_ms"] == 20 and got["max_concurrency"] == 0  # the others kept


def test_latency_delays_every_reply_without_holding_a_thread(sim):
    sim.control("PUT", "/realism", json={"latency_ms": 300}, expect=200)
    t0 = time.monotonic()
    assert sim.post(GET_INBOX).status_code == 200
    one = time.monotonic() - t0
    assert one >= 0.3  # the reply waited out its latency
    replies, all_of_them = concurrently(sim, 12)
    assert [r.status_code for r in replies] == [200] * 12
    # With one server thread, a sleeping delay would take 12 latencies; paced replies overlap.
    assert all_of_them < 4 * one, (all_of_them, one)


def test_bandwidth_is_one_link_shared_by_all_replies(sim):
    size = len(sim.post(GET_INBOX).content)
    # About 0.15 s per reply on the link: four replies at once need four times that.
    kibps = max(1, round(size / 1024 / 0.15))
    sim.control("PUT", "/realism", json={"bandwidth_kibps": kibps}, expect=200)
    replies, took = concurrently(sim, 4)
    assert all(r.status_code == 200 for r in replies)
    assert took >= 4 * size / (kibps * 1024) * 0.95


def test_concurrency_limit_answers_server_busy_per_account(sim):
    sim.control("PUT", "/realism", json={"latency_ms": 1000, "max_concurrency": 2,
                                         "busy_backoff_ms": 750}, expect=200)
    replies, _ = concurrently(sim, 6)
    ok = [r for r in replies if r.status_code == 200]
    busy = [busy_backoff(r) for r in replies if r.status_code != 200]
    assert len(ok) == 2 and busy == [750] * 4, [r.text[:200] for r in replies]
    acct = {a["account"]: a for a in sim.get("/realism")["accounts"]}[simlib.SERVICE_USER]
    assert acct["peak_in_flight"] == 2 and acct["admitted"] == 2 and acct["throttled"] == 4
    assert acct["in_flight"] == 0  # every request that ended left
    # Once they have ended, the account may send again.
    assert sim.post(GET_INBOX).status_code == 200


def test_stop_sends_waiting_replies_at_once():
    sim = simlib.EwsSim(fixture=os.path.join(simlib.FIXTURES, "org.json"))
    sim.control("PUT", "/realism", json={"latency_ms": 60000}, expect=200)
    results = []

    def call():
        try:
            results.append(sim.post(GET_INBOX).status_code)
        except requests.RequestException as e:  # a closed connection is an answer too
            results.append(type(e).__name__)

    threads = [threading.Thread(target=call) for _ in range(5)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while sim.get("/realism")["accounts"] == [] or \
            sim.get("/realism")["accounts"][0]["in_flight"] < 5:
        assert time.monotonic() < deadline, "the requests never arrived"
        time.sleep(0.05)
    rc = sim.stop(timeout=30)  # far less than the 60 s latency: stop does not wait it out
    sim.assert_clean_exit(rc)
    for t in threads:
        t.join()
    assert results == [200] * 5
