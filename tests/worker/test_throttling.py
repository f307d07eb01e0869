# SPDX-License-Identifier: Apache-2.0
"""End-to-end: the worker against an Exchange that is far away and throttles (ews-sim's
realism settings, docs/ews-sim.md).

Exchange counts each account's requests in flight (EWSMaxConcurrency) and answers the excess
with ErrorServerBusy and BackOffMilliseconds. A worker told the limit (`ews_max_concurrency`)
never crosses it, however many requests its passes would send side by side; a worker that
crosses it waits out every back-off it is given and still replicates exactly.
"""
import json

import pytest

from e2e import MFR, Replica, assert_replica_equals, run_worker, simlib

SETTINGS = {"include_private_items": True}


@pytest.fixture(scope="module")
def gen():
    s = simlib.EwsSim(generate="mailboxes=1,folders=3,items=300,appointments=0,groups=0",
                      seed="5", env={"EWS_SIM_THREADS": "2"})
    yield s
    s.stop_clean()


@pytest.fixture
def sim(gen):
    gen.control("POST", "/reset", expect=200)
    yield gen
    gen.control("PUT", "/realism", expect=200,
                json={"latency_ms": 0, "max_concurrency": 0, "busy_backoff_ms": 500})
    assert gen.stats()["request_schema_errors"] == 0
    gen.assert_schema_clean()


def account(sim):
    return {a["account"]: a for a in sim.get("/realism")["accounts"]}[simlib.SERVICE_USER]


def replicate(sim, tmp_path, **env):
    mbx = sim.get("/mailboxes")["items"][0]["address"]
    run = run_worker(sim, mbx, MFR, definition=SETTINGS, state=str(tmp_path / "s.json"),
                     env={"MSE_WORKER_EWS_PARALLEL": 8, "MSE_WORKER_EWS_GETITEM_BATCH": 10,
                          **env})
    assert run.outcome["health"] == "healthy", run.log[-5000:]
    replica = Replica()
    replica.apply_run(run)
    assert_replica_equals(replica, sim.export(mbx), MFR, SETTINGS)
    return run


def test_a_worker_told_the_limit_never_crosses_it(sim, tmp_path):
    sim.control("PUT", "/realism", json={"latency_ms": 30, "max_concurrency": 3}, expect=200)
    replicate(sim, tmp_path, MSE_WORKER_EWS_MAX_CONCURRENCY=3)
    a = account(sim)
    assert a["throttled"] == 0, a
    # It did use what it was allowed: eight GetItems a page would go out, three at a time.
    assert a["peak_in_flight"] == 3, a


def retry_waits(log):
    """(code, ms) of every retry the worker announced."""
    out = []
    for line in log.splitlines():
        try:
            msg = json.loads(line).get("msg", "")
        except ValueError:
            continue
        if "retrying in" in msg:
            code = msg.split(": ", 1)[1].split(" ", 1)[0]
            out.append((code, int(msg.rsplit("retrying in ", 1)[1].split(" ")[0])))
    return out


def test_a_throttled_worker_waits_out_each_back_off_and_replicates_exactly(sim, tmp_path):
    sim.control("PUT", "/realism", expect=200,
                json={"latency_ms": 30, "max_concurrency": 2, "busy_backoff_ms": 300})
    run = replicate(sim, tmp_path, MSE_WORKER_EWS_MAX_CONCURRENCY=8)
    a = account(sim)
    assert a["throttled"] > 0, a  # it did cross the limit: eight at once against two
    waits = [ms for code, ms in retry_waits(run.log) if code == "ErrorServerBusy"]
    assert len(waits) == a["throttled"], (waits, a)
    assert min(waits) >= 300, waits  # never sooner than Exchange asked
    # The worker learns the limit: each throttling halves what it sends at once (8 → 4 → 2),
    # so refusals stop after about two bursts. Without learning, every back-off ended with
    # eight requests against two places again, until a request ran out of retries.
    assert a["throttled"] <= 2 * 8, a
