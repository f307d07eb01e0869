# SPDX-License-Identifier: Apache-2.0
"""The archive's confirmation of Mailbox Storage Management candidates
(docs/storage-management.md): a worker holding a mailbox's lock asks, in batches, whether each
candidate is archived and whether the mailbox's user may see the archived copy. Driven over
HTTP by scripted workers with a site's credentials against archives written by sync tasks and
the journal."""
import hashlib
import time
import uuid

import pytest

from admin_helpers import make_definition, make_task, ok, problem
from conftest import FAST, admin_server
from scripted_worker import ScriptedWorker, folder, folder_batch, hierarchy_batch, message
from test_sync_content import SyncSession, make_connection, mailbox_address

ROUTE = "/confirmations"


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, {"MSE_SCHEDULER_INTERVAL_MS": FAST[
        "MSE_SCHEDULER_INTERVAL_MS"]})


def archive(session, item_id, to=None, sender="a@example.com"):
    """Archives one message with content in the session's mailbox; returns its record."""
    sha, size = session.content(f"{item_id} {uuid.uuid4()}")
    rec = message(item_id, "inbox", content_sha256=sha, content_size=size,
                  **{"from": {"name": "A", "email": sender},
                     "sender": {"name": "A", "email": sender}})
    if to is not None:
        rec["to"] = [{"name": "", "email": t} for t in to]
    ok(session.folder("inbox", [rec]))
    return rec


def msm_claim(api, anon, site, mailbox):
    """An MSM task of the site for mailbox, run now, claimed, holding the mailbox's lock."""
    definition = make_definition(api, "mailbox_storage_management",
                                 {"action": "message_delete", "older_than_days": 30})
    task = make_task(api, site=site, definition=definition,
                     group={"kind": "mailbox", "value": mailbox})
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = claim_task(anon, site, task)
    ok(w.membership([mailbox]))
    return w


def claim_task(anon, site, task):
    w = ScriptedWorker(anon, site["credentials"])
    deadline = time.monotonic() + 30
    while w.claim().status_code != 200:
        assert time.monotonic() < deadline, "the run was not claimable"
        time.sleep(0.1)
    assert w.execution["task"]["id"] == task["id"]
    return w


def confirm(w, mailbox, items, **kw):
    return w._post(ROUTE, {"items": items}, mailbox=mailbox, **kw)


@pytest.fixture(scope="module")
def world(api, anon):
    """Mailbox `own` archived by a sync task; `other` archived two messages, one addressed to
    own's user; a journaled message names own's user; an MSM worker holds own's lock."""
    site, conn = make_connection(api)
    own = SyncSession(api, anon, site, conn)
    mine = archive(own, "AAMk-own")
    own.end()
    other = SyncSession(api, anon, site, conn)
    to_own = archive(other, "AAMk-to-own", to=[own.mailbox.upper()])
    foreign = archive(other, "AAMk-foreign", to=["c@example.com"])
    other.end()
    journal_mid = f"{uuid.uuid4().hex}@journal.example"
    raw = (f"Message-ID: <{journal_mid}>\r\nFrom: j@example.com\r\nTo: {own.mailbox}\r\n"
           "Subject: journaled\r\n\r\nbody\r\n").encode()
    ok(api.post("/api/v1/journal", params=[("rcpt", own.mailbox)], data=raw,
                headers={"Content-Type": "message/rfc822"}), 201)
    w = msm_claim(api, anon, site, own.mailbox)
    ok(w.lock(own.mailbox))
    return {"site": site, "own": own.mailbox, "other": other.mailbox, "w": w, "mine": mine,
            "to_own": to_own, "foreign": foreign, "journal_mid": f"<{journal_mid}>",
            "journal_sha": hashlib.sha256(raw).hexdigest()}


def test_each_candidate_gets_its_answer_in_order(world):
    mine, to_own, foreign = world["mine"], world["to_own"], world["foreign"]
    items = [
        {"internet_message_id": mine["internet_message_id"], "sender": "A@example.com"},
        {"content_sha256": mine["content_sha256"]},
        {"internet_message_id": "<never-archived@example.com>", "sender": "a@example.com"},
        {"internet_message_id": to_own["internet_message_id"]},
        {"internet_message_id": foreign["internet_message_id"]},
        {"content_sha256": foreign["content_sha256"]},
        # The same Message-ID from another sender is another message.
        {"internet_message_id": mine["internet_message_id"], "sender": "x@example.com"},
        {"internet_message_id": world["journal_mid"], "sender": "j@example.com"},
        {"content_sha256": world["journal_sha"]},
        {"content_sha256": hashlib.sha256(b"nothing").hexdigest(),
         "internet_message_id": mine["internet_message_id"]},
    ]
    answers = ok(confirm(world["w"], world["own"], items))["items"]
    assert [a["outcome"] for a in answers] == [
        "confirmed", "confirmed", "not_archived", "confirmed", "no_permission",
        "no_permission", "not_archived", "confirmed", "confirmed", "not_archived"]
    assert answers[0]["content_sha256"] == mine["content_sha256"]
    assert answers[3]["content_sha256"] == to_own["content_sha256"]
    assert answers[7]["content_sha256"] == world["journal_sha"]
    # Nothing is said about content the mailbox's user may not see.
    assert all(a["content_sha256"] is None for a in answers if a["outcome"] != "confirmed")


def test_metadata_without_content_is_not_an_archived_message(api, anon, world):
    """A message Mailbox Folder Replication recorded (metadata, no content) confirms nothing,
    even addressed to the mailbox's user."""
    box = mailbox_address()
    task = make_task(api, site=world["site"], group={"kind": "mailbox", "value": box})
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = claim_task(anon, world["site"], task)
    ok(w.membership([box]))
    ok(w.lock(box))
    ok(w.submit(hierarchy_batch(box, None, "H1", [folder("inbox", "Inbox")])))
    rec = message("AAMk-meta", "inbox", to=[{"name": "", "email": world["own"]}])
    ok(w.submit(folder_batch(box, "inbox", None, "S1", [rec])))
    assert w.finish(box).status_code == 204
    ok(w.complete())
    answers = ok(confirm(world["w"], world["own"], [
        {"internet_message_id": rec["internet_message_id"]}]))["items"]
    assert answers == [{"outcome": "not_archived", "content_sha256": None}]


def test_a_batch_of_500_is_answered_in_one_request(world, capsys):
    """Hundreds of candidates per request; the time is reported, not asserted."""
    mine = world["mine"]
    items = [{"internet_message_id": f"<bulk-{i}@example.com>", "sender": "a@example.com"}
             for i in range(499)] + [{"internet_message_id": mine["internet_message_id"]}]
    start = time.monotonic()
    answers = ok(confirm(world["w"], world["own"], items))["items"]
    elapsed = time.monotonic() - start
    assert len(answers) == 500 and answers[-1]["outcome"] == "confirmed"
    assert {a["outcome"] for a in answers[:-1]} == {"not_archived"}
    with capsys.disabled():
        print(f"\nmeasured: 500 candidates answered in {elapsed * 1000:.1f} ms")


def test_only_under_this_executions_lock(api, anon, world):
    w, own = world["w"], world["own"]
    item = [{"internet_message_id": world["mine"]["internet_message_id"]}]
    # Another mailbox of the archive: not locked by this execution.
    problem(confirm(w, world["other"], item), 409)
    assert confirm(w, world["other"], item).json()["type"] == "urn:mse:problem:mailbox-not-locked"
    # Another site holding the execution id and token reaches nothing.
    intruder = ScriptedWorker(anon, make_connection(api)[0]["credentials"])
    intruder.execution, intruder.token = w.execution, w.token
    problem(confirm(intruder, own, item), 404)
    # A stale token: the claim no longer holds.
    r = confirm(w, own, item, token=w.token + 1)
    problem(r, 409)
    assert r.json()["type"] == "urn:mse:problem:lease-lost"
    problem(confirm(w, own, item, execution_id=str(uuid.uuid4())), 404)
    r = w.api.post(w._path(ROUTE, own), json={"items": item})
    problem(r, 400)


def test_admin_and_read_only_clients_cannot_ask(api, world):
    w = world["w"]
    problem(api.post(w._path(ROUTE, world["own"]), json={"items": [{"content_sha256": "0" * 64}]},
                     headers={"MSE-Fencing-Token": str(w.token)}), 403)


@pytest.mark.parametrize("body,field", [
    ({}, "items"),
    ({"items": []}, "items"),
    ({"items": "x"}, "items"),
    ({"items": [{"content_sha256": "0" * 64}] * 1001}, "items"),
    ({"items": [{}]}, "items[0].internet_message_id"),
    ({"items": [{"internet_message_id": None, "content_sha256": None}]},
     "items[0].internet_message_id"),
    ({"items": [{"internet_message_id": ""}]}, "items[0].internet_message_id"),
    ({"items": [{"internet_message_id": "<a\nb>"}]}, "items[0].internet_message_id"),
    ({"items": [{"internet_message_id": "<" + "x" * 998 + ">"}]},
     "items[0].internet_message_id"),
    ({"items": [{"content_sha256": "A" * 64}]}, "items[0].content_sha256"),
    ({"items": [{"content_sha256": "0" * 63}]}, "items[0].content_sha256"),
    ({"items": [{"content_sha256": 5}]}, "items[0].content_sha256"),
    ({"items": [{"internet_message_id": "<a@b>", "sender": "nobody"}]}, "items[0].sender"),
    ({"items": [{"internet_message_id": "<a@b>", "size": 5}]}, "items[0].size"),
    ({"items": ["<a@b>"]}, "items[0]"),
    ({"items": [{"internet_message_id": "<a@b>"}], "mode": "x"}, "mode"),
])
def test_bad_requests_name_the_field(world, body, field):
    w = world["w"]
    problem(w._post(ROUTE, body, mailbox=world["own"]), 422, field)


def test_unreadable_bodies_and_addresses(world):
    w = world["w"]
    path = w._path(ROUTE, world["own"])
    headers = {"MSE-Fencing-Token": str(w.token), "Content-Type": "application/json"}
    assert w.api.post(path, data=b"{", headers=headers).status_code == 400
    problem(w._post(ROUTE, {"items": [{"content_sha256": "0" * 64}]}, mailbox="not-an-address"),
            404)
    # The largest batch with long Message-IDs (about 1 MB) is read; a larger body is refused.
    big = {"items": [{"internet_message_id": "<" + "x" * 900 + ">"}] * 1000}
    assert len(ok(w._post(ROUTE, big, mailbox=world["own"]))["items"]) == 1000
    huge = b'{"items": [' + b",".join([b'{"internet_message_id": "<' + b"x" * 990 + b'>"}'] *
                                      5000) + b"]}"
    assert w.api.post(path, data=huge, headers=headers).status_code == 413


def storage_report(**kw):
    counts = {k: 0 for k in ("candidates", "confirmed", "not_archived", "no_permission", "acted",
                             "failed", "confirmed_bytes", "reclaimed_bytes")}
    body = {"mode": "report", "action": "message_delete", **counts, "candidates": 2,
            "confirmed": 1, "not_archived": 1, "confirmed_bytes": 4096, "unconfirmed_total": 1,
            "folders": [{"folder": "/Inbox", **counts, "candidates": 2, "confirmed": 1,
                         "not_archived": 1, "confirmed_bytes": 4096}],
            "unconfirmed": [{"folder": "/Inbox", "item_id": "AAMk-1",
                             "internet_message_id": "<x@example.com>",
                             "outcome": "not_archived"}]}
    body.update(kw)
    return body


def test_a_mailbox_report_is_stored_and_listed(api, world):
    w, own = world["w"], world["own"]
    assert w._post("/storage-report", storage_report(), mailbox=own).status_code == 204
    # The same mailbox again (a resumed pass) replaces its report.
    again = storage_report(candidates=3, not_archived=2, unconfirmed_total=2)
    assert w._post("/storage-report", again, mailbox=own).status_code == 204
    task = w.execution["task"]["id"]
    page = ok(api.get(f"/api/v1/exchange-tasks/{task}/executions/{w.execution['id']}"
                      "/storage-report"))
    assert [(e["mailbox"], e["report"]["candidates"]) for e in page["items"]] == [(own, 3)]
    assert page["items"][0]["report"]["unconfirmed"][0]["item_id"] == "AAMk-1"
    problem(api.get(f"/api/v1/exchange-tasks/{task}/executions/{uuid.uuid4()}/storage-report"),
            404)
    problem(api.get(f"/api/v1/exchange-tasks/{task}/executions/{w.execution['id']}"
                    "/storage-report?limit=0"), 400)


def test_a_report_needs_the_lock_and_a_valid_body(world):
    w = world["w"]
    problem(w._post("/storage-report", storage_report(), mailbox=world["other"]), 409)
    problem(w._post("/storage-report", storage_report(), mailbox=world["own"],
                    token=w.token + 1), 409)
    bad = [({"mode": "dry"}, "mode"), ({"candidates": -1}, "candidates"),
           ({"folders": [{"folder": "/Inbox"}]}, "folders[0].candidates"),
           ({"unconfirmed": [{"folder": "/Inbox", "item_id": "x", "outcome": "confirmed",
                              "internet_message_id": None}]}, "unconfirmed[0].outcome"),
           ({"unconfirmed_total": 0}, "unconfirmed_total"), ({"extra": 1}, "extra")]
    for change, field in bad:
        problem(w._post("/storage-report", storage_report(**change), mailbox=world["own"]), 422,
                field)
