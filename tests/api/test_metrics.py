# SPDX-License-Identifier: Apache-2.0
"""Every metric /metrics exports moves when its event happens. A metric nothing updates is
worse than none (monitoring trusts a zero), so the last test fails for any exported metric
this file does not exercise, unless UNCHECKED names it with the reason."""
import datetime
import hashlib
import json
import os
import re
import subprocess
import threading
import time

import pytest
import yaml

import harness
from admin_helpers import make_definition, make_schedule, make_site, make_task, ok, problem
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


def quiet_schedule(api, interval_minutes):
    """Every interval_minutes, but only on the day three days from now: no run falls due while
    the test runs, and the interval one execution has is still interval_minutes."""
    day = (datetime.date.today() + datetime.timedelta(days=3)).strftime("%A").lower()
    return make_schedule(api, type="weekly", days_of_week=[day], mode="many", start_time="00:00",
                         end_time="23:00", interval_minutes=interval_minutes)


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


def test_planning_gauges_follow_the_baselines(api, anon):
    """Per task (docs/planning.md): its passes' medians and p95s, the estimate of one execution of
    its group, its interval, whether it fits and how many tasks would."""
    site = make_site(api)
    every5 = quiet_schedule(api, 5)
    mb = "metrics-plan@example.com"
    task = make_task(api, site=site, schedule=every5, definition=make_definition(api),
                     group={"kind": "mailbox", "value": mb})
    for full, ms in ((True, 120000), (False, 400000), (False, 200000)):
        ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
        w = ScriptedWorker(anon, site["credentials"])
        ok(w.claim())
        if not w.execution["membership_known"]:
            ok(w.membership([mb]))
        ok(w.lock(mb))
        if full:
            ok(w.submit(hierarchy_batch(mb, None, "H1", [folder("F1", "Inbox")])))
        ok(w.finish(mb, full_sync=full, duration_ms=ms), 204)
        ok(w.complete())
    sample = scrape(anon)
    labels = f'task_id="{task["id"]}",type="mailbox_folder_replication"'

    def gauge(name, percentile=None):
        q = f',percentile="{percentile}"' if percentile else ""
        return value(sample, name, "{" + labels + q + "}")

    assert gauge("mse_task_incremental_pass_seconds", "50") == 300
    assert gauge("mse_task_incremental_pass_seconds", "95") == 390
    assert gauge("mse_task_first_full_pass_seconds", "50") == 120
    assert gauge("mse_task_first_full_pass_seconds", "95") == 120
    assert gauge("mse_task_execution_estimate_seconds") == 300
    assert gauge("mse_task_interval_seconds") == 300
    assert gauge("mse_task_fits") == 1 and gauge("mse_task_tasks_needed") == 1
    assert value(sample, "mse_tasks_not_fitting") >= 0
    # A slower pass tips the median over the interval.
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    if not w.execution["membership_known"]:
        ok(w.membership([mb]))
    ok(w.lock(mb))
    ok(w.finish(mb, full_sync=False, duration_ms=900000), 204)
    ok(w.complete())
    before = value(sample, "mse_tasks_not_fitting")
    sample = scrape(anon)
    assert gauge("mse_task_fits") == 0 and gauge("mse_task_tasks_needed") == 2
    assert value(sample, "mse_tasks_not_fitting") == before + 1


def test_promtool_accepts_the_exposition_and_the_alerting_rules(anon, tmp_path):
    """promtool (Debian's prometheus) lints what a Prometheus server would scrape, and the
    alerting rules shipped for it (docs/planning.md)."""
    text = anon.get("/metrics").text
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    rules = os.path.join(harness.SOURCE_DIR, "docs", "prometheus", "mse-alerts.yml")
    checked = subprocess.run(["promtool", "check", "rules", rules], capture_output=True,
                             text=True, timeout=60)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def exported_names(text):
    return set(re.findall(r"^# TYPE ([a-z_]+) ", text, re.M))


def expr_metrics(expr):
    """The mse_ metric families an expression reads (histogram series map to their family)."""
    return {re.sub(r"_(bucket|sum|count)$", "", m) for m in re.findall(r"\bmse_[a-z_]+", expr)}


def test_the_grafana_dashboard_reads_exported_metrics(anon):
    path = os.path.join(harness.SOURCE_DIR, "docs", "grafana", "mse.json")
    with open(path, encoding="utf-8") as f:
        dashboard = json.load(f)
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs, "the dashboard has no queries"
    with open(os.path.join(harness.SOURCE_DIR, "docs", "prometheus", "mse-alerts.yml"),
              encoding="utf-8") as f:
        rules = yaml.safe_load(f)
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    names = exported_names(anon.get("/metrics").text)
    for expr in exprs:
        used = expr_metrics(expr)
        assert used, f"{expr!r} reads no MSE metric"
        assert used <= names, f"{expr!r} reads metrics /metrics does not export: {used - names}"
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
