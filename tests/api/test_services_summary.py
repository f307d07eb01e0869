# SPDX-License-Identifier: Apache-2.0
"""GET /api/v1/exchange-services/summary: the Exchange Services dashboard counted by the server
(tasks by status, type and health; the active executions with their progress and the mailbox
being synced; the failed tasks), its caps and totals, its ETag and 304, and who may read it."""
import pytest

from admin_helpers import make_definition, make_site, make_task, ok, problem, unique
from conftest import admin_server
from scripted_worker import ScriptedWorker

PATH = "/api/v1/exchange-services/summary"
CAP = 50


@pytest.fixture(scope="module")
def server(database):
    # The running execution's lease outlasts the module: it stays running without heartbeats.
    yield from admin_server(database, {"MSE_LEASE_SECONDS": 600})


def all_tasks(api):
    items, cursor = [], None
    while True:
        page = ok(api.get("/api/v1/exchange-tasks", params={"limit": 500, "cursor": cursor}))
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def tally(tasks, key, values):
    return {v: sum(1 for t in tasks if t[key] == v) for v in values}


def run(api, task):
    return ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)


@pytest.fixture(scope="module")
def world(api, anon):
    """Tasks in every state the dashboard distinguishes, on a site of the module's own."""
    site = make_site(api)
    mfr = make_definition(api)
    cal = make_definition(api, type_="calendar_replication")
    group = {"kind": "mailbox_list", "value": "anna@example.com; bob@example.com"}
    w = {"site": site}
    w["disabled"] = make_task(api, site=site, definition=cal, enabled=False)
    w["scheduled"] = make_task(api, site=site, definition=mfr)
    # Running: claimed, membership known, the first mailbox locked (being synced).
    w["running"] = make_task(api, site=site, definition=mfr, group=group)
    run(api, w["running"])
    worker = ScriptedWorker(anon, site["credentials"])
    ok(worker.claim())
    assert worker.execution["task"]["id"] == w["running"]["id"]
    ok(worker.membership(["anna@example.com", "bob@example.com"]))
    ok(worker.lock("anna@example.com"))
    w["worker"] = worker
    # Failed: its group could not be resolved.
    w["failed"] = make_task(api, site=site, definition=mfr)
    run(api, w["failed"])
    failing = ScriptedWorker(anon, site["credentials"])
    ok(failing.claim())
    assert failing.execution["task"]["id"] == w["failed"]["id"]
    ok(failing.membership(error={"reason_code": "no_directory", "reason_text": "no directory"}))
    assert ok(failing.complete())["result"] == "failed"
    # Queued: more than the list holds (no worker claims them: they stay queued).
    w["queued"] = [make_task(api, site=site, definition=mfr) for _ in range(CAP)]
    for t in w["queued"]:
        run(api, t)
    # Deleted tasks are not counted.
    gone = make_task(api, site=site, definition=mfr)
    assert api.delete(f"/api/v1/exchange-tasks/{gone['id']}").status_code == 204
    return w


def test_counts_are_the_task_lists(api, world):
    s = ok(api.get(PATH))
    tasks = all_tasks(api)
    assert s["tasks"]["total"] == len(tasks) == CAP + 4
    assert s["tasks"]["by_status"] == tally(tasks, "status", ["disabled", "scheduled", "queued",
                                                               "running", "waiting"])
    assert s["tasks"]["by_status"]["queued"] == CAP and s["tasks"]["by_status"]["running"] == 1
    assert s["tasks"]["by_type"] == tally(tasks, "type", [
        "mailbox_folder_replication", "calendar_replication", "mailbox_storage_management",
        "managed_folders"])
    assert s["tasks"]["by_type"]["calendar_replication"] == 1
    health = tally(tasks, "health", ["ok", "warning", "errors", "failed"])
    health["none"] = sum(1 for t in tasks if t["health"] is None)
    assert s["tasks"]["by_health"] == health and health["failed"] == 1


def test_running_executions_with_progress_and_current_mailbox(api, world):
    s = ok(api.get(PATH))
    running = s["running"]
    # Every queued task and the running one; the list stops at its cap, the total does not.
    assert running["total"] == CAP + 1 and len(running["items"]) == CAP
    first = running["items"][0]  # in the tasks' creation order: the running one comes first
    assert first["task"]["id"] == world["running"]["id"] and first["task"]["status"] == "running"
    assert first["execution"]["id"] == world["worker"].execution["id"]
    assert first["execution"]["state"] == "running"
    assert first["execution"]["mailboxes"]["total"] == 2
    assert first["current_mailbox"] == "anna@example.com"
    queued = running["items"][1:]
    assert [x["task"]["id"] for x in queued] == [t["id"] for t in world["queued"][:CAP - 1]]
    assert all(x["execution"]["state"] == "queued" and x["current_mailbox"] is None for x in queued)


def test_failures(api, world):
    f = ok(api.get(PATH))["failures"]
    assert f["total"] == 1
    [x] = f["items"]
    assert x["id"] == world["failed"]["id"] and x["health"] == "failed" and x["finished_at"]
    assert x["name"] == world["failed"]["name"]


def test_unchanged_summary_is_not_modified(api, world):
    r = api.get(PATH)
    assert r.status_code == 200
    etag = r.headers["ETag"]
    again = api.get(PATH, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    # A mailbox ends: the summary moves on, and so does its ETag.
    assert world["worker"].finish("anna@example.com", items=3).status_code == 204
    moved = api.get(PATH, headers={"If-None-Match": etag})
    assert moved.status_code == 200 and moved.headers["ETag"] != etag
    first = moved.json()["running"]["items"][0]
    assert first["execution"]["mailboxes"]["healthy"] == 1 and first["current_mailbox"] is None


def test_who_may_read_it(api, anon, world):
    ro = ok(api.post("/api/v1/api-clients", json={"name": unique("ro"), "role": "read_only"}),
            201)
    assert anon.as_client(ro["client_id"], ro["client_secret"]).get(PATH).status_code == 200
    creds = world["site"]["credentials"]
    problem(anon.as_client(creds["client_id"], creds["client_secret"]).get(PATH), 403)
    problem(anon.get(PATH), 401)
    # It takes no parameters: a filter it does not have is refused, not ignored.
    problem(api.get(PATH, params={"site_id": world["site"]["id"]}), 400)
