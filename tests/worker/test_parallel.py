# SPDX-License-Identifier: Apache-2.0
"""End-to-end: the engine's requests in flight side by side (`ews_parallel`).

A page's GetItem requests run several at a time and the next SyncFolderItems page is read
while a page is handled. These tests show that it happens (requests seen by the real ews-sim
before the ones beside them were answered), that it changes nothing a store sees (the same
batches, in the same order, as one request at a time), and that failures and stops still end
the pass at a batch boundary with checkpoints that only cover what was handled.
"""
import fcntl
import json
import re
import signal
import subprocess
import time

import pytest
import requests

from e2e import MFR, Replica, assert_replica_equals, harness, run_worker, simlib, worker_env

SETTINGS = {"include_private_items": True}


def counters(sim, mailbox):
    return sim.get(f"/mailboxes/{mailbox}/counters")["requests"]


def mailbox_of(sim):
    return sim.get("/mailboxes")["items"][0]["address"]


def start_worker(sim, mbx, state, **env):
    argv = [harness.binary("mse-worker"), "--sync-once", mbx, "--type", MFR, "--definition",
            json.dumps(SETTINGS), "--state", str(state)]
    return subprocess.Popen(argv, env=worker_env(sim, **env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    assert not [p for p in harness.SANITIZER_PATTERNS if p in err], err[-20000:]
    lines = [json.loads(line) for line in out.splitlines()]
    batches = [d["batch"] for d in lines if "batch" in d]
    outcome = next((d["outcome"] for d in lines if "outcome" in d), None)
    return batches, outcome, err


def committed(batches, state_path):
    """The batches the state file holds: the last one printed may not have been stored."""
    with open(state_path) as f:
        state = json.load(f)
    if not batches:
        return []
    last = batches[-1]
    stored = state["hierarchy"] if last["folder_id"] is None else \
        state["folders"].get(last["folder_id"])
    return batches if stored == last["new_checkpoint"] else batches[:-1]


@pytest.fixture(scope="module")
def gen():
    """Three folders of 600 messages: two SyncFolderItems pages each."""
    s = simlib.EwsSim(generate="mailboxes=1,folders=2,items=600,appointments=0,groups=0",
                      seed="11", env={"EWS_SIM_THREADS": "8"})
    yield s
    s.stop_clean()


@pytest.fixture
def sim(gen):
    gen.control("POST", "/reset", expect=200)
    gen.control("DELETE", "/faults", expect=200)
    gen.control("POST", "/stats/reset", expect=200)
    yield gen
    gen.control("DELETE", "/faults", expect=200)
    assert gen.stats()["request_schema_errors"] == 0, "the worker sent a schema-invalid request"
    gen.assert_schema_clean()


def without_ids(batches):
    return [{k: v for k, v in b.items() if k != "batch_id"} for b in batches]


def test_side_by_side_sends_what_one_at_a_time_sends(sim, tmp_path):
    """Same batches in the same order, the same requests: nothing read ahead is wasted."""
    mbx = mailbox_of(sim)
    runs, requests = {}, {}
    for parallel in (1, 4):
        sim.control("POST", "/stats/reset", expect=200)
        runs[parallel] = run_worker(sim, mbx, MFR, definition=SETTINGS,
                                    state=str(tmp_path / f"p{parallel}.json"),
                                    env={"MSE_WORKER_EWS_PARALLEL": parallel,
                                         "MSE_WORKER_EWS_GETITEM_BATCH": 40})
        assert runs[parallel].outcome["health"] == "healthy", runs[parallel].log
        requests[parallel] = counters(sim, mbx)
    assert without_ids(runs[4].batches) == without_ids(runs[1].batches)
    assert requests[4] == requests[1]
    assert requests[4]["GetItem"] == 3 * (13 + 3)  # 512 = 12 × 40 + 32, then 88 = 2 × 40 + 8
    assert runs[4].outcome["ews_requests"] == runs[1].outcome["ews_requests"]
    replica = Replica()
    replica.apply_run(runs[4])
    assert_replica_equals(replica, sim.export(mbx), MFR, SETTINGS)
    assert runs[4].outcome["items_replicated"] == 1800


def most_in_flight(log):
    """The most EWS requests the worker had sent and not yet seen answered, and of which
    operations, from its debug log (one line when a request is sent, one when it ends)."""
    flight, most, ops = [], 0, []
    for line in log.splitlines():
        try:
            msg = json.loads(line).get("msg", "")
        except ValueError:
            continue
        m = re.match(r"EWS (\w+): (sending|HTTP)", msg)
        if not m:
            continue
        if m.group(2) == "sending":
            flight.append(m.group(1))
            if len(flight) > most:
                most, ops = len(flight), sorted(flight)
        else:
            flight.remove(m.group(1))
    return most, ops


@pytest.mark.parametrize("parallel", [1, 4])
def test_requests_are_in_flight_side_by_side(sim, tmp_path, parallel):
    mbx = mailbox_of(sim)
    # The first page's answers come slowly: the first two SyncFolderItems and three GetItems.
    sim.control("POST", "/faults", expect=201,
                json={"kind": "delay", "operation": "SyncFolderItems", "delay_ms": 1000,
                      "count": 2})
    sim.control("POST", "/faults", expect=201,
                json={"kind": "delay", "operation": "GetItem", "delay_ms": 1000, "count": 3})
    # 200 ids per GetItem: a first page of 512 changes takes three.
    run = run_worker(sim, mbx, MFR, definition=SETTINGS, state=str(tmp_path / "s.json"),
                     env={"MSE_WORKER_EWS_PARALLEL": parallel,
                          "MSE_WORKER_EWS_GETITEM_BATCH": 200, "MSE_WORKER_LOG_LEVEL": "debug"})
    assert run.outcome["health"] == "healthy", run.log[-5000:]
    most, ops = most_in_flight(run.log)
    if parallel == 1:
        assert most == 1
    else:
        # The page's three GetItems at once, and the next page asked for meanwhile.
        assert ops == ["GetItem", "GetItem", "GetItem", "SyncFolderItems"], ops
    replica = Replica()
    replica.apply_run(run)
    assert_replica_equals(replica, sim.export(mbx), MFR, SETTINGS)


def test_failed_getitem_ends_the_pass_after_the_last_whole_page(sim, tmp_path):
    """Page 1 stored, page 2 (read ahead) fails in GetItem: its checkpoint is never stored,
    and the next pass goes on from page 1 without a message twice."""
    mbx = mailbox_of(sim)
    state = tmp_path / "state.json"
    # Page 1's eleven GetItems (512 ids, 50 per request) are answered; every later one fails.
    # Rules are tried in order: the first takes eleven requests and answers them unchanged.
    sim.control("POST", "/faults", expect=201,
                json={"kind": "delay", "operation": "GetItem", "delay_ms": 0, "count": 11})
    sim.control("POST", "/faults", expect=201, json={"kind": "http_401", "operation": "GetItem"})
    proc = start_worker(sim, mbx, state, MSE_WORKER_EWS_PARALLEL=4,
                        MSE_WORKER_EWS_GETITEM_BATCH=50)
    first = []
    for line in proc.stdout:
        doc = json.loads(line)
        if "batch" in doc:
            first.append(doc["batch"])
            if doc["batch"]["scope"] == "folder":
                break
    rest, outcome, err = finish(proc)
    assert proc.returncode == 1, err[-5000:]
    assert rest == []  # nothing after the failed page
    assert outcome["health"] == "error" and outcome["reason"] == "ews_unauthorized", outcome
    page1 = first[-1]
    assert not page1["complete"] and len(page1["items"]) == 512
    with open(state) as f:
        assert json.load(f)["folders"][page1["folder_id"]] == page1["new_checkpoint"]
    done = committed(first, state)
    assert done == first
    sim.control("DELETE", "/faults", expect=200)
    run = run_worker(sim, mbx, MFR, definition=SETTINGS, state=str(state))
    assert run.outcome["health"] == "healthy" and not run.outcome["full"], run.log
    replica = Replica()
    for b in done + run.batches:
        replica.apply(b)
    assert_replica_equals(replica, sim.export(mbx), MFR, SETTINGS)
    upserts = [r["item_id"] for b in done + run.batches for r in b["items"]]
    assert len(upserts) == len(set(upserts)) == 1800


def test_stop_ends_the_requests_in_flight(sim, tmp_path):
    mbx = mailbox_of(sim)
    delay_s = 8
    sim.control("POST", "/faults", expect=201,
                json={"kind": "delay", "operation": "GetItem", "delay_ms": delay_s * 1000})
    proc = start_worker(sim, mbx, tmp_path / "s.json", MSE_WORKER_EWS_PARALLEL=4,
                        MSE_WORKER_EWS_GETITEM_BATCH=100)
    assert "hierarchy" in proc.stdout.readline()
    # The sim's threads sleep in the delayed answers: its control API is not asked meanwhile.
    time.sleep(2)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    batches, outcome, err = finish(proc, timeout=30)
    assert time.monotonic() - t0 < delay_s / 2  # long before the answers would come
    assert outcome["reason"] == "cancelled", outcome
    assert batches == [] and outcome["items_replicated"] == 0
    assert 1 <= counters(sim, mbx)["GetItem"] <= 4  # some were in flight, none answered


@pytest.mark.parametrize("parallel", [1, 4])
def test_next_page_is_read_while_a_batch_is_stored(sim, tmp_path, parallel):
    """The store is slow (the test holds the state file's lock, so the worker's submission
    waits): with requests side by side, page 2's GetItem goes out meanwhile; page 2's batch is
    only handed over after page 1's was stored."""
    mbx = mailbox_of(sim)
    state = tmp_path / "state.json"
    # No page is answered until the store is locked (Exchange is busy until then): a loaded
    # machine otherwise let page 1's batch be stored before the test held the lock, and the
    # pass went on to the next folder (8 GetItems seen, not 7).
    gate = sim.control("POST", "/faults", expect=201,
                       json={"kind": "server_busy", "operation": "SyncFolderItems",
                             "backoff_ms": 500}).json()["id"]
    proc = start_worker(sim, mbx, state, MSE_WORKER_EWS_PARALLEL=parallel,
                        MSE_WORKER_EWS_GETITEM_BATCH=100)
    hierarchy = json.loads(proc.stdout.readline())["batch"]
    assert hierarchy["scope"] == "hierarchy"
    with open(str(state) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # page 1's batch will wait for the store
        sim.control("DELETE", f"/faults/{gate}", expect=200)
        want = 7 if parallel > 1 else 6  # page 1: 6 GetItems (512 ids); page 2: 1 (88 ids)
        deadline = time.monotonic() + 60
        while counters(sim, mbx).get("GetItem", 0) < want:
            assert time.monotonic() < deadline, counters(sim, mbx)
            time.sleep(0.05)
        time.sleep(1)  # nothing more goes out while page 1's batch waits for the store
        assert counters(sim, mbx).get("GetItem", 0) == want
        assert proc.poll() is None
        fcntl.flock(lock, fcntl.LOCK_UN)
    batches, outcome, err = finish(proc)
    assert outcome["health"] == "healthy", err[-5000:]
    batches.insert(0, hierarchy)
    folder = [b for b in batches if b["scope"] == "folder"]
    assert len(folder) == 6
    for a, b in zip(folder, folder[1:]):
        if a["folder_id"] == b["folder_id"]:
            assert b["base_checkpoint"] == a["new_checkpoint"]
    replica = Replica()
    for b in batches:
        replica.apply(b)
    assert_replica_equals(replica, sim.export(mbx), MFR, SETTINGS)


def test_a_refused_batch_is_reported_before_the_next_pages_failure(sim, tmp_path):
    """Page 1's batch is refused (another writer moved the stored checkpoint) while page 2,
    read meanwhile, fails with ErrorMailboxMoveInProgress: the mailbox reports the refusal —
    what happened first — and is not put back to be retried later as a moving mailbox."""
    mbx = mailbox_of(sim)
    state = tmp_path / "state.json"
    # Page 1's six GetItems (512 ids, 100 per request) are answered; every later one fails.
    # Rules are tried in order: the first takes six requests and answers them unchanged.
    sim.control("POST", "/faults", expect=201,
                json={"kind": "delay", "operation": "GetItem", "delay_ms": 0, "count": 6})
    fault = sim.control("POST", "/faults", expect=201,
                        json={"kind": "mailbox_move", "operation": "GetItem"}).json()["id"]
    # No page is answered until the store is locked: Exchange is busy (the worker waits and
    # asks again) until this test has locked it. A delay raced the test to the lock instead,
    # and a loaded machine let page 1's batch be stored first.
    gate = sim.control("POST", "/faults", expect=201,
                       json={"kind": "server_busy", "operation": "SyncFolderItems",
                             "backoff_ms": 1000}).json()["id"]
    proc = start_worker(sim, mbx, state, MSE_WORKER_EWS_PARALLEL=4,
                        MSE_WORKER_EWS_GETITEM_BATCH=100)
    hierarchy = json.loads(proc.stdout.readline())["batch"]
    assert hierarchy["scope"] == "hierarchy"
    with open(str(state) + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # page 1's batch will wait for the store
        # Another writer stores other checkpoints for every folder meanwhile.
        with open(state) as f:
            doc = json.load(f)
        doc["folders"] = {r["folder_id"]: "written-by-another-pass"
                          for r in hierarchy["folders"] if r.get("folder_id")}
        with open(state, "w") as f:
            json.dump(doc, f)
        sim.control("DELETE", f"/faults/{gate}", expect=200)  # pages are answered from now on
        deadline = time.monotonic() + 60
        while True:  # page 2's GetItem has failed while page 1's batch waits for the store
            # A new connection: a kept-alive one may belong to a sim thread asleep in a delay.
            rules = requests.get(sim.url + "/_sim/faults", headers={"Connection": "close"},
                                 timeout=10).json()
            if any(x["id"] == fault and x["fired"] > 0 for x in rules["items"]):
                break
            assert time.monotonic() < deadline, "page 2's GetItem was never sent"
            time.sleep(0.05)
        assert proc.poll() is None
        fcntl.flock(lock, fcntl.LOCK_UN)
    batches, outcome, err = finish(proc)
    assert proc.returncode == 1, err[-5000:]
    assert outcome["health"] == "error" and outcome["reason"] == "checkpoint_conflict", outcome
    assert not outcome.get("retry_later"), outcome
    assert batches == []  # the refused batch was neither printed nor stored
