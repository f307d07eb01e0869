# SPDX-License-Identifier: Apache-2.0
"""Sync & Recover content synchronisation by the real mse-worker against the real ews-sim
(`--sync-once --type sync_recover`): what the settings select is archived with its MIME
content — the content's SHA-256 equals the hash of the MIME the simulator serves — changes
follow incrementally, and a message far larger than the worker's memory budget passes through
the stream without being held (peak RSS read from the kernel, not a clock)."""
import base64
import hashlib
import json
import os
import subprocess
import threading
import time
import xml.etree.ElementTree as ET

import pytest

import e2e
from e2e import harness, simlib

MAILBOX = "anna.schmidt@contoso.example"
SETTINGS = {"mail": True, "calendars": True, "message_classes": ["IPM.Note"],
            "include_sensitive": False}


@pytest.fixture
def sim():
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE)
    yield s
    s.stop_clean()


def sim_mime(sim, mailbox, item_ids):
    """{item_id: decoded MIME bytes} as ews-sim serves them to any EWS client (GetItem)."""
    ids = "".join(f'<t:ItemId Id="{i}"/>' for i in item_ids)
    body = ("<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"
            "<t:IncludeMimeContent>true</t:IncludeMimeContent></m:ItemShape>"
            f"<m:ItemIds>{ids}</m:ItemIds></m:GetItem>")
    r = sim.post(simlib.envelope(body, impersonate=mailbox))
    assert r.status_code == 200, r.text[:2000]
    out = {}
    for item in ET.fromstring(r.content).iter():
        iid = item.find(f"{{{simlib.NS['t']}}}ItemId")
        mime = item.find(f"{{{simlib.NS['t']}}}MimeContent")
        if iid is not None and mime is not None:
            out[iid.get("Id")] = base64.b64decode(mime.text or "")
    return out


def class_selected(item_class, classes):
    c = (item_class or "").lower()
    return any(c == k.lower() or c.startswith(k.lower() + ".") for k in classes)


def expected_selection(sim, mailbox, settings):
    """The ids the settings select, from the simulator's own listing (not from the worker)."""
    folders = {f["path"]: f for f in sim.get(f"/mailboxes/{mailbox}/folders")["items"]}
    want = set()
    for it in sim.get(f"/mailboxes/{mailbox}/items")["items"]:
        path, cls = it["folder_path"], folders[it["folder_path"]]["folder_class"]
        if path == "/Deleted Items" or path.startswith("/Deleted Items/"):
            continue
        if it["type"] == "message" and not (settings["mail"] and cls.startswith("IPF.Note")):
            continue
        if it["type"] == "appointment" and not (settings["calendars"] and path == "/Calendar"):
            continue
        if it["type"] == "message" and not class_selected(it["item_class"],
                                                          settings["message_classes"]):
            continue  # message classes select messages; calendars=true brings appointments
        if not settings["include_sensitive"] and it["sensitivity"] in ("Private", "Confidential"):
            continue
        want.add(it["item_id"])
    return want


def upserts(run):
    """Every upsert record of a run (messages and appointments), by item id: the last wins."""
    out = {}
    for b in run.batches:
        for rec in b["items"] + b["appointments"]:
            if rec["change"] == "upsert":
                out[rec["item_id"]] = rec
    return out


def assert_contents_match(sim, mailbox, recs, content_dir):
    """Each upsert names the SHA-256 and size of the MIME the simulator serves, stored."""
    mime = sim_mime(sim, mailbox, list(recs))
    for iid, rec in recs.items():
        want = hashlib.sha256(mime[iid]).hexdigest()
        assert rec["content_sha256"] == want, (iid, rec.get("subject"))
        assert rec["content_size"] == len(mime[iid]), iid
        assert e2e.sha256_file(os.path.join(content_dir, want)) == want


def test_the_selection_is_archived_with_its_mime_then_followed(sim, tmp_path):
    add = lambda **f: sim.control("POST", f"/mailboxes/{MAILBOX}/items",  # noqa: E731
                                  json={"type": "message", "folder": "/Inbox", **f},
                                  expect=201).json()
    smime = add(subject="signed", item_class="IPM.Note.SMIME")         # a sub-class: selected
    add(subject="not a note", item_class="IPM.NoteX")                   # a prefix only: not
    add(subject="report", item_class="IPM.Notification")                # another class: not
    personal = add(subject="personal", sensitivity="Personal")          # Personal is archived
    add(subject="private", sensitivity="Private")
    add(subject="confidential", sensitivity="Confidential")
    state, content = str(tmp_path / "state.json"), str(tmp_path / "content")
    os.mkdir(content)

    first = e2e.run_worker(sim, MAILBOX, kind="sync_recover", definition=SETTINGS, state=state,
                           content_dir=content)
    assert first.outcome["health"] == "healthy", first.log[-3000:]
    got = upserts(first)
    want = expected_selection(sim, MAILBOX, SETTINGS)
    assert set(got) == want
    assert smime["item_id"] in got and personal["item_id"] in got
    assert any(r["item_class"] == "IPM.Appointment" for r in got.values())
    assert_contents_match(sim, MAILBOX, got, content)
    assert first.outcome["contents"] == len(got)

    # Changes: a new message, a changed subject (new MIME), a move, a deletion, and a message
    # whose class is no longer selected (left as archived: no record at all).
    items = {i["subject"]: i for i in sim.get(f"/mailboxes/{MAILBOX}/items")["items"]
             if i["item_id"] in want and i["type"] == "message"}
    subjects = sorted(items)
    changed, moved, deleted, unselected = (items[s] for s in subjects[:4])
    created = add(subject="brand new", body="fresh content")
    sim.control("PATCH", f"/mailboxes/{MAILBOX}/items/{changed['item_id']}",
                json={"subject": "renamed subject"}, expect=200)
    sim.control("PATCH", f"/mailboxes/{MAILBOX}/items/{moved['item_id']}",
                json={"folder": "/Inbox/Customers" if moved["folder_path"] != "/Inbox/Customers"
                      else "/Inbox"}, expect=200)
    sim.control("DELETE", f"/mailboxes/{MAILBOX}/items/{deleted['item_id']}", expect=200)
    sim.control("PATCH", f"/mailboxes/{MAILBOX}/items/{unselected['item_id']}",
                json={"item_class": "IPM.Notification"}, expect=200)

    second = e2e.run_worker(sim, MAILBOX, kind="sync_recover", definition=SETTINGS, state=state,
                            content_dir=content)
    assert second.outcome["health"] == "healthy", second.log[-3000:]
    assert not second.outcome["full"]
    got2 = upserts(second)
    assert set(got2) == {created["item_id"], changed["item_id"], moved["item_id"]}
    assert got2[changed["item_id"]]["subject"] == "renamed subject"
    assert got2[changed["item_id"]]["content_sha256"] != got[changed["item_id"]]["content_sha256"]
    assert_contents_match(sim, MAILBOX, got2, content)
    records = [r for b in second.batches for r in b["items"]]
    assert {"item_id": deleted["item_id"], "change": "delete"} in records
    assert not [r for r in records if r["item_id"] == unselected["item_id"]
                and r["change"] != "delete"]

    # Nothing changed: nothing is sent, nothing fetched.
    third = e2e.run_worker(sim, MAILBOX, kind="sync_recover", definition=SETTINGS, state=state,
                           content_dir=content)
    assert third.batches == [] and third.outcome["contents"] == 0


def test_only_mail_without_calendars_and_every_class(sim, tmp_path):
    """calendars=false reads no calendar; include_sensitive=true archives Private items."""
    settings = {"mail": True, "calendars": False, "message_classes": ["IPM.Note"],
                "include_sensitive": True}
    content = str(tmp_path)
    run = e2e.run_worker(sim, MAILBOX, kind="sync_recover", definition=settings,
                         content_dir=content)
    assert run.outcome["health"] == "healthy", run.log[-3000:]
    got = upserts(run)
    assert set(got) == expected_selection(sim, MAILBOX, settings)
    assert not [b for b in run.batches if b["appointments"]]
    assert any(r["sensitivity"] == "Private" for r in got.values())
    assert_contents_match(sim, MAILBOX, got, content)


def peak_rss_run(argv, env, timeout):
    """Runs argv; returns (proc, stdout, stderr, its peak RSS in bytes).

    The peak is VmHWM of /proc/<pid>/status, the kernel's resident high-water mark of the
    process's own memory since exec, read every 50 ms while it runs (it only grows). The
    rusage of wait4 is not used: it would include what this test process held when it forked.
    """
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    chunks = {}
    readers = [threading.Thread(target=lambda k=k, f=f: chunks.__setitem__(k, f.read()))
               for k, f in (("out", proc.stdout), ("err", proc.stderr))]
    for t in readers:
        t.start()
    hwm, deadline = 0, time.monotonic() + timeout
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm = max(hwm, int(line.split()[1]) * 1024)
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the worker did not finish")
        time.sleep(0.05)
    for t in readers:
        t.join()
    return proc, chunks["out"].decode(), chunks["err"].decode(), hwm


def test_a_150_mb_message_streams_through_a_small_worker(tmp_path):
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE)
    try:
        # Two attachments of 56 MB of generated bytes: the message's MIME is ~150 MB.
        created = s.control("POST", f"/mailboxes/{MAILBOX}/folders",
                            json={"parent_path": "/Inbox", "name": "Big"}, expect=201).json()
        assert created["path"] == "/Inbox/Big"
        s.control("POST", f"/mailboxes/{MAILBOX}/items",
                  json={"type": "message", "folder": "/Inbox/Big", "subject": "the big one",
                        "attachments": [{"name": "a.bin", "size": 56_000_000},
                                        {"name": "b.bin", "size": 56_000_000}]},
                  expect=201)
        served = sim_mime(s, MAILBOX, [i["item_id"] for i in
                                       s.get(f"/mailboxes/{MAILBOX}/items?folder=/Inbox/Big")
                                       ["items"]])
        (mime,) = served.values()
        size, want = len(mime), hashlib.sha256(mime).hexdigest()
        del mime, served
        assert size >= 150_000_000
        content = str(tmp_path)
        argv = [harness.binary("mse-worker"), "--sync-once", MAILBOX, "--type", "sync_recover",
                "--definition", json.dumps(SETTINGS), "--content-dir", content]
        env = e2e.worker_env(s, MSE_WORKER_EWS_TIMEOUT="600")
        proc, out, err, peak = peak_rss_run(argv, env, timeout=900)
        assert not [p for p in harness.SANITIZER_PATTERNS if p in err], err[-5000:]
        assert proc.returncode == 0, err[-5000:]
        run = e2e.WorkerRun(proc, out, err)
        big = [r for r in upserts(run).values() if r["subject"] == "the big one"]
        assert len(big) == 1 and big[0]["content_size"] == size
        assert big[0]["content_sha256"] == want
        assert os.path.getsize(os.path.join(content, want)) == size
        assert 0 < peak < 0.5 * size, f"peak RSS {peak} bytes for a {size}-byte message"
    finally:
        s.stop_clean()
