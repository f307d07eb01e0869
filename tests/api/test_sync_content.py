# SPDX-License-Identifier: Apache-2.0
"""Sync & Recover content synchronisation, the server's side (docs/sync-recover.md), driven
over HTTP by scripted workers with a site's credentials: a sync task is queued by the scheduler
and claimed with its settings and its connection; its batches must name content the site
holds; every change to an archived item makes a version, and `as_of` shows a mailbox as it
was; the scheduler honours the interval, exclusion windows and stop; changes and deletion
wait for a running execution; status follows the mailboxes' states."""
import hashlib
import time
import urllib.parse
import uuid

import pytest

from admin_helpers import audit_events, make_site, ok, problem, snapshot, unique
from conftest import FAST, admin_server
from scripted_worker import ScriptedWorker, folder, folder_batch, hierarchy_batch, message

BASE = "/api/v1/sync-tasks"
SECRET = f"sync-secret-{uuid.uuid4().hex}"
DEFAULTS = ["IPM.Note", "IPM.Note.SMIME", "IPM.Note.SMIME.MultipartSigned", "IPM.Note.Secure",
            "IPM.Note.Secure.Sign", "IPM.Note.Receipt.SMIME", "REPORT.IPM.Note.DR",
            "REPORT.IPM.Note.NDR", "REPORT.IPM.Note.IPNRN", "REPORT.IPM.Note.IPNNRN",
            "IPM.Schedule.Meeting.Request", "IPM.Schedule.Meeting.Canceled",
            "IPM.Schedule.Meeting.Resp.Pos", "IPM.Schedule.Meeting.Resp.Neg",
            "IPM.Schedule.Meeting.Resp.Tent"]


@pytest.fixture(scope="module")
def server(database):
    # A quick scheduler; leases of the default length (a loaded machine is slow between calls).
    yield from admin_server(database, {"MSE_SCHEDULER_INTERVAL_MS": FAST[
        "MSE_SCHEDULER_INTERVAL_MS"]})


def mailbox_address():
    return f"{unique('box')}@contoso.example".lower()


def make_connection(api, site=None):
    site = site or make_site(api)
    conn = ok(api.post("/api/v1/server-connections", json={
        "name": unique("exchange"), "site_id": site["id"],
        "ews_url": "https://mail.contoso.example/EWS/Exchange.asmx", "authentication": "ntlm",
        "service_account": "CONTOSO\\svc", "secret": SECRET, "impersonation": True,
        "tls_verify": False}), 201)
    return site, conn


def make_sync_task(api, conn, mailboxes, **kw):
    return ok(api.post(BASE, json={"name": unique("sync"), "connection_id": conn["id"],
                                   "group": {"kind": "mailbox_list",
                                             "value": ";".join(mailboxes)}, **kw}), 201)


def wait_claim(worker, timeout=15):
    """Claims until the scheduler has queued something for the worker's site."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = worker.claim()
        if r.status_code == 200:
            return r.json()
        assert r.status_code == 204, r.text
        time.sleep(0.1)
    raise AssertionError("nothing was queued for the site")


def executions(database, task_id):
    return database.query("SELECT state, trigger FROM executions WHERE task_id = %s"
                          " ORDER BY seq", task_id)


class SyncSession:
    """A claimed sync execution holding the lock of one mailbox."""

    def __init__(self, api, anon, site, conn, **kw):
        self.mailbox = mailbox_address()
        self.task = make_sync_task(api, conn, [self.mailbox], **kw)
        self.w = ScriptedWorker(anon, site["credentials"])
        self.claim = wait_claim(self.w)
        assert self.claim["task"]["id"] == self.task["id"]
        ok(self.w.membership([self.mailbox]))
        self.states = ok(self.w.lock(self.mailbox))["checkpoints"]["folders"]

    def content(self, text):
        data = f"Subject: {text}\r\n\r\n{text}\r\n".encode()
        sha = hashlib.sha256(data).hexdigest()
        assert self.w.put_content(sha, data).status_code in (200, 201)
        return sha, len(data)

    def hierarchy(self, folders):
        ok(self.w.heartbeat())
        return self.w.submit(hierarchy_batch(self.mailbox, None, f"H-{uuid.uuid4()}", folders))

    def folder(self, folder_id, items):
        ok(self.w.heartbeat())
        new = f"S-{uuid.uuid4()}"
        r = self.w.submit(folder_batch(self.mailbox, folder_id, self.states.get(folder_id), new,
                                       items))
        if r.status_code == 200:
            self.states[folder_id] = new
        return r

    def end(self):
        ok(self.w.heartbeat())
        assert self.w.finish(self.mailbox).status_code == 204
        return ok(self.w.complete())


def test_a_sync_task_is_claimed_with_its_settings_and_connection(api, anon, database):
    site, conn = make_connection(api)
    box = mailbox_address()
    task = make_sync_task(api, conn, [box], message_classes=["IPM.Note.Custom"],
                          include_sensitive=True, calendars=False)
    w = ScriptedWorker(anon, site["credentials"])
    claim = wait_claim(w)
    assert claim["task"] == {"id": task["id"], "name": task["name"], "type": "sync_recover",
                             "max_parallel_mailboxes": 1}
    assert claim["definition"] == {"id": task["id"], "type": "sync_recover", "settings": {
        "mail": True, "calendars": False, "include_sensitive": True,
        "message_classes": DEFAULTS + ["IPM.Note.Custom"]}}
    assert claim["connection"] == {
        "id": conn["id"], "ews_url": conn["ews_url"], "authentication": "ntlm",
        "service_account": "CONTOSO\\svc", "secret": SECRET, "impersonation": True,
        "tls_verify": False}
    assert claim["group"] == {"kind": "mailbox_list", "value": box}
    assert claim["site"]["id"] == site["id"] and claim["trigger"] == "schedule"
    # The secret is never stored with the execution nor written to the audit trail.
    stored = database.query("SELECT snapshot::text FROM executions WHERE id = %s",
                            claim["id"])[0][0]
    assert SECRET not in stored
    assert all(SECRET not in str(e) for e in audit_events(api, resource_id=task["id"]))
    assert all(SECRET not in str(e) for e in audit_events(api, resource_id=conn["id"]))
    # The twin through which it runs is no Exchange task.
    problem(api.get(f"/api/v1/exchange-tasks/{task['id']}"), 404)
    listed = ok(api.get("/api/v1/exchange-tasks", params={"limit": 500}))["items"]
    assert task["id"] not in [t["id"] for t in listed]
    problem(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions"), 404)
    # A re-claim (the lease lost) carries the same settings and the secret again.
    assert w.release().status_code == 204
    again = wait_claim(w)
    assert again["id"] == claim["id"] and again["connection"]["secret"] == SECRET
    assert again["definition"] == claim["definition"]


def archive_state(database):
    """What a refused batch must leave as it was."""
    return database.query(
        "SELECT (SELECT count(*) FROM archive_items), (SELECT count(*) FROM archive_item_versions),"
        " (SELECT count(*) FROM applied_batches), (SELECT count(*) FROM sync_checkpoints),"
        " (SELECT count(*) FROM blobs WHERE referenced_at IS NOT NULL),"
        " (SELECT coalesce(max(sequence), 0) FROM exchange_tasks)")[0]


def fields(resp):
    return [e["field"] for e in problem(resp, 422)["errors"]]


def test_a_batch_must_name_content_the_site_holds(api, anon, database):
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    assert s.hierarchy([folder("inbox", "Inbox")]).status_code == 200
    sha, size = s.content("held")
    # Content another site uploaded is not this site's to reference (the F7 rule).
    other, _ = make_connection(api)
    theirs = b"Subject: theirs\r\n\r\ntheirs\r\n"
    their_sha = hashlib.sha256(theirs).hexdigest()
    assert ScriptedWorker(anon, other["credentials"]).put_content(their_sha, theirs) \
        .status_code in (200, 201)
    before = archive_state(database)
    without = s.folder("inbox", [message("m1", "inbox", content_sha256=sha, content_size=size),
                                 message("m2", "inbox")])
    assert fields(without) == ["items[1].content_sha256"]
    unheld = s.folder("inbox", [message("m1", "inbox", content_sha256=their_sha)])
    assert fields(unheld) == ["items[0].content_sha256"]
    bad = s.folder("inbox", [message("m1", "inbox", content_sha256=sha.upper())])
    assert "items[0].content_sha256" in fields(bad)
    assert archive_state(database) == before
    # With its content the message is archived, and the content is referenced from then on.
    ok(s.folder("inbox", [message("m1", "inbox", content_sha256=sha, content_size=size)]))
    assert database.scalar("SELECT referenced_at IS NOT NULL FROM blobs WHERE sha256 = %s", sha)
    # A read flag or a deletion names no content.
    ok(s.folder("inbox", [{"item_id": "m1", "change": "read_flag", "is_read": True}]))
    item = ok(api.get(f"/api/v1/mailboxes/{s.mailbox}/items"))["items"][0]
    assert item["content_sha256"] == sha and item["content_size"] == size
    assert item["is_read"] is True
    s.end()


def db_now(database):
    """The database's clock: versions are stamped with it, after every committed batch."""
    return database.scalar("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC',"
                           " 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")


def listing(api, box, what, **params):
    return ok(api.get(f"/api/v1/mailboxes/{box}/{what}", params={"limit": 500, **params}))["items"]


def by_id(rows, key="item_id"):
    return {r[key]: r for r in rows}


def test_versions_show_each_folder_as_it_was(api, anon, database):
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    box = s.mailbox
    ok(s.hierarchy([folder("inbox", "Inbox"), folder("archive", "Archive")]))
    sha1, size1 = s.content("first")
    before_any = db_now(database)
    ok(s.folder("inbox", [message("m/1", "inbox", content_sha256=sha1, content_size=size1),
                          message("m2", "inbox", content_sha256=sha1, content_size=size1)]))
    created = db_now(database)
    # A move: the create in the new folder, then the old folder's delete (which then no
    # longer applies: the item is elsewhere).
    ok(s.folder("archive", [message("m/1", "archive", content_sha256=sha1,
                                    content_size=size1)]))
    ok(s.folder("inbox", [{"item_id": "m/1", "change": "delete"}]))
    moved = db_now(database)
    ok(s.folder("archive", [{"item_id": "m/1", "change": "read_flag", "is_read": True}]))
    flagged = db_now(database)
    ok(s.folder("inbox", [{"item_id": "m2", "change": "delete"}]))
    deleted = db_now(database)
    # The same record again (a full pass reporting it unchanged) makes no version.
    ok(s.folder("archive", [message("m/1", "archive", content_sha256=sha1, content_size=size1,
                                    is_read=True)]))
    s.end()

    assert listing(api, box, "items", as_of=before_any) == []
    then = by_id(listing(api, box, "items", as_of=created))
    assert {k: (v["folder_id"], v["is_read"]) for k, v in then.items()} == {
        "m/1": ("inbox", False), "m2": ("inbox", False)}
    assert then["m/1"]["folder_path"] == "/Inbox" and then["m/1"]["deleted"] is False
    after_move = by_id(listing(api, box, "items", as_of=moved))
    assert after_move["m/1"]["folder_id"] == "archive" and after_move["m/1"]["is_read"] is False
    assert by_id(listing(api, box, "items", as_of=flagged))["m/1"]["is_read"] is True
    # Deleted: gone from the past listing, kept at its last-known folder when asked for.
    assert set(by_id(listing(api, box, "items", as_of=deleted))) == {"m/1"}
    gone = by_id(listing(api, box, "items", as_of=deleted, include_deleted="true"))["m2"]
    assert gone["deleted"] is True and gone["folder_id"] == "inbox" and gone["deleted_at"]
    now = by_id(listing(api, box, "items", include_deleted="true"))
    assert now["m2"]["deleted"] is True and now["m2"]["folder_id"] == "inbox"
    # By folder, then and now.
    assert set(by_id(listing(api, box, "items", as_of=created, folder_id="inbox"))) == {
        "m/1", "m2"}
    assert set(by_id(listing(api, box, "items", as_of=moved, folder_id="inbox"))) == {"m2"}
    assert set(by_id(listing(api, box, "items", as_of=moved, folder_id="archive"))) == {"m/1"}

    def counts(at):
        return {f["folder_id"]: (f["item_count"], f["deleted_item_count"])
                for f in listing(api, box, "folders", as_of=at)}
    assert counts(created) == {"inbox": (2, 0), "archive": (0, 0)}
    assert counts(moved) == {"inbox": (1, 0), "archive": (1, 0)}
    assert counts(deleted) == {"inbox": (0, 1), "archive": (1, 0)}
    assert listing(api, box, "folders", as_of=before_any)[0]["path"] in ("/Inbox", "/Archive")
    # Created, moved, flagged: three versions, the last one current.
    rows = database.query("SELECT v.folder_id, v.is_read, v.valid_to IS NULL"
                          " FROM archive_item_versions v JOIN archive_partitions p"
                          " ON p.id = v.partition_id WHERE p.mailbox = %s AND v.item_id = 'm/1'"
                          " ORDER BY v.valid_from", box)
    assert [tuple(r) for r in rows] == [("inbox", False, False), ("archive", False, False),
                                        ("archive", True, True)]


def test_message_content_download(api, anon, database):
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    ok(s.hierarchy([folder("inbox", "Inbox")]))
    data = b"Subject: download\r\n\r\n" + b"x" * 1000 + b"\r\n"
    sha = hashlib.sha256(data).hexdigest()
    assert s.w.put_content(sha, data).status_code in (200, 201)
    ok(s.folder("inbox", [message("AAMk+a/b=", "inbox", content_sha256=sha,
                                  content_size=len(data))]))
    first = db_now(database)
    sha2, _ = s.content("second version")
    ok(s.folder("inbox", [message("AAMk+a/b=", "inbox", content_sha256=sha2)]))
    s.end()
    item = listing(api, s.mailbox, "items")[0]
    url = item["content_url"]
    assert "/items/" in url and url.endswith("/content") and "%2F" not in url
    r = api.get(url)
    assert r.status_code == 200 and r.headers["Content-Type"] == "message/rfc822"
    assert hashlib.sha256(r.content).hexdigest() == sha2 and r.headers["ETag"] == f'"{sha2}"'
    assert api.get(url, headers={"If-None-Match": f'"{sha2}"'}).status_code == 304
    part = api.get(url, headers={"Range": "bytes=0-6"})
    assert part.status_code == 206 and part.content == b"Subject"
    # As it was: the first content.
    past = listing(api, s.mailbox, "items", as_of=first)[0]
    r = api.get(past["content_url"])
    assert r.status_code == 200 and r.content == data
    problem(api.get(f"/api/v1/mailboxes/{s.mailbox}/items/nothing/content"), 404)
    quoted = urllib.parse.quote(s.mailbox, safe="@")
    problem(api.get(f"/api/v1/mailboxes/{quoted}/items/nothing/content",
                    params={"as_of": "yesterday"}), 400)


def run_once(api, anon, site, task, mailboxes, state="healthy", **finish):
    """Claims the task's execution and takes every mailbox through to the end."""
    w = ScriptedWorker(anon, site["credentials"])
    claim = wait_claim(w)
    assert claim["task"]["id"] == task["id"]
    ok(w.membership(mailboxes))
    for m in mailboxes:
        ok(w.lock(m))
        assert w.finish(m, state=state, **finish).status_code == 204
    return ok(w.complete())


def probe_queued(api, conn, database):
    """A task created now is due at once: once it is queued, the scheduler has looked at every
    sync task since (one statement queues all that are due)."""
    probe = make_sync_task(api, conn, [mailbox_address()])
    deadline = time.monotonic() + 15
    while not executions(database, probe["id"]):
        assert time.monotonic() < deadline, "the scheduler never ran"
        time.sleep(0.05)
    ok(api.post(f"{BASE}/{probe['id']}/stop"))


def test_scheduler_interval_exclusions_and_stop(api, anon, database):
    site, conn = make_connection(api)
    box = mailbox_address()
    task = make_sync_task(api, conn, [box], interval_minutes=1)
    run_once(api, anon, site, task, [box])
    assert ok(api.get(f"{BASE}/{task['id']}"))["status"] == "enabled"
    # Not due again before the interval has passed since the run ended …
    probe_queued(api, conn, database)
    assert [tuple(e) for e in executions(database, task["id"])] == [("completed", "schedule")]
    # … and due once it has.
    database.query("UPDATE executions SET finished_at = finished_at - interval '61 seconds'"
                   " WHERE task_id = %s", task["id"])
    run_once(api, anon, site, task, [box])
    assert len(executions(database, task["id"])) == 2

    # A task whose exclusion windows cover now (together: the whole day, in a region's time)
    # is not queued; once the exclusions are off, it is.
    whole_day = [{"day": "all", "from": "00:00", "to": "12:00", "region": "Pacific/Auckland"},
                 {"day": "all", "from": "12:00", "to": "00:00", "region": "Pacific/Auckland"}]
    excluded = make_sync_task(api, conn, [mailbox_address()], exclusions_active=True,
                              exclusions=whole_day)
    probe_queued(api, conn, database)
    assert executions(database, excluded["id"]) == []
    ok(api.patch(f"{BASE}/{excluded['id']}", json={"exclusions_active": False}))
    probe_queued(api, conn, database)
    assert [tuple(e) for e in executions(database, excluded["id"])] == [("queued", "schedule")]
    # Stopped: the queued execution is cancelled and nothing new is queued.
    ok(api.post(f"{BASE}/{excluded['id']}/stop"))
    probe_queued(api, conn, database)
    assert [tuple(e) for e in executions(database, excluded["id"])] == [("cancelled", "schedule")]


def test_stop_while_running_ends_after_the_current_mailbox(api, anon, database):
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    ok(api.post(f"{BASE}/{s.task['id']}/stop"))
    hb = ok(s.w.heartbeat())
    assert hb["executions"][0]["cancel_requested"] is True
    assert s.end()["state"] == "cancelled"
    probe_queued(api, conn, database)
    assert len(executions(database, s.task["id"])) == 1


def test_changes_and_deletion_wait_for_the_running_execution(api, anon, database):
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    tid = s.task["id"]
    r = api.patch(f"{BASE}/{tid}", json={"interval_minutes": 30, "calendars": False})
    t = ok(r, 202)
    assert t["interval_minutes"] == 15 and t["calendars"] is True
    assert t["pending_changes"] == {"interval_minutes": 30, "calendars": False}
    # Still validated when it waits.
    problem(api.patch(f"{BASE}/{tid}", json={"interval_minutes": 0}), 422, "interval_minutes")
    ok(s.folder("inbox", []))
    s.end()
    t = ok(api.get(f"{BASE}/{tid}"))
    assert t["interval_minutes"] == 30 and t["calendars"] is False
    assert t["pending_changes"] is None
    actions = [e["action"] for e in audit_events(api, resource_id=tid)]
    assert {"sync_task.update_requested", "sync_task.update_applied"} <= set(actions)

    # Deletion while running: the task stays until the execution ends, its archive after.
    s2 = SyncSession(api, anon, site, conn)
    ok(s2.hierarchy([folder("inbox", "Inbox")]))
    sha, _ = s2.content("kept")
    ok(s2.folder("inbox", [message("k1", "inbox", content_sha256=sha)]))
    gone = ok(api.delete(f"{BASE}/{s2.task['id']}"), 202)
    assert gone["deletion_pending"] is True
    assert ok(api.get(f"{BASE}/{s2.task['id']}"))["deletion_pending"] is True
    s2.end()
    problem(api.get(f"{BASE}/{s2.task['id']}"), 404)
    assert [i["item_id"] for i in listing(api, s2.mailbox, "items")] == ["k1"]
    assert "sync_task.delete" in [e["action"]
                                  for e in audit_events(api, resource_id=s2.task["id"])]
    # Not running: deleted at once, a queued execution cancelled.
    idle = make_sync_task(api, conn, [mailbox_address()])
    probe_queued(api, conn, database)
    assert api.delete(f"{BASE}/{idle['id']}").status_code == 204
    assert [tuple(e) for e in executions(database, idle["id"])] == [("cancelled", "schedule")]


def test_status_follows_the_mailboxes_states(api, anon, database):
    site, conn = make_connection(api)
    a, b = mailbox_address(), mailbox_address()

    def status(task):
        return ok(api.get(f"{BASE}/{task['id']}"))

    healthy = make_sync_task(api, conn, [a, b])
    run_once(api, anon, site, healthy, [a, b])
    t = status(healthy)
    assert t["status"] == "enabled" and t["latest_detail"] == "" and t["content_sync"] == "active"
    assert t["mailbox_counts"] == {"total": 2, "ok": 2, "warning": 0, "error": 0}
    assert [m["state"] for m in ok(api.get(f"{BASE}/{healthy['id']}/mailboxes"))["items"]] == [
        "ok", "ok"]
    ok(api.post(f"{BASE}/{healthy['id']}/stop"))
    assert status(healthy)["status"] == "disabled"

    failing = make_sync_task(api, conn, [a, b])
    run_once(api, anon, site, failing, [a, b], state="error", reason_code="ews_unauthorized",
             reason_text="401 from Exchange")
    t = status(failing)
    assert t["status"] == "failed" and f"{a}: error (ews_unauthorized) 401 from Exchange" in \
        t["latest_detail"]
    ok(api.post(f"{BASE}/{failing['id']}/stop"))

    # One mailbox failing of two: errors; the other synchronised by another task: warning.
    holder = SyncSession(api, anon, site, conn)
    mixed = make_sync_task(api, conn, [holder.mailbox, b])
    w = ScriptedWorker(anon, site["credentials"])
    wait_claim(w)
    ok(w.membership([holder.mailbox, b]))
    locked = w.lock(holder.mailbox)
    assert locked.status_code == 409
    t = status(mixed)
    assert t["status"] == "enabled_with_warning"
    assert f"{holder.mailbox}: warning (mailbox_locked) synchronised by another task" in \
        t["latest_detail"] and holder.task["name"] in t["latest_detail"]
    mb = by_id(ok(api.get(f"{BASE}/{mixed['id']}/mailboxes"))["items"], "address")
    assert mb[holder.mailbox]["state"] == "warning" and mb[b]["state"] == "pending"
    ok(w.lock(b))
    assert w.finish(b, state="error", reason_code="ews_timeout", reason_text="slow").status_code \
        == 204
    assert status(mixed)["status"] == "enabled_with_errors"
    holder.end()
