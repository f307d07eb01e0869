# SPDX-License-Identifier: Apache-2.0
"""Authentication and authorisation: OAuth 2.0 client credentials, bearer tokens, revocation,
API clients, the first admin, failed-attempt limits and the role matrix over the route table."""
import base64
import hashlib
import json
import os
import re
import stat
import threading
import time
import uuid

import pytest
import requests
from requests.adapters import HTTPAdapter

import harness
from admin_helpers import audit_events, make_site, ok, problem, snapshot, unique
from api_client import ApiClient
from conftest import BOOTSTRAP_ID, BOOTSTRAP_SECRET

TOKEN_URL = "/api/v1/oauth/token"
REVOKE_URL = "/api/v1/oauth/revoke"


@pytest.fixture(scope="module")
def server(database):
    """This module fails authentication on purpose; a high limit keeps 429 out of the way."""
    srv = harness.Server(database.conninfo, env={"MSE_BOOTSTRAP_CLIENT_ID": BOOTSTRAP_ID,
                                                 "MSE_BOOTSTRAP_CLIENT_SECRET": BOOTSTRAP_SECRET,
                                                 "MSE_AUTH_FAILURE_LIMIT": 1000,
                                                 "MSE_AUTH_ADDRESS_FAILURE_LIMIT": 1000})
    yield srv
    srv.stop_clean()


def oauth_error(resp, status, error):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/json"
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.json()
    assert body["error"] == error and body["error_description"]
    return body


def grant(anon, auth=None, headers=None, **form):
    data = {"grant_type": "client_credentials", **form}
    return anon.post(TOKEN_URL, auth=auth, data=data, headers=headers)


def new_client(api, role="read_only", **kw):
    return ok(api.post("/api/v1/api-clients", json={"name": unique(role), "role": role, **kw}),
              201)


# ---- the token endpoint ----

def test_token_with_basic_and_with_form_fields(anon, database):
    r = grant(anon, auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET))
    body = ok(r)
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert r.headers["Cache-Control"] == "no-store" and r.headers["Pragma"] == "no-cache"
    token = body["access_token"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 256 bits, base64url
    form = ok(grant(anon, client_id=BOOTSTRAP_ID, client_secret=BOOTSTRAP_SECRET))
    assert form["access_token"] != token
    # Only the SHA-256 of a token is stored; the secret only as a PBKDF2 hash.
    stored = [r[0] for r in database.query("SELECT token_hash FROM access_tokens")]
    assert hashlib.sha256(token.encode()).hexdigest() in stored
    assert token not in json.dumps(stored)
    hashed = database.scalar("SELECT secret_hash FROM api_clients WHERE client_id = %s",
                             BOOTSTRAP_ID)
    assert hashed.startswith("pbkdf2-sha256$600000$") and BOOTSTRAP_SECRET not in hashed
    assert anon.with_token(token).get("/api/v1/sites").status_code == 200


def test_basic_credentials_are_form_urlencoded(api, anon):
    """RFC 6749 §2.3.1: client id and secret are urlencoded before Basic encodes them."""
    client = new_client(api)
    raw = f"{client['client_id']}:{client['client_secret']}".replace("_", "%5F")
    header = "Basic " + base64.b64encode(raw.encode()).decode()
    r = anon.post(TOKEN_URL, headers={"Authorization": header},
                  data={"grant_type": "client_credentials"})
    ok(r)


def test_token_request_errors(anon):
    oauth_error(anon.post(TOKEN_URL, auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET), data={}), 400,
                "invalid_request")
    oauth_error(grant(anon, auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET), grant_type="password"), 400,
                "unsupported_grant_type")
    oauth_error(anon.post(TOKEN_URL, auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET),
                          json={"grant_type": "client_credentials"}), 400, "invalid_request")
    oauth_error(anon.post(TOKEN_URL, auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET),
                          data="grant_type=client_credentials&grant_type=client_credentials",
                          headers={"Content-Type": "application/x-www-form-urlencoded"}), 400,
                "invalid_request")
    # Two authentication methods at once.
    oauth_error(grant(anon, auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET), client_id=BOOTSTRAP_ID,
                      client_secret=BOOTSTRAP_SECRET), 400, "invalid_request")
    r = grant(anon)
    oauth_error(r, 401, "invalid_client")
    assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
    r = anon.post(TOKEN_URL, headers={"Authorization": "Basic !!!notbase64"},
                  data={"grant_type": "client_credentials"})
    oauth_error(r, 401, "invalid_client")


def test_wrong_secret_unknown_and_disabled_clients_look_alike(api, anon):
    wrong = oauth_error(grant(anon, auth=(BOOTSTRAP_ID, "x" * 30)), 401, "invalid_client")
    unknown = oauth_error(grant(anon, auth=("nobody-" + uuid.uuid4().hex, "x" * 30)), 401,
                          "invalid_client")
    client = new_client(api)
    ok(api.patch(f"/api/v1/api-clients/{client['id']}", json={"enabled": False}))
    disabled = oauth_error(grant(anon, auth=(client["client_id"], client["client_secret"])), 401,
                           "invalid_client")
    assert wrong == unknown == disabled
    # Form-field authentication gets the same answer, without a Basic challenge.
    r = grant(anon, client_id=BOOTSTRAP_ID, client_secret="wrong-" * 5)
    oauth_error(r, 401, "invalid_client")
    assert "WWW-Authenticate" not in r.headers


# ---- bearer tokens ----

def test_missing_and_invalid_bearer_tokens(anon, api):
    r = anon.get("/api/v1/sites")
    problem(r, 401)
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="mse"'
    for header in ("Bearer " + "A" * 43, "Bearer not a token", "Bearer ", "bearer x" * 100):
        r = anon.get("/api/v1/sites", headers={"Authorization": header})
        problem(r, 401)
        assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    # Another scheme is no bearer token at all.
    r = anon.get("/api/v1/sites", auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET))
    problem(r, 401)
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="mse"'


def test_expired_token_is_refused(anon, database):
    token = anon.token_for(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
    digest = hashlib.sha256(token.encode()).hexdigest()
    database.query("UPDATE access_tokens SET expires_at = now() - interval '1 second' "
                   "WHERE token_hash = %s", digest)
    r = anon.with_token(token).get("/api/v1/sites")
    problem(r, 401)
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


def test_revocation_takes_effect_at_once(anon):
    token = anon.token_for(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
    me = anon.with_token(token)
    assert me.get("/api/v1/sites").status_code == 200  # now cached by the server
    r = anon.post(REVOKE_URL, auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET), data={"token": token})
    assert r.status_code == 200 and r.content == b""
    problem(me.get("/api/v1/sites"), 401)
    # Revoking again, or a token nobody has, is not an error (RFC 7009).
    assert anon.post(REVOKE_URL, auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET),
                     data={"token": token}).status_code == 200
    assert anon.post(REVOKE_URL, auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET),
                     data={"token": "x" * 43}).status_code == 200
    oauth_error(anon.post(REVOKE_URL, auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET), data={}), 400,
                "invalid_request")
    oauth_error(anon.post(REVOKE_URL, data={"token": token}), 401, "invalid_client")


def test_a_client_cannot_revoke_another_clients_token(api, anon):
    other = new_client(api)
    token = anon.token_for(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
    r = anon.post(REVOKE_URL, auth=(other["client_id"], other["client_secret"]),
                  data={"token": token})
    assert r.status_code == 200
    assert anon.with_token(token).get("/api/v1/sites").status_code == 200


# ---- API clients ----

def test_api_client_lifecycle(api, anon, database):
    created = new_client(api, role="read_only")
    secret = created.pop("client_secret")
    assert created["role"] == "read_only" and created["enabled"] and created["site_id"] is None
    assert created["updated_by"] == BOOTSTRAP_ID
    got = api.get(f"/api/v1/api-clients/{created['id']}")
    assert ok(got) == created and got.headers["ETag"]
    assert secret not in got.text
    listed = ok(api.get("/api/v1/api-clients", params={"role": "read_only", "limit": 500}))
    assert created["id"] in [c["id"] for c in listed["items"]]
    assert all(c["role"] == "read_only" for c in listed["items"])
    ro = anon.as_client(created["client_id"], secret)
    assert ro.get("/api/v1/sites").status_code == 200
    problem(ro.post("/api/v1/sites", json={"name": unique("x")}), 403)
    # Disabled: its tokens stop working at once, and it gets no new ones.
    r = api.patch(f"/api/v1/api-clients/{created['id']}", json={"enabled": False})
    assert ok(r)["enabled"] is False
    problem(ro.get("/api/v1/sites"), 401)
    oauth_error(grant(anon, auth=(created["client_id"], secret)), 401, "invalid_client")
    ok(api.patch(f"/api/v1/api-clients/{created['id']}", json={"enabled": True}))
    assert ro.get("/api/v1/sites").status_code == 200
    # Deleted: tokens revoked (cascade), 404 afterwards.
    r = api.delete(f"/api/v1/api-clients/{created['id']}")
    assert r.status_code == 204 and r.content == b""
    problem(ro.get("/api/v1/sites"), 401)
    problem(api.get(f"/api/v1/api-clients/{created['id']}"), 404)
    assert database.scalar("SELECT count(*) FROM access_tokens t JOIN api_clients c "
                           "ON c.id = t.client_uuid WHERE c.id = %s", created["id"]) == 0
    # The secret never reached the audit log.
    events = audit_events(api, resource_id=created["id"])
    changes = [e["action"] for e in events if e["action"] != "auth.failure"]
    assert changes == ["api_client.delete", "api_client.update", "api_client.update",
                       "api_client.create"]
    failures = [e["after"]["reason"] for e in events if e["action"] == "auth.failure"]
    assert failures == ["client_disabled"]
    assert secret not in json.dumps(events)


def test_api_client_validation(api, database):
    before = snapshot(database)
    r = api.post("/api/v1/api-clients", json={"name": "", "role": "site", "client_secret": "x",
                                              "extra": 1})
    problem(r, 422)
    assert sorted(e["field"] for e in r.json()["errors"]) == ["client_secret", "extra", "name",
                                                               "role"]
    problem(api.post("/api/v1/api-clients", json={"name": "x", "role": "root"}), 422, "role")
    problem(api.post("/api/v1/api-clients", json={"role": "admin"}), 422, "name")
    assert snapshot(database) == before


def test_site_clients_belong_to_their_site(api):
    site = make_site(api)
    clients = ok(api.get("/api/v1/api-clients", params={"role": "site", "limit": 500}))["items"]
    mine = [c for c in clients if c["site_id"] == site["id"]]
    assert len(mine) == 1 and mine[0]["client_id"] == site["credentials"]["client_id"]
    problem(api.delete(f"/api/v1/api-clients/{mine[0]['id']}"), 409)


def test_last_admin_stays(anon, database):
    """On a database of its own: the only enabled admin cannot be disabled or deleted."""
    db = harness.Database()
    srv = harness.Server(db.conninfo, env={"MSE_BOOTSTRAP_CLIENT_ID": "solo",
                                           "MSE_BOOTSTRAP_CLIENT_SECRET": "solo-secret-0123456789"})
    try:
        api = ApiClient(srv.url).as_client("solo", "solo-secret-0123456789")
        me = ok(api.get("/api/v1/api-clients", params={"role": "admin"}))["items"][0]
        problem(api.patch(f"/api/v1/api-clients/{me['id']}", json={"enabled": False}), 409)
        problem(api.delete(f"/api/v1/api-clients/{me['id']}"), 409)
        second = new_client(api, role="admin")
        api2 = ApiClient(srv.url).as_client(second["client_id"], second["client_secret"])
        assert api2.delete(f"/api/v1/api-clients/{me['id']}").status_code == 204
        problem(api.get("/api/v1/sites"), 401)
        problem(api2.delete(f"/api/v1/api-clients/{second['id']}"), 409)
    finally:
        srv.stop_clean()
        db.drop()


# ---- failed authentications: audit and limits ----

def test_failed_authentications_are_audited(api, anon):
    rid = "failed-auth-" + uuid.uuid4().hex[:8]
    grant(anon, auth=(BOOTSTRAP_ID, "definitely-wrong-secret"), headers={"X-Request-Id": rid})
    events = audit_events(api, request_id=rid)
    assert len(events) == 1
    e = events[0]
    assert e["action"] == "auth.failure" and e["actor"] is None
    assert e["after"]["reason"] == "wrong_secret" and e["after"]["client_id"] == BOOTSTRAP_ID
    assert e["remote_addr"] == "127.0.0.1" and e["resource_type"] == "api_client"
    assert "definitely-wrong-secret" not in json.dumps(e)
    rid = "failed-bearer-" + uuid.uuid4().hex[:8]
    anon.get("/api/v1/sites", headers={"Authorization": "Bearer " + "B" * 43, "X-Request-Id": rid})
    events = audit_events(api, request_id=rid)
    assert [e["after"]["reason"] for e in events] == ["invalid_token"]
    assert "B" * 43 not in json.dumps(events)


class _FromAddress(HTTPAdapter):
    """Connects from a given loopback address, to stand for another client machine."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        return super().init_poolmanager(*args, **kwargs)


def _from(url, address):
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    return ApiClient(url, session=session)


def _limited_server(database, **env):
    return harness.Server(database.conninfo, env={"MSE_BOOTSTRAP_CLIENT_ID": BOOTSTRAP_ID,
                                                 "MSE_BOOTSTRAP_CLIENT_SECRET": BOOTSTRAP_SECRET,
                                                 **env})


def test_revoked_token_flood_does_not_block_token_issuance(database):
    """A stale worker token retried from the admin's address must not lock the admin out."""
    srv = _limited_server(database, MSE_AUTH_FAILURE_LIMIT=3)
    try:
        admin = (BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        here = _from(srv.url, "127.0.0.8")
        token = ok(grant(here, auth=admin))["access_token"]
        ok(here.post(REVOKE_URL, auth=admin, data={"token": token}))
        for _ in range(10):
            r = here.get("/api/v1/sites", headers={"Authorization": "Bearer " + token})
            assert r.status_code in (401, 429), r.text
        ok(grant(here, auth=admin))
    finally:
        srv.stop_clean()


def test_wrong_secrets_from_elsewhere_do_not_lock_out_the_client(database):
    """Failures count per (client id, address) and per address, never per client id alone."""
    srv = _limited_server(database, MSE_AUTH_FAILURE_LIMIT=3, MSE_AUTH_ADDRESS_FAILURE_LIMIT=6)
    try:
        admin = (BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        attacker = _from(srv.url, "127.0.0.2")
        for _ in range(10):
            r = grant(attacker, auth=(BOOTSTRAP_ID, "wrong-secret-value"))
            assert r.status_code in (401, 429), r.text
        ok(grant(_from(srv.url, "127.0.0.3"), auth=admin))
    finally:
        srv.stop_clean()


def _wait_out(client, auth):
    """Sends until the answer is not 429; returns it and the Retry-After values seen."""
    waits = []
    while True:
        r = grant(client, auth=auth)
        if r.status_code != 429:
            return r, waits
        problem(r, 429)
        waits.append(int(r.headers["Retry-After"]))
        time.sleep(waits[-1])


def test_failures_back_off_exponentially_per_pair_and_per_address(database):
    srv = _limited_server(database, MSE_AUTH_FAILURE_LIMIT=2, MSE_AUTH_ADDRESS_FAILURE_LIMIT=4,
                          MSE_AUTH_BACKOFF_MAX=8)
    try:
        admin = (BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        token = ok(grant(_from(srv.url, "127.0.0.7"), auth=admin))["access_token"]
        wrong = (BOOTSTRAP_ID, "wrong-secret-value")
        attacker = _from(srv.url, "127.0.0.2")
        # The first two failures of a (client id, address) pair are free; then 1 s, 2 s, 4 s.
        for _ in range(2):
            oauth_error(grant(attacker, auth=wrong), 401, "invalid_client")
        seen = []
        for _ in range(3):
            r, waits = _wait_out(attacker, wrong)
            oauth_error(r, 401, "invalid_client")
            seen.append(waits[0])
        assert seen == [1, 2, 4]
        # Capped at MSE_AUTH_BACKOFF_MAX; a blocked pair is refused without a verification, so
        # retrying while blocked does not lengthen the wait.
        r = grant(attacker, auth=wrong)
        problem(r, 429)
        assert int(r.headers["Retry-After"]) == 8
        problem(grant(attacker, auth=wrong), 429)
        # Another address is not held back by the attacker's pair.
        ok(grant(_from(srv.url, "127.0.0.3"), auth=admin))
        # Per address: unknown ids from one address back that address off for every id.
        bad = _from(srv.url, "127.0.0.6")
        for _ in range(4):
            oauth_error(grant(bad, auth=(unique("ghost"), "x" * 20)), 401, "invalid_client")
        r = grant(bad, auth=admin)
        problem(r, 429)
        assert int(r.headers["Retry-After"]) == 1
        # Bad bearer tokens are counted apart and never hold back the token endpoint ...
        for _ in range(6):
            bad.get("/api/v1/sites", headers={"Authorization": "Bearer " + "C" * 43})
        problem(bad.get("/api/v1/sites", headers={"Authorization": "Bearer " + "C" * 43}), 429)
        # ... and a valid token still works from a backed-off address: only guesses are refused.
        assert bad.get("/api/v1/sites", headers={"Authorization": "Bearer " + token}).status_code \
            == 200
        r, _ = _wait_out(bad, admin)
        ok(r)
    finally:
        srv.stop_clean()


# ---- the route table: roles, and the spec ----

def _routes():
    return harness.list_routes()


def _path(pattern):
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), pattern)


def test_every_protected_route_needs_a_token_and_the_right_role(api, anon):
    site = make_site(api)
    read_only = new_client(api, role="read_only")
    ro = anon.as_client(read_only["client_id"], read_only["client_secret"])
    site_api = anon.as_client(site["credentials"]["client_id"],
                              site["credentials"]["client_secret"])
    journal = new_client(api, role="journal")
    mta = anon.as_client(journal["client_id"], journal["client_secret"])
    # An end user: every route but the /me routes of its own mailbox refuses it.
    end_user = new_client(api, role="mailbox_user", mailbox=f"{unique('u')}@example.com",
                          delegates=[f"{unique('d')}@example.com"])
    user = anon.as_client(end_user["client_id"], end_user["client_secret"])
    roles = {"read": {"admin", "read_only"}, "admin": {"admin"}, "site": {"site"},
             "journal": {"admin", "journal"}, "mailbox": {"mailbox_user"}}
    callers = {"admin": api, "read_only": ro, "site": site_api, "journal": mta,
               "mailbox_user": user}
    checked = 0
    for route in _routes():
        method, role = route["method"], route["role"]
        path = _path(route["pattern"])
        kw = {"json": {}} if method in ("POST", "PATCH") else {}
        if role == "public":
            r = anon.request(method, path, **kw)
            assert r.status_code != 401 or r.headers.get("Content-Type") == "application/json", \
                f"{method} {path} wants a bearer token"
            continue
        r = anon.request(method, path, **kw)
        problem(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Bearer"), (method, path)
        for who, client in callers.items():
            if who in roles[role]:
                continue
            r = client.request(method, path, **kw)
            problem(r, 403)
            checked += 1
    assert checked >= 40
    assert any(r["role"] == "mailbox" for r in _routes())


def test_route_table_and_spec_list_the_same_routes(spec):
    table = {(r["method"].lower(), r["pattern"]) for r in _routes()}
    documented = {(op.method, op.template) for op in spec.operations}
    assert table - documented == set(), "routes missing from api-spec/openapi.yaml"
    assert documented - table == set(), "documented routes the server does not have"
    # Public routes are exactly those the spec marks with empty security or OAuth clients.
    for r in _routes():
        op, _ = spec.match(r["method"], _path(r["pattern"]))
        sec = op.op.get("security", spec.doc["security"])
        public = not sec or all(s in ({}, {"clientBasic": []}) for s in sec)
        assert public == (r["role"] == "public"), r


# ---- the first admin ----

def test_bootstrap_generates_prints_once_and_writes_a_private_file():
    db = harness.Database()
    try:
        srv = harness.Server(db.conninfo)
        m = srv.wait_for(r"client_id:\s+(\S+)")
        secret = srv.wait_for(r"client_secret:\s+(\S+)").group(1)
        client_id = m.group(1)
        path = os.path.join(srv.data_dir, "bootstrap-admin.json")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path, encoding="utf-8") as f:
            saved = json.load(f)
        assert saved == {"client_id": client_id, "client_secret": secret}
        assert len(secret) == 43
        api = ApiClient(srv.url).as_client(client_id, secret)
        me = ok(api.get("/api/v1/api-clients"))["items"]
        assert [c["client_id"] for c in me] == [client_id] and me[0]["role"] == "admin"
        assert srv.output().count(secret) == 1  # printed once, never logged
        srv.stop_clean()
        again = harness.Server(db.conninfo)
        assert "client_secret" not in again.output()
        assert db.scalar("SELECT count(*) FROM api_clients") == 1
        ApiClient(again.url).token_for(client_id, secret)
        again.stop_clean()
    finally:
        db.drop()


def test_bootstrap_from_the_environment_only_on_an_empty_database():
    db = harness.Database()
    try:
        env = {"MSE_BOOTSTRAP_CLIENT_ID": "ops", "MSE_BOOTSTRAP_CLIENT_SECRET": "ops-secret-123456"}
        srv = harness.Server(db.conninfo, env=env)
        assert "ops-secret-123456" not in srv.output()
        ApiClient(srv.url).token_for("ops", "ops-secret-123456")
        srv.stop_clean()
        other = {"MSE_BOOTSTRAP_CLIENT_ID": "ops2",
                 "MSE_BOOTSTRAP_CLIENT_SECRET": "ops2-secret-123456"}
        srv = harness.Server(db.conninfo, env=other)
        anon = ApiClient(srv.url)
        anon.token_for("ops", "ops-secret-123456")
        oauth_error(grant(anon, auth=("ops2", "ops2-secret-123456")), 401, "invalid_client")
        srv.stop_clean()
    finally:
        db.drop()


def test_servers_starting_together_create_one_first_admin():
    db = harness.Database()
    servers = [None, None]
    try:
        def start(i):
            servers[i] = harness.Server(db.conninfo)

        threads = [threading.Thread(target=start, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert all(servers)
        printed = [s.output().count("client_secret:") for s in servers]
        assert sorted(printed) == [0, 1]
        assert db.scalar("SELECT count(*) FROM api_clients") == 1
    finally:
        for s in servers:
            if s:
                s.stop_clean()
        db.drop()


@pytest.mark.parametrize("env, needle", [
    ({"MSE_BOOTSTRAP_CLIENT_ID": "ops", "MSE_BOOTSTRAP_CLIENT_SECRET": "short"},
     "MSE_BOOTSTRAP_CLIENT_SECRET"),
    ({"MSE_BOOTSTRAP_CLIENT_ID": "bad id!", "MSE_BOOTSTRAP_CLIENT_SECRET": "x" * 20},
     "MSE_BOOTSTRAP_CLIENT_ID"),
    ({"MSE_BOOTSTRAP_CLIENT_ID": "ops"}, "must be set together"),
    ({"MSE_TOKEN_TTL": "5"}, "MSE_TOKEN_TTL"),
])
def test_bad_auth_configuration_stops_the_server(database, env, needle):
    p = harness.Process([harness.binary("mse-server")],
                        {"MSE_DATABASE_URL": database.conninfo, **env}, None, "mse-server")
    assert p.wait(30) == 2 and needle in p.output()


def test_revocation_reaches_other_servers_within_the_cache_bound(database, server):
    other = harness.Server(database.conninfo, env={"MSE_TOKEN_CACHE_SECONDS": 2})
    try:
        a, b = ApiClient(server.url), ApiClient(other.url)
        token = a.token_for(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        assert b.with_token(token).get("/api/v1/sites").status_code == 200  # cached on b
        assert a.post(REVOKE_URL, auth=(BOOTSTRAP_ID, BOOTSTRAP_SECRET),
                      data={"token": token}).status_code == 200
        start = time.monotonic()
        problem(a.with_token(token).get("/api/v1/sites"), 401)
        while b.with_token(token).get("/api/v1/sites").status_code == 200:
            assert time.monotonic() - start < 3.5, "another server kept a revoked token too long"
            time.sleep(0.1)
    finally:
        other.stop_clean()
