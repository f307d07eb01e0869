# SPDX-License-Identifier: Apache-2.0
"""What a site's credentials can reach (security review F1, F5, F7). A site is the least
trusted principal: its workers run on customer servers. Each test plays the attack from the
review over real HTTP with a second site and checks that nothing of the first one's archive
changed — and that the attacker's own writes stay in its own partition."""
import hashlib
import uuid

import pytest

from admin_helpers import make_definition, make_site, make_task, ok, problem
from conftest import FAST, admin_server
from scripted_worker import ScriptedWorker, folder, folder_batch, hierarchy_batch, message


@pytest.fixture(scope="module")
def server(database):
    # Scripted workers here send no heartbeats: a long lease, so that a loaded machine cannot
    # let a holder's claim lapse between the steps of an attack (it did once beside api.auth).
    yield from admin_server(database, {**FAST, "MSE_LEASE_SECONDS": 600})


def task_for(api, site, kind, value, type_="mailbox_folder_replication"):
    return make_task(api, site=site, definition=make_definition(api, type_=type_),
                     group={"kind": kind, "value": value})


def start(api, anon, site, task, members):
    """A scripted worker of site holding the claim of task, membership reported."""
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    assert w.execution["task"]["id"] == task["id"]
    ok(w.membership(members))
    return w


def archive_a(api, anon, address, items=13):
    """Site A's task archives `items` live messages of address in its Inbox."""
    site = make_site(api)
    task = task_for(api, site, "mailbox", address)
    w = start(api, anon, site, task, [address])
    ok(w.lock(address))
    ok(w.submit(hierarchy_batch(address, None, "H1", [folder("F-in", "Inbox")])))
    ok(w.submit(folder_batch(address, "F-in", None, "S1",
                             [message(f"A{i:02}", "F-in") for i in range(items)])))
    ok(w.finish(address), 204)
    ok(w.complete())
    return site, task


def view(api, address):
    mbox = ok(api.get(f"/api/v1/mailboxes/{address}"))
    live = ok(api.get(f"/api/v1/mailboxes/{address}/items", params={"limit": 500}))["items"]
    return mbox, sorted(i["item_id"] for i in live)


def rows_of_task(database, task_id):
    return database.query(
        "SELECT i.item_id, i.deleted_at IS NULL FROM archive_items i JOIN archive_partitions p"
        " ON p.id = i.partition_id WHERE p.task_id = %s ORDER BY 1", task_id)


def test_membership_outside_a_mailbox_group_is_refused_and_nothing_recorded(api, anon,
                                                                            database):
    """The review's F1 attack: site B's task has group sec-b; it reports farid."""
    victim = "farid.haddad@contoso.example"
    _, task_a = archive_a(api, anon, victim)
    before = view(api, victim)
    site_b = make_site(api)
    task_b = task_for(api, site_b, "mailbox", "sec-b@contoso.example")
    ok(api.post(f"/api/v1/exchange-tasks/{task_b['id']}/run"), 202)
    w = ScriptedWorker(anon, site_b["credentials"])
    ok(w.claim())
    doc = problem(w.membership([victim]), 422, "mailboxes")
    assert victim in doc["errors"][0]["message"]
    # Nothing recorded: the execution has no mailboxes, and no lock can be taken on farid.
    assert database.scalar("SELECT count(*) FROM execution_mailboxes WHERE execution_id = %s",
                           w.execution["id"]) == 0
    assert database.scalar("SELECT count(*) FROM task_mailboxes WHERE task_id = %s",
                           task_b["id"]) == 0
    problem(w.lock(victim), 422)
    batch = folder_batch(victim, "F-in", None, "X1", [message("EVIL", "F-in")], reset=True)
    problem(w.submit(batch), 409)
    assert view(api, victim) == before
    assert len(rows_of_task(database, task_a["id"])) == 13
    # The real member is still accepted.
    ok(w.membership(["sec-b@contoso.example"]))


def test_membership_outside_a_mailbox_list_is_refused(api, anon, database):
    site = make_site(api)
    task = task_for(api, site, "mailbox_list", "Ana@Example.com; bo@example.com")
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    problem(w.membership(["ana@example.com", "eve@example.com"]), 422, "mailboxes")
    assert database.scalar("SELECT count(*) FROM execution_mailboxes WHERE execution_id = %s",
                           w.execution["id"]) == 0
    # Case and spacing of the stored list do not matter; a subset is a valid report (a
    # mailbox may be missing in Exchange).
    got = ok(w.membership(["ana@example.com"]))
    assert [m["address"] for m in got["mailboxes"]] == ["ana@example.com"]


def test_another_tasks_reset_delete_and_folder_removal_leave_a_partition_intact(api, anon,
                                                                               database):
    """Task B (another site) may replicate the same mailbox; whatever its batches say,
    task A's archived rows stay as A left them."""
    shared = "shared-reset@example.com"
    _, task_a = archive_a(api, anon, shared)
    a_rows = rows_of_task(database, task_a["id"])
    site_b = make_site(api)
    task_b = task_for(api, site_b, "mailbox", shared)
    w = start(api, anon, site_b, task_b, [shared])
    ok(w.lock(shared))
    ok(w.submit(hierarchy_batch(shared, None, "HB", [folder("F-in", "Inbox")])))
    ok(w.submit(folder_batch(shared, "F-in", None, "B1", [message("A00", "F-in"),
                                                           message("B01", "F-in")],
                             reset=True)))
    ok(w.submit(folder_batch(shared, "F-in", "B1", "B2",
                             [{"item_id": "A00", "change": "delete"},
                              {"item_id": "A01", "change": "remove"}], complete=False)))
    gone = dict(folder("F-in", "Inbox"), change="delete")
    ok(w.submit(hierarchy_batch(shared, "HB", "HB2", [gone])))
    ok(w.finish(shared), 204)
    ok(w.complete())
    assert rows_of_task(database, task_a["id"]) == a_rows
    assert all(live for _, live in a_rows) and len(a_rows) == 13
    # B's partition holds exactly what B sent: its sweep and removals were its own.
    assert rows_of_task(database, task_b["id"]) == [("A00", False), ("B01", False)]
    # The view shows the partition written last (B's), and names both.
    mbox, live = view(api, shared)
    assert live == []
    shown = {(p["task_id"], p["site_id"], p["feature"], p["shown"]) for p in mbox["partitions"]}
    assert shown == {(task_a["id"], task_a["site_id"], "mail", False),
                     (task_b["id"], site_b["id"], "mail", True)}


def test_the_view_follows_the_partition_written_last(api, anon, database):
    shared = "two-tasks@example.com"
    site, task_a = archive_a(api, anon, shared, items=3)
    task_b = task_for(api, site, "mailbox", shared)
    w = start(api, anon, site, task_b, [shared])
    ok(w.lock(shared))
    ok(w.submit(hierarchy_batch(shared, None, "H1", [folder("F-in", "Inbox")])))
    ok(w.submit(folder_batch(shared, "F-in", None, "S1", [message("B1", "F-in")])))
    ok(w.finish(shared), 204)
    ok(w.complete())
    mbox, live = view(api, shared)
    assert live == ["B1"] and mbox["item_count"] == 1
    # A's next pass writes again: its own copy, untouched by B, is shown once more.
    w = start(api, anon, site, task_a, [shared])
    ok(w.lock(shared))
    ok(w.submit(folder_batch(shared, "F-in", "S1", "S2", [message("A03", "F-in")])))
    ok(w.finish(shared), 204)
    ok(w.complete())
    mbox, live = view(api, shared)
    assert live == ["A00", "A01", "A02", "A03"] and mbox["item_count"] == 4
    assert [p["task_id"] for p in mbox["partitions"] if p["shown"]] == [task_a["id"]]


def test_a_batch_id_replays_only_within_its_own_execution(api, anon, database):
    """F5: site B submitting site A's applied batch id is not told A's sequence, and its own
    batch is applied."""
    site_a = make_site(api)
    task_a = task_for(api, site_a, "mailbox", "replay-a@example.com")
    a = start(api, anon, site_a, task_a, ["replay-a@example.com"])
    ok(a.lock("replay-a@example.com"))
    first = folder_batch("replay-a@example.com", "F1", None, "S1", [message("R1", "F1")])
    assert ok(a.submit(first))["sequence"] == 1
    site_b = make_site(api)
    task_b = task_for(api, site_b, "mailbox", "replay-b@example.com")
    b = start(api, anon, site_b, task_b, ["replay-b@example.com"])
    ok(b.lock("replay-b@example.com"))
    theirs = folder_batch("replay-b@example.com", "F1", None, "T1", [message("R2", "F1")])
    theirs["batch_id"] = first["batch_id"]
    got = ok(b.submit(theirs))
    assert got["applied"] is True and got["replayed"] is False and got["sequence"] == 1
    assert [i for i, _ in rows_of_task(database, task_b["id"])] == ["R2"]
    # Within one execution a replay is still recognised.
    assert ok(a.submit(first)) == {"applied": False, "replayed": True, "sequence": 1}


def test_attachment_existence_is_answered_per_site(api, anon, database):
    """F7: a site cannot probe content another site uploaded, nor reference it unless it
    uploads it; de-duplication still stores it once."""
    data = b"board minutes, confidential"
    sha = hashlib.sha256(data).hexdigest()
    a = ScriptedWorker(anon, make_site(api)["credentials"])
    b = ScriptedWorker(anon, make_site(api)["credentials"])
    assert ok(a.put_content(sha, data), 201)["created"] is True
    assert ok(a.api.get(f"/api/v1/worker/attachments/{sha}"))["size"] == len(data)
    problem(b.api.get(f"/api/v1/worker/attachments/{sha}"), 404)
    assert b.api.head(f"/api/v1/worker/attachments/{sha}").status_code == 404
    # B's upload looks like a first upload to B, and stores nothing twice.
    assert ok(b.put_content(sha, data), 201)["created"] is True
    assert ok(b.put_content(sha, data), 200)["created"] is False
    assert ok(b.api.get(f"/api/v1/worker/attachments/{sha}"))["size"] == len(data)
    assert database.scalar("SELECT count(*) FROM blobs WHERE sha256 = %s", sha) == 1


def test_a_batch_may_reference_only_content_its_site_uploaded(api, anon, database):
    data = b"another site's attachment"
    sha = hashlib.sha256(data).hexdigest()
    other = ScriptedWorker(anon, make_site(api)["credentials"])
    ok(other.put_content(sha, data), 201)
    site = make_site(api)
    task = task_for(api, site, "mailbox", "refs@example.com", type_="calendar_replication")
    w = start(api, anon, site, task, ["refs@example.com"])
    ok(w.lock("refs@example.com"))
    appt = {"item_id": "E1", "change": "upsert", "subject": "s",
            "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z",
            "attachments": [{"attachment_id": "AT1", "name": "x.txt", "content_type":
                             "text/plain", "size": len(data), "sha256": sha}]}
    batch = folder_batch("refs@example.com", "C1", None, "S1", appointments=[appt])
    doc = problem(w.submit(batch), 422)
    assert sha in doc["detail"]
    assert database.scalar("SELECT count(*) FROM archive_appointments a JOIN archive_partitions"
                           " p ON p.id = a.partition_id WHERE p.task_id = %s", task["id"]) == 0
    ok(w.put_content(sha, data), 201)
    batch["batch_id"] = str(uuid.uuid4())
    ok(w.submit(batch))


def test_no_execution_route_serves_another_sites_execution(api, anon, database):
    """Site B holding site A's execution id and fencing token still reaches nothing: every
    execution route of the worker protocol answers 404 and changes nothing."""
    address = "route-a@example.com"
    site_a = make_site(api)
    task_a = task_for(api, site_a, "mailbox", address)
    a = start(api, anon, site_a, task_a, [address])
    ok(a.lock(address))
    ok(a.submit(folder_batch(address, "F1", None, "S1", [message("R1", "F1")])))
    before = database.query(
        "SELECT e.state, e.fencing_token, e.submissions, t.sequence, t.command,"
        " t.latest_detail FROM executions e JOIN exchange_tasks t ON t.id = e.task_id"
        " WHERE e.id = %s", a.execution["id"])
    rows = rows_of_task(database, task_a["id"])
    intruder = ScriptedWorker(anon, make_site(api)["credentials"])
    intruder.execution, intruder.token = a.execution, a.token
    attempts = {
        "membership": intruder.membership([address]),
        "progress": intruder.progress("x", "y"),
        "lock": intruder.lock(address),
        "submissions": intruder.submit(folder_batch(address, "F1", "S1", "S2",
                                                    [message("EVIL", "F1")], reset=True)),
        "finish": intruder.finish(address),
        "complete": intruder.complete(),
        "release": intruder.release(),
    }
    for route, r in attempts.items():
        assert r.status_code == 404, (route, r.status_code, r.text)
    # Its heartbeat cannot renew the other site's lease either.
    beat = ok(intruder.heartbeat())
    assert [e["lease"] for e in beat["executions"]] == ["lost"], beat
    assert database.query(
        "SELECT e.state, e.fencing_token, e.submissions, t.sequence, t.command,"
        " t.latest_detail FROM executions e JOIN exchange_tasks t ON t.id = e.task_id"
        " WHERE e.id = %s", a.execution["id"]) == before
    assert rows_of_task(database, task_a["id"]) == rows
    ok(a.finish(address), 204)
    ok(a.complete())
