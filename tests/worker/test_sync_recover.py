# SPDX-License-Identifier: Apache-2.0
"""Sync & Recover end to end: mse-server + PostgreSQL + mse-worker (service mode) + ews-sim.

A sync task's executions reach Exchange through the task's server connection (the worker's
own EWS settings are wrong on purpose), archive exactly what the task's settings select with
each message's MIME content — its SHA-256 equal to the hash of the MIME the simulator serves,
the content in the blob store —, follow creations, updates, moves and deletions incrementally,
and survive kill -9 at random points: the archive still equals the selection, no referenced
content is absent and no item has a duplicate version."""
import hashlib
import random
import signal
import time

import pytest

from admin_helpers import make_site, ok, unique
from conftest import FAST, admin_server
from e2e import simlib
from test_content_sync import class_selected, sim_mime
from test_service import start_worker

DEFAULT_CLASSES = ["IPM.Note"]  # the server's list begins with it; the demo holds no other


@pytest.fixture(scope="module")
def server(database):
    # A content cap of 32 MiB, so that a message of some 41 MB is over it.
    yield from admin_server(database, {**FAST, "MSE_MAX_CONTENT_BYTES": 32 * 1024 * 1024})


@pytest.fixture(scope="module")
def sim():
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE)
    yield s
    s.stop_clean()


def make_sync_task(api, sim, site, mailboxes, **settings):
    conn = ok(api.post("/api/v1/server-connections", json={
        "name": unique("sim"), "site_id": site["id"], "ews_url": sim.ews_url,
        "authentication": "basic", "service_account": simlib.SERVICE_USER,
        "secret": simlib.SERVICE_PASSWORD, "impersonation": True}), 201)
    return ok(api.post("/api/v1/sync-tasks", json={
        "name": unique("sync"), "connection_id": conn["id"],
        "group": {"kind": "mailbox_list", "value": ";".join(mailboxes)}, **settings}), 201)


def wait_executions(database, task_id, count, timeout=180):
    """Waits until the task has `count` finished executions; returns their (state, result)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = database.query("SELECT state, result FROM executions WHERE task_id = %s"
                              " ORDER BY seq", task_id)
        done = [r for r in rows if r[0] not in ("queued", "running", "waiting")]
        if len(done) >= count:
            return done
        assert time.monotonic() < deadline, f"executions of the task: {rows}"
        time.sleep(0.3)


def due_again(database, task_id):
    """Makes the task's interval pass at once (the test does not wait a minute for it)."""
    database.query("UPDATE executions SET finished_at = finished_at - interval '1 day',"
                   " started_at = started_at - interval '1 day' WHERE task_id = %s"
                   " RETURNING id", task_id)


def selection(sim, mailbox, classes=DEFAULT_CLASSES, include_sensitive=False):
    """The message ids a task's settings select, from the simulator's own listing."""
    folders = {f["path"]: f for f in sim.get(f"/mailboxes/{mailbox}/folders")["items"]}
    out = set()
    for it in sim.get(f"/mailboxes/{mailbox}/items")["items"]:
        path = it["folder_path"]
        if it["type"] != "message" or path == "/Deleted Items" or \
                path.startswith("/Deleted Items/") or \
                not folders[path]["folder_class"].startswith("IPF.Note"):
            continue
        if not class_selected(it["item_class"], classes):
            continue
        if not include_sensitive and it["sensitivity"] in ("Private", "Confidential"):
            continue
        out.add(it["item_id"])
    return out


def archived(database, mailbox):
    """{item_id: (content_sha256, content_size, folder_id)} of the mailbox's live items."""
    rows = database.query("SELECT item_id, content_sha256, content_size, folder_id"
                          " FROM archive_items WHERE mailbox = %s AND deleted_at IS NULL",
                          mailbox)
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def assert_archive_is_the_selection(database, sim, mailbox, **settings):
    got = archived(database, mailbox)
    want = selection(sim, mailbox, **settings)
    assert set(got) == want, (sorted(set(got) - want), sorted(want - set(got)))
    mime = sim_mime(sim, mailbox, sorted(want))
    for iid, (sha, size, _) in got.items():
        assert sha == hashlib.sha256(mime[iid]).hexdigest(), iid
        assert size == len(mime[iid]), iid
    return got


def assert_no_missing_content_nor_duplicate_version(database):
    missing = database.query("SELECT DISTINCT i.content_sha256 FROM archive_items i"
                             " LEFT JOIN blobs b ON b.sha256 = i.content_sha256"
                             " WHERE i.content_sha256 IS NOT NULL AND b.sha256 IS NULL")
    assert missing == [], missing
    # Every version differs from the one before it: a replayed batch made none.
    dup = database.query(
        "SELECT item_id FROM (SELECT item_id, folder_id, subject, is_read, content_sha256,"
        " lag(folder_id) OVER w AS pf, lag(subject) OVER w AS ps, lag(is_read) OVER w AS pr,"
        " lag(content_sha256) OVER w AS pc, row_number() OVER w AS n"
        " FROM archive_item_versions WINDOW w AS (PARTITION BY partition_id, item_id"
        " ORDER BY valid_from)) v WHERE n > 1 AND folder_id IS NOT DISTINCT FROM pf"
        " AND subject IS NOT DISTINCT FROM ps AND is_read IS NOT DISTINCT FROM pr"
        " AND content_sha256 IS NOT DISTINCT FROM pc")
    assert dup == [], dup
    open_twice = database.query("SELECT partition_id, item_id FROM archive_item_versions"
                                " WHERE valid_to IS NULL GROUP BY 1, 2 HAVING count(*) > 1")
    assert open_twice == []


def test_a_sync_task_archives_its_selection_and_follows_changes(api, database, server, sim):
    site = make_site(api)
    boxes = [m["address"] for m in sim.get("/mailboxes")["items"][:2]]
    task = make_sync_task(api, sim, site, boxes, calendars=False)
    # The worker's own EWS password is wrong: only the connection's settings can work.
    worker = start_worker(server, sim, site, MSE_WORKER_EWS_PASSWORD="not-the-password")
    try:
        assert wait_executions(database, task["id"], 1)[-1] == ("completed", "ok")
        first = {m: assert_archive_is_the_selection(database, sim, m) for m in boxes}
        assert all(first.values())
        assert_no_missing_content_nor_duplicate_version(database)

        box = boxes[0]
        listed = sorted((i for i in sim.get(f"/mailboxes/{box}/items")["items"]
                         if i["item_id"] in first[box]), key=lambda i: i["item_id"])
        changed, moved, deleted = listed[:3]
        created = sim.control("POST", f"/mailboxes/{box}/items", expect=201, json={
            "type": "message", "folder": "/Inbox", "subject": "after the first run"}).json()
        sim.control("PATCH", f"/mailboxes/{box}/items/{changed['item_id']}",
                    json={"subject": "a new subject"}, expect=200)
        target = "/Inbox/Customers" if moved["folder_path"] != "/Inbox/Customers" else "/Inbox"
        sim.control("PATCH", f"/mailboxes/{box}/items/{moved['item_id']}",
                    json={"folder": target}, expect=200)
        sim.control("DELETE", f"/mailboxes/{box}/items/{deleted['item_id']}", expect=200)
        due_again(database, task["id"])
        assert wait_executions(database, task["id"], 2)[-1] == ("completed", "ok")

        now = assert_archive_is_the_selection(database, sim, box)
        assert created["item_id"] in now and deleted["item_id"] not in now
        assert now[changed["item_id"]][0] != first[box][changed["item_id"]][0]
        assert now[moved["item_id"]][2] != first[box][moved["item_id"]][2]
        # The deleted message stays in the archive, marked deleted, with its content.
        gone = database.query("SELECT deleted_at IS NOT NULL, content_sha256 FROM archive_items"
                              " WHERE item_id = %s", deleted["item_id"])
        assert gone == [(True, first[box][deleted["item_id"]][0])]
        # One version per change: the changed and moved messages have two, the others one.
        versions = dict(database.query(
            "SELECT item_id, count(*) FROM archive_item_versions WHERE item_id = ANY(%s)"
            " GROUP BY item_id", [changed["item_id"], moved["item_id"], listed[3]["item_id"]]))
        assert versions == {changed["item_id"]: 2, moved["item_id"]: 2, listed[3]["item_id"]: 1}
        assert_no_missing_content_nor_duplicate_version(database)
    finally:
        rc = worker.stop(signal.SIGTERM, timeout=60)
    worker.assert_clean_exit(rc)


def test_kill_9_at_random_points_loses_and_duplicates_nothing(api, database, server, sim):
    rng = random.Random(12)
    site = make_site(api)
    boxes = [m["address"] for m in sim.get("/mailboxes")["items"][4:7]]
    task = make_sync_task(api, sim, site, boxes, calendars=False)
    # Slow GetItem answers, so that kills land between content uploads and submissions.
    sim.control("POST", "/faults", expect=201,
                json={"kind": "delay", "operation": "GetItem", "delay_ms": 300})
    sim.control("POST", "/faults", expect=201,
                json={"kind": "delay", "operation": "SyncFolderItems", "delay_ms": 100})
    try:
        archived_before = []
        for n in range(1, 4):
            worker = start_worker(server, sim, site)
            # Once this worker holds the execution (its claim counted), kill it at a random
            # point of the synchronisation: between requests, uploads and submissions.
            deadline = time.monotonic() + 120
            while database.scalar("SELECT coalesce(max(claims), 0) FROM executions"
                                  " WHERE task_id = %s", task["id"]) < n:
                assert time.monotonic() < deadline, "the execution was not claimed again"
                time.sleep(0.05)
            time.sleep(rng.uniform(0.2, 1.5))
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
            archived_before.append(database.scalar(
                "SELECT count(*) FROM archive_items WHERE mailbox = ANY(%s)", boxes))
        # The kills hit a synchronisation under way: something, not everything, was archived.
        assert 0 < archived_before[-1] < sum(len(selection(sim, m)) for m in boxes), \
            archived_before
        sim.control("DELETE", "/faults", expect=200)
        worker = start_worker(server, sim, site)
        try:
            assert wait_executions(database, task["id"], 1, timeout=300)[-1][0] == "completed"
            # Each killed holder's claim was taken over after its lease: one execution.
            assert database.scalar("SELECT count(*) FROM executions WHERE task_id = %s",
                                   task["id"]) == 1
            assert database.scalar("SELECT claims FROM executions WHERE task_id = %s",
                                   task["id"]) >= 2
        finally:
            rc = worker.stop(signal.SIGTERM, timeout=60)
        worker.assert_clean_exit(rc)
    finally:
        sim.control("DELETE", "/faults", expect=200)
    for m in boxes:
        assert assert_archive_is_the_selection(database, sim, m)
    assert_no_missing_content_nor_duplicate_version(database)
    # A first full synchronisation changes nothing twice: one version per archived message.
    counts = database.query("SELECT count(*) FROM archive_item_versions v JOIN archive_items i"
                            " USING (partition_id, item_id) WHERE i.mailbox = ANY(%s)"
                            " GROUP BY v.partition_id, v.item_id HAVING count(*) > 1", boxes)
    assert counts == []


def test_calendars_archive_the_default_calendar(api, database, server, sim):
    """calendars (default true): the default calendar's appointments, private ones left out."""
    site = make_site(api)
    box = sim.get("/mailboxes")["items"][3]["address"]
    task = make_sync_task(api, sim, site, [box])
    worker = start_worker(server, sim, site)
    try:
        assert wait_executions(database, task["id"], 1)[-1] == ("completed", "ok")
    finally:
        rc = worker.stop(signal.SIGTERM, timeout=60)
    worker.assert_clean_exit(rc)
    want = {i["item_id"] for i in sim.get(f"/mailboxes/{box}/items")["items"]
            if i["type"] == "appointment" and i["folder_path"] == "/Calendar"
            and i["sensitivity"] not in ("Private", "Confidential")}
    got = {r[0] for r in database.query("SELECT item_id FROM archive_appointments"
                                        " WHERE mailbox = %s", box)}
    assert want and got == want
    assert_archive_is_the_selection(database, sim, box)


def test_a_message_larger_than_the_server_takes_waits_and_the_rest_goes_on(api, database,
                                                                            server, sim):
    """The server refuses uploads over its limit (413, MSE_MAX_CONTENT_BYTES): that message is
    not archived, the mailbox ends with a warning naming it, every other message is archived."""
    site = make_site(api)
    box = sim.get("/mailboxes")["items"][8]["address"]
    big = sim.control("POST", f"/mailboxes/{box}/items", expect=201, json={
        "type": "message", "folder": "/Inbox", "subject": "too big for the archive",
        "attachments": [{"name": "big.bin", "size": 30_000_000}]}).json()  # MIME ~ 41 MB
    task = make_sync_task(api, sim, site, [box], calendars=False)
    worker = start_worker(server, sim, site)
    try:
        wait_executions(database, task["id"], 1)
    finally:
        rc = worker.stop(signal.SIGTERM, timeout=60)
    worker.assert_clean_exit(rc)
    (state, reason, text), = database.query(
        "SELECT m.state, m.reason_code, m.reason_text FROM execution_mailboxes m"
        " JOIN executions e ON e.id = m.execution_id WHERE e.task_id = %s", task["id"])
    assert (state, reason) == ("warning", "content_too_large"), text
    assert "too big for the archive" in text
    got = archived(database, box)
    assert big["item_id"] not in got
    assert set(got) == selection(sim, box) - {big["item_id"]}
