# SPDX-License-Identifier: Apache-2.0
"""Who may read and write archived message content (docs/sync-recover.md). A site's
credentials write only through the worker protocol, and only into the executions their site
holds; they never read the archive, their own site's included. Administrators read it, the
read_only role too, and neither can write content through the worker protocol."""
import hashlib
import uuid

import pytest

from admin_helpers import make_site, ok, problem, unique
from conftest import FAST, admin_server
from scripted_worker import ScriptedWorker, folder, folder_batch, message
from test_sync_content import SyncSession, make_connection


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, {"MSE_SCHEDULER_INTERVAL_MS": FAST[
        "MSE_SCHEDULER_INTERVAL_MS"]})


@pytest.fixture(scope="module")
def read_only(api, anon):
    client = ok(api.post("/api/v1/api-clients", json={"name": unique("ro"), "role": "read_only"}),
                201)
    return anon.as_client(client["client_id"], client["client_secret"])


@pytest.fixture(scope="module")
def archived(api, anon):
    """Site A's sync task archived one message with its content; the session stays open."""
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    ok(s.hierarchy([folder("inbox", "Inbox")]))
    data = b"Subject: payroll\r\n\r\nconfidential figures\r\n"
    sha = hashlib.sha256(data).hexdigest()
    assert s.w.put_content(sha, data).status_code in (200, 201)
    ok(s.folder("inbox", [message("AAMk-pay", "inbox", content_sha256=sha,
                                  content_size=len(data))]))
    item = ok(api.get(f"/api/v1/mailboxes/{s.mailbox}/items"))["items"][0]
    return {"session": s, "site": site, "sha": sha, "data": data, "url": item["content_url"]}


def content_rows(database, sha):
    return [r[0] for r in database.query(
        "SELECT site_id::text FROM blob_holders WHERE sha256 = %s ORDER BY 1", sha)]


def test_a_site_cannot_read_archived_content(api, anon, archived):
    """The content routes are the administrators': a site, the writer's own included, gets 403."""
    own = archived["session"].w.api
    other = ScriptedWorker(anon, make_site(api)["credentials"]).api
    box = archived["session"].mailbox
    for client in (own, other):
        problem(client.get(archived["url"]), 403)
        problem(client.get(f"/api/v1/mailboxes/{box}/items"), 403)
        problem(client.get(f"/api/v1/archive/messages/{archived['sha']}/content"), 403)
        problem(client.get(f"/api/v1/mailboxes/{box}/attachments/{archived['sha']}"), 403)


def test_administrators_and_read_only_clients_read_content(api, read_only, archived):
    for client in (api, read_only):
        r = client.get(archived["url"])
        assert r.status_code == 200 and r.content == archived["data"], r.status_code


def test_read_only_and_admin_clients_cannot_write_content(api, read_only, archived, database):
    """Writing is the worker protocol's, a site's credentials only: 403 for any admin role."""
    data = b"Subject: forged\r\n\r\nforged\r\n"
    sha = hashlib.sha256(data).hexdigest()
    s = archived["session"]
    for client in (api, read_only):
        problem(client.put(f"/api/v1/worker/attachments/{sha}", data=data,
                           headers={"Content-Type": "application/octet-stream"}), 403)
        problem(client.post(f"/api/v1/worker/executions/{s.claim['id']}/submissions",
                            headers={"MSE-Fencing-Token": str(s.w.token)},
                            json={"batch_id": str(uuid.uuid4())}), 403)
    assert content_rows(database, sha) == []
    for client in (api, read_only):
        assert client.get(archived["url"]).content == archived["data"]


def test_another_sites_worker_cannot_write_content_into_an_execution(api, anon, archived,
                                                                       database):
    """Site B holding A's execution id and fencing token reaches nothing (404, as every
    execution route answers for another site's execution): A's message keeps its content, and
    B's own upload is recorded for B alone."""
    s = archived["session"]
    site_b = make_site(api)
    intruder = ScriptedWorker(anon, site_b["credentials"])
    intruder.execution, intruder.token = s.w.execution, s.w.token
    data = b"Subject: payroll\r\n\r\nforged figures\r\n"
    sha = hashlib.sha256(data).hexdigest()
    assert ok(intruder.put_content(sha, data), 201)["created"] is True
    state = s.states["inbox"]
    forged = folder_batch(s.mailbox, "inbox", state, f"S-{uuid.uuid4()}",
                          [message("AAMk-pay", "inbox", content_sha256=sha,
                                   content_size=len(data))])
    r = intruder.submit(forged)
    problem(r, 404)
    # A's own worker cannot be made to reference B's upload either: the site does not hold it.
    ok(s.w.heartbeat())
    problem(s.w.submit(forged), 422, "items[0].content_sha256")
    assert content_rows(database, sha) == [site_b["id"]]
    r = api.get(archived["url"])
    assert r.status_code == 200 and r.content == archived["data"]

