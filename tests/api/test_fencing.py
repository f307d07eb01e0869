# SPDX-License-Identifier: Apache-2.0
"""Fencing under concurrency: a worker's write that is in flight while its claim is lost must
be refused and change nothing; a write repeated after a lost answer must not count twice.

A claim that happens while a write is under way is reproduced without timing luck: a
PostgreSQL transaction of the test makes exactly the claim statement's changes (new fencing
token, new lease, the task running) and holds them uncommitted until the server's statement
waits for its row lock, then commits."""
import threading
import time

import pytest

from admin_helpers import make_definition, make_site, make_task, ok, problem
from conftest import FAST, admin_server
from scripted_worker import ScriptedWorker, folder, folder_batch, hierarchy_batch, message



@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


@pytest.fixture
def site(api):
    return make_site(api)


def started(api, anon, site, mailboxes):
    """A scripted worker holding a fresh claim of a new task over these mailboxes."""
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "mailbox_list", "value": ";".join(mailboxes)})
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    assert w.execution["task"]["id"] == task["id"]
    ok(w.membership(mailboxes))
    return task, w


def lock_waiters(database):
    return database.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                           "current_database() AND wait_event_type = 'Lock'")


def during_a_reclaim(database, execution_id, request):
    """Sends request() while another claim of the execution commits; returns its response."""
    conn = database.connect()
    conn.autocommit = False
    result = {}
    try:
        cur = conn.cursor()
        # What the claim statement does: the execution first, then its task.
        cur.execute("UPDATE executions SET fencing_token = fencing_token + 1, "
                    "worker_id = 'rescuer', claims = claims + 1, "
                    "lease_expires_at = now() + interval '60 seconds' WHERE id = %s "
                    "RETURNING task_id", (execution_id,))
        task_id = cur.fetchone()[0]
        cur.execute("UPDATE exchange_tasks SET active_execution_id = %s, live_state = 'running' "
                    "WHERE id = %s", (execution_id, task_id))
        sender = threading.Thread(target=lambda: result.setdefault("r", request()))
        sender.start()
        deadline = time.monotonic() + 20
        while lock_waiters(database) == 0:
            assert sender.is_alive(), "the request did not wait for the claim's row locks"
            assert time.monotonic() < deadline, "the request never waited for a row lock"
            time.sleep(0.02)
        conn.commit()
        sender.join(30)
    finally:
        conn.close()
    return result["r"]


def test_complete_refused_when_reclaimed_meanwhile(api, anon, site, database):
    task, w = started(api, anon, site, ["c1@example.com", "c2@example.com"])
    ok(w.lock("c1@example.com"))
    assert w.finish("c1@example.com").status_code == 204
    r = during_a_reclaim(database, w.execution["id"], w.complete)
    assert problem(r, 409)["type"] == "urn:mse:problem:lease-lost"
    # The rescuer's claim is untouched: still running, its lock and mailboxes intact.
    state, token = database.query("SELECT state, fencing_token FROM executions WHERE id = %s",
                                  w.execution["id"])[0]
    assert (state, token) == ("running", w.token + 1)
    assert ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))["status"] == "running"
    rescuer = ScriptedWorker(anon, site["credentials"])
    rescuer.execution, rescuer.token = w.execution, w.token + 1
    ok(rescuer.lock("c2@example.com"))
    assert rescuer.finish("c2@example.com").status_code == 204
    assert ok(rescuer.complete())["mailboxes"]["healthy"] == 2


def test_progress_refused_when_reclaimed_meanwhile(api, anon, site, database):
    task, w = started(api, anon, site, ["p1@example.com"])
    ok(w.progress("Processing mailbox 1 of 1", "first"))
    r = during_a_reclaim(database, w.execution["id"],
                         lambda: w.progress("zombie", "written after the claim was lost"))
    assert problem(r, 409)["type"] == "urn:mse:problem:lease-lost"
    live = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))
    assert live["command"] == "Processing mailbox 1 of 1" and live["latest_detail"] == "first"
    w.token += 1
    ok(w.lock("p1@example.com"))
    w.finish("p1@example.com")
    ok(w.complete())


def test_a_repeated_finish_counts_once(api, anon, site, database):
    """A worker whose answer to /finish was lost sends it again: nothing is added twice."""
    task, w = started(api, anon, site, ["f1@example.com"])
    ok(w.lock("f1@example.com"))
    ok(w.submit(hierarchy_batch("f1@example.com", None, "H1", [folder("F1", "Inbox")])))
    ok(w.submit(folder_batch("f1@example.com", "F1", None, "S1",
                             [message(f"I{i}", "F1") for i in range(5)])))
    for _ in range(2):
        assert w.finish("f1@example.com", items=5, duration_ms=700).status_code == 204
    box = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/mailboxes"))["items"][0]
    assert box["items_replicated"] == 5 and box["state"] == "healthy"
    done = ok(w.complete())
    assert done["items"] == 5 and done["mailboxes"]["healthy"] == 1


def test_heartbeat_judges_each_listed_claim(api, anon, site):
    """The same execution listed twice, once with a stale token: only the live claim holds."""
    _, w = started(api, anon, site, ["h1@example.com"])
    eid = w.execution["id"]
    reply = ok(w.heartbeat(executions=[{"id": eid, "fencing_token": w.token + 5},
                                       {"id": eid, "fencing_token": w.token}]))
    assert [e["lease"] for e in reply["executions"]] == ["lost", "renewed"]
    # Each answer names the claim it judges: a worker matches by (execution, token).
    assert [e["fencing_token"] for e in reply["executions"]] == [w.token + 5, w.token]
    reply = ok(w.heartbeat(executions=[{"id": eid, "fencing_token": w.token},
                                       {"id": eid, "fencing_token": w.token + 5}]))
    assert [e["lease"] for e in reply["executions"]] == ["renewed", "lost"]
    ok(w.lock("h1@example.com"))
    w.finish("h1@example.com")
    ok(w.complete())


def test_no_lock_is_taken_from_a_holder_whose_write_is_under_way(api, anon, site, database):
    """A holder whose lease runs out while one of its submissions is being applied keeps the
    mailbox until that write has ended: no other task replicates the mailbox meanwhile."""
    _, holder = started(api, anon, site, ["s1@example.com"])
    ok(holder.lock("s1@example.com"))
    ok(holder.submit(folder_batch("s1@example.com", "F1", None, "S1", [message("I1", "F1")])))
    _, other = started(api, anon, site, ["s1@example.com"])
    # The next submission passes its fence and then waits for the checkpoint's row lock,
    # which a test transaction holds until the holder's lease has run out.
    conn = database.connect()
    conn.autocommit = False
    result = {}
    try:
        conn.cursor().execute("SELECT 1 FROM sync_checkpoints WHERE mailbox = 's1@example.com' "
                              "FOR UPDATE")
        late = folder_batch("s1@example.com", "F1", "S1", "S2", [message("I2", "F1")])
        sender = threading.Thread(target=lambda: result.setdefault("r", holder.submit(late)))
        sender.start()
        deadline = time.monotonic() + 30
        while lock_waiters(database) == 0 or database.scalar(
                "SELECT lease_expires_at > now() FROM executions WHERE id = %s",
                holder.execution["id"]):
            assert time.monotonic() < deadline, "the submission or the lease did not wait"
            time.sleep(0.1)
        # A pool thread serves the connections it accepted; the one applying the late write is
        # busy, so ask on a new connection, which only a free thread accepts.
        other.api.session.close()
        doc = problem(other.lock("s1@example.com"), 409)
        assert doc["type"] == "urn:mse:problem:mailbox-locked"
    finally:
        conn.rollback()
        conn.close()
    sender.join(30)
    assert result["r"].status_code == 200  # begun while the claim held: it completes
    # Once the write has ended, the expired holder no longer counts.
    deadline = time.monotonic() + 30
    while other.lock("s1@example.com").status_code != 200:
        assert time.monotonic() < deadline, "the lock never passed to the other task"
        time.sleep(0.3)
    assert other.finish("s1@example.com").status_code == 204
    ok(other.complete())
