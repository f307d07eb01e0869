# SPDX-License-Identifier: Apache-2.0
"""Attachment content in the blob store, on each backend (fs, and s3 against a real S3-protocol
server): uploads land in the store and not in PostgreSQL, downloads are verified and honour
If-None-Match and Range, corrupt content is never served, unreferenced uploads are collected
after the grace period (with an audit event) while referenced ones stay, and content an older
schema kept in the database is moved into the store when the server starts."""
import glob
import hashlib
import os
import time

import pytest

import harness
from admin_helpers import ok, problem
from conftest import FAST, admin_server
from test_archive import CAL, CALENDAR, appointment, box, mailbox_address, new_task, replicating
from scripted_worker import ScriptedWorker, folder


@pytest.fixture(scope="module", params=["fs", "s3"])
def backend(request):
    if request.param == "fs":
        yield None
    else:
        s3 = harness.S3Server()
        yield s3
        s3.close()


# s3rver checks the access key id but not the signature, so any secret will do: a unique one
# lets the last test look for it in the server's output.
S3_SECRET = f"s3-secret-{os.getpid()}-{time.time_ns()}"


@pytest.fixture(scope="module")
def server(database, backend):
    env = {**FAST, "MSE_BLOB_SWEEP_SECONDS": 1}
    if backend:
        env.update(backend.env(), MSE_S3_SECRET_ACCESS_KEY=S3_SECRET)
    yield from admin_server(database, env)


@pytest.fixture(scope="module")
def site(api):
    return ok(api.post("/api/v1/sites", json={"name": f"blob-{os.getpid()}-{time.time_ns()}"}),
              201)


def stored_file(server, backend, sha):
    """Where the backend keeps the blob's bytes on disk (s3rver's object file for s3)."""
    if backend is None:
        return os.path.join(server.data_dir, "blobs", sha[:2], sha)
    found = glob.glob(os.path.join(backend.dir, backend.bucket, sha + "*object"))
    return found[0] if found else None


def archive_with(api, anon, site, contents):
    """An appointment of a new mailbox with one attachment per content; their hashes."""
    addr = mailbox_address()
    task = new_task(api, site, addr, CAL, CALENDAR)
    with replicating(api, anon, site, task, addr) as s:
        shas = [s.put(c) for c in contents]
        s.hierarchy([folder("C1", "Calendar", folder_class="IPF.Appointment")])
        s.folder("C1", appointments=[appointment(
            "E1", "C1", "2024-05-06T13:00:00Z", "2024-05-06T14:00:00Z", has_attachments=True,
            attachments=[{"attachment_id": f"A{i}", "name": f"f{i}.bin",
                          "content_type": "application/octet-stream", "size": len(c),
                          "sha256": sha} for i, (c, sha) in enumerate(zip(contents, shas))])])
    return addr, shas


def test_uploads_go_to_the_store_not_the_database(api, anon, site, server, backend, database):
    data = os.urandom(3000)
    addr, [sha] = archive_with(api, anon, site, [data])
    row = database.query("SELECT backend, content IS NULL, size, referenced_at IS NOT NULL"
                         " FROM blobs WHERE sha256 = %s", sha)
    assert row == [("s3" if backend else "fs", True, len(data), True)]
    with open(stored_file(server, backend, sha), "rb") as f:
        assert f.read() == data
    r = api.get(f"{box(addr)}/attachments/{sha}")
    assert r.status_code == 200 and r.content == data
    assert r.headers["Accept-Ranges"] == "bytes"


def test_conditional_and_range_requests(api, anon, site):
    data = bytes(range(256)) * 4
    addr, [sha] = archive_with(api, anon, site, [data])
    url = f"{box(addr)}/attachments/{sha}"
    tag = f'"{sha}"'
    r = api.get(url, headers={"If-None-Match": tag})
    assert r.status_code == 304 and r.content == b"" and r.headers["ETag"] == tag
    r = api.get(url, headers={"Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert int(r.headers["Content-Length"]) == 10
    r = api.get(url, headers={"Range": "bytes=-24"})
    assert r.status_code == 206 and r.content == data[-24:]
    assert r.headers["Content-Range"] == f"bytes {len(data) - 24}-{len(data) - 1}/{len(data)}"
    r = api.get(url, headers={"Range": "bytes=1000-"})
    assert r.status_code == 206 and r.content == data[1000:]
    r = api.get(url, headers={"Range": f"bytes={len(data)}-"})
    problem(r, 416)
    assert r.headers["Content-Range"] == f"bytes */{len(data)}"
    # Served whole: several ranges, a stale If-Range, a malformed range.
    for headers in ({"Range": "bytes=0-1,4-5"}, {"Range": "bytes=0-1", "If-Range": '"old"'},
                    {"Range": "bytes=5-1"}):
        r = api.get(url, headers=headers)
        assert r.status_code == 200 and r.content == data, headers
    r = api.get(url, headers={"Range": "bytes=0-1", "If-Range": tag})
    assert r.status_code == 206 and r.content == data[:2]


def test_corrupt_content_is_never_served(api, anon, site, server, backend):
    data = b"content that will be damaged on disk " * 10
    addr, [sha] = archive_with(api, anon, site, [data])
    path = stored_file(server, backend, sha)
    with open(path, "r+b") as f:
        f.write(b"X")
    for headers in ({}, {"Range": "bytes=100-"}):
        r = api.get(f"{box(addr)}/attachments/{sha}", headers=headers)
        problem(r, 500)
        assert "SHA-256" in r.json()["detail"]
        assert b"damaged" not in r.content
    # The worker re-uploading the content repairs it.
    w = ScriptedWorker(anon, site["credentials"])
    assert w.put_content(sha, data).status_code == 200
    assert api.get(f"{box(addr)}/attachments/{sha}").content == data


def test_unreferenced_uploads_are_collected_referenced_ones_kept(api, anon, site, server,
                                                                 backend, database):
    kept = b"referenced by an appointment " + os.urandom(16)
    addr, [kept_sha] = archive_with(api, anon, site, [kept])
    w = ScriptedWorker(anon, site["credentials"])
    orphan = b"uploaded, never referenced " + os.urandom(16)
    orphan_sha = hashlib.sha256(orphan).hexdigest()
    assert w.put_content(orphan_sha, orphan).status_code == 201
    assert stored_file(server, backend, orphan_sha)
    # Both are past the grace period (a day by default): only the unreferenced one goes.
    database.query("UPDATE blobs SET uploaded_at = now() - interval '2 days'"
                   " WHERE sha256 IN (%s, %s)", kept_sha, orphan_sha)
    deadline = time.monotonic() + 60
    while database.scalar("SELECT count(*) FROM blobs WHERE sha256 = %s", orphan_sha):
        assert time.monotonic() < deadline, "the collector did not run"
        time.sleep(0.2)
    gone = stored_file(server, backend, orphan_sha)
    assert gone is None or not os.path.exists(gone)
    assert database.scalar("SELECT count(*) FROM blob_holders WHERE sha256 = %s", orphan_sha) == 0
    events = ok(api.get("/api/v1/audit-events",
                        params={"action": "blob.collect", "resource_id": orphan_sha}))["items"]
    assert len(events) == 1 and events[0]["resource_type"] == "blob"
    assert events[0]["before"]["size"] == len(orphan)
    # The referenced one is still stored and served.
    assert database.scalar("SELECT count(*) FROM blobs WHERE sha256 = %s", kept_sha) == 1
    assert api.get(f"{box(addr)}/attachments/{kept_sha}").content == kept
    # The site is told the collected content is gone, so it uploads it again.
    assert w.api.get(f"/api/v1/worker/attachments/{orphan_sha}").status_code == 404
    assert w.put_content(orphan_sha, orphan).status_code == 201


def test_content_left_in_the_database_moves_into_the_store_at_start(api, anon, site, server,
                                                                     backend, database):
    """Rows written before schema 033 hold their bytes; a starting server copies them."""
    data = b"written when content lived in PostgreSQL " + os.urandom(16)
    addr, [sha] = archive_with(api, anon, site, [data])
    bad = b"bytes that do not match their address"
    bad_sha = hashlib.sha256(b"something else").hexdigest()
    database.query("UPDATE blobs SET content = %s, backend = NULL WHERE sha256 = %s", data, sha)
    database.query("INSERT INTO blobs (sha256, size, content, referenced_at)"
                   " VALUES (%s, %s, %s, now())", bad_sha, len(bad), bad)
    env = {}
    if backend:
        env.update(backend.env(), MSE_S3_SECRET_ACCESS_KEY=S3_SECRET)
    second = harness.Server(database.conninfo, env=env)
    try:
        second.wait_for("1 blob\\(s\\) copied from the database, 1 left there")
        assert database.query("SELECT backend, content IS NULL FROM blobs WHERE sha256 = %s",
                              sha) == [("s3" if backend else "fs", True)]
        # Content that does not hash to its address stays where it is, for a person to see.
        assert database.scalar("SELECT content IS NOT NULL FROM blobs WHERE sha256 = %s",
                               bad_sha)
        path = stored_file(second, backend, sha)
        with open(path, "rb") as f:
            assert f.read() == data
    finally:
        second.stop_clean()
        database.query("DELETE FROM blobs WHERE sha256 = %s", bad_sha)


def test_the_s3_secret_is_never_logged(server, backend):
    assert server.output()
    assert S3_SECRET not in server.output()


@pytest.mark.parametrize("env, needle", [
    ({"MSE_BLOB_BACKEND": "nfs"}, "MSE_BLOB_BACKEND must be fs or s3"),
    ({"MSE_BLOB_GRACE_SECONDS": "0"}, "MSE_BLOB_GRACE_SECONDS"),
    ({"MSE_BLOB_BACKEND": "s3", "MSE_S3_BUCKET": "b"}, "MSE_S3_ENDPOINT must be set"),
    ({"MSE_BLOB_BACKEND": "s3", "MSE_S3_ENDPOINT": "http://127.0.0.1:9", "MSE_S3_BUCKET": "b",
      "MSE_S3_ACCESS_KEY_ID": "k"}, "MSE_S3_SECRET_ACCESS_KEY must be set"),
])
def test_bad_blob_store_configuration_stops_the_server(database, tmp_path, env, needle):
    p = harness.Process([harness.binary("mse-server")],
                        {"MSE_DATABASE_URL": database.conninfo, "MSE_DATA_DIR": str(tmp_path),
                         **env}, None, "mse-server")
    assert p.wait(30) == 2 and needle in p.output()
