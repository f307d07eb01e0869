# SPDX-License-Identifier: Apache-2.0
"""The administration console in a real browser (Debian's Chromium, headless, puppeteer-core):
an admin signs in, creates a schedule, a definition and a task through the wizard, runs it
against mse-worker + ews-sim and sees it complete, opens the archive; a read-only client sees
no write control and the server refuses its writes; axe-core finds no serious or critical
violation on any page. Screenshots and axe reports land in the build tree (console-artefacts).
"""
import datetime
import os
import sys
import zoneinfo

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "worker"))
from conftest import FAST, admin_server, BOOTSTRAP_ID, BOOTSTRAP_SECRET  # noqa: E402
from admin_helpers import make_site, ok, problem, unique  # noqa: E402
from e2e import harness, simlib, worker_env  # noqa: E402
from console_driver import assert_accessible, drive  # noqa: E402


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


@pytest.fixture(scope="module")
def sim():
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE)
    yield s
    s.stop_clean()


@pytest.fixture(scope="module")
def site(api, server, sim):
    site = make_site(api)
    env = worker_env(sim, MSE_WORKER_SERVER_URL=server.url,
                     MSE_WORKER_SITE_CLIENT_ID=site["credentials"]["client_id"],
                     MSE_WORKER_SITE_CLIENT_SECRET=site["credentials"]["client_secret"],
                     MSE_WORKER_SLOTS=2)
    env = {k: v for k, v in env.items() if k.startswith("MSE_WORKER_")}
    worker = harness.Process([harness.binary("mse-worker")], env, r"serving its site", "mse-worker")
    yield site
    worker.stop()


ENGINEERING = "CN=Engineering,OU=Groups,DC=contoso,DC=example"


@pytest.fixture(scope="module")
def admin_run(api, anon, server, sim, site):
    mailbox = sim.get("/mailboxes")["items"][0]["address"]
    # The site's directory catalogue, as a worker with a directory reports it (the worker of
    # this test has none), for the wizard's group lookup.
    creds = site["credentials"]
    as_site = anon.as_client(creds["client_id"], creds["client_secret"])
    r = as_site.put("/api/v1/worker/directory/groups", json={"groups": [
        {"dn": ENGINEERING, "name": "Engineering", "mail": None, "kind": "security_group",
         "member_count": 3},
        {"dn": "OU=Staff,DC=contoso,DC=example", "name": "Staff", "mail": None, "kind": "ou",
         "member_count": None}]})
    assert r.status_code == 204, r.text
    names = {"schedule": unique("sched"), "definition": unique("def"), "task": unique("task")}
    out = drive("admin", server, idle=(api, anon),
                admin_id=BOOTSTRAP_ID, admin_secret=BOOTSTRAP_SECRET,
                site_id=site["id"], mailbox=mailbox, **names)
    return out, names, mailbox


def test_wizard_creates_the_task_and_the_run_completes(api, admin_run):
    out, names, mailbox = admin_run
    assert out["schedule_selected"] == names["schedule"]
    assert out["definition_selected"] == names["definition"]
    tasks = ok(api.get("/api/v1/exchange-tasks", params={"limit": 500}))["items"]
    task = next(t for t in tasks if t["name"] == names["task"])
    assert out["task_url"] == f"#/tasks/{task['id']}"
    assert task["group"] == {"kind": "mailbox", "value": mailbox}
    assert out["sequence"] == task["sequence"] and task["sequence"] > 0
    assert out["mailbox_state"] == "healthy"
    assert out["progress"] == [1, 1]  # one mailbox in the group, done
    # When the group was resolved is shown; a single mailbox has nobody to skip.
    assert out["membership"].startswith("resolved ") and "skipped" not in out["membership"]


def test_wizard_looks_up_an_ad_group(admin_run):
    out, _, _ = admin_run
    assert out["picked_dn"] == ENGINEERING
    assert out["archive_rows"] > 0
    assert out["signed_out"]


def test_dashboard_follows_changes_without_a_reload(admin_run):
    out, _, _ = admin_run
    assert out["disabled_after"] == out["disabled_before"] + 1
    assert out["live_without_reload"]
    # Polling revalidates with the lists' ETags: what did not change came back as 304.
    assert out["not_modified"] > 0
    # Every list the task page polls (executions, mailboxes, schedules, definitions) was
    # answered 304 once nothing changed any more.
    assert out["task_page_not_modified"] == 4
    assert out["summary_not_modified"]  # and so was the dashboard's summary


def test_schedule_form_previews_the_next_runs(api, admin_run):
    out, names, _ = admin_run
    # What the form previewed is what the saved schedule has: five runs at 03:00 in its zone.
    schedules = ok(api.get("/api/v1/schedules", params={"limit": 500}))["items"]
    saved = next(s for s in schedules if s["name"] == names["schedule"])
    assert saved["timezone"] == out["preview_zone"]
    assert len(out["preview"]) == 5
    zone = zoneinfo.ZoneInfo(out["preview_zone"])
    for t in out["preview"]:
        local = datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(zone)
        assert (local.hour, local.minute) == (3, 0), t
    assert set(out["preview"]) & set(saved["next_runs"])


def test_validation_error_shows_at_its_field(admin_run):
    out, _, _ = admin_run
    assert out["start_time_error"], "no error at start_time"
    assert out["start_time_invalid"] == "true"
    # Editing the field clears its message: it was about the value that is no longer there.
    assert out["start_time_error_after_edit"] is None


def test_admin_pages_have_no_serious_accessibility_violation(admin_run):
    out, _, _ = admin_run
    assert {"signin", "dashboard", "wizard", "wizard-group-lookup", "task-detail", "archive", "tasks", "schedules",
            "definitions", "sites", "clients", "audit", "dashboard-phone", "search-empty",
            "connections-empty", "sync-tasks-empty"} <= set(out["pages"])
    assert_accessible(out)


def test_sign_out_revoked_the_token(api, admin_run):
    # Every token the console was issued is revoked: the audit log records the revocation.
    events = ok(api.get("/api/v1/audit-events", params={"limit": 500}))["items"]
    assert any("revoke" in e["action"] for e in events), sorted({e["action"] for e in events})


def test_read_only_client_sees_no_write_control_and_is_refused(api, anon, server, admin_run):
    _, names, _ = admin_run
    ro = ok(api.post("/api/v1/api-clients", json={"name": unique("ro"), "role": "read_only"}), 201)
    task = next(t for t in ok(api.get("/api/v1/exchange-tasks", params={"limit": 500}))["items"]
                if t["name"] == names["task"])
    out = drive("readonly", server, idle=(api, anon), ro_id=ro["client_id"], ro_secret=ro["client_secret"],
                task_id=task["id"])
    assert "read-only" in out["who"]
    assert "Audit Log" not in out["nav"] and "API Clients" not in out["nav"]
    assert out["new_task_link"] == 0
    assert out["task_buttons"] == []
    assert out["forms"] == {"schedules": 0, "definitions": 0, "sites": 0, "connections": 0, "sync-tasks": 0}
    assert_accessible(out)
    # The server refuses the write anyway.
    ro_api = anon.as_client(ro["client_id"], ro["client_secret"])
    problem(ro_api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 403)
