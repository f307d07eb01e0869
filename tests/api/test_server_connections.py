# SPDX-License-Identifier: Apache-2.0
"""Sync & Recover server connections through the API: the secret sealed at rest and never
returned, validation naming each field, roles, idempotency, tests run by the site's workers
and the worker protocol's side of them. tests/worker/test_server_connections.py runs a test
with a real worker against ews-sim."""
from scripted_worker import ScriptedWorker
from admin_helpers import audit_events, make_site, ok, problem, snapshot, unique

SECRET = "svc-pass-2b7e51"
BASE = "/api/v1/server-connections"


def body(site, **kw):
    return {"name": unique("exchange"), "site_id": site["id"],
            "ews_url": "https://mail.contoso.example/EWS/Exchange.asmx",
            "authentication": "ntlm", "service_account": "svc-mse@contoso.example",
            "secret": SECRET, **kw}


def errs(resp):
    return {e["field"] for e in problem(resp, 422).get("errors", [])}


def test_create_get_patch_never_return_the_secret(api, database):
    site = make_site(api)
    r = api.post(BASE, json=body(site))
    c = ok(r, 201)
    assert r.headers["Location"].endswith(c["id"]) and r.headers["ETag"] == '"1"'
    assert c["secret_set"] is True and c["impersonation"] is True and c["tls_verify"] is True
    assert c["last_test"] is None and SECRET not in r.text
    got = api.get(f"{BASE}/{c['id']}")
    assert ok(got) == c and SECRET not in got.text
    sealed = bytes(database.scalar("SELECT secret_sealed FROM server_connections WHERE id = %s",
                                   c["id"]))
    assert SECRET.encode() not in sealed and len(sealed) > len(SECRET)
    # Leaving the secret out keeps it; a new one replaces it.
    p = ok(api.patch(f"{BASE}/{c['id']}", json={"tls_verify": False, "authentication": "basic"},
                     headers={"If-Match": '"1"'}))
    assert p["tls_verify"] is False and p["authentication"] == "basic" and p["name"] == c["name"]
    assert bytes(database.scalar("SELECT secret_sealed FROM server_connections WHERE id = %s",
                                 c["id"])) == sealed
    problem(api.patch(f"{BASE}/{c['id']}", json={"tls_verify": True},
                      headers={"If-Match": '"1"'}), 412)
    ok(api.patch(f"{BASE}/{c['id']}", json={"secret": "another-secret"}))
    assert bytes(database.scalar("SELECT secret_sealed FROM server_connections WHERE id = %s",
                                 c["id"])) != sealed
    listed = ok(api.get(BASE, params={"authentication": "basic", "limit": 500}))
    assert c["id"] in [x["id"] for x in listed["items"]]
    assert all(x["authentication"] == "basic" for x in listed["items"])
    events = audit_events(api, resource_id=c["id"])
    actions = [e["action"] for e in events]
    assert "server_connection.create" in actions and "server_connection.update" in actions
    assert SECRET not in str(events) and "another-secret" not in str(events)


def test_invalid_connections_are_refused_naming_each_field(api, database):
    site = make_site(api)
    before = snapshot(database)
    bad = body(site, ews_url="ftp://mail", authentication="kerberos", impersonation="yes",
               id="5b0c7d8e-0000-4000-8000-000000000000")
    del bad["secret"]
    assert {"ews_url", "authentication", "impersonation", "secret", "id"} <= errs(
        api.post(BASE, json=bad))
    assert "site_id" in errs(api.post(BASE, json=body(
        {"id": "5b0c7d8e-0000-4000-8000-000000000000"})))
    assert "name" in errs(api.post(BASE, json=body(site, name="")))
    assert snapshot(database) == before
    c = ok(api.post(BASE, json=body(site)), 201)
    problem(api.post(BASE, json=body(site, name=c["name"].upper())), 409)
    assert "ews_url" in errs(api.patch(f"{BASE}/{c['id']}", json={"ews_url": "mail"}))
    problem(api.get(f"{BASE}/5b0c7d8e-0000-4000-8000-000000000000"), 404)
    problem(api.get(f"{BASE}/not-a-uuid"), 404)


def test_read_only_reads_admin_writes(api, anon):
    site = make_site(api)
    c = ok(api.post(BASE, json=body(site)), 201)
    ro = ok(api.post("/api/v1/api-clients", json={"name": unique("ro"), "role": "read_only"}),
            201)
    reader = anon.as_client(ro["client_id"], ro["client_secret"])
    assert ok(reader.get(f"{BASE}/{c['id']}"))["id"] == c["id"]
    problem(reader.post(BASE, json=body(site)), 403)
    problem(reader.post(f"{BASE}/{c['id']}/test"), 403)
    problem(anon.get(BASE), 401)


def test_idempotent_create_replays_the_first_answer(api):
    site = make_site(api)
    b = body(site)
    key = unique("key")
    first = api.post(BASE, json=b, headers={"Idempotency-Key": key})
    again = api.post(BASE, json=b, headers={"Idempotency-Key": key})
    assert ok(first, 201) == ok(again, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    problem(api.post(BASE, json=dict(b, name=unique("other")),
                     headers={"Idempotency-Key": key}), 422)


def test_a_test_is_run_by_the_sites_worker_with_its_exact_error(api, anon):
    site = make_site(api)
    c = ok(api.post(BASE, json=body(site)), 201)
    assert "mailbox" in errs(api.post(f"{BASE}/{c['id']}/test", json={"mailbox": "nobody"}))
    r = api.post(f"{BASE}/{c['id']}/test", json={"mailbox": "alice@contoso.example"})
    t = ok(r, 202)
    assert t["state"] == "pending" and r.headers["Location"].endswith(t["id"])
    assert t["mailbox"] == "alice@contoso.example"
    worker = ScriptedWorker(anon, site["credentials"])
    w = ok(worker.api.get("/api/v1/worker/server-connection-tests"))
    assert [x["id"] for x in w["tests"]] == [t["id"]]
    assert w["tests"][0]["secret"] == SECRET and w["tests"][0]["authentication"] == "ntlm"
    # Another site's worker neither sees the test nor can answer it.
    other = ScriptedWorker(anon, make_site(api)["credentials"])
    assert ok(other.api.get("/api/v1/worker/server-connection-tests"))["tests"] == []
    path = f"/api/v1/worker/server-connection-tests/{t['id']}"
    problem(other.api.post(path, json={"ok": True}), 404)
    assert "latency_ms" in errs(worker.api.post(path, json={"ok": True, "latency_ms": -1}))
    detail = "The request failed with HTTP status 401: Unauthorized."
    r = worker.api.post(path, json={"ok": False, "reason_code": "unauthorized", "detail": detail,
                                    "latency_ms": 12, "worker_id": worker.worker_id})
    assert r.status_code == 204
    done = ok(api.get(f"{BASE}/{c['id']}/tests/{t['id']}"))
    assert done["state"] == "failed" and done["detail"] == detail
    assert done["reason_code"] == "unauthorized" and done["latency_ms"] == 12
    assert ok(api.get(f"{BASE}/{c['id']}"))["last_test"] == done
    problem(worker.api.post(path, json={"ok": True}), 404)
    assert ok(worker.api.get("/api/v1/worker/server-connection-tests"))["tests"] == []
    # Success records the latency and the server's version.
    t2 = ok(api.post(f"{BASE}/{c['id']}/test"), 202)
    assert t2["mailbox"] is None
    r = worker.api.post(f"/api/v1/worker/server-connection-tests/{t2['id']}",
                        json={"ok": True, "latency_ms": 3, "server_version": "15.20.0.0"})
    assert r.status_code == 204
    done = ok(api.get(f"{BASE}/{c['id']}/tests/{t2['id']}"))
    assert done["state"] == "succeeded" and done["server_version"] == "15.20.0.0"
    assert done["reason_code"] is None and done["detail"] is None


def test_delete(api):
    site = make_site(api)
    c = ok(api.post(BASE, json=body(site)), 201)
    problem(api.delete(f"{BASE}/{c['id']}", headers={"If-Match": '"7"'}), 412)
    # The site's workers reach this Exchange: the site stays while the connection does.
    problem(api.delete(f"/api/v1/sites/{site['id']}"), 409)
    assert api.delete(f"{BASE}/{c['id']}").status_code == 204
    problem(api.get(f"{BASE}/{c['id']}"), 404)
    assert "server_connection.delete" in [e["action"]
                                          for e in audit_events(api, resource_id=c["id"])]
    assert api.delete(f"/api/v1/sites/{site['id']}").status_code == 204
