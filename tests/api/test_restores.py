# SPDX-License-Identifier: Apache-2.0
"""Restores (docs/restore.md) against a real server and PostgreSQL: a sync task's scripted
worker archives messages; a restore of a selection of that archive as it was at an instant
lists exactly the messages the export selection names then, each with the folder it goes to
(its own, or below a new folder); the server connection (so the site) that executes it is the
sync task's unless one is named; per-item results are paged; cancellation; idempotency and
audit; bad input is refused naming the field and changes nothing; every route is authorised."""
import hashlib
import uuid

import pytest

from admin_helpers import audit_events, ok, problem
from conftest import admin_server
from scripted_worker import folder, message
from test_content_access import read_only  # noqa: F401 (a fixture)
from test_sync_content import SyncSession, db_now, make_connection, make_sync_task

BASE = "/api/v1/restores"


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database)


def mime(text):
    return f"Subject: {text}\r\nMessage-ID: <{text}@contoso.example>\r\n\r\n{text}\r\n".encode()


def content(s, text):
    data = mime(text)
    sha = hashlib.sha256(data).hexdigest()
    assert s.w.put_content(sha, data).status_code in (200, 201)
    return sha, len(data)


@pytest.fixture(scope="module")
def archive(api, anon, database):
    """Inbox (Projects below it) and Archive; m2 and m3 are deleted from Projects after
    `before`."""
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    ok(s.hierarchy([folder("inbox", "Inbox"), folder("proj", "Projects", parent="inbox",
                                                     path="/Inbox/Projects"),
                    folder("arch", "Archive")]))
    shas = {}
    for item_id, folder_id in (("m1", "inbox"), ("m2", "proj"), ("m3", "proj"), ("m4", "arch")):
        sha, size = content(s, item_id)
        shas[item_id] = sha
        ok(s.folder(folder_id, [message(item_id, folder_id, content_sha256=sha,
                                        content_size=size)]))
    before = db_now(database)
    ok(s.folder("proj", [{"item_id": "m2", "change": "delete"},
                         {"item_id": "m3", "change": "delete"}]))
    s.end()
    return {"box": s.mailbox, "shas": shas, "before": before, "site": site, "conn": conn,
            "session": s}


def create(api, selection, **kw):
    return ok(api.post(BASE, json={"selection": selection, **kw}), 201)


def items(api, restore, **params):
    """Every item of a restore, following the cursor."""
    out, cursor = [], None
    while True:
        q = dict(params, limit=2)
        if cursor:
            q["cursor"] = cursor
        page = ok(api.get(restore["items_url"], params=q))
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


def test_a_folder_as_it_was_before_its_messages_were_deleted(api, archive):
    box = archive["box"]
    r = create(api, {"mailbox": box, "folder_paths": ["/Inbox/Projects"],
                     "as_of": archive["before"]})
    assert r["state"] == "queued" and r["target_mailbox"] == box
    assert r["destination"] == "original" and r["folder_name"] is None
    assert r["on_conflict"] == "skip"
    # The site is the sync task's connection's, named with it.
    assert r["server_connection_id"] == archive["conn"]["id"]
    assert r["site_id"] == archive["site"]["id"]
    assert (r["items"], r["pending"], r["restored"], r["skipped"], r["failed"]) == (2, 2, 0, 0, 0)
    assert "no worker" in r["note"]
    got = items(api, r)
    assert [(i["item_id"], i["folder_path"], i["target_path"], i["content_sha256"], i["state"],
             i["deleted"]) for i in got] == [
        ("m2", "/Inbox/Projects", "/Inbox/Projects", archive["shas"]["m2"], "pending", False),
        ("m3", "/Inbox/Projects", "/Inbox/Projects", archive["shas"]["m3"], "pending", False)]
    assert [i["position"] for i in got] == [1, 2]
    # Now (the messages deleted) the same folder names nothing to restore, unless deleted
    # messages are asked for.
    problem(api.post(BASE, json={"selection": {"mailbox": box, "folder_paths":
                                               ["/Inbox/Projects"]}}), 422, "selection")
    again = create(api, {"mailbox": box, "folder_paths": ["/Inbox/Projects"],
                         "include_deleted": True})
    assert [(i["item_id"], i["deleted"]) for i in items(api, again)] == [("m2", True),
                                                                        ("m3", True)]


def test_into_a_new_folder_of_another_mailbox(api, archive):
    other = f"other-{uuid.uuid4().hex[:8]}@contoso.example"
    r = create(api, {"mailbox": archive["box"].upper()}, target_mailbox=other.upper(),
               destination="folder", on_conflict="copy",
               server_connection_id=archive["conn"]["id"])
    assert r["target_mailbox"] == other and r["on_conflict"] == "copy"
    assert r["destination"] == "folder"
    assert r["folder_name"].startswith("Recovered Items 20")
    got = items(api, r)
    root = "/" + r["folder_name"]
    assert {(i["item_id"], i["target_path"]) for i in got} == {
        ("m1", root + "/Inbox"), ("m4", root + "/Archive")}
    assert r["items"] == 2 and r["failed"] == 0 and r["pending"] == 2
    assert [i["item_id"] for i in items(api, r, state="pending")] == ["m4", "m1"]
    assert items(api, r, state="restored") == []
    named = create(api, {"mailbox": archive["box"], "item_ids": ["m1"]}, destination="folder",
                   folder_name="Recovered for Anna")
    assert [i["target_path"] for i in items(api, named)] == ["/Recovered for Anna/Inbox"]


def test_idempotency_audit_list_get_and_cancel(api, archive):
    key = str(uuid.uuid4())
    body = {"selection": {"mailbox": archive["box"], "item_ids": ["m4"]}}
    first = api.post(BASE, json=body, headers={"Idempotency-Key": key})
    again = api.post(BASE, json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    r = first.json()
    assert again.json()["id"] == r["id"] and first.headers["Location"] == f"{BASE}/{r['id']}"
    assert ok(api.get(f"{BASE}/{r['id']}")) == r
    assert [a["action"] for a in audit_events(api, resource_id=r["id"])] == ["restore.create"]
    listed = ok(api.get(BASE, params={"state": "queued", "limit": 500}))["items"]
    assert r["id"] in [x["id"] for x in listed] and all(x["state"] == "queued" for x in listed)
    page = ok(api.get(BASE, params={"limit": 1}))
    assert len(page["items"]) == 1 and page["next_cursor"]
    problem(api.get(BASE, params={"state": "done"}), 400, "state")
    problem(api.get(r["items_url"], params={"state": "done"}), 400, "state")
    one = f"{BASE}/{r['id']}"
    problem(api.post(f"{one}/cancel", headers={"If-Match": '"1"'}), 412)
    etag = api.get(one).headers["ETag"]
    c = ok(api.post(f"{one}/cancel", headers={"If-Match": etag}))
    assert c["state"] == "cancelled" and c["finished_at"] and c["note"] is None
    assert c["pending"] == 1  # nothing was written: the item stays pending
    problem(api.post(f"{one}/cancel"), 409)
    assert ok(api.get(BASE, params={"state": "cancelled", "limit": 500}))["items"]
    assert [a["action"] for a in audit_events(api, resource_id=r["id"])] == [
        "restore.cancel", "restore.create"]
    for path in (f"{BASE}/{uuid.uuid4()}", f"{BASE}/{uuid.uuid4()}/items"):
        problem(api.get(path), 404)
    problem(api.post(f"{BASE}/{uuid.uuid4()}/cancel"), 404)
    problem(api.get(f"{BASE}/not-a-uuid"), 404)


def test_the_connection_is_named_when_no_single_sync_task_reached_the_target(api, archive,
                                                                             database):
    box = archive["box"]
    stranger = f"stranger-{uuid.uuid4().hex[:8]}@contoso.example"
    problem(api.post(BASE, json={"selection": {"mailbox": box}, "target_mailbox": stranger}),
            422, "server_connection_id")
    # A second connection's sync task reports the same mailbox (as a worker would, "synchronised
    # by another task"): which connection reaches it is no longer known.
    site2, conn2 = make_connection(api)
    task2 = make_sync_task(api, conn2, [box])
    database.scalar("INSERT INTO task_mailboxes (task_id, address, state) VALUES"
                    " (%s, %s, 'waiting_for_lock') RETURNING 1", task2["id"], box)
    problem(api.post(BASE, json={"selection": {"mailbox": box}}), 422, "server_connection_id")
    r = create(api, {"mailbox": box}, server_connection_id=conn2["id"])
    assert r["server_connection_id"] == conn2["id"] and r["site_id"] == site2["id"]
    r = create(api, {"mailbox": box}, target_mailbox=stranger,
               server_connection_id=archive["conn"]["id"])
    assert r["site_id"] == archive["site"]["id"] and r["target_mailbox"] == stranger


def test_deleting_its_server_connection_fails_a_restore_not_ended(api, archive):
    _, conn = make_connection(api)
    queued = create(api, {"mailbox": archive["box"], "item_ids": ["m1"]},
                    server_connection_id=conn["id"])
    ended = create(api, {"mailbox": archive["box"], "item_ids": ["m4"]},
                   server_connection_id=conn["id"])
    ok(api.post(f"{BASE}/{ended['id']}/cancel"))
    assert api.delete(f"/api/v1/server-connections/{conn['id']}").status_code == 204
    failed = ok(api.get(f"{BASE}/{queued['id']}"))
    assert failed["state"] == "failed" and failed["error"]["code"] == "connection_deleted"
    assert failed["server_connection_id"] is None and failed["site_id"] is None
    assert failed["finished_at"] and failed["note"] is None
    kept = ok(api.get(f"{BASE}/{ended['id']}"))
    assert kept["state"] == "cancelled" and kept["error"] is None
    assert kept["server_connection_id"] is None
    problem(api.post(f"{BASE}/{queued['id']}/cancel"), 409)


def test_bad_input_names_the_field_and_changes_nothing(api, archive):
    box = archive["box"]
    cases = [
        ({}, "selection"),
        ({"selection": {}}, "selection.mailbox"),
        ({"selection": {"mailbox": "nobody@nowhere.example"}}, "selection.mailbox"),
        ({"selection": {"mailbox": box, "folder_paths": ["Inbox"]}}, "selection.folder_paths[0]"),
        ({"selection": {"mailbox": box, "item_ids": []}}, "selection.item_ids"),
        ({"selection": {"mailbox": box, "as_of": "2999-01-01T00:00:00Z"}}, "selection.as_of"),
        ({"selection": {"mailbox": box, "from": "2026-02-01T00:00:00Z",
                        "to": "2026-01-01T00:00:00Z"}}, "selection.to"),
        ({"selection": {"mailbox": box}, "target_mailbox": "not an address"}, "target_mailbox"),
        ({"selection": {"mailbox": box}, "destination": "elsewhere"}, "destination"),
        ({"selection": {"mailbox": box}, "on_conflict": "overwrite"}, "on_conflict"),
        ({"selection": {"mailbox": box}, "folder_name": "Recovered"}, "folder_name"),
        ({"selection": {"mailbox": box}, "destination": "folder", "folder_name": "a/b"},
         "folder_name"),
        ({"selection": {"mailbox": box}, "destination": "folder", "folder_name": "x" * 256},
         "folder_name"),
        ({"selection": {"mailbox": box}, "server_connection_id": "nope"}, "server_connection_id"),
        ({"selection": {"mailbox": box}, "server_connection_id": str(uuid.uuid4())},
         "server_connection_id"),
        ({"selection": {"mailbox": box}, "appointments": True}, "appointments"),
        ({"selection": {"mailbox": box}, "format": "eml_zip"}, "format"),
    ]
    before = len(ok(api.get(BASE, params={"limit": 500}))["items"])
    for body, field in cases:
        problem(api.post(BASE, json=body), 422, field)
    doc = problem(api.post(BASE, json={"selection": {"mailbox": box}, "appointments": True}),
                  422, "appointments")
    assert "not implemented" in doc["errors"][0]["message"]
    problem(api.post(BASE, data=b"{", headers={"Content-Type": "application/json"}), 400)
    assert api.post(BASE, data=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert len(ok(api.get(BASE, params={"limit": 500}))["items"]) == before


def test_a_site_reads_only_the_content_of_restores_assigned_to_it(api, anon, archive):
    shas = archive["shas"]
    r = create(api, {"mailbox": archive["box"], "item_ids": ["m1", "m4"]},
               server_connection_id=archive["conn"]["id"])
    site = archive["session"].w.api
    url = f"/api/v1/worker/restores/{r['id']}/content"
    got = site.get(f"{url}/{shas['m4']}")
    assert got.status_code == 200 and got.content == mime("m4")
    assert got.headers["Content-Type"] == "message/rfc822"
    assert got.headers["ETag"] == f'"{shas["m4"]}"'
    assert site.get(f"{url}/{shas['m4']}",
                    headers={"If-None-Match": got.headers["ETag"]}).status_code == 304
    part = site.get(f"{url}/{shas['m1']}", headers={"Range": "bytes=0-6"})
    assert part.status_code == 206 and part.content == mime("m1")[:7]
    # Content the site archived itself, but that this restore does not name.
    problem(site.get(f"{url}/{shas['m2']}"), 404)
    problem(site.get(f"{url}/{'0' * 64}"), 404)
    problem(site.get(f"{url}/NOT-A-HASH"), 404)
    problem(site.get(f"/api/v1/worker/restores/{uuid.uuid4()}/content/{shas['m4']}"), 404)
    # Another site: the same restore and content are not there for it.
    other_site, _ = make_connection(api)
    other = anon.as_client(other_site["credentials"]["client_id"],
                           other_site["credentials"]["client_secret"])
    problem(other.get(f"{url}/{shas['m4']}"), 404)
    # The restore moved to another site's connection is that site's to read.
    _, conn2 = make_connection(api, other_site)
    moved = create(api, {"mailbox": archive["box"], "item_ids": ["m4"]},
                   server_connection_id=conn2["id"])
    murl = f"/api/v1/worker/restores/{moved['id']}/content/{shas['m4']}"
    assert other.get(murl).content == mime("m4")
    problem(site.get(murl), 404)
    # Once it has ended its content is not handed out any more.
    ok(api.post(f"{BASE}/{r['id']}/cancel"))
    problem(site.get(f"{url}/{shas['m4']}"), 409)
    # Only sites: administrators read content through the archive, not this route.
    problem(api.get(murl), 403)
    problem(anon.get(murl), 401)


def test_auth_matrix(api, anon, read_only, archive):  # noqa: F811
    r = create(api, {"mailbox": archive["box"], "item_ids": ["m1"]},
               server_connection_id=archive["conn"]["id"])
    site_client = archive["session"].w.api
    one = f"{BASE}/{r['id']}"
    body = {"selection": {"mailbox": archive["box"]}}
    for client, status in ((anon, 401), (site_client, 403)):
        problem(client.get(BASE), status)
        problem(client.post(BASE, json=body), status)
        problem(client.get(one), status)
        problem(client.get(f"{one}/items"), status)
        problem(client.post(f"{one}/cancel"), status)
    # read_only follows restores and changes nothing.
    assert ok(read_only.get(one))["id"] == r["id"]
    assert r["id"] in [x["id"] for x in ok(read_only.get(BASE, params={"limit": 500}))["items"]]
    assert [i["item_id"] for i in ok(read_only.get(f"{one}/items"))["items"]] == ["m1"]
    problem(read_only.post(BASE, json=body), 403)
    problem(read_only.post(f"{one}/cancel"), 403)
    assert ok(api.get(one))["state"] == "queued"

