# SPDX-License-Identifier: Apache-2.0
"""Exchange tasks: creation and groups, the seed's change rules (site fixed, only schedule,
definition, enabled and name editable, deferred while running), deletion that keeps the row,
filters and stable pages."""
import uuid

import pytest

from admin_helpers import (audit_events, fields, make_definition, make_schedule, make_site,
                           make_task, ok, problem, snapshot, unique)
from conftest import BOOTSTRAP_ID
from scripted_worker import ScriptedWorker


@pytest.fixture(scope="module")
def parts(api):
    return {"site": make_site(api), "schedule": make_schedule(api),
            "definition": make_definition(api)}


def task_body(parts, **kw):
    return {"name": unique("task"), "site_id": parts["site"]["id"],
            "type": "mailbox_folder_replication", "definition_id": parts["definition"]["id"],
            "schedule_id": parts["schedule"]["id"],
            "group": {"kind": "mailbox", "value": "a@example.com"}, **kw}


def in_flight(api, anon, parts, task):
    """Starts an execution of the task and has a scripted worker of its site claim it: from
    then on the task runs and keeps its settings until the worker completes it."""
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    worker = ScriptedWorker(anon, parts["site"]["credentials"])
    ok(worker.claim())
    assert worker.execution["task"]["id"] == task["id"]
    return worker


def test_create_and_read(api, parts):
    r = api.post("/api/v1/exchange-tasks", json=task_body(parts))
    task = ok(r, 201)
    assert r.headers["Location"] == f"/api/v1/exchange-tasks/{task['id']}"
    assert (task["status"], task["command"], task["latest_detail"], task["sequence"],
            task["last_execution"]) == ("scheduled", None, None, 0, None)
    assert task["enabled"] is True and task["pending_changes"] is None
    assert task["deletion_pending"] is False
    assert task["next_run_at"] == parts["schedule"]["next_runs"][0]
    assert task["created_by"] == task["updated_by"] == BOOTSTRAP_ID
    assert task["created_at"] == task["updated_at"]
    got = api.get(f"/api/v1/exchange-tasks/{task['id']}")
    assert ok(got) == task and got.headers["ETag"] == '"1"'
    head = api.head(f"/api/v1/exchange-tasks/{task['id']}")
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == '"1"'


@pytest.mark.parametrize("kind, value, stored", [
    ("ad_group", "CN=dlmmsgroup,CN=Users,DC=mcdev,DC=internal",
     "CN=dlmmsgroup,CN=Users,DC=mcdev,DC=internal"),
    ("ad_group", "CN=Sales\\, EMEA,OU=Groups,DC=example,DC=com",
     "CN=Sales\\, EMEA,OU=Groups,DC=example,DC=com"),
    ("group_email", "all-staff@example.com", "all-staff@example.com"),
    ("mailbox", "jo.bloggs@example.co.uk", "jo.bloggs@example.co.uk"),
    ("mailbox_list", " a@example.com; B@Example.com ;b@example.COM;;c@example.org; ",
     "a@example.com;B@Example.com;c@example.org"),
])
def test_groups(api, parts, kind, value, stored):
    task = ok(api.post("/api/v1/exchange-tasks",
                       json=task_body(parts, group={"kind": kind, "value": value})), 201)
    assert task["group"] == {"kind": kind, "value": stored}


@pytest.mark.parametrize("group, field", [
    ({"kind": "ad_group", "value": "dlmmsgroup"}, "group.value"),
    ({"kind": "ad_group", "value": "CN=a,,DC=b"}, "group.value"),
    ({"kind": "group_email", "value": "not-an-address"}, "group.value"),
    ({"kind": "mailbox", "value": "a@example.com;b@example.com"}, "group.value"),
    ({"kind": "mailbox_list", "value": " ; "}, "group.value"),
    ({"kind": "team", "value": "x"}, "group.kind"),
    ({"kind": "mailbox"}, "group.value"),
    ({"kind": "mailbox", "value": "a@example.com", "scope": "all"}, "group.scope"),
    ("a@example.com", "group"),
])
def test_bad_groups(api, parts, database, group, field):
    before = snapshot(database)
    problem(api.post("/api/v1/exchange-tasks", json=task_body(parts, group=group)), 422, field)
    assert snapshot(database) == before


def test_every_bad_list_entry_is_named(api, parts):
    value = "a@example.com;nope;b@example.com;@x.org;also nope"
    r = api.post("/api/v1/exchange-tasks",
                 json=task_body(parts, group={"kind": "mailbox_list", "value": value}))
    doc = problem(r, 422)
    messages = [e["message"] for e in doc["errors"] if e["field"] == "group.value"]
    assert len(messages) == 3
    assert [m.split()[1] for m in messages] == ["2", "4", "5"]
    many = ";".join(f"user{i}@example.com" for i in range(1001))
    problem(api.post("/api/v1/exchange-tasks",
                     json=task_body(parts, group={"kind": "mailbox_list", "value": many})),
            422, "group.value")


def test_every_problem_in_one_answer_references_included(api, parts, database):
    cal = make_definition(api, "calendar_replication")
    before = snapshot(database)
    body = {"name": "", "site_id": str(uuid.uuid4()), "type": "mailbox_folder_replication",
            "definition_id": cal["id"], "schedule_id": "nope", "group": {"kind": "ad_group",
                                                                        "value": "x"},
            "enabled": 1, "status": "running", "priority": 5}
    r = api.post("/api/v1/exchange-tasks", json=body)
    problem(r, 422)
    assert fields(r) == ["definition_id", "enabled", "group.value", "name", "priority",
                         "schedule_id", "site_id", "status"]
    # References alone: a definition of another type, schedules and sites that do not exist.
    r = api.post("/api/v1/exchange-tasks", json=task_body(
        parts, definition_id=cal["id"], schedule_id=str(uuid.uuid4())))
    doc = problem(r, 422)
    assert fields(r) == ["definition_id", "schedule_id"]
    assert "does not exist" not in doc["detail"], doc  # one of them exists, of another type
    assert {"field": "definition_id", "message": "is a calendar_replication definition; this "
            "task needs mailbox_folder_replication"} in doc["errors"], doc
    assert snapshot(database) == before


def test_patch_rules(api, parts, database):
    task = make_task(api, site=parts["site"], schedule=parts["schedule"],
                     definition=parts["definition"])
    path = f"/api/v1/exchange-tasks/{task['id']}"
    other_schedule = make_schedule(api, start_time="11:45", timezone="UTC")
    other_def = make_definition(api)
    r = api.patch(path, json={"name": "renamed", "schedule_id": other_schedule["id"],
                              "definition_id": other_def["id"], "site_id": task["site_id"]},
                  headers={"If-Match": '"1"'})
    changed = ok(r)
    assert r.headers["ETag"] == '"2"'
    assert (changed["name"], changed["schedule_id"], changed["definition_id"]) == (
        "renamed", other_schedule["id"], other_def["id"])
    assert changed["next_run_at"] == other_schedule["next_runs"][0]
    off = ok(api.patch(path, json={"enabled": False}))
    assert off["status"] == "disabled" and off["next_run_at"] is None
    on = ok(api.patch(path, json={"enabled": True}))
    assert on["status"] == "scheduled" and on["next_run_at"] == other_schedule["next_runs"][0]

    before = snapshot(database)
    # A task never moves to another site (its incremental state belongs to the site).
    doc = problem(api.patch(path, json={"site_id": make_site(api)["id"]}), 409)
    assert "site" in doc["detail"] and "new task" in doc["detail"]
    before = snapshot(database)
    # Everything else is not editable.
    r = api.patch(path, json={"type": "calendar_replication", "group": {"kind": "mailbox",
                                                                       "value": "b@example.com"},
                              "sequence": 5, "status": "running", "owner": "me"})
    problem(r, 422)
    assert fields(r) == ["group", "owner", "sequence", "status", "type"]
    cal = make_definition(api, "calendar_replication")
    before = snapshot(database)
    problem(api.patch(path, json={"definition_id": cal["id"]}), 422, "definition_id")
    problem(api.patch(path, json={"schedule_id": str(uuid.uuid4())}), 422, "schedule_id")
    problem(api.patch(path, json={"name": "x"}, headers={"If-Match": '"1"'}), 412)
    assert snapshot(database) == before
    got = ok(api.get(path))
    assert got["site_id"] == task["site_id"] and got["name"] == "renamed"


def test_changes_wait_while_an_execution_runs(api, anon, parts, database):
    task = make_task(api, site=parts["site"], schedule=parts["schedule"],
                     definition=parts["definition"])
    path = f"/api/v1/exchange-tasks/{task['id']}"
    worker = in_flight(api, anon, parts, task)
    assert ok(api.get(path))["status"] == "running"
    later = make_schedule(api, timezone="UTC", start_time="23:00")
    r = api.patch(path, json={"schedule_id": later["id"], "enabled": False})
    deferred = ok(r, 202)
    assert deferred["pending_changes"] == {"schedule_id": later["id"], "enabled": False}
    # The running configuration is untouched until the execution ends.
    assert deferred["schedule_id"] == parts["schedule"]["id"] and deferred["enabled"] is True
    assert deferred["next_run_at"] == task["next_run_at"]
    merged = ok(api.patch(path, json={"name": "later-name", "enabled": True}), 202)
    assert merged["pending_changes"] == {"schedule_id": later["id"], "enabled": True,
                                         "name": "later-name"}
    assert merged["name"] == task["name"]
    # A schedule a pending change refers to is in use.
    problem(api.delete(f"/api/v1/schedules/{later['id']}"), 409)
    # Site changes are refused while running too; an empty change changes nothing.
    problem(api.patch(path, json={"site_id": str(uuid.uuid4())}), 409)
    same = api.patch(path, json={"site_id": task["site_id"]})
    assert ok(same) == ok(api.get(path)) and same.headers["ETag"] == '"3"'
    events = audit_events(api, resource_id=task["id"], action="exchange_task.update_deferred")
    assert len(events) == 2 and events[0]["after"]["pending_changes"]["name"] == "later-name"
    # The execution ends: the changes apply.
    ok(worker.complete())
    done = ok(api.get(path))
    assert (done["name"], done["schedule_id"], done["enabled"]) == ("later-name", later["id"], True)
    assert done["pending_changes"] is None


def test_delete_while_running_is_deferred(api, anon, parts, database):
    task = make_task(api, site=parts["site"], schedule=parts["schedule"],
                     definition=parts["definition"])
    path = f"/api/v1/exchange-tasks/{task['id']}"
    worker = in_flight(api, anon, parts, task)
    r = api.delete(path)
    pending = ok(r, 202)
    assert pending["deletion_pending"] is True and pending["id"] == task["id"]
    assert ok(api.get(path))["deletion_pending"] is True
    assert ok(api.delete(path), 202)["deletion_pending"] is True
    before = snapshot(database)
    problem(api.patch(path, json={"name": "x"}), 409)
    assert snapshot(database) == before
    # Once the execution has ended, the deletion has happened.
    ok(worker.complete())
    problem(api.get(path), 404)


def test_delete_keeps_the_row_and_frees_references(api, database):
    site, schedule, definition = make_site(api), make_schedule(api), make_definition(api)
    task = make_task(api, site=site, schedule=schedule, definition=definition)
    path = f"/api/v1/exchange-tasks/{task['id']}"
    problem(api.delete(path, headers={"If-Match": '"5"'}), 412)
    assert api.delete(path, headers={"If-Match": '"1"'}).status_code == 204
    problem(api.get(path), 404)
    problem(api.patch(path, json={"name": "x"}), 404)
    problem(api.delete(path), 404)
    listed = ok(api.get("/api/v1/exchange-tasks", params={"site_id": site["id"]}))["items"]
    assert listed == []
    # The task's row stays for the data it replicated, and never runs again.
    row = database.query("SELECT name, site_id, group_value, deleted_at IS NOT NULL, next_run_at "
                         "FROM exchange_tasks WHERE id = %s", task["id"])[0]
    assert row[0] == task["name"] and str(row[1]) == site["id"]
    assert row[2] == "user@example.com" and row[3] is True and row[4] is None
    events = audit_events(api, resource_id=task["id"], action="exchange_task.delete")
    assert events[0]["before"]["name"] == task["name"] and events[0]["after"] is None
    # What it referred to may go now.
    for p in (f"/api/v1/sites/{site['id']}", f"/api/v1/schedules/{schedule['id']}",
              f"/api/v1/definitions/{definition['id']}"):
        assert api.delete(p).status_code == 204, p
    assert database.scalar("SELECT count(*) FROM exchange_tasks WHERE id = %s", task["id"]) == 1


def test_filters(api, parts):
    site = make_site(api)
    cal = make_definition(api, "calendar_replication")
    a = make_task(api, site=site, schedule=parts["schedule"], definition=parts["definition"])
    b = make_task(api, site=site, schedule=parts["schedule"], definition=cal, enabled=False)

    def ids(**params):
        return [t["id"] for t in ok(api.get("/api/v1/exchange-tasks",
                                            params={"limit": 500, **params}))["items"]]

    assert ids(site_id=site["id"]) == [a["id"], b["id"]]
    assert ids(site_id=site["id"], type="calendar_replication") == [b["id"]]
    assert ids(site_id=site["id"], enabled="false") == [b["id"]]
    assert ids(site_id=site["id"], status="disabled") == [b["id"]]
    assert ids(site_id=site["id"], status="scheduled") == [a["id"]]
    assert ids(site_id=site["id"], status="running") == []
    assert ids(definition_id=cal["id"]) == [b["id"]]
    assert a["id"] in ids(schedule_id=parts["schedule"]["id"])
    for bad in ({"site_id": "x"}, {"type": "x"}, {"status": "paused"}, {"enabled": "1"},
                {"site": site["id"]}, {"limit": "ten"}):
        problem(api.get("/api/v1/exchange-tasks", params=bad), 400, next(iter(bad)))


def test_pages_are_stable_while_tasks_come_and_go(api, parts):
    site = make_site(api)
    made = [make_task(api, site=site, schedule=parts["schedule"],
                      definition=parts["definition"])["id"] for _ in range(7)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"site_id": site["id"], "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = ok(api.get("/api/v1/exchange-tasks", params=params))
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        pages += 1
        if pages == 1:
            # Changes between pages neither repeat nor skip the tasks that stay.
            api.delete(f"/api/v1/exchange-tasks/{made[0]}")
            api.delete(f"/api/v1/exchange-tasks/{made[4]}")
            made.append(make_task(api, site=site, schedule=parts["schedule"],
                                  definition=parts["definition"])["id"])
        if not cursor:
            break
    assert len(seen) == len(set(seen))
    assert seen == [m for m in made if m != made[4]]
    problem(api.get("/api/v1/exchange-tasks", params={"cursor": ok(
        api.get("/api/v1/sites", params={"limit": 1}))["next_cursor"]}), 400, "cursor")
