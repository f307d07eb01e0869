# SPDX-License-Identifier: Apache-2.0
"""Definitions: the four features' settings with defaults, validation, fixed type, references."""
import pytest

from admin_helpers import (audit_events, fields, make_definition, make_task, ok, problem,
                           snapshot)


def create(api, type_, settings=None, **kw):
    body = {"type": type_, "description": "d", **kw}
    if settings is not None:
        body["settings"] = settings
    return api.post("/api/v1/definitions", json=body)


def test_defaults_are_filled_in(api):
    mfr = make_definition(api, "mailbox_folder_replication")
    assert mfr["settings"] == {"exclude_folders": [], "include_deleted_items": False,
                               "include_private_items": False}
    cal = make_definition(api, "calendar_replication")
    assert cal["settings"] == {"include_calendars": "default"}
    msm = make_definition(api, "mailbox_storage_management",
                          {"action": "attachment_stub", "older_than_days": 90})
    assert msm["settings"] == {"action": "attachment_stub", "older_than_days": 90,
                               "min_size_kb": 0, "folders": "all", "exclude_folders": [],
                               "hard_delete": False}
    mf = make_definition(api, "managed_folders", {"policies": [
        {"folder": "default", "action": "exchange_delete", "lifespan_days": 365}]})
    assert mf["settings"]["policies"][0]["lifespan_days"] == 365


def test_every_setting_is_kept(api):
    mfr = make_definition(api, "mailbox_folder_replication", {
        "exclude_folders": ["/Inbox/Private", "/Projekte/Übersicht"],
        "include_deleted_items": True, "include_private_items": True})
    assert mfr["settings"]["exclude_folders"] == ["/Inbox/Private", "/Projekte/Übersicht"]
    assert mfr["settings"]["include_private_items"] is True
    assert make_definition(api, "calendar_replication",
                           {"include_calendars": "all"})["settings"]["include_calendars"] == "all"
    msm = make_definition(api, "mailbox_storage_management", {
        "action": "message_delete", "older_than_days": 3650, "min_size_kb": 512,
        "folders": ["/Inbox", "/Sent Items"], "exclude_folders": ["/Inbox/Keep"],
        "hard_delete": True})
    assert msm["settings"]["folders"] == ["/Inbox", "/Sent Items"]
    assert msm["settings"]["hard_delete"] is True
    mf = make_definition(api, "managed_folders", {"policies": [
        {"folder": "inbox", "action": "expire_view", "lifespan_days": 30},
        {"folder": "/Archive/2020", "action": "archive_purge", "lifespan_days": 3650},
        {"folder": "default", "action": "exchange_delete", "lifespan_days": 730}]})
    assert [p["folder"] for p in mf["settings"]["policies"]] == ["inbox", "/Archive/2020",
                                                                 "default"]


@pytest.mark.parametrize("type_, settings, want", [
    ("mailbox_folder_replication", {"exclude_folders": ["Inbox", "/a//b", "/x/", 7]},
     ["settings.exclude_folders[0]", "settings.exclude_folders[1]",
      "settings.exclude_folders[2]", "settings.exclude_folders[3]"]),
    ("mailbox_folder_replication", {"exclude_folders": ["/Inbox", "/INBOX"]},
     ["settings.exclude_folders[1]"]),
    ("mailbox_folder_replication", {"include_private_items": "no", "action": "x"},
     ["settings.action", "settings.include_private_items"]),
    ("mailbox_folder_replication", {"exclude_folders": ["/f"] * 201},
     ["settings.exclude_folders"]),
    ("calendar_replication", {"include_calendars": "some"}, ["settings.include_calendars"]),
    ("mailbox_storage_management", {}, ["settings.action", "settings.older_than_days"]),
    ("mailbox_storage_management", {"action": "shred", "older_than_days": 0, "min_size_kb": -1,
                                    "folders": "most"},
     ["settings.action", "settings.folders", "settings.min_size_kb",
      "settings.older_than_days"]),
    ("mailbox_storage_management", {"action": "message_delete", "older_than_days": 1.5,
                                    "folders": [], "hard_delete": "yes"},
     ["settings.folders", "settings.older_than_days", "settings.hard_delete"]),
    ("managed_folders", {}, ["settings.policies"]),
    ("managed_folders", {"policies": []}, ["settings.policies"]),
    ("managed_folders", {"policies": [{"folder": "Inbox", "action": "burn", "lifespan_days": 0,
                                       "colour": 1}, "x"]},
     ["settings.policies[0].action", "settings.policies[0].colour", "settings.policies[0].folder",
      "settings.policies[0].lifespan_days", "settings.policies[1]"]),
    ("managed_folders", {"policies": [{"folder": "inbox", "action": "expire_view",
                                       "lifespan_days": 1}] * 2},
     ["settings.policies[1].folder"]),
    ("managed_folders", {"policies": [{"folder": "inbox", "action": "expire_view",
                                       "lifespan_days": 1}] * 51},
     ["settings.policies"]),
])
def test_settings_are_checked(api, database, type_, settings, want):
    before = snapshot(database)
    r = create(api, type_, settings)
    problem(r, 422)
    assert fields(r) == sorted(want)
    assert snapshot(database) == before


def test_top_level_checks(api, database):
    before = snapshot(database)
    r = api.post("/api/v1/definitions", json={"type": "archive", "description": "",
                                              "settings": [], "id": "x"})
    problem(r, 422)
    assert fields(r) == ["description", "id", "settings", "type"]
    problem(create(api, "calendar_replication", description="x" * 2001), 422, "description")
    problem(api.post("/api/v1/definitions", json={"description": "d"}), 422, "type")
    assert snapshot(database) == before


def test_patch_merges_settings_and_keeps_the_type(api, database):
    d = make_definition(api, "mailbox_storage_management",
                        {"action": "attachment_stub", "older_than_days": 90, "min_size_kb": 10})
    path = f"/api/v1/definitions/{d['id']}"
    r = api.patch(path, json={"settings": {"older_than_days": 30, "min_size_kb": None}})
    changed = ok(r)
    assert r.headers["ETag"] == '"2"'
    assert changed["settings"]["older_than_days"] == 30
    assert changed["settings"]["min_size_kb"] == 0  # null restores the default
    assert changed["settings"]["action"] == "attachment_stub"
    assert changed["description"] == d["description"]
    assert ok(api.patch(path, json={"description": "new", "type": d["type"]}))["description"] \
        == "new"
    before = snapshot(database)
    problem(api.patch(path, json={"type": "managed_folders"}), 422, "type")
    problem(api.patch(path, json={"settings": {"action": None}}), 422, "settings.action")
    problem(api.patch(path, json={"settings": {"policies": []}}), 422, "settings.policies")
    problem(api.patch(path, json={"settings": {"older_than_days": 5}},
                      headers={"If-Match": '"2"'}), 412)
    assert snapshot(database) == before
    events = audit_events(api, resource_id=d["id"], action="definition.update")
    assert events[-1]["before"]["settings"]["older_than_days"] == 90
    assert events[-1]["after"]["settings"]["older_than_days"] == 30


def test_type_filter(api):
    cal = make_definition(api, "calendar_replication")
    items = ok(api.get("/api/v1/definitions", params={"type": "calendar_replication",
                                                      "limit": 500}))["items"]
    assert cal["id"] in [d["id"] for d in items]
    assert {d["type"] for d in items} == {"calendar_replication"}
    problem(api.get("/api/v1/definitions", params={"type": "archive"}), 400, "type")


def test_delete_refused_while_referenced(api, database):
    d = make_definition(api)
    task = make_task(api, definition=d)
    before = snapshot(database)
    problem(api.delete(f"/api/v1/definitions/{d['id']}"), 409)
    assert snapshot(database) == before
    assert api.delete(f"/api/v1/exchange-tasks/{task['id']}").status_code == 204
    assert api.delete(f"/api/v1/definitions/{d['id']}").status_code == 204
    problem(api.get(f"/api/v1/definitions/{d['id']}"), 404)
    assert [e["action"] for e in audit_events(api, resource_id=d["id"])] == [
        "definition.delete", "definition.create"]
