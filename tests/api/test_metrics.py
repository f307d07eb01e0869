# SPDX-License-Identifier: Apache-2.0
"""Every metric /metrics exports moves when its event happens. A metric nothing updates is
worse than none (monitoring trusts a zero), so the last test fails for any exported metric
this file does not exercise, unless UNCHECKED names it with the reason."""
import hashlib
import re
import threading
import time

import pytest

from admin_helpers import make_definition, make_site, make_task, ok, problem
from conftest import FAST, admin_server
from scripted_worker import ScriptedWorker, folder, folder_batch, hierarchy_batch, message

# Exported but not moved here, each with the reason.
UNCHECKED = {
    "mse_db_pool_connections": "a gauge of the connection pool's state, present on every "
                               "scrape; its in_use value is not an event a test can cause alone",
}

CHECKED = set()


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


def scrape(anon):
    """{(name, labels): value} of one /metrics answer."""
    out = {}
    for line in anon.get("/metrics").text.splitlines():
        m = re.match(r"^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$", line)
        if m:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


def value(sample, name, labels=""):
    CHECKED.add(re.sub(r"_(bucket|sum|count)$", "", name))
    return sample.get((name, labels), 0.0)


def wait_for(predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def appointment(item_id, folder_id):
    return {"item_id": item_id, "change_key": "ck1", "folder_id": folder_id, "change": "upsert",
            "item_class": "IPM.Appointment", "uid": f"uid-{item_id}", "subject": "meeting",
            "start": "2026-01-05T10:00:00Z", "end": "2026-01-05T11:00:00Z", "is_all_day": False,
            "location": "Room 1", "organizer": {"name": "Anna", "email": "anna@example.com"},
            "required_attendees": [], "optional_attendees": [], "calendar_item_type": "Single",
            "is_recurring": False, "recurrence": None, "modified_occurrences": [],
            "deleted_occurrences": [], "sensitivity": "Normal", "has_attachments": False,
            "attachments": []}


def started(api, anon, site, mailbox):
    """A task on mailbox, run now and claimed by a new scripted worker holding its lock."""
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "mailbox", "value": mailbox})
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    ok(w.membership([mailbox]))
    return task, w


def test_replication_counters_move(api, anon):
    site = make_site(api)
    before = scrape(anon)
    task, w = started(api, anon, site, "metrics-a@example.com")
    ok(w.lock("metrics-a@example.com"))
    h = hierarchy_batch("metrics-a@example.com", None, "H1",
                        [folder("F1", "Inbox"), folder("C1", "Calendar",
                                                       folder_class="IPF.Appointment")])
    ok(w.submit(h))
    ok(w.submit(h))  # the same batch again: acknowledged, not applied
    ok(w.submit(folder_batch("metrics-a@example.com", "F1", None, "S1",
                             [message("I1", "F1"), message("I2", "F1"), message("I3", "F1")])))
    ok(w.submit(folder_batch("metrics-a@example.com", "C1", None, "S1",
                             appointments=[appointment("A1", "C1")])))
    problem(w.submit(folder_batch("metrics-a@example.com", "F1", "stale", "S2", [])), 409)
    data = b"attachment bytes"
    assert w.put_content(hashlib.sha256(data).hexdigest(), data).status_code in (200, 201, 204)
    problem(w.submit(folder_batch("metrics-a@example.com", "F1", "S1", "S2", []),
                     token=w.token + 7), 409)
    after = scrape(anon)

    def moved(name, by=None):
        delta = value(after, name) - value(before, name)
        assert delta == by if by is not None else delta > 0, f"{name} moved by {delta}"

    moved("mse_claims_total", 1)
    moved("mse_submissions_applied_total", 3)
    moved("mse_submissions_replayed_total", 1)
    moved("mse_submissions_conflicts_total", 1)
    moved("mse_folders_applied_total", 2)
    moved("mse_items_applied_total", 3)
    moved("mse_appointments_applied_total", 1)
    moved("mse_attachment_bytes_stored_total", len(data))
    moved("mse_fencing_rejections_total", 1)
    assert value(after, "mse_mailbox_locks") >= 1
    assert value(after, "mse_executions", '{state="running"}') >= 1
    assert value(after, "mse_task_mailboxes", '{state="pending"}') + \
        value(after, "mse_task_mailboxes", '{state="syncing"}') >= 1
    assert value(after, "mse_tasks", '{enabled="true"}') >= 1
    ok(w.heartbeat())
    assert value(scrape(anon), "mse_sites_online") >= 1
    ok(w.finish("metrics-a@example.com"), 204)
    ok(w.complete())
    assert value(scrape(anon), "mse_executions", '{state="completed"}') >= 1


def test_lock_waits_and_lease_expiries_move(api, anon, database):
    site = make_site(api)
    before = scrape(anon)
    _, a = started(api, anon, site, "metrics-shared@example.com")
    ok(a.lock("metrics-shared@example.com"))
    _, b = started(api, anon, site, "metrics-shared@example.com")
    problem(b.lock("metrics-shared@example.com"), 409)
    assert value(scrape(anon), "mse_mailbox_lock_waits_total") - \
        value(before, "mse_mailbox_lock_waits_total") == 1
    database.query("UPDATE executions SET lease_expires_at = now() - interval '1 second'"
                   " WHERE id = %s::uuid", a.execution["id"])
    wait_for(lambda: value(scrape(anon), "mse_lease_expiries_total")
             > value(before, "mse_lease_expiries_total"), "a lease expiry to be counted")


def test_scheduler_counters_move(api, anon, database):
    site = make_site(api)
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "mailbox", "value": "metrics-s@example.com"})
    before = scrape(anon)
    database.query("UPDATE exchange_tasks SET next_run_at = now() WHERE id = %s::uuid",
                   task["id"])
    wait_for(lambda: value(scrape(anon), "mse_executions_scheduled_total")
             > value(before, "mse_executions_scheduled_total"), "a scheduled execution")
    # Due again while that execution is queued: the run is skipped, and counted.
    database.query("UPDATE exchange_tasks SET next_run_at = now() WHERE id = %s::uuid",
                   task["id"])
    wait_for(lambda: value(scrape(anon), "mse_executions_skipped_total")
             > value(before, "mse_executions_skipped_total"), "a skipped execution")
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/stop"))


def test_an_execution_without_a_worker_says_why_it_waits(api, anon, database):
    site = make_site(api)
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "mailbox", "value": "metrics-w@example.com"})
    x = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    path = f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"
    never = (f"Waiting for a worker of site {site['name']}: no worker of site {site['name']} "
             "has ever connected")
    wait_for(lambda: ok(api.get(path))["latest_detail"] == never, "the waiting detail")
    assert ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))["latest_detail"] == never
    assert value(scrape(anon), "mse_executions_waiting_for_worker") >= 1
    # A worker came and went: the detail says since when the site has been offline.
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.heartbeat())
    database.query("UPDATE site_workers SET offline_at = '2026-01-02T03:04:05Z'"
                   " WHERE site_id = %s::uuid", site["id"])
    since = f"Waiting for a worker of site {site['name']} (offline since 2026-01-02T03:04:05Z)"
    wait_for(lambda: ok(api.get(path))["latest_detail"] == since, "the offline detail")
    # Once a worker is online the execution no longer counts as waiting for one.
    before = value(scrape(anon), "mse_executions_waiting_for_worker")
    ok(w.heartbeat())
    assert value(scrape(anon), "mse_executions_waiting_for_worker") == before - 1
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/stop"))


def test_auth_failures_and_requests_move(anon):
    before = scrape(anon)
    problem(anon.get("/api/v1/sites", headers={"Authorization": "Bearer not-a-token"}), 401)
    anon.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
              auth=("no-such-client", "wrong"))
    after = scrape(anon)
    assert value(after, "mse_auth_failures_total") - \
        value(before, "mse_auth_failures_total") == 2
    labels = '{method="GET",route="/api/v1/sites",status="401"}'
    assert value(after, "mse_http_requests_total", labels) - \
        value(before, "mse_http_requests_total", labels) == 1
    count = '{method="GET",route="/api/v1/sites"}'
    assert value(after, "mse_http_request_duration_seconds_count", count) > \
        value(before, "mse_http_request_duration_seconds_count", count)
    value(after, "mse_http_request_duration_seconds_sum", count)
    value(after, "mse_http_request_duration_seconds_bucket")
    assert value(after, "mse_http_in_flight") >= 1  # the scrape itself is in flight


def test_a_waiting_claim_is_counted_while_it_is_parked(api, anon):
    site = make_site(api)
    w = ScriptedWorker(anon, site["credentials"])
    before = value(scrape(anon), "mse_http_parked")
    answer = []
    t = threading.Thread(target=lambda: answer.append(w.claim(wait=2)), daemon=True)
    t.start()
    wait_for(lambda: value(scrape(anon), "mse_http_parked") == before + 1, "the claim to park")
    t.join(60)
    assert answer[0].status_code == 204  # its wait is over: nothing was queued
    assert value(scrape(anon), "mse_http_parked") == before


def test_every_exported_metric_is_checked(anon):
    """Runs last: the metrics above were each moved by their event."""
    names = set(re.findall(r"^# TYPE ([a-z_]+) ", anon.get("/metrics").text, re.M))
    unchecked = names - CHECKED - set(UNCHECKED)
    assert not unchecked, f"exported metrics no test moves: {sorted(unchecked)}"
    assert not set(UNCHECKED) - names, "UNCHECKED names a metric that is no longer exported"
