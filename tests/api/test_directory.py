# SPDX-License-Identifier: Apache-2.0
"""A site's directory through the API: configuration (password sealed, never returned), tests
run by the site's workers, the groups they report for look-up, membership refreshes, and the
worker protocol's side of each. tests/worker/test_directory.py runs them against a real slapd
and a real worker."""
from scripted_worker import ScriptedWorker
from admin_helpers import audit_events, make_site, make_task, ok, problem, snapshot

PASSWORD = "bind-pass-7f3a9c"
CONFIG = {"urls": ["ldap://dc1.contoso.example", "ldaps://dc2.contoso.example:636"],
          "bind_dn": "CN=svc-mse,OU=Service,DC=contoso,DC=example", "password": PASSWORD,
          "base_dn": "DC=contoso,DC=example", "tls_verify": True, "page_size": 500}


def errs(resp):
    """The fields a 422 problem names."""
    return [e["field"] for e in problem(resp, 422).get("errors", [])]


def put(api, site, body, **kw):
    return api.put(f"/api/v1/sites/{site['id']}/directory", json=body, **kw)


def test_put_get_never_return_the_password(api, anon, database):
    site = make_site(api)
    problem(api.get(f"/api/v1/sites/{site['id']}/directory"), 404)
    r = put(api, site, CONFIG)
    d = ok(r)
    assert r.headers["ETag"] == '"1"'
    assert d["urls"] == CONFIG["urls"] and d["bind_dn"] == CONFIG["bind_dn"]
    assert d["password_set"] is True and d["last_test"] is None
    assert PASSWORD not in r.text
    got = api.get(f"/api/v1/sites/{site['id']}/directory")
    assert ok(got) == d and PASSWORD not in got.text
    # Sealed at rest: the stored bytes do not hold the password.
    sealed = bytes(database.scalar("SELECT password_sealed FROM site_directories"
                                   " WHERE site_id = %s", site["id"]))
    assert PASSWORD.encode() not in sealed and len(sealed) > len(PASSWORD)
    events = audit_events(api, resource_id=site["id"])
    assert "site.directory.update" in [e["action"] for e in events]
    assert PASSWORD not in str(events)
    # Leaving the password out keeps it; the worker still gets the stored one.
    change = {k: v for k, v in CONFIG.items() if k != "password"}
    change["page_size"] = 100
    d2 = ok(put(api, site, change, headers={"If-Match": '"1"'}))
    assert d2["page_size"] == 100
    problem(put(api, site, change, headers={"If-Match": '"1"'}), 412)
    worker = ScriptedWorker(anon, site["credentials"])
    w = ok(worker.api.get("/api/v1/worker/directory"))
    assert w["directory"]["password"] == PASSWORD and w["directory"]["page_size"] == 100
    assert w["tests"] == [] and w["refreshes"] == []


def test_invalid_directories_are_refused_naming_the_field(api, database):
    site = make_site(api)
    before = snapshot(database)
    no_password = {k: v for k, v in CONFIG.items() if k != "password"}
    assert "password" in errs(put(api, site, no_password))
    bad = dict(CONFIG, urls=["http://dc1"], bind_dn="not a dn", page_size=0,
               site_id=site["id"])
    f = errs(put(api, site, bad))
    assert {"urls[0]", "bind_dn", "page_size", "site_id"} <= set(f), f
    assert "urls" in errs(put(api, site, dict(CONFIG, urls=[])))
    problem(put(api, {"id": "5b0c7d8e-0000-4000-8000-000000000000"}, CONFIG), 404)
    assert snapshot(database) == before


def test_a_test_is_run_by_the_sites_worker_with_its_exact_error(api, anon):
    site = make_site(api)
    problem(api.post(f"/api/v1/sites/{site['id']}/directory/test"), 404)
    ok(put(api, site, CONFIG))
    r = api.post(f"/api/v1/sites/{site['id']}/directory/test")
    t = ok(r, 202)
    assert t["state"] == "pending" and r.headers["Location"].endswith(t["id"])
    worker = ScriptedWorker(anon, site["credentials"])
    w = ok(worker.api.get("/api/v1/worker/directory"))
    assert w["tests"] == [{"id": t["id"]}]
    # Another site's worker sees neither the directory nor the test, and cannot answer it.
    other = ScriptedWorker(anon, make_site(api)["credentials"])
    assert ok(other.api.get("/api/v1/worker/directory"))["directory"] is None
    problem(other.api.post(f"/api/v1/worker/directory/tests/{t['id']}", json={"ok": True}), 404)
    problem(worker.api.post(f"/api/v1/worker/directory/tests/{t['id']}", json={"ok": "yes"}),
            422)
    detail = "bind failed: Invalid credentials"
    r = worker.api.post(f"/api/v1/worker/directory/tests/{t['id']}",
                        json={"ok": False, "reason_code": "directory_bind_failed",
                              "detail": detail, "worker_id": worker.worker_id})
    assert r.status_code == 204
    done = ok(api.get(r"/api/v1/sites/{}/directory/tests/{}".format(site["id"], t["id"])))
    assert done["state"] == "failed" and done["detail"] == detail
    assert done["reason_code"] == "directory_bind_failed" and done["finished_at"]
    assert ok(api.get(f"/api/v1/sites/{site['id']}/directory"))["last_test"] == done
    # Answered once; no longer pending.
    problem(worker.api.post(f"/api/v1/worker/directory/tests/{t['id']}", json={"ok": True}), 404)
    assert ok(worker.api.get("/api/v1/worker/directory"))["tests"] == []


GROUPS = [
    {"dn": "CN=Engineering,OU=Groups,DC=contoso,DC=example", "name": "Engineering",
     "mail": None, "kind": "security_group", "member_count": 3},
    {"dn": "CN=Sales,OU=Groups,DC=contoso,DC=example", "name": "Sales",
     "mail": "sales@contoso.example", "kind": "distribution_group", "member_count": 4},
    {"dn": "OU=Staff,DC=contoso,DC=example", "name": "Staff", "mail": None, "kind": "ou",
     "member_count": None},
]


def test_lookup_searches_what_the_workers_reported(api, anon):
    site = make_site(api)
    worker = ScriptedWorker(anon, site["credentials"])
    path = f"/api/v1/sites/{site['id']}/directory/groups"
    assert ok(api.get(path))["items"] == []
    r = worker.api.put("/api/v1/worker/directory/groups", json={"groups": GROUPS})
    assert r.status_code == 204
    names = lambda q: [g["name"] for g in ok(api.get(path, params={"q": q}))["items"]]  # noqa
    assert names("sales@") == ["Sales"]            # mail
    assert names("engin") == ["Engineering"]       # name, any case
    assert names("ou=staff,") == ["Staff"]         # DN prefix
    assert names("cn=") == ["Engineering", "Sales"]
    assert names("nothing") == []
    page = ok(api.get(path, params={"limit": 2}))
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = ok(api.get(path, params={"limit": 2, "cursor": page["next_cursor"]}))
    assert [g["name"] for g in rest["items"]] == ["Staff"] and rest["next_cursor"] is None
    problem(api.get(path, params={"q": ""}), 400, field="q")
    # A catalogue replaces the last one; a malformed one changes nothing.
    bad = {"groups": [dict(GROUPS[0], kind="team")]}
    assert "groups[0].kind" in errs(worker.api.put("/api/v1/worker/directory/groups", json=bad))
    assert len(ok(api.get(path))["items"]) == 3
    r = worker.api.put("/api/v1/worker/directory/groups", json={"groups": GROUPS[:1]})
    assert r.status_code == 204
    assert [g["dn"] for g in ok(api.get(path))["items"]] == [GROUPS[0]["dn"]]
    # Another site's look-up is its own.
    other = make_site(api)
    assert ok(api.get(f"/api/v1/sites/{other['id']}/directory/groups"))["items"] == []


def test_refresh_reaches_the_tasks_site_workers(api, anon):
    site = make_site(api)
    dn = "CN=Engineering,OU=Groups,DC=contoso,DC=example"
    task = make_task(api, site=site, group={"kind": "ad_group", "value": dn})
    worker = ScriptedWorker(anon, site["credentials"])
    start = ok(worker.api.get("/api/v1/worker/directory"))["refresh_seq"]
    r = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/membership/refresh"), 202)
    assert r["task_id"] == task["id"] and r["group_kind"] == "ad_group"
    w = ok(worker.api.get("/api/v1/worker/directory", params={"refresh_after": start}))
    assert [(x["kind"], x["value"]) for x in w["refreshes"]] == [("ad_group", r["group_value"])]
    assert w["refresh_seq"] > start
    again = ok(worker.api.get("/api/v1/worker/directory",
                              params={"refresh_after": w["refresh_seq"]}))
    assert again["refreshes"] == []
    # A worker that just started has nothing cached: it gets the position, not the history.
    assert ok(worker.api.get("/api/v1/worker/directory"))["refreshes"] == []
    problem(worker.api.get("/api/v1/worker/directory", params={"refresh_after": "x"}), 400,
            field="refresh_after")
    problem(api.post("/api/v1/exchange-tasks/5b0c7d8e-0000-4000-8000-000000000000"
                     "/membership/refresh"), 404)
