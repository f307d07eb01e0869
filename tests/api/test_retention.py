# SPDX-License-Identifier: Apache-2.0
"""Retention (docs/retention.md), on each blob backend: the organisation's setting
(GET/PUT /api/v1/settings/retention, If-Match, validation naming the field, roles, audit), and
the sweeper in mse-server that purges, in bounded transactional batches, versions that ended
and messages deleted in Exchange before the window, the archive of a task deleted before it,
and then the content nothing references any more, from the store too; never a current version
nor referenced content. Age is made by moving the archive's own timestamps into the past."""
import hashlib
import os
import time
import uuid

import pytest

from admin_helpers import audit_events, ok, problem, unique
from conftest import FAST, admin_server
from scripted_worker import folder, message
from test_blob_content import backend, stored_file  # noqa: F401 (backend: fs and s3)
from test_sync_content import BASE, SyncSession, make_connection

SETTING = "/api/v1/settings/retention"


@pytest.fixture(scope="module")
def server(database, backend):
    env = {"MSE_SCHEDULER_INTERVAL_MS": FAST["MSE_SCHEDULER_INTERVAL_MS"],
           "MSE_RETENTION_SWEEP_SECONDS": 1}
    if backend:
        env.update(backend.env(), MSE_S3_SECRET_ACCESS_KEY=f"s3-{uuid.uuid4().hex}")
    yield from admin_server(database, env)


def set_retention(api, days, **headers):
    return api.put(SETTING, json={"retention_days": days}, headers=headers)


def test_the_setting_is_validated_versioned_audited_and_admin_only(api, anon, database):
    first = api.get(SETTING)
    assert first.status_code == 200
    assert first.json()["retention_days"] is None  # the default: keep forever
    etag = first.headers["ETag"]
    for body, field in [({"retention_days": 0}, "retention_days"),
                        ({"retention_days": 36501}, "retention_days"),
                        ({"retention_days": "30"}, "retention_days"),
                        ({"retention_days": 1.5}, "retention_days"), ({}, "retention_days"),
                        ({"retention_days": 30, "keep": True}, "keep"),
                        ({"retention_days": 30, "updated_by": "me"}, "updated_by")]:
        assert field in [e["field"] for e in problem(api.put(SETTING, json=body), 422)["errors"]]
    problem(api.put(SETTING, data="[", headers={"Content-Type": "application/json"}), 400)
    problem(api.put(SETTING, data="x", headers={"Content-Type": "text/plain"}), 415)
    problem(set_retention(api, 30, **{"If-Match": '"999"'}), 412)
    problem(set_retention(api, 30, **{"If-Match": "nonsense"}), 400)
    problem(api.get(SETTING, params={"x": "1"}), 400)
    assert api.get(SETTING).headers["ETag"] == etag  # nothing changed
    r = set_retention(api, 400, **{"If-Match": etag})
    assert ok(r)["retention_days"] == 400 and r.headers["ETag"] != etag
    assert r.json()["updated_by"] and r.json()["updated_at"]
    event = audit_events(api, action="retention.update")[0]
    assert event["resource_type"] == "settings" and event["resource_id"] == "retention"
    assert event["before"]["retention_days"] is None and event["after"]["retention_days"] == 400
    # Roles: read_only reads, only admin writes; a site's credentials reach neither.
    ro = ok(api.post("/api/v1/api-clients", json={"name": unique("ro"), "role": "read_only"}),
            201)
    reader = anon.as_client(ro["client_id"], ro["client_secret"])
    assert ok(reader.get(SETTING))["retention_days"] == 400
    problem(set_retention(reader, 1), 403)
    site, _ = make_connection(api)
    as_site = anon.as_client(site["credentials"]["client_id"], site["credentials"]["client_secret"])
    problem(as_site.get(SETTING), 403)
    problem(set_retention(as_site, 1), 403)
    problem(anon.get(SETTING), 401)
    ok(set_retention(api, None))
    assert ok(api.get(SETTING))["retention_days"] is None


def mime(text):
    return f"Subject: {text}\r\nFrom: a@example.com\r\n\r\n{text} {uuid.uuid4().hex}\r\n".encode()


def upload(s, data):
    sha = hashlib.sha256(data).hexdigest()
    assert s.w.put_content(sha, data).status_code in (200, 201)
    return sha


def age(database, sql, *args):
    """Moves archive timestamps 40 days into the past (what 40 days of waiting would do)."""
    database.query(sql.replace("OLD", "now() - interval '40 days'"), *args)


def sweeps(api):
    return audit_events(api, action="retention.sweep")


def wait_sweep(api, before, timeout=60):
    """The sweeper runs every second once retention is set: waits for its next event."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = sweeps(api)
        if len(events) > before:
            return events[0]
        time.sleep(0.2)
    raise AssertionError("no retention sweep was recorded")


def versions(database, box, item):
    return database.query("SELECT v.content_sha256, v.valid_to IS NULL FROM archive_item_versions v"
                          " JOIN archive_partitions p ON p.id = v.partition_id"
                          " WHERE p.mailbox = %s AND v.item_id = %s ORDER BY v.valid_from",
                          box, item)


def blob_row(database, sha):
    return database.scalar("SELECT count(*) FROM blobs WHERE sha256 = %s", sha)


def stored(server, backend, sha):
    path = stored_file(server, backend, sha)
    return bool(path) and os.path.exists(path)


def test_old_versions_deleted_messages_and_unreferenced_content_are_purged(
        api, anon, database, server, backend):
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    box = s.mailbox
    ok(s.hierarchy([folder("inbox", "Inbox")]))
    data = {t: mime(t) for t in ("shared", "gone", "young", "current", "edited")}
    sha = {t: upload(s, d) for t, d in data.items()}

    def m(item, content):
        return message(item, "inbox", content_sha256=sha[content],
                       content_size=len(data[content]))
    ok(s.folder("inbox", [m("m1", "shared"), m("m2", "shared"), m("m3", "gone"),
                          m("m4", "young"), m("m5", "edited")]))
    # m1 and m5 get new content (their first versions end), m3 and m4 are deleted in Exchange.
    ok(s.folder("inbox", [m("m1", "current"), m("m5", "current"),
                          {"item_id": "m3", "change": "delete"},
                          {"item_id": "m4", "change": "delete"}]))
    s.end()
    # m1's superseded version and m3 (deleted) are old; m4 and m5's first version are not.
    age(database, "UPDATE archive_item_versions v SET valid_from = OLD - interval '1 day',"
        " valid_to = OLD FROM archive_partitions p WHERE p.id = v.partition_id"
        " AND p.mailbox = %s AND v.item_id IN ('m1', 'm3') AND v.valid_to IS NOT NULL", box)
    age(database, "UPDATE archive_items i SET deleted_at = OLD FROM archive_partitions p"
        " WHERE p.id = i.partition_id AND p.mailbox = %s AND i.item_id = 'm3'", box)
    assert stored(server, backend, sha["gone"]) and blob_row(database, sha["gone"]) == 1
    # Its text read for the search (the indexer's row must go with the content).
    deadline = time.monotonic() + 60
    while not database.scalar("SELECT count(*) FROM content_texts WHERE sha256 = %s",
                              sha["gone"]):
        assert time.monotonic() < deadline, "the indexer never read the content"
        time.sleep(0.2)

    before = len(sweeps(api))
    ok(set_retention(api, 30))
    event = wait_sweep(api, before)
    assert event["resource_type"] == "settings" and event["actor"] is None
    assert {k: event["after"][k] for k in ("retention_days", "versions", "items", "blobs",
                                           "bytes")} == {
        "retention_days": 30, "versions": 2, "items": 1, "blobs": 1, "bytes": len(data["gone"])}
    # Current versions stay, and so do young ones.
    assert versions(database, box, "m1") == [(sha["current"], True)]
    assert versions(database, box, "m2") == [(sha["shared"], True)]
    assert versions(database, box, "m3") == []
    assert versions(database, box, "m4") == [(sha["young"], False)]
    assert versions(database, box, "m5") == [(sha["edited"], False), (sha["current"], True)]
    items = {i["item_id"]: i for i in ok(api.get(f"/api/v1/mailboxes/{box}/items", params={
        "include_deleted": "true"}))["items"]}
    assert sorted(items) == ["m1", "m2", "m4", "m5"] and items["m4"]["deleted"] is True
    # Content: the one only m3 named went, from the table and the store; the one a purged
    # version shared with a kept message stays, and is still served.
    assert blob_row(database, sha["gone"]) == 0 and not stored(server, backend, sha["gone"])
    assert database.scalar("SELECT count(*) FROM content_texts WHERE sha256 = %s",
                           sha["gone"]) == 0
    for k in ("shared", "young", "current", "edited"):
        assert blob_row(database, sha[k]) == 1 and stored(server, backend, sha[k]), k
    assert api.get(items["m2"]["content_url"]).content == data["shared"]
    ok(set_retention(api, None))


def test_a_deleted_tasks_archive_is_kept_until_retention_has_passed(api, anon, database,
                                                                    server, backend):
    site, conn = make_connection(api)
    kept = {}
    for name in ("old", "recent"):
        s = SyncSession(api, anon, site, conn)
        ok(s.hierarchy([folder("inbox", "Inbox")]))
        data = mime(name)
        digest = upload(s, data)
        ok(s.folder("inbox", [message("t1", "inbox", content_sha256=digest,
                                      content_size=len(data))]))
        s.end()
        assert api.delete(f"{BASE}/{s.task['id']}").status_code == 204
        kept[name] = (s.mailbox, s.task["id"], digest)
    box, task, digest = kept["old"]
    age(database, "UPDATE exchange_tasks SET deleted_at = OLD WHERE id = %s", task)
    before = len(sweeps(api))
    ok(set_retention(api, 30))
    event = wait_sweep(api, before)
    assert (event["after"]["items"], event["after"]["blobs"]) == (1, 1)
    assert ok(api.get(f"/api/v1/mailboxes/{box}/items"))["items"] == []
    assert blob_row(database, digest) == 0 and not stored(server, backend, digest)
    # Deleted just now: its archive is still there, content and all.
    rbox, _, rdigest = kept["recent"]
    [item] = ok(api.get(f"/api/v1/mailboxes/{rbox}/items"))["items"]
    assert item["content_sha256"] == rdigest and api.get(item["content_url"]).status_code == 200
    ok(set_retention(api, None))
