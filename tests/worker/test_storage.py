# SPDX-License-Identifier: Apache-2.0
"""Mailbox Storage Management end to end (docs/storage-management.md): mse-server, PostgreSQL,
mse-worker in service mode and ews-sim. A sync task archives a mailbox; messages arrive in
Exchange afterwards and stay unarchived. A report-only run counts exactly the archived
candidates as confirmed and leaves the mailbox as it was."""
import json
import signal
import time

import pytest

from admin_helpers import make_definition, make_site, make_task, ok, problem
from conftest import FAST, admin_server
from e2e import simlib
from test_content_sync import sim_mime
from test_service import run_and_wait, start_worker
from test_sync_recover import make_sync_task, wait_executions

BOX = "storage.owner@contoso.example"
HARD = "storage.hard@contoso.example"
KILL = "storage.kill@contoso.example"
OLD = "2024-01-15T09:00:00Z"
BIG = 300 * 1024


def message(mid, received=OLD, size=BIG, sender="bob@contoso.example"):
    return {"subject": mid, "internet_message_id": f"<{mid}@contoso.example>",
            "from": sender, "to": [BOX], "sent": received, "received": received,
            "size": size, "body": f"message {mid}"}


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


def folder(name, messages=(), folders=(), **kw):
    return {"name": name, "messages": list(messages), "folders": list(folders), **kw}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    recent = message("recent")
    del recent["received"], recent["sent"]
    box = {"address": BOX, "display_name": "Storage Owner", "folders": [
        folder("Inbox", [message("a1"), message("a2"), message("small", size=2000), recent],
               [folder("Keep", [message("kept")]), folder("Projects", [message("a3")])],
               distinguished_id="inbox")]}
    hard = {"address": HARD, "display_name": "Hard Delete", "folders": [
        folder("Inbox", [message("h1"), message("h2")], distinguished_id="inbox")]}
    kill = {"address": KILL, "display_name": "Killed Worker", "folders": [
        folder(f"F{n}", [message(f"k{n}-{i}") for i in range(3)]) for n in range(4)]}
    path = tmp_path_factory.mktemp("storage") / "org.json"
    path.write_text(json.dumps({"mailboxes": [box, hard, kill]}))
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
    """The mailboxes archived by a sync task, then messages that arrived after it."""
    site = make_site(api)
    worker = start_worker(server, sim, site)
    try:
        task = make_sync_task(api, sim, site, [BOX, HARD, KILL], calendars=False)
        assert wait_executions(database, task["id"], 1)[-1] == ("completed", "ok")
        ok(api.post(f"/api/v1/sync-tasks/{task['id']}/stop"))
        late = [(BOX, "/Inbox", "late1"), (BOX, "/Inbox", "late2"), (HARD, "/Inbox", "hlate")]
        late += [(KILL, f"/F{n}", f"klate{n}-{i}") for n in range(4) for i in range(2)]
        for box, path, mid in late:
            sim.control("POST", f"/mailboxes/{box}/items",
                        json={"type": "message", "folder": path, **message(mid)}, expect=201)
        yield {"site": site, "worker": worker, "server": server}
    finally:
        worker.stop()


def items(sim, box):
    """{subject: item} of the sim's mailbox."""
    return {i["subject"]: i for i in sim.get(f"/mailboxes/{box}/items")["items"]}


def exported(sim, box, subjects):
    """These messages as Exchange has them: the export's record (folder, flags, addresses…)
    and the MIME content a client reads, by subject."""
    recs = {m["subject"]: m for m in sim.export(box)["messages"] if m["subject"] in subjects}
    mime = sim_mime(sim, box, [m["item_id"] for m in recs.values()])
    return {s: (m, mime[m["item_id"]]) for s, m in recs.items()}


def msm_task(api, site, box=BOX, **settings):
    definition = make_definition(api, "mailbox_storage_management", {
        "action": "message_delete", "older_than_days": 30, "min_size_kb": 100,
        "exclude_folders": ["/Inbox/Keep"], **settings})
    return make_task(api, site=site, definition=definition,
                     group={"kind": "mailbox", "value": box})


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


def test_stubbing_is_not_available_yet_and_changes_nothing(api, sim, archived):
    """An action this worker version cannot carry out fails each mailbox, saying so."""
    before = sim.export(BOX)
    task = msm_task(api, archived["site"], action="full_message_stub")
    x = run(api, task)
    assert x["result"] == "failed", x
    (mb,) = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"
                       "/mailboxes"))["items"]
    assert mb["state"] == "error" and mb["reason_code"] == "unsupported_action", mb
    assert "full_message_stub is not available on this worker version" in mb["reason_text"]
    assert sim.export(BOX) == before


def test_message_delete_moves_only_confirmed_items_and_the_next_pass_skips_them(api, sim,
                                                                               archived):
    unarchived = exported(sim, BOX, {"late1", "late2", "small", "recent", "kept"})
    task = msm_task(api, archived["site"])
    x = run(api, task)
    assert (x["state"], x["result"]) == ("completed", "ok"), x
    (entry,) = reports(api, task, x)
    r = entry["report"]
    assert (r["mode"], r["candidates"], r["confirmed"], r["not_archived"], r["acted"],
            r["failed"]) == ("run", 5, 3, 2, 3, 0)
    assert r["reclaimed_bytes"] == r["confirmed_bytes"] >= 3 * BIG
    now = items(sim, BOX)
    # The confirmed ones are in Deleted Items (recoverable), the others where they were and
    # byte for byte as they were.
    assert {s for s, i in now.items() if i["folder_path"] == "/Deleted Items"} == {"a1", "a2",
                                                                                    "a3"}
    assert exported(sim, BOX, set(unarchived)) == unarchived
    # The next pass does not even consider what was deleted.
    again = run(api, task)
    (entry,) = reports(api, task, again)
    assert (entry["report"]["candidates"], entry["report"]["acted"]) == (2, 0)
    assert items(sim, BOX) == now


def test_hard_delete_removes_confirmed_items_for_good(api, sim, archived):
    task = msm_task(api, archived["site"], box=HARD, hard_delete=True)
    before = exported(sim, HARD, {"hlate"})
    x = run(api, task)
    assert (x["state"], x["result"]) == ("completed", "ok"), x
    assert set(items(sim, HARD)) == {"hlate"}
    assert exported(sim, HARD, {"hlate"}) == before


def test_a_killed_worker_deletes_nothing_unconfirmed_and_nothing_twice(api, sim, database,
                                                                      archived):
    """kill -9 while a DeleteItem is in flight; another worker resumes the execution after
    the lease: every archived candidate ends in Deleted Items once (a second delete of a
    moved item would have removed it for good), every unarchived one is untouched."""
    unarchived = {f"klate{n}-{i}" for n in range(4) for i in range(2)}
    kept = exported(sim, KILL, unarchived)
    site = make_site(api)
    task = msm_task(api, site, box=KILL)
    sim.control("POST", "/faults", expect=201, json={
        "kind": "delay", "operation": "DeleteItem", "mailbox": KILL, "delay_ms": 3000,
        "count": 1})
    first = start_worker(archived["server"], sim, site)
    try:
        x = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
        deadline = time.monotonic() + 120
        while not any(f["fired"] for f in sim.get("/faults")["items"]):
            assert time.monotonic() < deadline, "no DeleteItem was sent"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        sim.control("DELETE", "/faults", expect=200)
    second = start_worker(archived["server"], sim, site)
    try:
        deadline = time.monotonic() + 180
        while True:
            e = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"))
            if e["state"] not in ("queued", "running", "waiting"):
                break
            assert time.monotonic() < deadline, f"execution still {e['state']}"
            time.sleep(0.3)
        assert e["result"] == "ok", e
    finally:
        second.stop()
    now = items(sim, KILL)
    archived_ones = {f"k{n}-{i}" for n in range(4) for i in range(3)}
    assert {s for s, i in now.items() if i["folder_path"] == "/Deleted Items"} == archived_ones
    assert set(now) == archived_ones | unarchived
    assert exported(sim, KILL, unarchived) == kept
    (entry,) = reports(api, task, e)
    assert entry["report"]["failed"] == 0 and entry["report"]["not_archived"] == len(unarchived)
