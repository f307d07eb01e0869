# SPDX-License-Identifier: Apache-2.0
"""Conventions every admin resource follows: Idempotency-Key, ETag/If-Match, bad input that
changes nothing, the audit log and its filters."""
import json
import re
import threading
import time
import uuid

import psycopg2
import pytest

import harness
from admin_helpers import (audit_events, make_definition, make_schedule, make_site, make_task,
                           ok, problem, snapshot, unique)
from api_client import ApiClient
from conftest import BOOTSTRAP_ID, BOOTSTRAP_SECRET


# ---- Idempotency-Key ----

def test_same_key_same_request_replays_the_first_response(api, database):
    key = str(uuid.uuid4())
    body = {"name": unique("site")}
    first = api.post("/api/v1/sites", json=body, headers={"Idempotency-Key": key})
    site = ok(first, 201)
    before = snapshot(database)
    again = api.post("/api/v1/sites", json=body, headers={"Idempotency-Key": key})
    assert again.status_code == 201 and again.json() == site  # the secret too
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert snapshot(database) == before  # no second site, no second audit event
    # The stored response is sealed: the secret is not readable in the database.
    raw = database.scalar("SELECT body FROM idempotency_keys WHERE key = %s", key)
    assert site["credentials"]["client_secret"].encode() not in bytes(raw)
    assert b"client_secret" not in bytes(raw)
    # Another body with the key is refused; nothing changes.
    doc = problem(api.post("/api/v1/sites", json={"name": unique("site")},
                           headers={"Idempotency-Key": key}), 422)
    assert "Idempotency-Key" in doc["detail"]
    assert snapshot(database) == before


def test_keys_belong_to_their_client(api, anon):
    other = ok(api.post("/api/v1/api-clients", json={"name": unique("a"), "role": "admin"}), 201)
    api2 = anon.as_client(other["client_id"], other["client_secret"])
    key = str(uuid.uuid4())
    a = ok(api.post("/api/v1/schedules", json=_schedule_body(), headers={"Idempotency-Key": key}),
           201)
    b = ok(api2.post("/api/v1/schedules", json=_schedule_body(),
                     headers={"Idempotency-Key": key}), 201)
    assert a["id"] != b["id"]


def _schedule_body():
    return {"name": unique("s"), "timezone": "UTC", "type": "daily", "mode": "once",
            "start_time": "03:00"}


def test_failures_are_not_remembered(api):
    key = str(uuid.uuid4())
    taken = make_schedule(api)
    body = {**_schedule_body(), "name": taken["name"]}
    problem(api.post("/api/v1/schedules", json=body, headers={"Idempotency-Key": key}), 409)
    ok(api.delete(f"/api/v1/schedules/{taken['id']}"), 204)
    # The first attempt failed and changed nothing, so retrying it runs it.
    created = ok(api.post("/api/v1/schedules", json=body, headers={"Idempotency-Key": key}), 201)
    assert created["name"] == taken["name"]


def test_a_key_in_flight_gets_409(api, database):
    """Holds the sites table locked so the first request waits inside its transaction."""
    key = str(uuid.uuid4())
    body = {"name": unique("slow")}
    lock = psycopg2.connect(database.conninfo)
    cur = lock.cursor()
    cur.execute("LOCK TABLE sites IN EXCLUSIVE MODE")
    result = {}

    def first():
        result["r"] = api.post("/api/v1/sites", json=body, headers={"Idempotency-Key": key})

    t = threading.Thread(target=first)
    t.start()
    try:
        deadline = time.monotonic() + 20
        while True:  # wait until the first request holds the key and waits for the lock
            waiting = database.scalar("SELECT count(*) FROM pg_locks WHERE NOT granted "
                                      "AND relation = 'sites'::regclass")
            if waiting:
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        r = api.post("/api/v1/sites", json=body, headers={"Idempotency-Key": key})
        problem(r, 409)
        assert int(r.headers["Retry-After"]) >= 1
    finally:
        lock.rollback()
        lock.close()
        t.join(30)
    site = ok(result["r"], 201)
    replay = api.post("/api/v1/sites", json=body, headers={"Idempotency-Key": key})
    assert replay.json()["id"] == site["id"]


def test_keys_expire_after_a_day(api, database):
    key = str(uuid.uuid4())
    body = _schedule_body()
    first = ok(api.post("/api/v1/schedules", json=body, headers={"Idempotency-Key": key}), 201)
    database.query("UPDATE idempotency_keys SET created_at = now() - interval '25 hours' "
                   "WHERE key = %s", key)
    problem(api.post("/api/v1/schedules", json=body, headers={"Idempotency-Key": key}), 409)
    body["name"] = unique("s")
    second = ok(api.post("/api/v1/schedules", json=body, headers={"Idempotency-Key": key}), 201)
    assert second["id"] != first["id"]


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "ünïcode"])
def test_malformed_keys(api, database, key):
    before = snapshot(database)
    r = api.post("/api/v1/schedules", json=_schedule_body(),
                 headers={"Idempotency-Key": key.encode("utf-8")})
    problem(r, 400)
    assert snapshot(database) == before


# ---- ETag and If-Match on every resource ----

def _resources(api):
    site = make_site(api)
    schedule = make_schedule(api)
    definition = make_definition(api)
    task = make_task(api, site=make_site(api), schedule=schedule, definition=definition)
    client = ok(api.post("/api/v1/api-clients", json={"name": unique("c"), "role": "read_only"}),
                201)
    return [(f"/api/v1/sites/{site['id']}", {"description": "x"}),
            (f"/api/v1/schedules/{schedule['id']}", {"start_time": "04:00"}),
            (f"/api/v1/definitions/{definition['id']}", {"description": "y"}),
            (f"/api/v1/exchange-tasks/{task['id']}", {"name": unique("t")}),
            (f"/api/v1/api-clients/{client['id']}", {"name": unique("c")})]


def test_etags_and_preconditions_everywhere(api, database):
    for path, change in _resources(api):
        etag = api.get(path).headers["ETag"]
        r = api.patch(path, json=change, headers={"If-Match": etag})
        new = ok(r) and r.headers["ETag"]
        assert new != etag, path
        assert api.get(path).headers["ETag"] == new
        before = snapshot(database)
        problem(api.patch(path, json=change, headers={"If-Match": etag}), 412)
        problem(api.delete(path, headers={"If-Match": etag}), 412)
        problem(api.delete(path, headers={"If-Match": "no-quotes"}), 400)
        assert snapshot(database) == before, path


# ---- bad input changes nothing ----

CREATES = ["/api/v1/sites", "/api/v1/schedules", "/api/v1/definitions", "/api/v1/exchange-tasks",
           "/api/v1/api-clients"]


def test_bad_bodies_everywhere(api, database):
    targets = [("POST", p) for p in CREATES] + [("PATCH", p) for p, _ in _resources(api)]
    for method, path in targets:
        before = snapshot(database)
        send = lambda data, ctype="application/json": api.request(  # noqa: E731
            method, path, data=data, headers={"Content-Type": ctype})
        problem(send(b'{"name": '), 400)
        problem(send(b'{"name": "a"} trailing'), 400)
        problem(send(b""), 400)
        problem(send(b'{"name": "\\u0000"}'), 400)
        problem(send(b'{"name": "\xff\xfe"}'), 400)
        deep = problem(send(b"[" * 5000 + b"]" * 5000), 400)
        assert re.search(r"nested deeper than \d+ levels", deep["detail"]), deep
        assert "nested" not in problem(send(b'{"name": "a"'), 400)["detail"]
        problem(send(b"[1, 2]"), 422)
        r = send(b'{"name": "a"}', "text/plain")
        assert '"text/plain"' in problem(r, 415)["detail"]  # names what it received
        if method == "PATCH":
            assert "application/merge-patch+json" in r.headers["Accept-Patch"]
        problem(send(b'{"name": "a"}', "application/json; charset=latin1"), 415)
        doc = problem(send(json.dumps({"name": "x" * 201, "no_such_field": 1})), 422)
        named = {e["field"] for e in doc["errors"]}
        assert {"name", "no_such_field"} <= named, (path, named)
        many = json.dumps({f"f{i}": i for i in range(65)})
        problem(send(many), 422)
        dup = send(b'{"name": "a", "name": "b"}')
        problem(dup, 422, "name")
        problem(api.request(method, path + "?dry_run=1", json={}), 400)
        assert snapshot(database) == before, (method, path)


def test_huge_arrays_and_strings_are_refused(api, database):
    before = snapshot(database)
    big = ["/f%d" % i for i in range(5000)]
    problem(api.post("/api/v1/definitions", json={
        "type": "mailbox_folder_replication", "description": "d",
        "settings": {"exclude_folders": big}}), 422, "settings.exclude_folders")
    problem(api.post("/api/v1/sites", json={"name": "n", "description": "d" * 2001}), 422,
            "description")
    problem(api.post("/api/v1/sites", json={"name": "n" * 100000}), 422, "name")
    r = api.post("/api/v1/sites", data=b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}',
                 headers={"Content-Type": "application/json"})
    problem(r, 413)
    assert snapshot(database) == before


def test_field_errors_are_capped(api):
    body = {"type": "mailbox_folder_replication", "description": "d",
            "settings": {"exclude_folders": ["bad"] * 150}}
    doc = problem(api.post("/api/v1/definitions", json=body), 422)
    assert len(doc["errors"]) == 100 and "50 more errors" in doc["detail"]


# ---- the audit log ----

def test_audit_trail_of_a_change(api):
    rid = "audit-" + uuid.uuid4().hex[:10]
    site = ok(api.post("/api/v1/sites", json={"name": unique("aud")},
                       headers={"X-Request-Id": rid}), 201)
    ok(api.patch(f"/api/v1/sites/{site['id']}", json={"enabled": False}))
    events = audit_events(api, resource_type="site", resource_id=site["id"])
    assert [e["action"] for e in events] == ["site.update", "site.create"]
    update, create = events
    assert create["request_id"] == rid and create["actor"] == BOOTSTRAP_ID
    assert create["before"] is None and create["after"]["id"] == site["id"]
    assert update["before"]["enabled"] is True and update["after"]["enabled"] is False
    assert update["remote_addr"] == "127.0.0.1" and update["at"] >= create["at"]
    assert audit_events(api, request_id=rid) == [create]
    assert all(e["actor"] == BOOTSTRAP_ID for e in audit_events(api, actor=BOOTSTRAP_ID,
                                                                action="site.update"))


def test_audit_filters_and_pages(api):
    start = ok(api.get("/api/v1/audit-events", params={"limit": 1}))["items"][0]["at"]
    schedules = [make_schedule(api) for _ in range(4)]
    recent = audit_events(api, action="schedule.create", since=start)
    assert [e["resource_id"] for e in recent[:4]] == [s["id"] for s in reversed(schedules)]
    assert audit_events(api, action="schedule.create", until="2000-01-01T00:00:00Z") == []
    seen, cursor = [], None
    while True:
        params = {"action": "schedule.create", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = ok(api.get("/api/v1/audit-events", params=params))
        seen += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) >= 4
    for bad in ({"since": "yesterday"}, {"action": ""}, {"kind": "x"}, {"limit": "-1"},
                {"resource_id": "x" * 300}):
        problem(api.get("/api/v1/audit-events", params=bad), 400, next(iter(bad)))


def test_the_audit_log_is_for_admins(api, anon):
    ro = ok(api.post("/api/v1/api-clients", json={"name": unique("ro"), "role": "read_only"}),
            201)
    reader = anon.as_client(ro["client_id"], ro["client_secret"])
    problem(reader.get("/api/v1/audit-events"), 403)


# ---- the master key that seals stored responses ----

def test_replays_survive_restarts_with_the_same_master_key(database, tmp_path):
    key_file = tmp_path / "master.key"
    key_file.write_text("ab" * 32 + "\n")
    env = {"MSE_MASTER_KEY_FILE": str(key_file), "MSE_BOOTSTRAP_CLIENT_ID": BOOTSTRAP_ID,
           "MSE_BOOTSTRAP_CLIENT_SECRET": BOOTSTRAP_SECRET}
    idem = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"name": unique("sealed")}
    srv = harness.Server(database.conninfo, env=env)
    try:
        api = ApiClient(srv.url).as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        first = ok(api.post("/api/v1/sites", json=body, headers=idem), 201)
    finally:
        srv.stop_clean()
    srv = harness.Server(database.conninfo, env=env)
    try:
        api = ApiClient(srv.url).as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        assert ok(api.post("/api/v1/sites", json=body, headers=idem), 201) == first
    finally:
        srv.stop_clean()
    key_file.write_bytes(bytes(range(32)))  # another key, as 32 raw bytes
    srv = harness.Server(database.conninfo, env=env)
    try:
        api = ApiClient(srv.url).as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        doc = problem(api.post("/api/v1/sites", json=body, headers=idem), 409)
        assert "master key" in doc["detail"]
    finally:
        srv.stop_clean()


@pytest.mark.parametrize("content", [b"short", b"zz" * 32, b"ab" * 33])
def test_a_bad_master_key_stops_the_server(database, tmp_path, content):
    key_file = tmp_path / "bad.key"
    key_file.write_bytes(content)
    p = harness.Process([harness.binary("mse-server")],
                        {"MSE_DATABASE_URL": database.conninfo, "MSE_LISTEN": "127.0.0.1:0",
                         "MSE_MASTER_KEY_FILE": str(key_file)}, None, "mse-server")
    assert p.wait(60) == 1 and "master key" in p.output()
    p = harness.Process([harness.binary("mse-server")],
                        {"MSE_DATABASE_URL": database.conninfo, "MSE_LISTEN": "127.0.0.1:0",
                         "MSE_MASTER_KEY_FILE": str(tmp_path / "missing.key")}, None,
                        "mse-server")
    assert p.wait(60) == 1 and "master key" in p.output()
