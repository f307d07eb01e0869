# SPDX-License-Identifier: Apache-2.0
"""The console edits and deletes schedules and definitions with If-Match, in a real browser
(Debian's Chromium, puppeteer-core) against mse-server and PostgreSQL: a schedule changed by
someone else while its form is open is not overwritten, the console says so and reloads it;
each definition type has its own settings form whose errors land on the setting they name;
1,000 tasks are listed a page of the API's keyset cursors at a time, each exactly once.
"""
import pytest

from conftest import admin_server, BOOTSTRAP_ID, BOOTSTRAP_SECRET
from admin_helpers import make_schedule, make_site, ok, unique
from console_driver import assert_accessible, drive

TASKS = 1000


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database)


@pytest.fixture(scope="module")
def run(api, server):
    site = make_site(api)
    used = make_schedule(api, timezone="UTC", start_time="02:00")
    spare = make_schedule(api)
    d = ok(api.post("/api/v1/definitions", json={"type": "mailbox_folder_replication",
                                                  "description": unique("def")}), 201)
    names = [f"bulk-{i:04d}" for i in range(TASKS)]
    for n in names:
        ok(api.post("/api/v1/exchange-tasks", json={
            "name": n, "site_id": site["id"], "type": "mailbox_folder_replication",
            "definition_id": d["id"], "schedule_id": used["id"], "enabled": False,
            "group": {"kind": "mailbox", "value": "anna@contoso.example"}}), 201)
    definition = unique("msm")
    doomed = ok(api.get("/api/v1/exchange-tasks", params={"limit": 1}))["items"][0]
    # The schedules the task's edit switches to: another administrator's, then the console's.
    theirs, mine = make_schedule(api), make_schedule(api)
    out = drive("edit", server, idle=(api,), admin_id=BOOTSTRAP_ID, admin_secret=BOOTSTRAP_SECRET,
                schedule=used["name"], schedule_id=used["id"], spare=spare["name"],
                spare_id=spare["id"], definition=definition, delete_task_id=doomed["id"],
                delete_task=doomed["name"], theirs_id=theirs["id"], mine_id=mine["id"],
                mine=mine["name"])
    return out, {"used": used, "spare": spare, "names": names, "definition": definition, "doomed": doomed,
                 "theirs": theirs, "mine": mine}


def test_editing_a_schedule_saves_it(run):
    out, _ = run
    assert out["edit_prefilled"] == "02:00"  # the form starts from the stored schedule
    assert out["focus_in_form"]  # opened by keyboard, focus is in the form
    assert out["saved_status"].startswith("Saved ")


def test_a_schedule_someone_else_changed_is_a_conflict_not_overwritten(api, run):
    out, ctx = run
    assert "changed by someone else" in out["conflict_text"].lower()
    # The other administrator's change stands; the console's stale one was not applied.
    assert ok(api.get(f"/api/v1/schedules/{ctx['used']['id']}"))["start_time"] == "05:15"
    # Reload shows the current version and clears the conflict.
    assert out["reloaded_start_time"] == "05:15" and out["conflict_after_reload"] == 0


def test_deleting_schedules(api, run):
    out, ctx = run
    # The unused one is gone (deleted by keyboard alone), from the list and the server.
    assert out["focus_on_confirm"] == ctx["spare"]["id"]
    assert ctx["spare"]["name"] not in out["schedule_rows"]
    assert api.get(f"/api/v1/schedules/{ctx['spare']['id']}").status_code == 404
    # The one the tasks use is refused with the API's reason, shown at its row, and kept.
    assert out["in_use_error"] and ctx["used"]["name"] in out["schedule_rows"]
    ok(api.get(f"/api/v1/schedules/{ctx['used']['id']}"))


def definitions(api):
    return {d["description"]: d for d in ok(api.get("/api/v1/definitions", params={"limit": 500}))["items"]}


def test_definition_settings_errors_land_on_their_setting(api, run):
    out, ctx = run
    # A storage-management definition without its required age: named at that input, not created.
    assert out["older_error"] and out["older_invalid"] == "true"
    assert ctx["definition"] not in out["rows_after_error"]
    # A folder that is not a path: the API's message for the list's entry, at the list.
    assert out["folder_error"].startswith("line 1: ")
    assert out["policy_error"]


def test_definitions_are_created_and_edited_per_type(api, run):
    out, ctx = run
    defs = definitions(api)
    msm = defs[ctx["definition"]]
    assert out["edit_older_prefilled"] == "30"
    assert msm["settings"]["action"] == "message_delete"
    assert msm["settings"]["older_than_days"] == 90
    assert msm["settings"]["exclude_folders"] == ["/Inbox/Keep"]
    mf = defs[ctx["definition"] + "-mf"]
    assert mf["settings"]["policies"] == [
        {"folder": "default", "action": "expire_view", "lifespan_days": 365},
        {"folder": "/Inbox/Projects", "action": "expire_view", "lifespan_days": 30}]


def test_a_thousand_tasks_are_paged_each_shown_once(run):
    out, ctx = run
    # Never more than one page of rows in the document, and every task on exactly one page.
    assert out["max_rows"] == 100
    assert sorted(out["task_names"]) == ctx["names"]
    assert out["task_pages"][0] == "1–100" and out["task_pages"][-1] == "901–1000"
    assert out["back_page"] == "801–900"


def test_the_dashboards_status_count_opens_the_filtered_list(run):
    out, _ = run
    assert out["dashboard_disabled"] == TASKS
    assert out["dashboard_mfr"].startswith(f"{TASKS} ")
    # Counted by the server: the dashboard reads the summary and the sites, not the tasks.
    assert out["dashboard_asked"] == ["/api/v1/exchange-services/summary", "/api/v1/sites"]
    assert out["status_filter"] == "disabled" and out["filtered_first_page"] == "1–100"


def test_a_task_someone_else_changed_is_a_conflict_then_saved_after_reload(api, run):
    out, ctx = run
    assert out["task_edit_prefilled"] == ctx["used"]["id"]  # the form starts from the task
    # The console's save over the other administrator's change was refused (412), not applied.
    assert "changed by someone else" in out["task_conflict_text"].lower()
    # Reload shows the server's version and clears the conflict; saved again, it is stored.
    assert out["task_reloaded_schedule"] == ctx["theirs"]["id"]
    assert out["task_conflict_after_reload"] == 0
    assert out["task_schedule_shown"] == ctx["mine"]["name"]
    # The task is deleted later in the scenario: its changes are read from the audit log, newest
    # first. Exactly two: the other administrator's and the console's second save.
    changes = ok(api.get("/api/v1/audit-events", params={
        "resource_id": ctx["doomed"]["id"], "action": "exchange_task.update"}))["items"]
    assert [c["after"]["schedule_id"] for c in changes] == [ctx["mine"]["id"], ctx["theirs"]["id"]]


def test_a_task_is_deleted_from_its_page(api, run):
    out, ctx = run
    assert "afresh" in out["task_refresh_note"]
    assert out["after_task_delete"] == "#/tasks"
    assert api.get(f"/api/v1/exchange-tasks/{ctx['doomed']['id']}").status_code == 404


def test_edit_pages_have_no_serious_accessibility_violation(run):
    out, _ = run
    assert {"schedule-conflict", "definition-error", "definition-edit", "tasks-paged"} <= set(out["pages"])
    # The refusals provoked on purpose: validation (422), the conflict (412), in use (409).
    assert_accessible(out, ("403", "409", "412", "422"))
