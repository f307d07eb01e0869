# SPDX-License-Identifier: Apache-2.0
"""Sites: creation with worker credentials, changes, rotation, deletion rules, worker status."""
import json

from scripted_worker import ScriptedWorker
from admin_helpers import (audit_events, make_definition, make_schedule, make_site, make_task, ok,
                           problem, snapshot, unique)
from conftest import BOOTSTRAP_ID


def test_create_returns_credentials_once(api, anon):
    r = api.post("/api/v1/sites", json={"name": unique("site"), "description": "HQ\nfloor 2"})
    site = ok(r, 201)
    assert r.headers["Location"] == f"/api/v1/sites/{site['id']}"
    assert r.headers["ETag"] == '"1"'
    cred = site["credentials"]
    assert cred["client_id"] and len(cred["client_secret"]) == 43
    assert site["enabled"] is True and site["status"] == "offline"
    assert site["workers"] == [] and site["last_seen_at"] is None
    assert site["version"] is None and site["host"] is None
    assert site["updated_by"] == BOOTSTRAP_ID
    got = api.get(f"/api/v1/sites/{site['id']}")
    assert got.headers["ETag"] == '"1"'
    body = ok(got)
    assert body["credentials"] == {"client_id": cred["client_id"]}
    assert cred["client_secret"] not in got.text
    # The site's workers can authenticate; its client is a site principal.
    worker = anon.as_client(cred["client_id"], cred["client_secret"])
    problem(worker.get("/api/v1/sites"), 403)
    problem(worker.get(f"/api/v1/sites/{site['id']}"), 403)
    events = audit_events(api, resource_id=site["id"])
    assert [e["action"] for e in events] == ["site.create"]
    assert cred["client_secret"] not in json.dumps(events)
    assert events[0]["after"]["name"] == site["name"]


def test_names_are_unique_ignoring_case(api, database):
    site = make_site(api)
    before = snapshot(database)
    problem(api.post("/api/v1/sites", json={"name": site["name"].upper()}), 409)
    other = make_site(api)
    before = snapshot(database)
    problem(api.patch(f"/api/v1/sites/{other['id']}", json={"name": site["name"]}), 409)
    assert snapshot(database) == before


def test_patch_and_etags(api):
    site = make_site(api)
    path = f"/api/v1/sites/{site['id']}"
    r = api.patch(path, json={"description": "moved", "enabled": False},
                  headers={"If-Match": '"1"'})
    changed = ok(r)
    assert r.headers["ETag"] == '"2"'
    assert changed["description"] == "moved" and changed["enabled"] is False
    assert changed["name"] == site["name"]
    problem(api.patch(path, json={"enabled": True}, headers={"If-Match": '"1"'}), 412)
    problem(api.patch(path, json={"enabled": True}, headers={"If-Match": 'W/"2"'}), 412)
    problem(api.patch(path, json={"enabled": True}, headers={"If-Match": "2"}), 400)
    ok(api.patch(path, json={"enabled": True}, headers={"If-Match": '"7", "2"'}))
    # merge-patch: null clears the description.
    r = api.patch(path, data=json.dumps({"description": None}),
                  headers={"Content-Type": "application/merge-patch+json", "If-Match": "*"})
    assert ok(r)["description"] is None
    events = audit_events(api, resource_id=site["id"], action="site.update")
    assert len(events) == 3
    assert events[-1]["before"]["description"] is None
    assert events[-1]["after"]["description"] == "moved"


def test_read_only_and_unknown_fields(api, database):
    site = make_site(api)
    before = snapshot(database)
    r = api.patch(f"/api/v1/sites/{site['id']}",
                  json={"status": "online", "workers": [], "credentials": {}, "colour": "red",
                        "name": "x" * 201, "enabled": "yes"})
    doc = problem(r, 422)
    messages = {e["field"]: e["message"] for e in doc["errors"]}
    assert messages["status"] == "is read-only" and messages["credentials"] == "is read-only"
    assert messages["colour"] == "unknown field"
    assert "200" in messages["name"] and "true or false" in messages["enabled"]
    assert snapshot(database) == before


def test_rotating_credentials(api, anon, database):
    site = make_site(api)
    old = site["credentials"]
    worker = anon.as_client(old["client_id"], old["client_secret"])
    problem(worker.get("/api/v1/sites"), 403)  # authenticated (403, not 401)
    r = api.post(f"/api/v1/sites/{site['id']}/credentials")
    new = ok(r)
    assert new["client_id"] == old["client_id"] and new["client_secret"] != old["client_secret"]
    problem(worker.get("/api/v1/sites"), 401)  # its tokens were revoked
    r = anon.post("/api/v1/oauth/token", auth=(old["client_id"], old["client_secret"]),
                  data={"grant_type": "client_credentials"})
    assert r.status_code == 401
    anon.token_for(new["client_id"], new["client_secret"])
    ok(api.post(f"/api/v1/sites/{site['id']}/credentials", json={}))
    before = snapshot(database)
    problem(api.post(f"/api/v1/sites/{site['id']}/credentials", json={"secret": "mine"}), 422)
    problem(api.post(f"/api/v1/sites/{site['id']}/credentials", data="x",
                     headers={"Content-Type": "text/plain"}), 415)
    assert snapshot(database) == before
    problem(api.post("/api/v1/sites/00000000-0000-0000-0000-000000000000/credentials"), 404)
    events = audit_events(api, resource_id=site["id"], action="site.credentials.rotate")
    assert len(events) == 2 and new["client_secret"] not in json.dumps(events)
    assert events[1]["after"] == {"client_id": old["client_id"]}


def test_delete_refused_while_tasks_use_the_site(api, anon, database):
    site = make_site(api)
    task = make_task(api, site=site)
    before = snapshot(database)
    doc = problem(api.delete(f"/api/v1/sites/{site['id']}"), 409)
    assert "task" in doc["detail"]
    assert snapshot(database) == before
    worker = anon.as_client(site["credentials"]["client_id"], site["credentials"]["client_secret"])
    assert api.delete(f"/api/v1/exchange-tasks/{task['id']}").status_code == 204
    # A deleted task does not hold the site; the site's client and tokens go with it.
    problem(api.delete(f"/api/v1/sites/{site['id']}", headers={"If-Match": '"9"'}), 412)
    assert api.delete(f"/api/v1/sites/{site['id']}", headers={"If-Match": '"1"'}).status_code \
        == 204
    problem(api.get(f"/api/v1/sites/{site['id']}"), 404)
    problem(worker.get("/api/v1/sites"), 401)
    assert database.scalar("SELECT count(*) FROM api_clients WHERE client_id = %s",
                           site["credentials"]["client_id"]) == 0
    # The deleted task's row outlives its site.
    assert database.scalar("SELECT count(*) FROM exchange_tasks WHERE id = %s", task["id"]) == 1
    problem(api.delete(f"/api/v1/sites/{site['id']}"), 404)


def test_status_follows_worker_heartbeats(api, anon, database):
    """Two workers of a site report in; the site shows the newest and is online while one of
    them is. (Real offline timing is tested with short intervals in test_lifecycle.py; here
    the time a worker has been silent is set in the database.)"""
    site = make_site(api)
    assert ok(api.get(f"/api/v1/sites/{site['id']}"))["status"] == "offline"
    w2 = ScriptedWorker(anon, site["credentials"], worker_id="w2")
    ok(w2.heartbeat(version="0.1.1", host="mse-b.example.com"))
    w1 = ScriptedWorker(anon, site["credentials"], worker_id="w1")
    ok(w1.heartbeat(version="0.1.0", host="mse-a.example.com"))
    got = ok(api.get(f"/api/v1/sites/{site['id']}"))
    assert got["status"] == "online"
    assert got["host"] == "mse-a.example.com" and got["version"] == "0.1.0"
    assert [(w["worker_id"], w["online"]) for w in got["workers"]] == [("w1", True), ("w2", True)]
    database.query("UPDATE site_workers SET offline_at = now() - interval '1 s' "
                   "WHERE site_id = %s AND worker_id = 'w2'", site["id"])
    got = ok(api.get(f"/api/v1/sites/{site['id']}"))
    assert got["status"] == "online"
    assert [(w["worker_id"], w["online"]) for w in got["workers"]] == [("w1", True), ("w2", False)]
    database.query("UPDATE site_workers SET offline_at = now() - interval '1 s' "
                   "WHERE site_id = %s", site["id"])
    assert ok(api.get(f"/api/v1/sites/{site['id']}"))["status"] == "offline"


def test_list_filter_and_pages(api):
    ids = [make_site(api, enabled=i % 2 == 0)["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = ok(api.get("/api/v1/sites", params=params))
        assert len(page["items"]) <= 2
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) and set(ids) <= set(seen)
    disabled = ok(api.get("/api/v1/sites", params={"enabled": "false", "limit": 500}))["items"]
    assert {ids[1], ids[3]} <= {s["id"] for s in disabled}
    assert all(not s["enabled"] for s in disabled)
    problem(api.get("/api/v1/sites", params={"enabled": "maybe"}), 400, "enabled")
    problem(api.get("/api/v1/sites", params={"limit": 0}), 400, "limit")
    problem(api.get("/api/v1/sites", params={"limit": 501}), 400, "limit")
    problem(api.get("/api/v1/sites", params={"sort": "name"}), 400, "sort")
    problem(api.get("/api/v1/sites", params={"cursor": "garbage"}), 400, "cursor")


def test_unknown_ids(api):
    problem(api.get("/api/v1/sites/not-a-uuid"), 404)
    problem(api.get("/api/v1/sites/6f1d3c4e-0000-4000-8000-000000000000"), 404)
    problem(api.patch("/api/v1/sites/6f1d3c4e-0000-4000-8000-000000000000", json={}), 404)
    problem(api.get("/api/v1/sites/6f1d3c4e-0000-4000-8000-000000000000",
                    params={"expand": "all"}), 400, "expand")



def test_a_graph_only_site_refuses_tasks_its_workers_cannot_run(api, anon, database):
    """Workers say what they read mailboxes through; a site whose online workers all read
    through Graph refuses, at creation, a calendar task or a distribution group, naming the
    field and changing nothing; once an EWS worker is online beside them it accepts both."""
    site = make_site(api)
    graph = ScriptedWorker(anon, site["credentials"])
    p = problem(graph.heartbeat(backend="imap"), 422, "backend")
    assert ok(graph.heartbeat(backend="graph"))
    workers = ok(api.get(f"/api/v1/sites/{site['id']}"))["workers"]
    assert [(w["worker_id"], w["backend"]) for w in workers] == [(graph.worker_id, "graph")]

    body = {"name": unique("task"), "site_id": site["id"], "type": "calendar_replication",
            "definition_id": make_definition(api, "calendar_replication")["id"],
            "schedule_id": make_schedule(api)["id"],
            "group": {"kind": "mailbox", "value": "anna@example.com"}}
    before = snapshot(database)
    p = problem(api.post("/api/v1/exchange-tasks", json=body), 422, "type")
    assert [e["field"] for e in p["errors"]] == ["type"], p
    assert "Microsoft Graph" in json.dumps(p)
    assert snapshot(database) == before
    dl = {**body, "type": "mailbox_folder_replication",
          "definition_id": make_definition(api)["id"],
          "group": {"kind": "group_email", "value": "team@example.com"}}
    before = snapshot(database)
    p = problem(api.post("/api/v1/exchange-tasks", json=dl), 422, "group.kind")
    assert [e["field"] for e in p["errors"]] == ["group.kind"], p
    assert snapshot(database) == before

    # An EWS worker beside it: a Graph worker may still claim the task, but the site can run it.
    assert ok(ScriptedWorker(anon, site["credentials"]).heartbeat(backend="ews"))
    assert ok(api.post("/api/v1/exchange-tasks", json=body), 201)["type"] == "calendar_replication"
    assert ok(api.post("/api/v1/exchange-tasks", json={**dl, "name": unique("task")}), 201)
