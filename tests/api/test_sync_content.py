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
    yield from admin_server(database, FAST)


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
        return self.w.submit(hierarchy_batch(self.mailbox, None, f"H-{uuid.uuid4()}", folders))

    def folder(self, folder_id, items):
        new = f"S-{uuid.uuid4()}"
        r = self.w.submit(folder_batch(self.mailbox, folder_id, self.states.get(folder_id), new,
                                       items))
        if r.status_code == 200:
            self.states[folder_id] = new
        return r

    def end(self):
        assert self.w.finish(self.mailbox).status_code == 204
        return ok(self.w.complete())


def test_a_sync_task_is_claimed_with_its_settings_and_connection(api, anon, database):
    site, conn = make_connection(api)
    box = mailbox_address()
    task = make_sync_task(api, conn, [box], message_classes=["IPM.Note.Custom"],
                          include_sensitive=True, calendars=False)
    w = ScriptedWorker(anon, site["credentials"])
    claim = wait_claim(w)
    assert claim["task"] == {"id": task["id"], "name": task["name"], "type": "sync_recover"}
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
