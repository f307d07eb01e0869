# SPDX-License-Identifier: Apache-2.0
"""Every list the console polls answers 304 while it is unchanged: its ETag is a hash of the
page, sent back in If-None-Match; a change anywhere in the page gives a new ETag and the page.
(Single resources keep their version ETag, which If-Match needs: they are re-sent.)"""
import pytest

from admin_helpers import make_definition, make_schedule, make_site, make_task, ok, unique
from conftest import admin_server
from scripted_worker import ScriptedWorker


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, {"MSE_LEASE_SECONDS": 600})


def make_connection(api, site):
    return ok(api.post("/api/v1/server-connections", json={
        "name": unique("exchange"), "site_id": site["id"],
        "ews_url": "https://mail.contoso.example/EWS/Exchange.asmx", "authentication": "basic",
        "service_account": "svc@contoso.example", "secret": "s3cret"}), 201)


def make_sync_task(api, conn):
    return ok(api.post("/api/v1/sync-tasks", json={
        "name": unique("sync"), "connection_id": conn["id"],
        "group": {"kind": "mailbox", "value": "anna@contoso.example"}}), 201)


def assert_polled(api, path, change, params=None):
    """The page's ETag gets a 304 until change() runs; then the page and a new ETag."""
    first = api.get(path, params=params)
    assert first.status_code == 200, first.text
    etag = first.headers["ETag"]
    same = api.get(path, params=params, headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b"", path
    assert same.headers["ETag"] == etag
    other = api.get(path, params=params, headers={"If-None-Match": '"0123456789abcdef"'})
    assert other.status_code == 200 and other.headers["ETag"] == etag, path
    change()
    moved = api.get(path, params=params, headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag, path
    return moved.json()


def test_administrative_lists(api):
    site = make_site(api)
    conn = make_connection(api, site)
    make_sync_task(api, conn)
    for path, change in [
            ("/api/v1/schedules", lambda: make_schedule(api)),
            ("/api/v1/definitions", lambda: make_definition(api)),
            ("/api/v1/api-clients", lambda: ok(api.post("/api/v1/api-clients", json={
                "name": unique("ro"), "role": "read_only"}), 201)),
            ("/api/v1/server-connections", lambda: make_connection(api, site)),
            ("/api/v1/sync-tasks", lambda: make_sync_task(api, conn))]:
        assert_polled(api, path, change)


def test_a_tasks_mailboxes(api, anon):
    site = make_site(api)
    task = make_task(api, site=site, group={"kind": "mailbox_list",
                                            "value": "anna@example.com; bob@example.com"})
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    ok(w.membership(["anna@example.com", "bob@example.com"]))
    path = f"/api/v1/exchange-tasks/{task['id']}/mailboxes"
    # A mailbox that ends changes its row: the page moves on.
    page = assert_polled(api, path, lambda: (ok(w.lock("anna@example.com")),
                                             w.finish("anna@example.com", items=2)))
    assert [m["state"] for m in page["items"]] == ["healthy", "pending"]


def test_a_sync_tasks_mailboxes(api, database):
    conn = make_connection(api, make_site(api))
    task = make_sync_task(api, conn)
    path = f"/api/v1/sync-tasks/{task['id']}/mailboxes"

    def reported():
        # What the site's worker reports lands in task_mailboxes (the sync task's twin).
        database.query("INSERT INTO task_mailboxes (task_id, address, state) VALUES (%s, %s, %s)",
                       task["id"], "anna@contoso.example", "healthy")
    page = assert_polled(api, path, reported)
    assert [m["address"] for m in page["items"]] == ["anna@contoso.example"]
