# SPDX-License-Identifier: Apache-2.0
"""Mailbox Storage Management end to end (docs/storage-management.md): mse-server, PostgreSQL,
mse-worker in service mode and ews-sim. A sync task archives a mailbox; messages arrive in
Exchange afterwards and stay unarchived. A report-only run counts exactly the archived
candidates as confirmed and leaves the mailbox as it was."""
import json

import pytest

from admin_helpers import make_definition, make_site, make_task, ok, problem
from conftest import FAST, admin_server
from e2e import simlib
from test_service import run_and_wait, start_worker
from test_sync_recover import make_sync_task, wait_executions

BOX = "storage.owner@contoso.example"
OLD = "2024-01-15T09:00:00Z"
BIG = 300 * 1024


def message(mid, received=OLD, size=BIG, sender="bob@contoso.example"):
    return {"subject": mid, "internet_message_id": f"<{mid}@contoso.example>",
            "from": sender, "to": [BOX], "sent": received, "received": received,
            "size": size, "body": f"message {mid}"}


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    fixture = {"mailboxes": [{"address": BOX, "display_name": "Storage Owner", "folders": [
        {"name": "Inbox", "distinguished_id": "inbox",
         "messages": [message("a1"), message("a2"), message("small", size=2000),
                      message("recent", received=None)],
         "folders": [{"name": "Keep", "messages": [message("kept")]},
                     {"name": "Projects", "messages": [message("a3")]}]}]}]}
    for f in fixture["mailboxes"][0]["folders"][0]["messages"]:
        if f["received"] is None:
            del f["received"], f["sent"]
    path = tmp_path_factory.mktemp("storage") / "org.json"
    path.write_text(json.dumps(fixture))
    s = simlib.EwsSim(fixture=str(path))
    yield s
    s.stop_clean()


def run(api, task, body=None):
    return run_and_wait(api, task, timeout=180, body=body)


def reports(api, task, execution):
    return ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{execution['id']}"
                      "/storage-report"))["items"]


@pytest.fixture(scope="module")
def archived(api, database, server, sim):
    """The mailbox archived by a sync task, then two messages that arrived after it."""
    site = make_site(api)
    worker = start_worker(server, sim, site)
    try:
        task = make_sync_task(api, sim, site, [BOX], calendars=False)
        assert wait_executions(database, task["id"], 1)[-1] == ("completed", "ok")
        ok(api.post(f"/api/v1/sync-tasks/{task['id']}/stop"))
        for mid in ("late1", "late2"):
            sim.control("POST", f"/mailboxes/{BOX}/items",
                        json={"type": "message", "folder": "/Inbox", **message(mid)},
                        expect=201)
        yield {"site": site, "worker": worker}
    finally:
        worker.stop()


def msm_task(api, site, **settings):
    definition = make_definition(api, "mailbox_storage_management", {
        "action": "message_delete", "older_than_days": 30, "min_size_kb": 100,
        "exclude_folders": ["/Inbox/Keep"], **settings})
    return make_task(api, site=site, definition=definition,
                     group={"kind": "mailbox", "value": BOX})


def test_a_report_counts_exactly_the_confirmed_candidates_and_changes_nothing(api, sim,
                                                                             archived):
    before = sim.export(BOX)
    task = msm_task(api, archived["site"])
    x = run(api, task, {"mode": "report"})
    assert (x["state"], x["result"]) == ("completed", "ok"), x
    (entry,) = reports(api, task, x)
    report = entry["report"]
    assert entry["mailbox"] == BOX and report["mode"] == "report"
    # a1, a2 and a3 (in a sub-folder) are archived candidates; late1 and late2 are not archived;
    # "small" and "recent" are no candidates, "kept" is in an excluded folder.
    assert (report["candidates"], report["confirmed"], report["not_archived"],
            report["no_permission"], report["acted"]) == (5, 3, 2, 0, 0)
    assert report["confirmed_bytes"] >= 3 * BIG and report["reclaimed_bytes"] == 0
    assert sorted(u["internet_message_id"] for u in report["unconfirmed"]) == [
        "<late1@contoso.example>", "<late2@contoso.example>"]
    assert {u["outcome"] for u in report["unconfirmed"]} == {"not_archived"}
    folders = {f["folder"]: f for f in report["folders"]}
    assert "/Inbox/Keep" not in folders
    assert folders["/Inbox/Projects"]["confirmed"] == 1 and folders["/Inbox"]["confirmed"] == 2
    assert sim.export(BOX) == before
    counters = sim.get(f"/mailboxes/{BOX}/counters")["requests"]
    assert counters.get("DeleteItem", 0) == 0 and counters.get("UpdateItem", 0) == 0
    assert counters.get("FindItem", 0) >= 3


def test_a_report_is_for_storage_management_tasks_only(api, archived):
    mfr = make_task(api, site=archived["site"])
    problem(api.post(f"/api/v1/exchange-tasks/{mfr['id']}/run", json={"mode": "report"}), 422,
            "mode")
    task = msm_task(api, archived["site"])
    problem(api.post(f"/api/v1/exchange-tasks/{task['id']}/run", json={"mode": "dry"}), 422,
            "mode")
    problem(api.post(f"/api/v1/exchange-tasks/{task['id']}/run",
                     json={"mode": "report", "mailboxes": [BOX]}), 422, "mode")
    # Nothing was queued by the refusals.
    assert ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions"))["items"] == []


def test_acting_is_not_available_yet_and_changes_nothing(api, sim, archived):
    """Until this worker version can act, a real run fails each mailbox, saying so."""
    before = sim.export(BOX)
    task = msm_task(api, archived["site"])
    x = run(api, task)
    assert x["result"] == "failed", x
    (mb,) = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"
                       "/mailboxes"))["items"]
    assert mb["state"] == "error" and mb["reason_code"] == "unsupported_action", mb
    assert "message_delete is not available on this worker version" in mb["reason_text"]
    assert sim.export(BOX) == before
