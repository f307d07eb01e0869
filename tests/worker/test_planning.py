# SPDX-License-Identifier: Apache-2.0
"""Issue 18's acceptance, end to end (mse-server + PostgreSQL + mse-worker + ews-sim): the
planner, fitted on one group's real executions, estimates another group of other sizes within
25% of that group's measured executions, first and incremental; the baselines on the task
match its executions.

Every EWS request is delayed by the simulator and the worker sends one GetItem per item, one at
a time: a pass then costs a number of round trips that grows with the mailbox's items, as
against a real Exchange, rather than the microseconds of an in-memory simulator, which the
load of the machine would drown."""
import json
import signal

import pytest

from admin_helpers import make_definition, make_site, make_task, ok
from conftest import FAST, admin_server
from e2e import MFR, simlib
from test_service import assert_archive_equals, run_and_wait, start_worker

DELAY_MS = 20
# Two groups of different sizes; the second's average lies inside the first's range.
FITTED = {"fit1@example.com": 10, "fit2@example.com": 25, "fit3@example.com": 40,
          "fit4@example.com": 55}
PLANNED = {"plan1@example.com": 15, "plan2@example.com": 30, "plan3@example.com": 45,
           "plan4@example.com": 62}


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


@pytest.fixture
def sim(tmp_path):
    mailboxes = [{"address": a, "display_name": a.split("@")[0], "folders": [{
        "name": "Inbox", "distinguished_id": "inbox",
        "messages": [{"subject": f"message {i}", "body": "hello"} for i in range(n)]}]}
        for a, n in {**FITTED, **PLANNED}.items()]
    path = tmp_path / "org.json"
    path.write_text(json.dumps({"mailboxes": mailboxes}))
    s = simlib.EwsSim(fixture=str(path))
    s.control("POST", "/faults", json={"kind": "delay", "delay_ms": DELAY_MS}, expect=201)
    yield s
    s.stop_clean()


def group_task(api, site, boxes, **kw):
    return make_task(api, site=site, definition=make_definition(api, MFR),
                     group={"kind": "mailbox_list", "value": ";".join(boxes)}, **kw)


def estimate(api, group, interval=1440):
    return ok(api.post("/api/v1/planning/estimate",
                       json={"type": MFR, "group": group, "interval_minutes": interval}))


def within(estimated, measured, share=0.25):
    assert abs(estimated - measured) <= share * measured, \
        f"estimated {estimated:.0f} ms, measured {measured} ms"


def test_the_planner_estimates_another_group_within_25_percent(api, server, sim):
    site = make_site(api)
    worker = start_worker(server, sim, site, MSE_WORKER_EWS_GETITEM_BATCH=1,
                          MSE_WORKER_EWS_PARALLEL=1)
    try:
        fitted = group_task(api, site, FITTED)
        first = run_and_wait(api, fitted)
        again = run_and_wait(api, fitted)
        assert first["result"] == again["result"] == "ok"

        # Nothing measured for the planned group yet: only its count and average size.
        average = round(sum(PLANNED.values()) / len(PLANNED))
        plan = estimate(api, {"mailboxes": len(PLANNED), "average_items": average})
        assert plan["basis"] == "measured", plan
        assert plan["first_pass"]["measurements"] == len(FITTED)
        assert plan["incremental"]["measurements"] == len(FITTED)
        assert plan["first_pass"]["ms_per_item"] > 0
        assert plan["first_pass"]["standard_error_ms"] is not None

        planned = group_task(api, site, PLANNED)
        measured_first = run_and_wait(api, planned)
        measured_again = run_and_wait(api, planned)
        assert measured_first["result"] == measured_again["result"] == "ok"
        within(plan["first_execution_ms"], measured_first["duration_ms"])
        within(plan["execution_ms"], measured_again["duration_ms"])

        # The task itself: its baselines follow its executions, and a day fits it.
        doc = ok(api.get(f"/api/v1/exchange-tasks/{planned['id']}"))
        base = doc["baseline"]
        assert base["group_mailboxes"] == len(PLANNED)
        assert base["first_full_pass"]["mailboxes"] == len(PLANNED)
        assert base["first_full_pass"]["average_items"] == average
        assert base["incremental"]["passes"] == len(PLANNED)
        assert base["last_execution_ms"] == measured_again["duration_ms"]
        within(base["execution_estimate_ms"], measured_again["duration_ms"])
        assert doc["fit"]["fits"] is True and doc["fit"]["warning"] is None

        # Planning from the task's own group gives the same size.
        own = estimate(api, {"task_id": planned["id"]})
        assert own["group"] == {"task_id": planned["id"], "mailboxes": len(PLANNED),
                                "average_items": average}
    finally:
        worker.assert_clean_exit(worker.stop(signal.SIGTERM))


def test_parallel_mailboxes_each_under_its_lock_keep_sequence_and_status_exact(api, database,
                                                                              server, sim):
    """max_parallel_mailboxes = 3 over 8 mailboxes: passes overlap, yet every mailbox is
    processed once per execution under its own lock, and the task's sequence counts every
    applied batch exactly once."""
    site = make_site(api)
    worker = start_worker(server, sim, site, MSE_WORKER_EWS_GETITEM_BATCH=1,
                          MSE_WORKER_EWS_PARALLEL=1)
    boxes = {**FITTED, **PLANNED}
    try:
        task = group_task(api, site, boxes, max_parallel_mailboxes=3)
        for run in range(2):
            x = run_and_wait(api, task)
            assert x["result"] == "ok" and x["mailboxes"]["healthy"] == len(boxes), x
            rows = database.query(
                "SELECT address, started_at, finished_at, duration_ms, items FROM"
                " execution_mailboxes WHERE execution_id = %s", x["id"])
            assert sorted(r[0] for r in rows) == sorted(boxes)
            if run == 0:
                assert {r[0]: r[4] for r in rows} == boxes
            # Lanes overlap: some pass starts before another one ended.
            spans = sorted((r[1], r[2]) for r in rows)
            assert any(b[0] < a[1] for a, b in zip(spans, spans[1:])), spans
            # The execution took less than its passes one after another would.
            assert x["duration_ms"] < sum(r[3] for r in rows)
        # Each batch applied once, numbered without gaps: the task's sequence is their count.
        seqs = sorted(r[0] for r in database.query(
            "SELECT sequence FROM applied_batches WHERE task_id = %s", task["id"]))
        assert seqs == list(range(1, len(seqs) + 1))
        doc = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))
        assert doc["sequence"] == len(seqs) and doc["health"] == "ok"
        assert doc["status"] == "scheduled" and doc["command"] is None
        assert database.scalar("SELECT count(*) FROM mailbox_locks") == 0
        for mb in boxes:
            assert_archive_equals(database, sim, mb, MFR)
        # The fit divides the baseline's one-by-one estimate by the lanes.
        base, fit = doc["baseline"], doc["fit"]
        assert fit["execution_estimate_ms"] == -(-base["execution_estimate_ms"] // 3)
    finally:
        worker.assert_clean_exit(worker.stop(signal.SIGTERM))
