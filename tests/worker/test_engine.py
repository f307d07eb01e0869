# SPDX-License-Identifier: Apache-2.0
"""End-to-end: mse-worker's replication engine against the real ews-sim.

Every test runs the worker binary (`--sync-once`, real HTTP, sanitizers on), builds the replica
from the batches it prints exactly as docs/worker.md tells the server to, and demands equality
with the simulator's canonical export. Changes, faults and group edits go through the sim's
control API. The sim validates every response it sends against the EWS schemas and every
request it receives; each test ends by asserting there was no violation.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from e2e import (CAL, MFR, Expected, Replica, assert_replica_equals, harness, resolve_group,
                 run_worker, sha256_file, simlib, worker_env)


@pytest.fixture(scope="module")
def sim():
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE)
    yield s
    s.stop_clean()


@pytest.fixture
def org(sim):
    """The demo organisation, fresh for each test, without faults, counters at zero."""
    sim.control("POST", "/reset", expect=200)
    sim.control("DELETE", "/faults", expect=200)
    sim.control("POST", "/stats/reset", expect=200)
    yield sim
    assert sim.stats()["request_schema_errors"] == 0, "the worker sent a schema-invalid request"
    sim.assert_schema_clean()


def busiest_mailbox(sim):
    """The demo mailbox with the most messages and appointments (the richest test subject)."""
    items = sim.get("/mailboxes")["items"]
    return max(items, key=lambda m: (m["message_count"], m["appointment_count"]))["address"]


def folder(export, path):
    return next(f for f in export["folders"] if f["path"] == path)


def fid(sim, mailbox, path):
    """A folder's id, by its path, as the control API addresses folders in URLs."""
    return folder(sim.export(mailbox), path)["folder_id"]


def messages_in(export, path):
    return [m for m in export["messages"] if m["folder_path"] == path]


def user_folder(export, cls="IPF.Note"):
    """A non-distinguished folder of that class holding items (the fixture has several)."""
    return next(f["path"] for f in export["folders"]
                if not f.get("distinguished_id") and f["folder_class"] == cls
                and f["item_count"] > 0)


def counters(sim, mailbox):
    return sim.get(f"/mailboxes/{mailbox}/counters")["requests"]


def replicated_mail_folders(export, deleted_too=False):
    deleted = folder_path_of(export, "deleteditems")
    return [f for f in export["folders"]
            if (f["folder_class"] or "IPF.Note").startswith("IPF.Note")
            and (deleted_too or not (f["path"] + "/").startswith(deleted + "/"))]


def folder_path_of(export, distinguished):
    return next(f["path"] for f in export["folders"] if f.get("distinguished_id") == distinguished)


# ---- Mailbox Folder Replication ----------------------------------------------------------


def test_mfr_full_then_incremental(org, tmp_path):
    mbx = busiest_mailbox(org)
    state = str(tmp_path / "state.json")
    replica = Replica()
    run = run_worker(org, mbx, MFR, state=state)
    assert run.returncode == 0 and run.outcome["health"] == "healthy", run.log
    assert run.outcome["full"] is True
    replica.apply_run(run)
    export = org.export(mbx)
    assert_replica_equals(replica, export, MFR)
    assert run.outcome["items"] == len(replica.message_view())
    assert any(p.startswith("Replicating messages") for p in run.progress())

    # Changes of every kind, through the control API.
    inbox = folder_path_of(export, "inbox")
    sub = user_folder(export)
    inbox_msgs = messages_in(export, inbox)
    normal = [m for m in inbox_msgs if m["sensitivity"] == "Normal"]
    assert len(normal) >= 4, "the demo fixture's inbox has fewer normal messages than expected"
    org.control("POST", f"/mailboxes/{mbx}/items", expect=201, json={
        "type": "message", "folder": inbox, "subject": "Incremental hello",
        "from": "Zoe Zed <zoe@partner.example>", "to": [mbx], "cc": ["cc@partner.example"],
        "received": "2026-11-20T10:00:00Z", "sent": "2026-11-20T09:59:00Z",
        "internet_message_id": "<incremental.1@partner.example>"})
    org.control("PATCH", f"/mailboxes/{mbx}/items/{normal[0]['item_id']}", expect=200,
                json={"subject": "Edited subject"})
    org.control("PATCH", f"/mailboxes/{mbx}/items/{normal[1]['item_id']}", expect=200,
                json={"is_read": not normal[1]["is_read"]})
    org.control("PATCH", f"/mailboxes/{mbx}/items/{normal[2]['item_id']}", expect=200,
                json={"folder": sub})
    org.control("DELETE", f"/mailboxes/{mbx}/items/{normal[3]['item_id']}", expect=200)
    org.control("POST", f"/mailboxes/{mbx}/folders", expect=201,
                json={"parent_path": inbox, "name": "Receipts",
                      "messages": [{"subject": "Receipt 1", "from": "shop@store.example",
                                    "to": [mbx], "received": "2026-11-21T08:00:00Z"}]})
    org.control("PATCH", f"/mailboxes/{mbx}/folders/{fid(org, mbx, sub)}", expect=200,
                json={"display_name": "Renamed project"})

    org.control("POST", "/stats/reset", expect=200)
    run2 = run_worker(org, mbx, MFR, state=state)
    assert run2.outcome["health"] == "healthy" and run2.outcome["full"] is False, run2.log
    replica.apply_run(run2)
    export2 = org.export(mbx)
    assert_replica_equals(replica, export2, MFR)
    changes = [r["change"] for b in run2.batches for r in b["items"]]
    assert "read_flag" in changes and "delete" in changes and "upsert" in changes
    assert [b["scope"] for b in run2.batches][0] == "hierarchy"  # folder create + rename
    # The incremental pass read each mail folder once and fetched only what changed.
    c = counters(org, mbx)
    n_folders = len(replicated_mail_folders(export2))
    assert c["SyncFolderHierarchy"] == 1
    assert c["SyncFolderItems"] == n_folders
    assert c["GetItem"] <= 3  # Inbox, the moved-to folder, Receipts: one batch each at most
    assert c["GetFolder"] == 0  # distinguished folders are remembered in the checkpoint

    # Nothing changed: one SyncFolderItems per folder, no GetItem, no batch at all.
    org.control("POST", "/stats/reset", expect=200)
    run3 = run_worker(org, mbx, MFR, state=state)
    assert run3.outcome["health"] == "healthy"
    assert run3.batches == []
    c = counters(org, mbx)
    assert c["GetItem"] == 0 and c["SyncFolderItems"] == n_folders
    assert c["SyncFolderHierarchy"] == 1


def test_mfr_folder_moves_and_deletes(org, tmp_path):
    mbx = busiest_mailbox(org)
    state = str(tmp_path / "state.json")
    replica = Replica()
    replica.apply_run(run_worker(org, mbx, MFR, state=state))
    export = org.export(mbx)
    inbox = folder_path_of(export, "inbox")
    # A small tree: A/B with messages, then move B to the top, rename A, delete A.
    org.control("POST", f"/mailboxes/{mbx}/folders", expect=201, json={
        "parent_path": inbox, "name": "A", "messages": [{"subject": "in A", "to": [mbx]}],
        "folders": [{"name": "B", "messages": [{"subject": "in B", "to": [mbx]}]}]})
    replica.apply_run(run_worker(org, mbx, MFR, state=state))
    assert_replica_equals(replica, org.export(mbx), MFR)
    org.control("PATCH", f"/mailboxes/{mbx}/folders/{fid(org, mbx, inbox + '/A/B')}",
                expect=200, json={"parent_path": "/"})
    org.control("PATCH", f"/mailboxes/{mbx}/folders/{fid(org, mbx, inbox + '/A')}", expect=200,
                json={"display_name": "A2"})
    run = run_worker(org, mbx, MFR, state=state)
    replica.apply_run(run)
    assert_replica_equals(replica, org.export(mbx), MFR)
    org.control("DELETE", f"/mailboxes/{mbx}/folders/{fid(org, mbx, inbox + '/A2')}",
                expect=200)
    run = run_worker(org, mbx, MFR, state=state)
    replica.apply_run(run)
    exp = org.export(mbx)
    assert_replica_equals(replica, exp, MFR)
    # Wherever the sim put the deleted folder, "in A" is no longer a live replicated message
    # outside Deleted Items, and the replica keeps its last-known copy marked deleted.
    assert any(r["deleted"] and r["subject"] == "in A" for r in replica.items.values()) or \
        any(m["subject"] == "in A" for m in exp["messages"])


def test_mfr_definition_settings(org, tmp_path):
    mbx = busiest_mailbox(org)
    export = org.export(mbx)
    sub = user_folder(export)
    definition = {"exclude_folders": [sub.upper() + "/"], "include_deleted_items": True,
                  "include_private_items": True}
    state = str(tmp_path / "state.json")
    replica = Replica()
    run = run_worker(org, mbx, MFR, definition=definition, state=state)
    replica.apply_run(run)
    assert_replica_equals(replica, export, MFR, definition)
    assert not any(p == sub for p, _, _ in replica.folder_view())
    assert any(p == folder_path_of(export, "deleteditems") for p, _, _ in replica.folder_view())
    private = [m["item_id"] for m in export["messages"] if m["sensitivity"] != "Normal"
               and m["folder_path"] != sub]
    assert private and all(i in replica.items for i in private)
    # The definition changes between passes: the excluded subtree comes in (read in full),
    # Deleted Items leaves the view, and private items leave the replica entirely.
    definition2 = {"exclude_folders": ["/NoSuchFolder"]}
    run2 = run_worker(org, mbx, MFR, definition=definition2, state=state)
    assert run2.outcome["health"] == "warning"
    assert run2.outcome["reason"] == "definition_changed", run2.outcome
    replica.apply_run(run2)
    hier = run2.batches[0]
    assert hier["scope"] == "hierarchy"
    assert {f["change"] for f in hier["folders"]} == {"upsert", "delete"}
    assert_replica_equals(replica, org.export(mbx), MFR, definition2)
    assert not any(i in replica.items for i in private)  # removed, not kept as deleted
    # The new settings hold from now on: the next pass is quiet.
    run3 = run_worker(org, mbx, MFR, definition=definition2, state=state)
    assert run3.outcome["health"] == "healthy" and run3.batches == []


def test_private_items_leave_the_replica(org, tmp_path):
    mbx = busiest_mailbox(org)
    state = str(tmp_path / "state.json")
    replica = Replica()
    run = run_worker(org, mbx, MFR, state=state)
    replica.apply_run(run)
    export = org.export(mbx)
    private = [m for m in export["messages"] if m["sensitivity"] != "Normal"]
    assert private and run.outcome["skipped_private"] >= 1
    assert not any(i in replica.items for i in (m["item_id"] for m in private))
    inbox = folder_path_of(export, "inbox")
    target = next(m for m in messages_in(export, inbox) if m["sensitivity"] == "Normal")
    org.control("PATCH", f"/mailboxes/{mbx}/items/{target['item_id']}", expect=200,
                json={"sensitivity": "Confidential"})
    run2 = run_worker(org, mbx, MFR, state=state)
    removes = [r for b in run2.batches for r in b["items"] if r["change"] == "remove"]
    assert removes == [{"item_id": target["item_id"], "change": "remove"}]
    replica.apply_run(run2)
    assert target["item_id"] not in replica.items  # gone, not kept as deleted
    assert_replica_equals(replica, org.export(mbx), MFR)
    # Back to normal: replicated again.
    org.control("PATCH", f"/mailboxes/{mbx}/items/{target['item_id']}", expect=200,
                json={"sensitivity": "Normal"})
    replica.apply_run(run_worker(org, mbx, MFR, state=state))
    assert_replica_equals(replica, org.export(mbx), MFR)
    assert target["item_id"] in replica.items


# ---- Calendar Replication ----------------------------------------------------------------


def busiest_calendar_mailbox(sim):
    items = sim.get("/mailboxes")["items"]
    return max(items, key=lambda m: m["appointment_count"])["address"]


@pytest.mark.parametrize("calendars", ["default", "all"])
def test_calendar_replication(org, tmp_path, calendars):
    mbx = busiest_calendar_mailbox(org)
    definition = {"include_calendars": calendars}
    state, content = str(tmp_path / "state.json"), tmp_path / "content"
    content.mkdir()
    replica = Replica()
    run = run_worker(org, mbx, CAL, definition=definition, state=state, content_dir=str(content))
    assert run.outcome["health"] == "healthy", run.log
    replica.apply_run(run)
    export = org.export(mbx)
    assert_replica_equals(replica, export, CAL, definition)
    assert replica.appointments, "the demo mailbox has appointments"
    # Every attachment's content was handed over under its hash, before its batch.
    hashes = {a["sha256"] for r in replica.appointments.values() for a in r["attachments"]}
    assert hashes, "the demo calendars have attachments"
    for h in hashes:
        assert sha256_file(content / h) == h
    assert {c["sha256"] for c in run.contents} == hashes
    assert any(r["calendar_item_type"] == "RecurringMaster" for r in replica.appointments.values())

    # Incremental: an update, a deletion, a new appointment with an attachment.
    cal = folder_path_of(export, "calendar")
    appts = [a for a in export["appointments"] if a["folder_path"] == cal]
    org.control("PATCH", f"/mailboxes/{mbx}/items/{appts[0]['item_id']}", expect=200,
                json={"location": "Moved to room 9"})
    org.control("DELETE", f"/mailboxes/{mbx}/items/{appts[1]['item_id']}", expect=200)
    org.control("POST", f"/mailboxes/{mbx}/items", expect=201, json={
        "type": "appointment", "folder": cal, "subject": "Planning",
        "start": "2026-12-01T09:00:00Z", "end": "2026-12-01T10:00:00Z",
        "organizer": mbx, "required_attendees": ["someone@partner.example"],
        "attachments": [{"name": "plan.txt", "content_type": "text/plain",
                         "content_text": "step 1\nstep 2\n"}]})
    run2 = run_worker(org, mbx, CAL, definition=definition, state=state,
                      content_dir=str(content))
    replica.apply_run(run2)
    assert_replica_equals(replica, org.export(mbx), CAL, definition)
    # One page of the changed calendar; a hierarchy batch, if the sim moved the hierarchy
    # state (item counts are folder properties), changes no folder.
    assert [b["scope"] for b in run2.batches if b["scope"] == "folder"] == ["folder"]
    assert not [f for b in run2.batches for f in b["folders"]]
    for c in run2.contents:
        assert sha256_file(content / c["sha256"]) == c["sha256"]


# ---- Faults ------------------------------------------------------------------------------


def fault(sim, **rule):
    return sim.control("POST", "/faults", json=rule, expect=201).json()


def test_recovers_from_throttling_503_401_and_cutoffs(org, tmp_path):
    mbx = busiest_mailbox(org)
    fault(org, kind="server_busy", operation="SyncFolderItems", count=2, backoff_ms=200)
    fault(org, kind="http_503", operation="GetItem", count=2)
    fault(org, kind="cutoff", operation="SyncFolderHierarchy", count=1)
    fault(org, kind="cutoff", operation="SyncFolderItems", count=1)
    fault(org, kind="http_401", operation="GetItem", count=1)
    fault(org, kind="internal", operation="GetFolder", count=1)
    replica = Replica()
    t0 = time.monotonic()
    run = run_worker(org, mbx, MFR, state=str(tmp_path / "s.json"))
    assert run.outcome["health"] == "healthy", run.log
    replica.apply_run(run)
    assert_replica_equals(replica, org.export(mbx), MFR)
    assert run.outcome["ews_retries"] >= 8
    assert run.outcome["ews_throttled"] >= 2
    assert time.monotonic() - t0 >= 0.4  # BackOffMilliseconds was honoured twice
    rules = org.get("/faults")["items"]
    assert all(r["remaining"] == 0 for r in rules), rules


def test_invalid_sync_state_resyncs_with_a_warning(org, tmp_path):
    mbx = busiest_mailbox(org)
    state = str(tmp_path / "state.json")
    replica = Replica()
    replica.apply_run(run_worker(org, mbx, MFR, state=state))
    export = org.export(mbx)
    inbox = folder_path_of(export, "inbox")
    gone = next(m for m in messages_in(export, inbox) if m["sensitivity"] == "Normal")
    # Deleted while the states become invalid: a plain resync would never report it.
    org.control("DELETE", f"/mailboxes/{mbx}/items/{gone['item_id']}", expect=200)
    org.control("POST", f"/mailboxes/{mbx}/invalidate-sync-state", expect=200)
    run = run_worker(org, mbx, MFR, state=state)
    assert run.returncode == 0
    assert run.outcome["health"] == "warning" and run.outcome["reason"] == "sync_state_reset"
    assert run.outcome["resyncs"] >= 1
    assert any(b["reset"] for b in run.batches)
    replica.apply_run(run)
    assert_replica_equals(replica, org.export(mbx), MFR)
    assert replica.items[gone["item_id"]]["deleted"] is True


def test_injected_invalid_sync_state_on_one_folder(org, tmp_path):
    mbx = busiest_mailbox(org)
    state = str(tmp_path / "state.json")
    replica = Replica()
    replica.apply_run(run_worker(org, mbx, MFR, state=state))
    fault(org, kind="invalid_sync_state", operation="SyncFolderItems", count=1)
    run = run_worker(org, mbx, MFR, state=state)
    assert run.outcome["health"] == "warning" and run.outcome["resyncs"] == 1
    resets = [b for b in run.batches if b["reset"]]
    assert len(resets) == 1 and resets[0]["base_checkpoint"] is not None
    replica.apply_run(run)
    assert_replica_equals(replica, org.export(mbx), MFR)


@pytest.mark.parametrize("kind,reason,retry_later", [
    ("no_mailbox", "ews_mailbox_not_found", False),
    ("mailbox_move", "ews_mailbox_moving", True),
])
def test_mailbox_level_errors(org, tmp_path, kind, reason, retry_later):
    mbx = busiest_mailbox(org)
    fault(org, kind=kind, mailbox=mbx)
    run = run_worker(org, mbx, MFR, state=str(tmp_path / "s.json"))
    assert run.returncode == 1
    assert run.outcome["health"] == "error" and run.outcome["reason"] == reason
    assert run.outcome["retry_later"] is retry_later
    assert run.batches == []
    assert run.outcome["ews_requests"] == 1  # not retried


def test_unknown_mailbox_fails_with_a_reason(org, tmp_path):
    run = run_worker(org, "nobody@contoso.example", MFR, state=str(tmp_path / "s.json"))
    assert run.returncode == 1 and run.outcome["health"] == "error"
    assert run.outcome["reason"] == "ews_mailbox_not_found", run.outcome


def test_wrong_credentials_fail_after_bounded_retries(org, tmp_path):
    mbx = busiest_mailbox(org)
    run = run_worker(org, mbx, MFR, env={"MSE_WORKER_EWS_PASSWORD": "wrong-password"})
    assert run.returncode == 1 and run.outcome["reason"] == "ews_unauthorized"
    assert run.outcome["ews_requests"] == 3  # 1 + ews_auth_retries (2)
    assert "wrong-password" not in run.log


# ---- Crash safety and the checkpoint contract ---------------------------------------------


def committed_batches(run_batches, state_path):
    """The batches of a killed run the store accepted: the last one printed may not be."""
    with open(state_path) as f:
        state = json.load(f)
    if not run_batches:
        return []
    last = run_batches[-1]
    stored = state["hierarchy"] if last["folder_id"] is None else \
        state["folders"].get(last["folder_id"])
    return run_batches if stored == last["new_checkpoint"] else run_batches[:-1]


def test_kill_9_and_resume(tmp_path):
    """Two 900-message folders read in 512-change pages, killed mid-way, then resumed."""
    sim = simlib.EwsSim(generate="mailboxes=1,folders=1,items=900,appointments=0,groups=0",
                        seed="7")
    try:
        mbx = sim.get("/mailboxes")["items"][0]["address"]
        # Slow the folder pages down so the kill lands between batches.
        sim.control("POST", "/faults", expect=201,
                    json={"kind": "delay", "operation": "SyncFolderItems", "delay_ms": 300})
        state = str(tmp_path / "state.json")
        argv = [harness.binary("mse-worker"), "--sync-once", mbx, "--type", MFR,
                "--state", state]
        proc = subprocess.Popen(argv, env=worker_env(sim), stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        first = []
        for line in proc.stdout:
            doc = json.loads(line)
            if "batch" in doc:
                first.append(doc["batch"])
            if len([b for b in first if b["scope"] == "folder"]) == 2:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(30)
        proc.stdout.close()
        assert proc.returncode == -signal.SIGKILL
        replica = Replica()
        committed = committed_batches(first, state)  # before the state moves on
        for b in committed:
            replica.apply(b)
        sim.control("DELETE", "/faults", expect=200)
        run = run_worker(sim, mbx, MFR, state=state)
        assert run.outcome["health"] == "healthy", run.log
        assert run.outcome["full"] is False
        replica.apply_run(run)
        export = sim.export(mbx)
        assert_replica_equals(replica, export, MFR)
        # Nothing twice: every message was upserted exactly once over both runs.
        upserts = [r["item_id"] for b in committed + run.batches
                   for r in b["items"] if r["change"] == "upsert"]
        assert len(upserts) == len(set(upserts)) == len(Expected(export).messages) > 1024
        pages = [b for b in first + run.batches if b["scope"] == "folder" and b["items"]]
        assert any(not b["complete"] for b in pages)  # folders were read in several pages
        assert max(len(b["items"]) for b in pages) <= 512
    finally:
        sim.stop_clean()


def test_conflicting_store_stops_the_mailbox(org, tmp_path):
    """Another writer changes the stored checkpoint mid-pass: the pass stops at once."""
    mbx = busiest_mailbox(org)
    org.control("POST", "/faults", expect=201,
                json={"kind": "delay", "operation": "SyncFolderItems", "delay_ms": 1500,
                      "count": 1})
    state = tmp_path / "state.json"
    argv = [harness.binary("mse-worker"), "--sync-once", mbx, "--type", MFR, "--state",
            str(state)]
    proc = subprocess.Popen(argv, env=worker_env(org), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    hierarchy = json.loads(proc.stdout.readline())["batch"]
    assert hierarchy["scope"] == "hierarchy"
    # While the first folder's page is delayed, the store moves on under the worker (once the
    # worker has stored the hierarchy batch: it prints a batch before it stores it).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if state.exists() and \
                json.loads(state.read_text())["hierarchy"] == hierarchy["new_checkpoint"]:
            break
        time.sleep(0.02)
    doc = json.loads(state.read_text())
    for f in hierarchy["folders"]:
        doc["folders"][f["folder_id"]] = "written-by-someone-else"
    tmp = state.with_suffix(".new")
    tmp.write_text(json.dumps(doc))
    os.replace(tmp, state)  # atomically, as the worker itself replaces it
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    lines = [json.loads(l) for l in out.splitlines()]
    assert not any("batch" in l for l in lines)  # nothing accepted after the conflict
    outcome = lines[-1]["outcome"]
    assert outcome["reason"] == "checkpoint_conflict", outcome


# ---- Groups ------------------------------------------------------------------------------


def test_group_resolution(org):
    mailboxes = [m["address"] for m in org.get("/mailboxes")["items"]]
    a, b, c, d = mailboxes[:4]
    org.control("POST", "/groups", expect=201,
                json={"address": "ring-1@contoso.example", "name": "Ring 1"})
    org.control("POST", "/groups", expect=201,
                json={"address": "ring-2@contoso.example", "name": "Ring 2",
                      "members": [b, "ring-1@contoso.example", "ring-3@contoso.example"]})
    org.control("POST", "/groups", expect=201,
                json={"address": "ring-3@contoso.example", "name": "Ring 3",
                      "members": [c, a.upper(), "ring-2@contoso.example"]})
    org.control("PUT", "/groups/ring-1@contoso.example/members", expect=200,
                json={"members": [a, "ring-2@contoso.example", d]})
    rc, out = resolve_group(org, "group_email", "ring-1@contoso.example")
    assert rc == 0, out
    assert out["members"] == [a, b, c, d]  # nested and cyclic, each once, discovery order
    rc, out = resolve_group(org, "group_email", "missing-group@contoso.example")
    assert rc == 1 and out["error"]["reason"] == "group_not_found", out
    rc, out = resolve_group(org, "ad_group", "CN=dlmmsgroup,CN=Users,DC=mcdev,DC=internal")
    assert rc == 1
    assert out["error"] == {"reason": "no_directory",
                            "text": "no directory configured for this site"}
    rc, out = resolve_group(org, "mailbox_list", f"{a}; {b} ;{a.upper()}")
    assert rc == 0 and out["members"] == [a, b]
