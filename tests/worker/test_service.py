# SPDX-License-Identifier: Apache-2.0
"""End-to-end, the whole chain: mse-server + PostgreSQL + mse-worker (service mode) + ews-sim.

The worker claims executions over the worker protocol, resolves groups through EWS, replicates
with the engine and submits batches; the archive tables must then equal the simulator's
export, read from PostgreSQL directly (test_archive.py reads it through the archive view).
"""
import datetime
import signal
import threading
import time

import pytest

from conftest import FAST, admin_server
from admin_helpers import make_definition, make_site, make_task, ok
from api_client import ApiClient
from scripted_worker import ScriptedWorker
from e2e import CAL, MFR, Expected, _assert_same, harness, simlib, worker_env



@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


@pytest.fixture(scope="module")
def sim():
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE)
    yield s
    s.stop_clean()


def start_worker(server, sim, site, **extra):
    env = worker_env(sim, MSE_WORKER_SERVER_URL=server.url,
                     MSE_WORKER_SITE_CLIENT_ID=site["credentials"]["client_id"],
                     MSE_WORKER_SITE_CLIENT_SECRET=site["credentials"]["client_secret"],
                     MSE_WORKER_SLOTS=2, **extra)
    env = {k: v for k, v in env.items() if k.startswith("MSE_WORKER_")}
    return harness.Process([harness.binary("mse-worker")], env, r"serving its site",
                           "mse-worker")


def wait_ended(api, task, execution, timeout=120):
    """Waits for the execution of task to end; returns it as the API shows it then."""
    deadline = time.monotonic() + timeout
    while True:
        e = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{execution['id']}"))
        if e["state"] not in ("queued", "running", "waiting"):
            return e
        assert time.monotonic() < deadline, f"execution still {e['state']}"
        time.sleep(0.3)


def run_and_wait(api, task, timeout=120, body=None):
    """Starts an execution now (the run request's body) and waits for it to end; returns it."""
    x = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run", json=body), 202)
    return wait_ended(api, task, x, timeout)


def rfc3339(v):
    return v.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if v else None


def archive_folders(db, mailbox, source):
    rows = db.query("SELECT folder_id, path, display_name, folder_class FROM archive_folders "
                    "WHERE mailbox = %s AND source = %s AND deleted_at IS NULL"
                    " AND partition_id = ANY(mse_view_partitions(%s))", mailbox, source, mailbox)
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def archive_messages(db, mailbox):
    paths = {k: v[0] for k, v in archive_folders(db, mailbox, "mail").items()}
    rows = db.query(
        "SELECT item_id, folder_id, internet_message_id, subject, sender, \"from\", "
        "to_recipients, cc_recipients, sent_at, received_at, size, item_class, is_read, "
        "sensitivity, has_attachments FROM archive_items "
        "WHERE mailbox = %s AND deleted_at IS NULL"
        " AND partition_id = ANY(mse_view_partitions(%s))", mailbox, mailbox)
    keys = ("internet_message_id", "subject", "sender", "from", "to", "cc", "sent",
            "received", "size", "item_class", "is_read", "sensitivity", "has_attachments")
    out = {}
    for r in rows:
        rec = dict(zip(keys, r[2:]))
        rec["sent"], rec["received"] = rfc3339(rec["sent"]), rfc3339(rec["received"])
        rec["folder_path"] = paths[r[1]]
        out[r[0]] = rec
    return out


def archive_appointments(db, mailbox):
    paths = {k: v[0] for k, v in archive_folders(db, mailbox, "calendar").items()}
    rows = db.query(
        "SELECT item_id, folder_id, subject, start_at, end_at, is_all_day, location, organizer, "
        "required_attendees, optional_attendees, calendar_item_type, recurrence, "
        "modified_occurrences, deleted_occurrences, sensitivity, has_attachments, attachments "
        "FROM archive_appointments WHERE mailbox = %s"
        " AND partition_id = ANY(mse_view_partitions(%s))", mailbox, mailbox)
    keys = ("subject", "start", "end", "is_all_day", "location", "organizer",
            "required_attendees", "optional_attendees", "calendar_item_type", "recurrence",
            "modified_occurrences", "deleted_occurrences", "sensitivity", "has_attachments",
            "attachments")
    out = {}
    for r in rows:
        rec = dict(zip(keys, r[2:]))
        rec["start"], rec["end"] = rfc3339(rec["start"]), rfc3339(rec["end"])
        rec["folder_path"] = paths[r[1]]
        rec["modified_occurrences"] = [{k: o[k] for k in ("original_start", "start", "end")}
                                       for o in rec["modified_occurrences"]]
        rec["attachments"] = [{k: a[k] for k in ("name", "content_type", "size", "sha256")}
                              for a in rec["attachments"]]
        out[r[0]] = rec
    return out


def assert_archive_equals(db, sim, mailbox, kind, definition=None):
    """The archive of one mailbox equals the sim's export; returns how many records compared."""
    exp = Expected(sim.export(mailbox), kind, definition)
    source = "mail" if kind == MFR else "calendar"
    assert sorted(archive_folders(db, mailbox, source).values()) == exp.folders
    if kind == MFR:
        _assert_same(archive_messages(db, mailbox), exp.messages, "message")
    else:
        _assert_same(archive_appointments(db, mailbox), exp.appointments, "appointment")
        hashes = {a["sha256"] for a in exp.appointments.values() for a in a["attachments"]}
        stored = {r[0] for r in db.query("SELECT sha256 FROM blobs")}
        assert hashes <= stored, hashes - stored
    return len(exp.messages) + len(exp.appointments)


def test_worker_serves_its_site(api, database, server, sim):
    site = make_site(api)
    mailboxes = sim.get("/mailboxes")["items"]
    a, b = mailboxes[0]["address"], mailboxes[1]["address"]
    mfr = make_task(api, site=site, definition=make_definition(api),
                    group={"kind": "mailbox_list", "value": f"{a}; {b}"})
    group = next(g for g in sim.get("/groups")["items"]
                 if any(m.endswith("@contoso.example") for m in g["members"]))
    cal_def = make_definition(api, type_=CAL, settings={"include_calendars": "all"})
    cal = make_task(api, site=site, definition=cal_def,
                    group={"kind": "group_email", "value": group["address"]})
    worker = start_worker(server, sim, site)
    try:
        done = run_and_wait(api, mfr)
        assert done["result"] == "ok", done
        assert all(assert_archive_equals(database, sim, m, MFR) > 0 for m in (a, b))
        boxes = ok(api.get(f"/api/v1/exchange-tasks/{mfr['id']}/mailboxes"))["items"]
        assert {x["state"] for x in boxes} == {"healthy"}
        assert all(x["first_full_sync_at"] and x["items_replicated"] > 0 for x in boxes)

        done = run_and_wait(api, cal)
        assert done["result"] == "ok", done
        boxes = ok(api.get(f"/api/v1/exchange-tasks/{cal['id']}/mailboxes"))["items"]
        assert len(boxes) >= 2 and {x["state"] for x in boxes} == {"healthy"}
        compared = sum(assert_archive_equals(database, sim, x["address"], CAL,
                                             {"include_calendars": "all"}) for x in boxes)
        assert compared > 0

        # Changes in Exchange, then an incremental execution.
        export = sim.export(a)
        inbox = next(f["path"] for f in export["folders"] if f.get("distinguished_id") == "inbox")
        msgs = [m for m in export["messages"] if m["folder_path"] == inbox
                and m["sensitivity"] == "Normal"]
        sim.control("DELETE", f"/mailboxes/{a}/items/{msgs[0]['item_id']}", expect=200)
        sim.control("PATCH", f"/mailboxes/{a}/items/{msgs[1]['item_id']}", expect=200,
                    json={"subject": "changed", "is_read": True})
        sim.control("POST", f"/mailboxes/{a}/items", expect=201,
                    json={"type": "message", "folder": inbox, "subject": "new one",
                          "to": [a], "received": "2026-11-22T10:00:00Z"})
        before = ok(api.get(f"/api/v1/exchange-tasks/{mfr['id']}"))["sequence"]
        done = run_and_wait(api, mfr)
        assert done["result"] == "ok", done
        assert_archive_equals(database, sim, a, MFR)
        deleted = database.scalar("SELECT deleted_at IS NOT NULL FROM archive_items "
                                  "WHERE mailbox = %s AND item_id = %s"
                                  " AND partition_id = ANY(mse_view_partitions(%s))", a,
                                  msgs[0]["item_id"], a)
        assert deleted is True  # kept, marked deleted
        after = ok(api.get(f"/api/v1/exchange-tasks/{mfr['id']}"))
        assert 0 < after["sequence"] - before <= 3  # only the changed folder's batch(es)
        boxes = ok(api.get(f"/api/v1/exchange-tasks/{mfr['id']}/mailboxes"))["items"]
        assert all(x["last_sync_at"] for x in boxes)
    finally:
        rc = worker.stop(signal.SIGTERM, timeout=60)
    worker.assert_clean_exit(rc)
    assert "serving its site" in worker.output()
    assert site["credentials"]["client_secret"] not in worker.output()
    assert simlib.SERVICE_PASSWORD not in worker.output()


def test_killed_worker_is_replaced_and_nothing_is_lost(api, database, server, sim):
    """kill -9 in the middle of an execution; another worker resumes it after the lease."""
    sim.control("POST", "/reset", expect=200)
    site = make_site(api)
    addresses = [m["address"] for m in sim.get("/mailboxes")["items"][2:5]]
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "mailbox_list", "value": ";".join(addresses)})
    # Slow pages, so that the kill lands inside the execution.
    sim.control("POST", "/faults", expect=201,
                json={"kind": "delay", "operation": "SyncFolderItems", "delay_ms": 150})
    first = start_worker(server, sim, site)
    x = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    deadline = time.monotonic() + 60
    while ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))["sequence"] < 4:
        assert time.monotonic() < deadline, "no submission arrived"
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    sim.control("DELETE", "/faults", expect=200)
    second = start_worker(server, sim, site)
    try:
        e = wait_ended(api, task, x, timeout=120)
        # The kill cost one lease expiry and one claim. A starved machine can also lapse the
        # second worker's lease (reliability.crashes saw it): another expiry, one more claim,
        # never a claim without an expiry before it.
        assert e["result"] == "ok" and e["lease_expiries"] >= 1, e
        assert e["claims"] == e["lease_expiries"] + 1, e
        for m in addresses:
            assert assert_archive_equals(database, sim, m, MFR) > 0
        # Every applied submission counted once: the task's sequence is the execution's count.
        assert ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))["sequence"] == \
            e["submissions"]
    finally:
        rc = second.stop(signal.SIGTERM, timeout=60)
    second.assert_clean_exit(rc)


def test_stop_ends_an_execution_waiting_for_a_mailbox_lock(api, anon, database, server, sim):
    """A stop must not wait for another task to free the mailbox the execution waits for."""
    address = sim.get("/mailboxes")["items"][5]["address"]

    def task_on(site):
        return make_task(api, site=site, definition=make_definition(api),
                         group={"kind": "mailbox_list", "value": address})

    # Another site's task holds the mailbox's lock (a scripted worker that keeps its lease).
    # The holder is served by a server of its own with a long lease: under the module's 6 s
    # lease, a loaded machine that held back the holder's beats for a few seconds let its
    # lease run out, and the execution under test took the lock instead of waiting for it.
    # Holding the lock is what this test needs, not a lease kept by the clock.
    holder_server = harness.Server(database.conninfo, env={**FAST, "MSE_LEASE_SECONDS": 600})
    holder_site = make_site(api)
    holding = task_on(holder_site)
    ok(api.post(f"/api/v1/exchange-tasks/{holding['id']}/run"), 202)
    holder = ScriptedWorker(ApiClient(holder_server.url), holder_site["credentials"])
    ok(holder.claim())
    ok(holder.membership([address]))
    ok(holder.lock(address))
    done = threading.Event()
    lapses = []  # beats that did not renew the holder's lease, or failed

    def keep_lease():
        # Fixed rate, from each beat's start (as the worker beats): timed from the end of the
        # previous beat, a slow server stretched every period by its latency on a loaded
        # machine until the holder's lease ran out, the lock was granted to the execution
        # under test and it ran instead of waiting.
        next_beat = time.monotonic()
        while True:
            next_beat = max(next_beat + 1, time.monotonic())
            if done.wait(max(0.0, next_beat - time.monotonic())):
                return
            try:
                r = holder.heartbeat()
                beats = r.json()["executions"] if r.status_code == 200 else []
                if r.status_code != 200 or any(b["lease"] != "renewed" for b in beats):
                    lapses.append(f"{r.status_code} {r.text[:300]}")
            except Exception as exc:  # noqa: BLE001 — a dead keeper must not go unnoticed
                lapses.append(repr(exc))

    keeper = threading.Thread(target=keep_lease)
    keeper.start()
    site = make_site(api)
    task = task_on(site)
    worker = start_worker(server, sim, site)
    try:
        x = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
        path = f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"
        # Generous: under a loaded CI machine the sanitized worker takes long to start and
        # claim. The message says what happened instead, should it never wait.
        deadline = time.monotonic() + 90
        while (seen := ok(api.get(path)))["state"] != "waiting":
            held = ok(api.get(f"/api/v1/exchange-tasks/{holding['id']}/executions/"
                              f"{holder.execution['id']}"))
            assert time.monotonic() < deadline, \
                f"the execution never waited for the lock: {seen}; the holder's: {held}; " \
                f"the holder's lapses: {lapses}"
            time.sleep(0.2)
        ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/stop"), 202)
        # What shows the stop did not wait for the lock is the order, not a time: the
        # execution ends while the holder still holds the lock (it releases it only below).
        # The deadline only keeps a hang from blocking the run; it is no bound on the stop.
        deadline = time.monotonic() + 120
        while (e := ok(api.get(path)))["state"] == "waiting":
            assert time.monotonic() < deadline, "the stop waited for the other task's lock"
            time.sleep(0.2)
        assert not lapses, f"the holder's lease was not kept: {lapses}"
        assert e["state"] == "cancelled" and e["result"] == "cancelled", e
        assert e["mailboxes"]["skipped"] == 1
        # The holder was never disturbed: its lock and lease outlived the stopped execution.
        assert holder.finish(address).status_code == 204
        ok(holder.complete())
    finally:
        done.set()
        keeper.join(10)
        rc = worker.stop(signal.SIGTERM, timeout=60)
        holder_server.stop_clean()
    worker.assert_clean_exit(rc)


def test_sigterm_does_not_wait_for_a_slow_exchange_answer(api, database, server, sim):
    """A worker told to stop abandons an EWS request in flight and hands the execution back."""
    address = sim.get("/mailboxes")["items"][6]["address"]
    site = make_site(api)
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "mailbox_list", "value": address})
    sim.control("POST", "/faults", expect=201,
                json={"kind": "delay", "mailbox": address, "count": 1, "delay_ms": 20000})
    worker = start_worker(server, sim, site, MSE_WORKER_EWS_TIMEOUT=120)
    try:
        x = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
        # The sim answers nothing else while it delays: watch the server, not the sim.
        deadline = time.monotonic() + 30
        boxes = f"/api/v1/exchange-tasks/{task['id']}/mailboxes"
        while [m["state"] for m in ok(api.get(boxes))["items"]] != ["syncing"]:
            assert time.monotonic() < deadline, "the worker never began the mailbox"
            time.sleep(0.1)
        time.sleep(1)  # the first EWS request of the mailbox is under way, delayed
        rc = worker.stop(signal.SIGTERM, timeout=10)
    finally:
        sim.control("DELETE", "/faults", expect=200)
        if worker.proc.poll() is None:
            worker.stop(signal.SIGKILL, timeout=10)
    worker.assert_clean_exit(rc)
    e = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"))
    assert e["state"] == "queued", e  # handed back: another worker resumes it
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/stop"))


def test_progress_says_which_folder_and_how_far(api, database, server, sim):
    """Within a mailbox the task's latest detail names the folder being read, its place among
    the folders of the pass, and the items so far; the execution gives a percentage."""
    import re
    address = sim.get("/mailboxes")["items"][7]["address"]
    site = make_site(api)
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "mailbox_list", "value": address})
    # Slow folders, so that each stage stays visible longer than the poll below.
    sim.control("POST", "/faults", expect=201,
                json={"kind": "delay", "operation": "SyncFolderItems", "mailbox": address,
                      "delay_ms": 1200})
    worker = start_worker(server, sim, site)
    try:
        x = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
        path = f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"
        seen, deadline = [], time.monotonic() + 180
        while (e := ok(api.get(path)))["state"] in ("queued", "running", "waiting"):
            detail = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))["latest_detail"]
            if detail and (not seen or seen[-1] != detail):
                seen.append(detail)
            assert time.monotonic() < deadline, f"execution still {e['state']}: {seen}"
            time.sleep(0.1)
        assert e["result"] == "ok" and e["progress_percent"] == 100, e
        # Reports are throttled to one a second, so not every folder shows; those that do
        # are numbered consistently, in order, with the items read so far.
        pattern = r"Folder (\d+) of (\d+), (.+): (reading|[\d,]+ (of [\d,]+ )?(items|changes))"
        shown = [m for m in (re.fullmatch(pattern, d) for d in seen) if m]
        assert any(m.group(4) != "reading" for m in shown), seen
        total = int(shown[0].group(2))
        assert total >= 2 and all(int(m.group(2)) == total for m in shown), seen
        numbers = [int(m.group(1)) for m in shown]
        assert numbers == sorted(numbers) and 1 <= numbers[0] and numbers[-1] <= total, seen
    finally:
        sim.control("DELETE", "/faults", expect=200)
        worker.assert_clean_exit(worker.stop(signal.SIGTERM, timeout=60))


@pytest.mark.parametrize("type_,settings,reason,what", [
    # Storage management stubs nothing in this version (docs/storage-management.md).
    ("mailbox_storage_management", {"action": "attachment_stub", "older_than_days": 90},
     "unsupported_action", "attachment_stub"),
    ("managed_folders", {"policies": [{"folder": "default", "action": "exchange_delete",
                                        "lifespan_days": 365}]},
     "unsupported_task_type", "managed_folders"),
])
def test_a_type_this_worker_cannot_run_is_an_error_not_ok(api, server, sim, type_, settings,
                                                         reason, what):
    """Nothing was done, so nothing may read ok: every mailbox says why, and so does the task."""
    site = make_site(api)
    mailboxes = sim.get("/mailboxes")["items"]
    a, b = mailboxes[0]["address"], mailboxes[1]["address"]
    definition = make_definition(api, type_=type_, settings=settings)
    task = make_task(api, site=site, definition=definition,
                     group={"kind": "mailbox_list", "value": f"{a}; {b}"})
    empty = f"empty-{type_.replace('_', '-')}@contoso.example"
    sim.control("POST", "/groups", expect=201, json={"address": empty, "members": []})
    empty_task = make_task(api, site=site, definition=definition,
                           group={"kind": "group_email", "value": empty})
    worker = start_worker(server, sim, site)
    try:
        done = run_and_wait(api, task)
        assert done["result"] == "failed", done
        boxes = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/mailboxes"))["items"]
        assert {x["address"] for x in boxes} == {a, b}
        for x in boxes:
            assert x["state"] == "error", x
            assert x["reason_code"] == reason, x
            assert x["reason_text"].startswith(f"{what} is not available on this worker version")
            assert x["first_full_sync_at"] is None
        t = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))
        assert t["health"] == "failed", t

        done = run_and_wait(api, empty_task)
        assert done["result"] == "failed", done
        t = ok(api.get(f"/api/v1/exchange-tasks/{empty_task['id']}"))
        assert t["health"] == "failed", t
    finally:
        rc = worker.stop(signal.SIGTERM, timeout=60)
    worker.assert_clean_exit(rc)


def test_group_members_that_are_not_mailboxes_are_listed_as_skipped(api, server, sim):
    """An outside address in a distribution group is not synchronised, and the task says so."""
    site = make_site(api)
    a = sim.get("/mailboxes")["items"][5]["address"]
    group = "with-guests@contoso.example"
    sim.control("POST", "/groups", expect=201,
                json={"address": group, "members": [a, "Guest@Partner.example",
                                                     "auditor@outside.example", a.upper()]})
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "group_email", "value": group})
    worker = start_worker(server, sim, site)
    try:
        done = run_and_wait(api, task)
        assert done["result"] == "ok", done
        assert done["mailboxes"]["total"] == 1
        expected = {"total": 2, "listed": [
            {"address": "guest@partner.example", "reason": "external"},
            {"address": "auditor@outside.example", "reason": "external"}]}
        assert done["skipped_members"] == expected
        assert done["membership_from_cache"] is False
        assert done["membership_resolved_at"] is not None
        shown = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))["last_execution"]
        assert shown["skipped_members"] == expected
        # The next run within the cache time is answered from the cache: it says so, and
        # when the group was really resolved.
        again = run_and_wait(api, task)
        assert again["result"] == "ok" and again["membership_from_cache"] is True, again
        assert again["membership_resolved_at"] == done["membership_resolved_at"]
        assert again["skipped_members"] == expected
    finally:
        worker.assert_clean_exit(worker.stop(signal.SIGTERM, timeout=60))


def _metric(url, name, labels=""):
    """One sample of a server's /metrics (0 when absent)."""
    text = ApiClient(url).get("/metrics").text
    for line in text.splitlines():
        if line.startswith(f"{name}{labels} "):
            return float(line.split()[-1])
    return 0.0


def test_idle_slots_wait_at_the_server_and_heartbeats_go_on(api, database, server, sim):
    """The worker's claims wait at a second server process (the one queueing is the module's
    own, so the wake crosses processes through PostgreSQL): the waiting claims are what picks up
    the run-now, no claim is answered 204 meanwhile, and the heartbeats keep coming."""
    other = harness.Server(database.conninfo, env={**FAST, "MSE_CLAIM_WAIT_MAX": 300})
    site = make_site(api)
    mailbox = sim.get("/mailboxes")["items"][0]["address"]
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "mailbox", "value": mailbox})
    no_work = '{method="POST",route="/api/v1/worker/claims",status="204"}'
    claimed = '{method="POST",route="/api/v1/worker/claims",status="200"}'
    worker = start_worker(other, sim, site, MSE_WORKER_CLAIM_WAIT=300)
    try:
        deadline = time.monotonic() + 60
        while _metric(other.url, "mse_http_parked") < 2:  # both slots wait at the server
            assert time.monotonic() < deadline, "the slots' claims did not park"
            time.sleep(0.1)
        seen = []
        while len(set(seen)) < 3:  # two more heartbeats while both claims wait
            w = ok(api.get(f"/api/v1/sites/{site['id']}"))["workers"]
            seen.append(w[0]["last_seen_at"])
            assert _metric(other.url, "mse_http_parked") == 2
            assert time.monotonic() < deadline + 60, f"heartbeats stopped: {seen}"
            time.sleep(0.2)
        done = run_and_wait(api, task)
        assert done["result"] == "ok" and done["claims"] == 1, done
        assert _metric(other.url, "mse_http_requests_total", claimed) == 1
        assert _metric(other.url, "mse_http_requests_total", no_work) == 0
    finally:
        rc = worker.stop(signal.SIGTERM, timeout=60)  # its claims wait 300 s: stop ends them
        other.stop_clean()
    worker.assert_clean_exit(rc)
