# SPDX-License-Identifier: Apache-2.0
"""Sync & Recover sync tasks through the API: the wizard's fields and their validation (every
field named), start and stop, and the status seed 002 derives from the mailboxes' states (the
content synchronisation itself: test_sync_content.py)."""
from admin_helpers import audit_events, make_site, ok, problem, snapshot, unique

BASE = "/api/v1/sync-tasks"


def make_connection(api):
    site = make_site(api)
    return ok(api.post("/api/v1/server-connections", json={
        "name": unique("exchange"), "site_id": site["id"],
        "ews_url": "https://mail.contoso.example/EWS/Exchange.asmx", "authentication": "basic",
        "service_account": "svc@contoso.example", "secret": "s3cret"}), 201)


def body(conn, **kw):
    return {"name": unique("sync"), "connection_id": conn["id"],
            "group": {"kind": "mailbox_list",
                      "value": "anna@contoso.example; ben@contoso.example"}, **kw}


def errs(resp):
    return {e["field"] for e in problem(resp, 422).get("errors", [])}


def test_create_with_the_wizards_fields_and_defaults(api):
    conn = make_connection(api)
    r = api.post(BASE, json=body(conn))
    t = ok(r, 201)
    assert r.headers["Location"].endswith(t["id"]) and r.headers["ETag"] == '"1"'
    assert (t["mail"], t["calendars"], t["include_sensitive"], t["exclusions_active"]) == (
        True, True, False, False)
    assert t["message_classes"] == [] and t["exclusions"] == [] and t["enabled"] is True
    assert t["site_id"] == conn["site_id"] and t["interval_minutes"] == 15
    assert t["group"] == {"kind": "mailbox_list",
                          "value": "anna@contoso.example;ben@contoso.example"}
    # No mailbox has a problem yet: plainly enabled, nothing to report.
    assert t["status"] == "enabled" and t["content_sync"] == "active"
    assert t["latest_detail"] == "" and t["pending_changes"] is None
    assert t["deletion_pending"] is False
    full = ok(api.post(BASE, json=body(
        conn, mail=False, calendars=False, include_sensitive=True,
        message_classes=["IPM.Note.Custom", "IPM.Post"], exclusions_active=True,
        exclusions=[{"day": "all", "from": "22:00", "to": "06:00", "region": "Europe/Berlin"},
                    {"day": "sunday", "from": "00:00", "to": "23:59", "region": "UTC"}],
        interval_minutes=60, enabled=False)), 201)
    assert full["message_classes"] == ["IPM.Note.Custom", "IPM.Post"]
    assert full["exclusions"][0] == {"day": "all", "from": "22:00", "to": "06:00",
                                     "region": "Europe/Berlin"}
    assert full["status"] == "disabled" and full["mail"] is False
    assert ok(api.get(f"{BASE}/{full['id']}")) == full
    stopped = ok(api.get(BASE, params={"enabled": "false", "limit": 500}))["items"]
    assert full["id"] in [x["id"] for x in stopped] and all(not x["enabled"] for x in stopped)
    assert "sync_task.create" in [e["action"] for e in audit_events(api, resource_id=t["id"])]


def test_invalid_tasks_are_refused_naming_each_field(api, database):
    conn = make_connection(api)
    before = snapshot(database)
    bad = body(conn, group={"kind": "mailbox", "value": "not an address"},
               message_classes=["IPM.Note", "bad class", "IPM.X", "ipm.x", 7],
               exclusions_active=True,
               exclusions=[{"day": "someday", "from": "25:00", "to": "06:00",
                            "region": "Mars/Olympus"},
                           {"day": "monday", "from": "08:00", "to": "08:00", "region": "UTC",
                            "extra": 1}, "x"],
               interval_minutes=0, status="enabled")
    f = errs(api.post(BASE, json=bad))
    assert {"group.value", "message_classes[0]", "message_classes[1]", "message_classes[3]",
            "message_classes[4]", "exclusions[0].day", "exclusions[0].from",
            "exclusions[0].region", "exclusions[1].to", "exclusions[1].extra", "exclusions[2]",
            "interval_minutes", "status"} <= f, f
    assert "message_classes[2]" not in f
    assert "exclusions" in errs(api.post(BASE, json=body(conn, exclusions_active=True)))
    assert "connection_id" in errs(api.post(BASE, json=body(
        {"id": "5b0c7d8e-0000-4000-8000-000000000000"})))
    assert {"name", "connection_id", "group"} <= errs(api.post(BASE, json={}))
    assert snapshot(database) == before
    t = ok(api.post(BASE, json=body(conn)), 201)
    problem(api.post(BASE, json=body(conn, name=t["name"])), 409)
    assert "group" in errs(api.patch(f"{BASE}/{t['id']}", json={"group": t["group"]}))
    # Activating exclusions without any window is refused against the stored task too.
    assert "exclusions" in errs(api.patch(f"{BASE}/{t['id']}", json={"exclusions_active": True}))


def test_patch_start_stop_delete(api, database):
    conn = make_connection(api)
    t = ok(api.post(BASE, json=body(conn)), 201)
    p = ok(api.patch(f"{BASE}/{t['id']}", json={"calendars": False, "message_classes": ["IPM.X"]},
                     headers={"If-Match": '"1"'}))
    assert p["calendars"] is False and p["message_classes"] == ["IPM.X"] and p["mail"] is True
    problem(api.patch(f"{BASE}/{t['id']}", json={"mail": False}, headers={"If-Match": '"1"'}),
            412)
    s = ok(api.post(f"{BASE}/{t['id']}/stop"))
    assert s["enabled"] is False and s["status"] == "disabled"
    s = ok(api.post(f"{BASE}/{t['id']}/start"))
    assert s["enabled"] is True and s["status"] == "enabled"
    actions = [e["action"] for e in audit_events(api, resource_id=t["id"])]
    assert {"sync_task.update", "sync_task.stop", "sync_task.start"} <= set(actions)
    # A connection a task uses cannot be deleted; the task can (its archive stays).
    problem(api.delete(f"/api/v1/server-connections/{conn['id']}"), 409)
    assert api.delete(f"{BASE}/{t['id']}").status_code == 204
    problem(api.get(f"{BASE}/{t['id']}"), 404)
    assert api.delete(f"/api/v1/server-connections/{conn['id']}").status_code == 204


def set_states(database, task, states):
    """What workers report lands in task_mailboxes (the sync task's twin, schema 038)."""
    stored = {"ok": "healthy", "warning": "warning", "error": "error"}
    for i, st in enumerate(states):
        database.query("INSERT INTO task_mailboxes (task_id, address, state, reason_code,"
                         " reason_text) VALUES (%s, %s, %s, %s, %s)", task["id"],
                         f"m{i}@contoso.example", stored[st], None if st == "ok" else f"why_{st}",
                         None if st == "ok" else f"detail of {st}")


def test_status_follows_seed_002_from_the_mailboxes_states(api, database):
    conn = make_connection(api)
    cases = [(["ok", "ok"], "enabled"), (["ok", "warning"], "enabled_with_warning"),
             (["ok", "error", "warning"], "enabled_with_errors"), (["error", "error"], "failed")]
    for states, expected in cases:
        t = ok(api.post(BASE, json=body(conn)), 201)
        set_states(database, t, states)
        got = ok(api.get(f"{BASE}/{t['id']}"))
        assert got["status"] == expected, (states, got)
        assert got["mailbox_counts"]["total"] == len(states)
        for i, st in enumerate(states):
            if st != "ok":
                assert f"m{i}@contoso.example: {st} (why_{st}) detail of {st}" in \
                    got["latest_detail"]
        mailboxes = ok(api.get(f"{BASE}/{t['id']}/mailboxes"))["items"]
        assert [m["state"] for m in mailboxes] == states
        assert ok(api.post(f"{BASE}/{t['id']}/stop"))["status"] == "disabled"


def test_membership_refresh_reaches_the_connections_site(api, anon):
    """Refresh membership works for sync tasks too: the site whose workers reach the
    connection's Exchange is asked to resolve the group again."""
    from scripted_worker import ScriptedWorker
    site = make_site(api)
    conn = ok(api.post("/api/v1/server-connections", json={
        "name": unique("exchange"), "site_id": site["id"],
        "ews_url": "https://mail.contoso.example/EWS/Exchange.asmx", "authentication": "basic",
        "service_account": "svc@contoso.example", "secret": "s3cret"}), 201)
    dn = "CN=Sales,OU=Groups,DC=contoso,DC=example"
    task = ok(api.post(BASE, json=body(conn, group={"kind": "ad_group", "value": dn})), 201)
    worker = ScriptedWorker(anon, site["credentials"])
    start = ok(worker.api.get("/api/v1/worker/directory"))["refresh_seq"]
    r = ok(api.post(f"{BASE}/{task['id']}/membership/refresh"), 202)
    assert r["task_id"] == task["id"] and r["group_kind"] == "ad_group"
    w = ok(worker.api.get("/api/v1/worker/directory", params={"refresh_after": start}))
    assert [(x["kind"], x["value"]) for x in w["refreshes"]] == [("ad_group", r["group_value"])]
    assert "sync_task.membership_refresh" in [
        e["action"] for e in audit_events(api, resource_id=task["id"])]
    problem(api.post(f"{BASE}/5b0c7d8e-0000-4000-8000-000000000000/membership/refresh"), 404)
