# SPDX-License-Identifier: Apache-2.0
"""What a mailbox's figures count when its pass takes several attempts: a worker that dies or
loses its lease mid-pass, a failed first execution, a failed or skipped mailbox. Driven by
scripted workers over real HTTP; seed 004 asks administrators to plan from these figures."""
import time

import pytest

from admin_helpers import make_definition, make_site, make_task, ok
from conftest import FAST, admin_server
from scripted_worker import ScriptedWorker, folder, folder_batch, hierarchy_batch, message


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


@pytest.fixture
def site(api):
    return make_site(api)


def wait_until(predicate, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def start(api, anon, site, mailbox, task=None):
    """Queues an execution of the (new) task and claims it with a scripted worker."""
    task = task or make_task(api, site=site, definition=make_definition(api),
                             group={"kind": "mailbox_list", "value": mailbox})
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    if not w.execution["membership_known"]:
        ok(w.membership([mailbox]))
    return task, w


def lapse_and_reclaim(anon, site, database, w):
    """The claim's lease runs out (its worker is gone); another worker claims it again."""
    database.query("UPDATE executions SET lease_expires_at = now() - interval '1 second' "
                   "WHERE id = %s", w.execution["id"])
    again = ScriptedWorker(anon, site["credentials"])
    wait_until(lambda: again.claim().status_code == 200, what="the execution to be re-queued")
    assert again.execution["id"] == w.execution["id"] and again.token == w.token + 1
    return again


def messages(prefix, n, folder_id="F1"):
    return [message(f"{prefix}{i}", folder_id) for i in range(n)]


def mailbox_of(api, task):
    return ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/mailboxes"))["items"][0]


def test_a_first_pass_cut_by_a_lost_lease_is_one_pass(api, anon, site, database):
    """Attempt 1 applies hierarchy and 3 items, then dies; attempt 2 resumes and finishes."""
    mb = "resumed@example.com"
    task, w = start(api, anon, site, mb)
    assert ok(w.lock(mb))["checkpoints"]["hierarchy"] is None
    ok(w.submit(hierarchy_batch(mb, None, "H1", [folder("F1", "Inbox")])))
    time.sleep(0.5)  # attempt 1 works for a while before its last batch
    ok(w.submit(folder_batch(mb, "F1", None, "S1", messages("a", 3), complete=False)))

    w2 = lapse_and_reclaim(anon, site, database, w)
    # The resumed pass starts from the checkpoints: to the worker, it is incremental.
    cps = ok(w2.lock(mb))["checkpoints"]
    assert cps == {"hierarchy": "H1", "folders": {"F1": "S1"}}
    ok(w2.submit(folder_batch(mb, "F1", "S1", "S2", messages("b", 2))))
    assert w2.finish(mb, items=2, full_sync=False, duration_ms=300).status_code == 204
    done = ok(w2.complete())

    box = mailbox_of(api, task)
    assert box["state"] == "healthy" and box["first_full_sync_at"]
    assert box["items_replicated"] == 5 and box["first_full_sync_items"] == 5
    # 300 ms of the finishing attempt + at least the 0.5 s attempt 1 worked.
    assert box["first_full_sync_duration_ms"] >= 800
    assert box["last_sync_duration_ms"] == box["first_full_sync_duration_ms"]
    assert done["items"] == 5 and done["claims"] == 2

    # An incremental execution later: the baseline stays, the counts go on.
    _, w3 = start(api, anon, site, mb, task)
    ok(w3.lock(mb))
    ok(w3.submit(folder_batch(mb, "F1", "S2", "S3", messages("c", 1))))
    assert w3.finish(mb, items=1, full_sync=False, duration_ms=200).status_code == 204
    assert ok(w3.complete())["items"] == 1
    later = mailbox_of(api, task)
    assert later["first_full_sync_items"] == 5 and later["items_replicated"] == 6
    assert later["first_full_sync_duration_ms"] == box["first_full_sync_duration_ms"]
    assert later["first_full_sync_at"] == box["first_full_sync_at"]
    assert later["last_sync_duration_ms"] == 200


def test_a_replayed_batch_counts_once(api, anon, site, database):
    mb = "replay@example.com"
    task, w = start(api, anon, site, mb)
    ok(w.lock(mb))
    ok(w.submit(hierarchy_batch(mb, None, "H1", [folder("F1", "Inbox")])))
    batch = folder_batch(mb, "F1", None, "S1", messages("r", 4))
    ok(w.submit(batch))
    # The worker lost the answer and died; its successor sends the same batch again.
    w2 = lapse_and_reclaim(anon, site, database, w)
    ok(w2.lock(mb))
    assert ok(w2.submit(batch))["replayed"] is True
    assert w2.finish(mb, items=4, duration_ms=100).status_code == 204
    assert ok(w2.complete())["items"] == 4
    assert mailbox_of(api, task)["items_replicated"] == 4


def test_only_a_completed_pass_sets_a_baseline(api, anon, site):
    """A failed first execution sets none; the one that completes counts both."""
    mb = "failing@example.com"
    task, w = start(api, anon, site, mb)
    ok(w.lock(mb))
    ok(w.submit(hierarchy_batch(mb, None, "H1", [folder("F1", "Inbox")])))
    ok(w.submit(folder_batch(mb, "F1", None, "S1", messages("f", 2), complete=False)))
    assert w.finish(mb, state="error", reason_code="ews_error", reason_text="it failed",
                    items=2, duration_ms=700).status_code == 204
    ok(w.complete())
    box = mailbox_of(api, task)
    assert box["state"] == "error" and box["items_replicated"] == 2
    assert box["first_full_sync_at"] is None and box["first_full_sync_duration_ms"] is None
    assert box["first_full_sync_items"] is None

    _, w2 = start(api, anon, site, mb, task)
    ok(w2.lock(mb))
    ok(w2.submit(folder_batch(mb, "F1", "S1", "S2", messages("g", 3))))
    assert w2.finish(mb, items=3, full_sync=False, duration_ms=400).status_code == 204
    ok(w2.complete())
    box = mailbox_of(api, task)
    assert box["first_full_sync_at"] and box["first_full_sync_items"] == 5
    assert box["first_full_sync_duration_ms"] == 1100  # 700 ms failed + 400 ms completing
    assert box["last_sync_duration_ms"] == 400


@pytest.mark.parametrize("state,reason", [("error", "invalid_mailbox"),
                                          ("error", "ews_mailbox_moving"),
                                          ("skipped", "stopped")])
def test_a_failed_or_skipped_mailbox_gets_no_baseline(api, anon, site, state, reason):
    mb = f"{reason.replace('_', '-')}@example.com"
    task, w = start(api, anon, site, mb)
    ok(w.lock(mb))
    assert w.finish(mb, state=state, reason_code=reason, reason_text="no pass",
                    duration_ms=1).status_code == 204
    ok(w.complete())
    box = mailbox_of(api, task)
    assert box["state"] == state and box["first_full_sync_at"] is None
    assert box["first_full_sync_duration_ms"] is None and box["items_replicated"] == 0
