# SPDX-License-Identifier: Apache-2.0
"""The execution lifecycle, driven by scripted workers over real HTTP: run-now, claims with
leases and fencing tokens, lease expiry and rescue, mailbox locks across tasks, progress,
exactly-once submissions (checkpoint conflicts, replays), deferred changes and deletion,
stop, the scheduler (skips, two servers), attachments, metrics."""
import hashlib
import json
import re
import threading
import time
import uuid

import pytest

import harness
from admin_helpers import (audit_events, make_definition, make_schedule, make_site, make_task,
                           ok, problem, unique)
from api_client import ApiClient
from conftest import BOOTSTRAP_ID, BOOTSTRAP_SECRET, FAST, admin_server
from scripted_worker import ScriptedWorker, folder, folder_batch, hierarchy_batch, message

LEASE_S = 6


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


@pytest.fixture
def site(api):
    """A site of the test's own: its workers claim only what the test queued."""
    return make_site(api)


def new_task(api, site, group_value="anna@example.com", type_="mailbox_folder_replication",
             **kw):
    definition = make_definition(api, type_=type_)
    return make_task(api, site=site, definition=definition,
                     group={"kind": "mailbox_list", "value": group_value}, **kw)


def run(api, task):
    r = api.post(f"/api/v1/exchange-tasks/{task['id']}/run")
    execution = ok(r, 202)
    assert r.headers["Location"].endswith(execution["id"])
    return execution


def task_of(api, task):
    return ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))


def claim(anon, site, task_id=None):
    """A new scripted worker of the site holding a fresh claim (of task_id, if given)."""
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    if task_id:
        assert w.execution["task"]["id"] == task_id
    return w


def wait_until(predicate, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_full_execution(api, anon, site):
    task = new_task(api, site, "anna@example.com; bob@example.com")
    execution = run(api, task)
    assert execution["state"] == "queued" and execution["trigger"] == "manual"
    assert task_of(api, task)["status"] == "queued"

    w = claim(anon, site, task["id"])
    x = w.execution
    assert x["fencing_token"] == 1 and x["lease_seconds"] == LEASE_S
    assert x["membership_known"] is False and x["mailboxes"] == []
    assert x["group"] == {"kind": "mailbox_list", "value": "anna@example.com;bob@example.com"}
    assert x["definition"]["type"] == "mailbox_folder_replication"
    assert task_of(api, task)["status"] == "running"

    members = ok(w.membership(["Anna@Example.com", "bob@example.com", "anna@example.com"]))
    assert members["mailboxes"] == [{"address": "anna@example.com", "state": "pending"},
                                    {"address": "bob@example.com", "state": "pending"}]
    # A second report keeps the first: a resumed execution processes the same mailboxes.
    assert ok(w.membership(["bob@example.com"])) == members
    # A member the group does not have is refused, whatever was reported before.
    problem(w.membership(["carl@example.com"]), 422, "mailboxes")

    granted = ok(w.lock("anna@example.com"))
    assert granted == {"checkpoints": {"hierarchy": None, "folders": {}}}
    # The grant itself says which mailbox is being processed: no progress post needed.
    live = task_of(api, task)
    assert (live["command"], live["latest_detail"]) == \
        ("Processing mailbox 1 of 2: anna@example.com", "Starting")
    assert ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"))[
        "progress_percent"] == 0
    ok(w.progress("Processing mailbox 1 of 2: anna@example.com", "Inbox: 1 of 2 items"))
    live = task_of(api, task)
    assert live["command"] == "Processing mailbox 1 of 2: anna@example.com"
    assert live["latest_detail"] == "Inbox: 1 of 2 items"

    h = ok(w.submit(hierarchy_batch("anna@example.com", None, "H1",
                                    [folder("F1", "Inbox"), folder("F2", "Sent Items")])))
    assert h == {"applied": True, "replayed": False, "sequence": 1}
    f = ok(w.submit(folder_batch("anna@example.com", "F1", None, "S1",
                                 [message("I1", "F1"), message("I2", "F1")])))
    assert f["sequence"] == 2
    assert task_of(api, task)["sequence"] == 2
    assert w.finish("anna@example.com", items=2, duration_ms=1500).status_code == 204
    assert ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"))[
        "progress_percent"] == 50

    ok(w.lock("bob@example.com"))
    assert w.finish("bob@example.com", state="warning", reason_code="sync_state_reset",
                    reason_text="Inbox was read again from the start",
                    full_sync=False).status_code == 204
    done = ok(w.complete())
    assert done["state"] == "completed" and done["result"] == "warning"
    assert done["mailboxes"]["healthy"] == 1 and done["mailboxes"]["warning"] == 1
    assert done["submissions"] == 2 and done["items"] == 2
    assert done["progress_percent"] == 100

    final = task_of(api, task)
    assert final["status"] == "scheduled" and final["health"] == "warning"
    assert final["last_execution"]["id"] == x["id"] and final["command"] is None
    assert final["latest_detail"].startswith("Completed: 2 of 2 mailboxes")
    history = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions"))
    assert [e["id"] for e in history["items"]] == [x["id"]]
    assert ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"))["state"] == \
        "completed"
    boxes = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/mailboxes"))["items"]
    anna, bob = boxes
    assert anna["address"] == "anna@example.com" and anna["state"] == "healthy"
    assert anna["items_replicated"] == 2 and anna["first_full_sync_duration_ms"] == 1500
    assert anna["first_full_sync_at"] and anna["last_sync_duration_ms"] == 1500
    assert bob["state"] == "warning" and bob["reason_code"] == "sync_state_reset"
    # Bob's pass completed (with a warning) and resumed nothing: it is his first full pass.
    assert bob["first_full_sync_at"] and bob["first_full_sync_items"] == 0
    warning_only = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/mailboxes",
                              params={"state": "warning"}))["items"]
    assert [m["address"] for m in warning_only] == ["bob@example.com"]
    # The ended execution refuses further writes.
    problem(w.progress("x", "y"), 409)


def test_run_now_rules(api, anon, site):
    task = new_task(api, site)
    run(api, task)
    problem(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 409)
    problem(api.post(f"/api/v1/exchange-tasks/{uuid.uuid4()}/run"), 404)
    disabled = new_task(api, site, enabled=False)
    problem(api.post(f"/api/v1/exchange-tasks/{disabled['id']}/run"), 409)
    # Stop before any worker claims it: cancelled at once.
    stopped = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/stop"))
    assert stopped["state"] == "cancelled" and stopped["result"] == "cancelled"
    assert task_of(api, task)["status"] == "scheduled"
    problem(api.post(f"/api/v1/exchange-tasks/{task['id']}/stop"), 409)
    events = audit_events(api, resource_id=task["id"])
    assert {"exchange_task.run", "exchange_task.stop"} <= {e["action"] for e in events}


def test_nothing_to_claim_and_site_scoping(api, anon, site):
    other = make_site(api)
    w_other = ScriptedWorker(anon, other["credentials"])
    assert w_other.claim().status_code == 204
    task = new_task(api, site)
    run(api, task)
    # The other site's worker neither claims nor sees this site's execution.
    assert w_other.claim().status_code == 204
    w = claim(anon, site, task["id"])
    w_other.execution, w_other.token = w.execution, w.token
    problem(w_other.progress("x", "y"), 404)
    problem(w_other.lock("anna@example.com"), 404)
    # Writes need the fencing token header.
    r = w.api.post(f"/api/v1/worker/executions/{w.execution['id']}/progress",
                   json={"command": "x"})
    problem(r, 400)
    ok(w.membership(["anna@example.com"]))
    ok(w.lock("anna@example.com"))
    problem(w.lock("zed@example.com"), 422)
    w.finish("anna@example.com")
    ok(w.complete())


def test_idle_polls_and_heartbeats_are_not_logged_at_info(api, anon, server):
    """An idle site polls every few seconds: those lines would bury everything else."""
    idle = make_site(api)
    w = ScriptedWorker(anon, idle["credentials"])
    client = idle["credentials"]["client_id"]
    start = len(server.lines)
    assert w.claim().status_code == 204
    ok(w.heartbeat())
    # A refused claim is not routine: it is logged, and marks the end of what was sent.
    problem(w.api.post("/api/v1/worker/claims", json={}), 422)
    server.wait_for(rf'"status":422.*"client":"{client}"', start=start)
    # (Its token request is a line of its own, not a poll.)
    mine = [line for line in server.lines[start:]
            if f'"client":"{client}"' in line and '"route":"/api/v1/worker/' in line]
    assert [json.loads(line)["status"] for line in mine] == [422], mine
    # Work to claim is an event worth a line.
    task = new_task(api, idle)
    run(api, task)
    start = len(server.lines)
    claim(anon, idle, task["id"])
    server.wait_for(rf'"route":"/api/v1/worker/claims","status":200.*"client":"{client}"',
                    start=start)


def test_skipped_group_members_are_recorded_once_and_checked(api, anon, site):
    definition = make_definition(api)
    task = make_task(api, site=site, definition=definition,
                     group={"kind": "group_email", "value": "staff@example.com"})
    run(api, task)
    w = claim(anon, site, task["id"])
    path = "/membership"
    bad = [
        ({"skipped": [], "skipped_total": 0}, "skipped"),
        ({"mailboxes": ["anna@example.com"], "skipped": [{"address": "x@y.example"}],
          "skipped_total": 1}, "skipped[0].reason"),
        ({"mailboxes": ["anna@example.com"],
          "skipped": [{"address": "not an address", "reason": "external"}],
          "skipped_total": 1}, "skipped[0].address"),
        ({"mailboxes": ["anna@example.com"],
          "skipped": [{"address": "x@y.example", "reason": "External!"}],
          "skipped_total": 1}, "skipped[0].reason"),
        ({"mailboxes": ["anna@example.com"],
          "skipped": [{"address": "x@y.example", "reason": "external"}],
          "skipped_total": 0}, "skipped_total"),
        ({"mailboxes": ["anna@example.com"],
          "skipped": [{"address": "x@y.example", "reason": "external"}]}, "skipped_total"),
    ]
    for body, field in bad:
        problem(w._post(path, body), 422, field)
    x = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{w.execution['id']}"))
    assert x["skipped_members"] == {"total": 0, "listed": []}
    assert x["membership_resolved_at"] is None and x["membership_from_cache"] is None
    problem(w._post(path, {"mailboxes": ["anna@example.com"], "resolved_at": "yesterday"}),
            422, "resolved_at")
    problem(w._post(path, {"error": {"reason_code": "x", "reason_text": "y"},
                           "from_cache": True}), 422, "from_cache")
    problem(w._post(path, {"mailboxes": ["anna@example.com"], "skipped": [{"reason": "x"}],
                           "skipped_total": 1}), 422, "skipped[0].address")
    listed = [{"address": "guest@partner.example", "reason": "external"},
              {"address": "shared@example.com", "reason": "public_folder"},
              {"dn": "cn=Kira Sato,ou=Staff,dc=contoso,dc=example", "reason": "disabled"}]
    ok(w._post(path, {"mailboxes": ["anna@example.com"], "skipped": listed,
                      "skipped_total": 7, "resolved_at": "2026-01-02T03:04:05Z",
                      "from_cache": True}))
    # A second report (a resumed worker) keeps the first.
    ok(w._post(path, {"mailboxes": ["anna@example.com"], "skipped": [], "skipped_total": 0,
                      "resolved_at": "2026-02-02T03:04:05Z", "from_cache": False}))
    x = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{w.execution['id']}"))
    assert x["skipped_members"] == {"total": 7, "listed": listed}
    assert x["membership_resolved_at"] == "2026-01-02T03:04:05Z"
    assert x["membership_from_cache"] is True
    # A worker's clock ahead of the server's does not put the resolution in the future. A site
    # of its own: w sends no heartbeats, and on a loaded machine its lapsed lease would hand
    # the first execution back out to w2.
    other = make_site(api)
    run_task = make_task(api, site=other, definition=definition,
                         group={"kind": "group_email", "value": "staff@example.com"})
    run(api, run_task)
    w2 = claim(anon, other, run_task["id"])
    ok(w2._post(path, {"mailboxes": ["anna@example.com"], "resolved_at": "2999-01-01T00:00:00Z"}))
    x = ok(api.get(f"/api/v1/exchange-tasks/{run_task['id']}/executions/{w2.execution['id']}"))
    assert x["membership_resolved_at"] < "2999" and x["membership_from_cache"] is None


def test_heartbeat_marks_the_site_online_and_renews_leases(api, anon):
    site = make_site(api)
    assert ok(api.get(f"/api/v1/sites/{site['id']}"))["status"] == "offline"
    task = new_task(api, site)
    run(api, task)
    w = claim(anon, site)
    reply = ok(w.heartbeat())
    assert reply["heartbeat_seconds"] == 2 and reply["lease_seconds"] == LEASE_S
    assert reply["executions"] == [{"id": w.execution["id"], "fencing_token": w.token,
                                    "lease": "renewed", "cancel_requested": False}]
    got = ok(api.get(f"/api/v1/sites/{site['id']}"))
    assert got["status"] == "online" and got["workers"][0]["worker_id"] == w.worker_id
    assert got["version"] == "test" and got["host"] == "test-host"
    stale = ok(w.heartbeat(executions=[{"id": w.execution["id"], "fencing_token": 99}]))
    assert stale["executions"][0]["lease"] == "lost"
    # Three missed heartbeats (of 2 s) later the site is offline.
    wait_until(lambda: ok(api.get(f"/api/v1/sites/{site['id']}"))["status"] == "offline",
               timeout=20, what="the site to go offline")
    problem(w.heartbeat(executions=[{"id": "nope", "fencing_token": 1}]), 422)


def test_lease_expiry_requeues_and_fences_the_old_worker(api, anon, site, database):
    task = new_task(api, site, "anna@example.com;bob@example.com")
    run(api, task)
    old = claim(anon, site, task["id"])
    ok(old.membership(["anna@example.com", "bob@example.com"]))
    ok(old.lock("anna@example.com"))
    ok(old.submit(hierarchy_batch("anna@example.com", None, "H1", [folder("F1", "Inbox")])))
    ok(old.submit(folder_batch("anna@example.com", "F1", None, "S1", [message("I1", "F1")])))
    # The worker dies: no heartbeat. The server re-queues the execution after the lease.
    execution = wait_until(
        lambda: (lambda e: e if e["state"] == "queued" else None)(
            ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/"
                       f"{old.execution['id']}"))),
        timeout=30, what="the lease to expire")
    assert execution["lease_expiries"] == 1
    assert task_of(api, task)["status"] == "queued"
    counts = database.query("SELECT count(*) FROM archive_items")[0][0]

    rescuer = claim(anon, site, task["id"])
    assert rescuer.execution["id"] == old.execution["id"]
    assert rescuer.token == old.token + 1
    assert rescuer.execution["membership_known"] is True
    assert [m["address"] for m in rescuer.execution["mailboxes"]] == ["anna@example.com",
                                                                      "bob@example.com"]
    # Every write of the old claim is refused and changes nothing.
    before = database.query("SELECT live_state, sequence FROM exchange_tasks WHERE id = %s",
                            task["id"])
    for r in (old.progress("zombie", "zombie"), old.lock("anna@example.com"),
              old.submit(folder_batch("anna@example.com", "F1", "S1", "S2",
                                      [message("I9", "F1")])),
              old.finish("anna@example.com"), old.complete(), old.release()):
        doc = problem(r, 409)
        assert doc["type"] == "urn:mse:problem:lease-lost"
    assert database.query("SELECT live_state, sequence FROM exchange_tasks WHERE id = %s",
                          task["id"]) == before
    assert database.query("SELECT count(*) FROM archive_items")[0][0] == counts
    # The rescuer resumes from the last committed checkpoints.
    assert ok(rescuer.lock("anna@example.com"))["checkpoints"] == {
        "hierarchy": "H1", "folders": {"F1": "S1"}}
    ok(rescuer.submit(folder_batch("anna@example.com", "F1", "S1", "S2", [message("I2", "F1")])))
    rescuer.finish("anna@example.com")
    ok(rescuer.lock("bob@example.com"))
    rescuer.finish("bob@example.com")
    done = ok(rescuer.complete())
    assert done["claims"] == 2 and done["lease_expiries"] == 1 and done["result"] == "ok"


def test_checkpoint_conflicts_and_replays(api, anon, site, database):
    task = new_task(api, site)
    run(api, task)
    w = claim(anon, site)
    ok(w.membership(["anna@example.com"]))
    ok(w.lock("anna@example.com"))
    first = folder_batch("anna@example.com", "F1", None, "S1", [message("I1", "F1")])
    assert ok(w.submit(first))["sequence"] == 1
    # A replay of an applied batch is acknowledged, not applied again.
    again = ok(w.submit(first))
    assert again == {"applied": False, "replayed": True, "sequence": 1}
    # A base that is not the stored checkpoint is refused, nothing applied.
    stale = folder_batch("anna@example.com", "F1", None, "S9", [message("I7", "F1")])
    doc = problem(w.submit(stale), 409)
    assert doc["type"] == "urn:mse:problem:checkpoint-conflict"
    wrong = folder_batch("anna@example.com", "F1", "S0", "S9", [message("I7", "F1")])
    problem(w.submit(wrong), 409)
    assert database.query("SELECT count(*) FROM archive_items WHERE item_id = 'I7'")[0][0] == 0
    assert task_of(api, task)["sequence"] == 1
    # The right base goes through.
    assert ok(w.submit(folder_batch("anna@example.com", "F1", "S1", "S2",
                                    [message("I7", "F1")])))["sequence"] == 2
    # Without the mailbox lock, nothing is applied.
    doc = problem(w.submit(folder_batch("bob@example.com", "F1", None, "X", [])), 409)
    assert doc["type"] == "urn:mse:problem:mailbox-not-locked"
    w.finish("anna@example.com")
    ok(w.complete())


def test_bad_batches_change_nothing(api, anon, site, database):
    task = new_task(api, site)
    run(api, task)
    w = claim(anon, site)
    ok(w.membership(["anna@example.com"]))
    ok(w.lock("anna@example.com"))
    before = database.query("SELECT count(*) FROM archive_items")[0][0]
    bad = folder_batch("anna@example.com", "F1", None, "S1",
                       [message("I1", "F1", sent="yesterday", size="big", is_read="no")])
    bad["scope"] = "folder"
    doc = problem(w.submit(bad), 422)
    named = {e["field"] for e in doc["errors"]}
    assert {"items[0].sent", "items[0].size", "items[0].is_read"} <= named
    nofolder = folder_batch("anna@example.com", "F1", None, "S1")
    del nofolder["folder_id"]
    problem(w.submit(nofolder), 422, "folder_id")
    unknown = folder_batch("anna@example.com", "F1", None, "S1")
    unknown["colour"] = "red"
    problem(w.submit(unknown), 422, "colour")
    problem(w.submit({"batch_id": "x"}), 422, "batch_id")
    r = w.api.post(f"/api/v1/worker/executions/{w.execution['id']}/submissions",
                   data="{not json", headers={"Content-Type": "application/json",
                                              "MSE-Fencing-Token": str(w.token)})
    problem(r, 400)
    assert database.query("SELECT count(*) FROM archive_items")[0][0] == before
    assert task_of(api, task)["sequence"] == 0
    w.finish("anna@example.com")
    ok(w.complete())


def test_records_with_only_the_required_fields_are_stored(api, anon, site, database):
    """The batch format requires only a record's id and change; absent optional fields are
    stored as the defaults the format gives them, never refused as a constraint violation."""
    task = new_task(api, site, "bare@example.com")
    run(api, task)
    w = claim(anon, site)
    ok(w.membership(["bare@example.com"]))
    ok(w.lock("bare@example.com"))
    ok(w.submit(hierarchy_batch("bare@example.com", None, "H1",
                                [{"folder_id": "F9", "change": "upsert"}])))
    ok(w.submit(folder_batch("bare@example.com", "F9", None, "S1",
                             [{"item_id": "B1", "change": "upsert"}])))
    assert database.query("SELECT folder_id, path FROM archive_folders "
                          "WHERE mailbox = 'bare@example.com'") == [("F9", "/")]
    assert database.query("SELECT folder_id FROM archive_items "
                          "WHERE mailbox = 'bare@example.com'") == [("F9",)]
    w.finish("bare@example.com")
    ok(w.complete())
    cal = new_task(api, site, "barecal@example.com", type_="calendar_replication")
    run(api, cal)
    w = claim(anon, site)
    ok(w.membership(["barecal@example.com"]))
    ok(w.lock("barecal@example.com"))
    ok(w.submit(folder_batch("barecal@example.com", "C9", None, "S1",
                             appointments=[{"item_id": "E9", "change": "upsert"}])))
    assert database.query("SELECT folder_id FROM archive_appointments "
                          "WHERE mailbox = 'barecal@example.com'") == [("C9",)]
    w.finish("barecal@example.com")
    ok(w.complete())


def test_two_tasks_contend_for_one_mailbox(api, anon, site):
    first = new_task(api, site, "shared@example.com")
    second = new_task(api, site, "shared@example.com")
    run(api, first)
    run(api, second)
    a = claim(anon, site, first["id"])
    b = claim(anon, site, second["id"])
    ok(a.membership(["shared@example.com"]))
    ok(b.membership(["shared@example.com"]))
    ok(a.lock("shared@example.com"))
    doc = problem(b.lock("shared@example.com"), 409)
    assert doc["type"] == "urn:mse:problem:mailbox-locked"
    assert first["name"] in doc["detail"]
    waiting = task_of(api, second)
    assert waiting["status"] == "waiting" and first["name"] in waiting["latest_detail"]
    # Command and detail name the same mailbox: the one waited for.
    assert waiting["command"] == "Processing mailbox 1 of 1: shared@example.com"
    assert "shared@example.com" in waiting["latest_detail"]
    boxes = ok(api.get(f"/api/v1/exchange-tasks/{second['id']}/mailboxes"))["items"]
    assert boxes[0]["state"] == "waiting_for_lock"
    # The holder finishes the mailbox; the waiting task gets the lock and both finish.
    a.finish("shared@example.com")
    ok(b.lock("shared@example.com"))
    assert task_of(api, second)["status"] == "running"
    b.finish("shared@example.com")
    assert ok(a.complete())["result"] == "ok"
    assert ok(b.complete())["result"] == "ok"


def test_a_lock_dies_with_its_holders_lease(api, anon, site):
    # Locks span sites; another site's worker cannot claim a's execution should a's short
    # lease lapse early on a loaded machine.
    other_site = make_site(api)
    first = new_task(api, site, "orphan@example.com")
    second = new_task(api, other_site, "orphan@example.com")
    run(api, first)
    a = claim(anon, site, first["id"])
    ok(a.membership(["orphan@example.com"]))
    ok(a.lock("orphan@example.com"))
    run(api, second)
    b = claim(anon, other_site, second["id"])
    ok(b.membership(["orphan@example.com"]))
    ok(a.heartbeat())
    problem(b.lock("orphan@example.com"), 409)
    # a dies; b keeps heartbeating and gets the mailbox once a's lease is gone.
    def try_lock():
        ok(b.heartbeat())
        return b.lock("orphan@example.com").status_code == 200
    wait_until(try_lock, timeout=30, what="the dead holder's lock to lapse")
    b.finish("orphan@example.com")
    ok(b.complete())


def test_stop_while_running_ends_after_the_current_mailbox(api, anon, site):
    task = new_task(api, site, "a1@example.com;a2@example.com;a3@example.com")
    run(api, task)
    w = claim(anon, site)
    ok(w.membership(["a1@example.com", "a2@example.com", "a3@example.com"]))
    ok(w.lock("a1@example.com"))
    assert ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/stop"), 202)["cancel_requested"]
    assert ok(w.progress("Processing mailbox 1 of 3", "Inbox"))["cancel_requested"] is True
    assert ok(w.heartbeat())["executions"][0]["cancel_requested"] is True
    w.finish("a1@example.com")
    done = ok(w.complete())
    assert done["state"] == "cancelled" and done["result"] == "cancelled"
    assert done["mailboxes"] == {"total": 3, "pending": 0, "syncing": 0, "waiting_for_lock": 0,
                                 "healthy": 1, "warning": 0, "error": 0, "skipped": 2}
    assert task_of(api, task)["status"] == "scheduled"


def test_changes_while_running_apply_at_the_end(api, anon, site):
    task = new_task(api, site)
    path = f"/api/v1/exchange-tasks/{task['id']}"
    run(api, task)
    w = claim(anon, site)
    later = make_schedule(api, timezone="UTC", start_time="23:00")
    pending = ok(api.patch(path, json={"schedule_id": later["id"], "name": "renamed"}), 202)
    assert pending["pending_changes"] == {"schedule_id": later["id"], "name": "renamed"}
    assert pending["name"] == task["name"]
    # The execution keeps the settings it started with.
    assert w.execution["task"]["name"] == task["name"]
    ok(w.membership(["anna@example.com"]))
    ok(w.lock("anna@example.com"))
    w.finish("anna@example.com")
    ok(w.complete())
    applied = task_of(api, task)
    assert applied["name"] == "renamed" and applied["schedule_id"] == later["id"]
    assert applied["pending_changes"] is None and applied["next_run_at"].endswith("T23:00:00Z")
    assert applied["updated_by"] == BOOTSTRAP_ID
    events = audit_events(api, resource_id=task["id"], action="exchange_task.update_applied")
    assert len(events) == 1 and events[0]["after"]["name"] == "renamed"


def test_delete_while_running_happens_at_the_end_and_keeps_data(api, anon, site, database):
    task = new_task(api, site, "keep@example.com")
    path = f"/api/v1/exchange-tasks/{task['id']}"
    run(api, task)
    w = claim(anon, site)
    ok(w.membership(["keep@example.com"]))
    ok(w.lock("keep@example.com"))
    ok(w.submit(folder_batch("keep@example.com", "F1", None, "S1", [message("K1", "F1")])))
    assert ok(api.delete(path), 202)["deletion_pending"] is True
    w.finish("keep@example.com")
    ok(w.complete())
    problem(api.get(path), 404)
    # Replicated data and the execution history stay.
    assert database.query("SELECT count(*) FROM archive_items WHERE item_id = 'K1'")[0][0] == 1
    assert database.query("SELECT count(*) FROM executions WHERE task_id = %s",
                          task["id"])[0][0] == 1


def test_unresolvable_group_fails_the_execution(api, anon, site):
    task = make_task(api, site=site, group={"kind": "ad_group",
                                            "value": "CN=staff,CN=Users,DC=mcdev,DC=internal"})
    run(api, task)
    w = claim(anon, site)
    ok(w.membership(error={"reason_code": "no_directory",
                           "reason_text": "no directory configured for this site"}))
    done = ok(w.complete())
    assert done["result"] == "failed"
    assert done["error"] == {"code": "no_directory",
                             "text": "no directory configured for this site"}
    assert task_of(api, task)["health"] == "failed"


def test_release_hands_the_execution_back(api, anon, site):
    task = new_task(api, site)
    run(api, task)
    w = claim(anon, site)
    ok(w.membership(["anna@example.com"]))
    ok(w.lock("anna@example.com"))
    assert w.release().status_code == 204
    assert task_of(api, task)["status"] == "queued"
    again = claim(anon, site, task["id"])
    assert again.token == w.token + 1
    ok(again.lock("anna@example.com"))
    again.finish("anna@example.com")
    ok(again.complete())


def test_full_pass_sweeps_what_it_did_not_see(api, anon, site, database):
    task = new_task(api, site, "sweep@example.com")
    run(api, task)
    w = claim(anon, site)
    ok(w.membership(["sweep@example.com"]))
    ok(w.lock("sweep@example.com"))
    ok(w.submit(folder_batch("sweep@example.com", "F1", None, "S1",
                             [message("A", "F1"), message("B", "F1")], complete=False)))
    ok(w.submit(folder_batch("sweep@example.com", "F1", "S1", "S2", [message("C", "F1")])))
    # The state became invalid: the worker reads the folder again; C is gone meanwhile.
    ok(w.submit(folder_batch("sweep@example.com", "F1", "S2", "R1", [message("A", "F1")],
                             complete=False, reset=True)))
    ok(w.submit(folder_batch("sweep@example.com", "F1", "R1", "R2", [message("B", "F1")])))
    rows = dict(database.query("SELECT item_id, deleted_at IS NOT NULL FROM archive_items "
                               "WHERE mailbox = 'sweep@example.com'"))
    assert rows == {"A": False, "B": False, "C": True}
    w.finish("sweep@example.com")
    ok(w.complete())


def test_attachment_content_is_content_addressed(api, anon, site):
    task = new_task(api, site, "cal@example.com", type_="calendar_replication")
    run(api, task)
    w = claim(anon, site)
    data = b"minutes of the meeting\n"
    sha = hashlib.sha256(data).hexdigest()
    problem(w.put_content(sha, b"other bytes"), 422)
    problem(w.api.get(f"/api/v1/worker/attachments/{sha}"), 404)
    assert ok(w.put_content(sha, data), 201)["created"] is True
    assert ok(w.put_content(sha, data), 200)["created"] is False
    assert ok(w.api.get(f"/api/v1/worker/attachments/{sha}")) == {"sha256": sha, "size": 23}
    assert w.api.head(f"/api/v1/worker/attachments/{sha}").status_code == 200
    problem(w.api.get("/api/v1/worker/attachments/NOTAHASH"), 404)
    ok(w.membership(["cal@example.com"]))
    ok(w.lock("cal@example.com"))
    appt = {"item_id": "E1", "change": "upsert", "folder_id": "C1", "subject": "Review",
            "start": "2026-02-02T09:00:00Z", "end": "2026-02-02T10:00:00Z",
            "attachments": [{"attachment_id": "AT1", "name": "minutes.txt",
                             "content_type": "text/plain", "size": 23, "sha256": sha}]}
    ok(w.submit(folder_batch("cal@example.com", "C1", None, "S1", appointments=[appt])))
    missing = dict(appt, item_id="E2", attachments=[dict(appt["attachments"][0],
                                                        sha256="0" * 64)])
    doc = problem(w.submit(folder_batch("cal@example.com", "C1", "S1", "S2",
                                        appointments=[missing])), 422)
    assert "0" * 64 in doc["detail"]
    w.finish("cal@example.com")
    ok(w.complete())


def test_scheduler_queues_due_tasks_and_skips_when_active(api, anon, site, database):
    task = new_task(api, site)
    database.query("UPDATE exchange_tasks SET next_run_at = now() - interval '1 second' "
                   "WHERE id = %s", task["id"])
    queued = wait_until(lambda: ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions"))
                        ["items"], what="a scheduled execution")
    assert queued[0]["trigger"] == "schedule" and queued[0]["state"] == "queued"
    now_task = task_of(api, task)
    assert now_task["status"] == "queued" and now_task["next_run_at"] > queued[0]["queued_at"]
    # Due again while the first is still active: recorded as skipped.
    database.query("UPDATE exchange_tasks SET next_run_at = now() - interval '1 second' "
                   "WHERE id = %s", task["id"])
    runs = wait_until(lambda: (lambda items: items if len(items) == 2 else None)(
        ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions"))["items"]),
        what="a skipped execution")
    assert runs[0]["state"] == "skipped" and runs[0]["result"] == "skipped"
    assert runs[1]["state"] == "queued"
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/stop"))


def test_two_servers_schedule_each_due_task_once(api, site, database):
    tasks = [new_task(api, site) for _ in range(12)]
    ids = [t["id"] for t in tasks]
    second = harness.Server(database.conninfo, env=FAST)
    try:
        database.query("UPDATE exchange_tasks SET next_run_at = now() WHERE id = ANY(%s::uuid[])",
                       ids)
        wait_until(lambda: database.query(
            "SELECT count(*) FROM executions WHERE task_id = ANY(%s::uuid[])", ids)[0][0] >= 12,
            what="executions for every task")
        time.sleep(1)  # let both schedulers run a few more rounds
        rows = database.query("SELECT task_id, count(*) FROM executions "
                              "WHERE task_id = ANY(%s::uuid[]) GROUP BY task_id", ids)
        assert len(rows) == 12 and all(n == 1 for _, n in rows), rows
    finally:
        second.stop_clean()
        for t in ids:
            api.post(f"/api/v1/exchange-tasks/{t}/stop")


def test_concurrent_claims_hand_out_each_execution_once(api, anon):
    site = make_site(api)
    tasks = [new_task(api, site) for _ in range(8)]
    for t in tasks:
        run(api, t)
    workers = [ScriptedWorker(anon, site["credentials"]) for _ in range(4)]
    got, lock = [], threading.Lock()

    def drain(w):
        while True:
            r = w.claim()
            if r.status_code == 204:
                return
            with lock:
                got.append(r.json()["id"])

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 8 and len(set(got)) == 8


def test_metrics(api, anon, server):
    r = anon.get("/metrics")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    assert 'mse_http_requests_total{method="POST",route="/api/v1/exchange-tasks/{id}/run",' \
           'status="202"}' in text
    assert "mse_http_request_duration_seconds_bucket" in text
    assert 'mse_executions{state="completed"}' in text
    expiries = re.search(r"^mse_lease_expiries_total (\d+)$", text, re.M)
    assert expiries and int(expiries.group(1)) >= 1  # the lease tests above let some run out
    assert re.search(r"^mse_submissions_applied_total [1-9]", text, re.M)
    assert 'mse_db_pool_connections{state="in_use"}' in text


def test_metrics_can_require_a_token(database):
    srv = harness.Server(database.conninfo, env={"MSE_METRICS_AUTH": "true"})
    try:
        anon = ApiClient(srv.url)
        problem(anon.get("/metrics"), 401)
        admin = anon.as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        assert admin.get("/metrics").status_code == 200
    finally:
        srv.stop_clean()


def test_admin_tokens_cannot_use_worker_routes(api):
    problem(api.post("/api/v1/worker/claims", json={"worker_id": unique("w")}), 403)


def test_bad_appointment_records_are_named(api, anon, site):
    task = new_task(api, site, "cal@example.com", type_="calendar_replication")
    run(api, task)
    w = claim(anon, site)
    ok(w.membership(["cal@example.com"]))
    ok(w.lock("cal@example.com"))
    appt = {"item_id": "E1", "change": "upsert", "folder_id": "C1", "subject": "Review",
            "start": "2026-02-02T09:00:00Z", "end": "2026-02-02T10:00:00Z",
            "recurrence": "weekly", "deleted_occurrences": ["next tuesday"],
            "modified_occurrences": [{"start": "soon"}],
            "attachments": [{"name": "a.txt", "content_type": "text/plain\r\nX-Evil: 1",
                             "size": 1, "sha256": "0" * 64}]}
    doc = problem(w.submit(folder_batch("cal@example.com", "C1", None, "S1",
                                        appointments=[appt])), 422)
    named = {e["field"] for e in doc["errors"]}
    assert {"appointments[0].recurrence", "appointments[0].deleted_occurrences",
            "appointments[0].modified_occurrences",
            "appointments[0].attachments"} <= named, named
    assert task_of(api, task)["sequence"] == 0
    w.finish("cal@example.com")
    ok(w.complete())
