# SPDX-License-Identifier: Apache-2.0
"""Security regressions (issue 23: F2, F6, F9, F10), kept as a suite so that none comes back.

Most of these speak raw HTTP over a socket: the point is what the server does with requests
no well-behaved client library would send.
"""
import json
import socket
import time

import pytest
import requests

import harness
from admin_helpers import make_site, ok, problem, unique
from conftest import admin_server


def read_all(s):
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data


def exchange(server, payload, timeout=10):
    """Sends payload on one connection and returns everything the server sent until it closed."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as s:
        s.sendall(payload)
        return read_all(s)


def responses(data):
    """Splits the bytes of a connection into (status, headers, body) responses."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, data
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        out.append((status, headers, rest[:n]))
        data = rest[n:]
    return out


def one_problem(data, status):
    """The connection carried exactly one response, a problem+json with this status."""
    got = responses(data)
    assert len(got) == 1, got
    st, headers, body = got[0]
    assert st == status, got
    assert headers["content-type"] == "application/problem+json", headers
    doc = json.loads(body)
    assert doc["status"] == status and doc["detail"]
    return headers, doc


# --- F2: request smuggling -------------------------------------------------------------------

def smuggle(server, token, site_id, framing, body):
    return (f"PATCH /api/v1/sites/{site_id} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/merge-patch+json\r\n"
            f"If-Match: \"1\"\r\n{framing}\r\n").encode() + body


def inner_delete(token, site_id):
    return (f"DELETE /api/v1/sites/{site_id} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Length: 0\r\n\r\n").encode()


def test_the_reported_payload_gets_one_answer(server, api):
    site = make_site(api)
    inner = (f"GET /api/v1/api-clients HTTP/1.1\r\nHost: x\r\n"
             f"Authorization: Bearer {api.token}\r\n\r\n").encode()
    body = b"{}" + inner
    data = exchange(server, smuggle(server, api.token, site["id"],
                                    f"Content-Length: 2\r\nContent-Length: {len(body)}\r\n", body))
    headers, doc = one_problem(data, 400)
    assert "Content-Length" in doc["detail"]
    assert headers.get("connection", "").lower() == "close"


@pytest.mark.parametrize("framing", [
    "Content-Length: 2\r\nContent-Length: {n}\r\n",             # conflicting
    "Content-Length: {n}\r\nContent-Length: 2\r\n",             # the other order
    "Content-Length: {n}\r\nContent-Length: {n}\r\n",           # identical: still refused
    "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n",       # CL.TE
    "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n",       # TE.CL
    "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
    "Transfer-Encoding: xchunked\r\n",                           # a coding nobody speaks
    "Transfer-Encoding: gzip, chunked\r\n",
])
def test_ambiguous_framing_is_refused_and_the_smuggled_request_never_runs(server, api, framing):
    site, victim = make_site(api), make_site(api)
    inner = inner_delete(api.token, victim["id"])
    body = b"2\r\n{}\r\n0\r\n\r\n" + inner if "chunked" in framing else b"{}" + inner
    data = exchange(server, smuggle(server, api.token, site["id"],
                                    framing.format(n=len(body)), body))
    headers, doc = one_problem(data, 400)
    assert headers.get("connection", "").lower() == "close"
    assert ok(api.get(f"/api/v1/sites/{victim['id']}"))["id"] == victim["id"]
    assert ok(api.get(f"/api/v1/sites/{site['id']}"))["name"] == site["name"]


def test_single_framing_still_works(server, api):
    site = make_site(api)
    body = json.dumps({"description": "fine"}).encode()
    data = exchange(server, smuggle(server, api.token, site["id"],
                                    f"Content-Length: {len(body)}\r\nConnection: close\r\n", body))
    got = responses(data)
    assert [g[0] for g in got] == [200], got
    body = b"18\r\n" + json.dumps({"description": "chunk"}).encode() + b"\r\n0\r\n\r\n"
    data = exchange(server, smuggle(server, api.token, site["id"],
                                    "Transfer-Encoding: chunked\r\nConnection: close\r\n", body)
                    .replace(b'"1"', b'"2"'))
    assert [g[0] for g in responses(data)] == [200], data


# --- F10: fencing header, bidi controls in names, slow trickle --------------------------------

def raw_post(server, path, token, extra, body=b"{}"):
    return exchange(server, (f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                             f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(body)}\r\n").encode() + extra + b"\r\n" + body)


@pytest.fixture(scope="module")
def site_worker(api, anon):
    cred = make_site(api)["credentials"]
    return anon.as_client(cred["client_id"], cred["client_secret"])


@pytest.mark.parametrize("value", ["+1", "-1", "1x", "0x1", "1 1", "1.0", "", "99999999999999999999"])
def test_fencing_token_must_be_digits(site_worker, value):
    path = "/api/v1/worker/executions/00000000-0000-4000-8000-000000000000/progress"
    doc = problem(site_worker.post(path, json={}, headers={"MSE-Fencing-Token": value}), 400)
    assert "MSE-Fencing-Token" in doc["detail"]


@pytest.mark.parametrize("prefix", [b"\x0b", b"\x0c", b"+", b"\xc2\xa0"])
def test_fencing_token_with_leading_junk_on_the_wire(server, site_worker, prefix):
    path = "/api/v1/worker/executions/00000000-0000-4000-8000-000000000000/progress"
    data = raw_post(server, path, site_worker.token,
                    b"MSE-Fencing-Token: " + prefix + b"1\r\n")
    _, doc = one_problem(data, 400)
    assert "MSE-Fencing-Token" in doc["detail"]


def test_a_plain_fencing_token_passes_the_header_check(site_worker):
    path = "/api/v1/worker/executions/00000000-0000-4000-8000-000000000000/progress"
    r = site_worker.post(path, json={}, headers={"MSE-Fencing-Token": "1"})
    assert r.status_code != 400 or "MSE-Fencing-Token" not in r.json()["detail"], r.text


BIDI = ["\u202e", "\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069",
        "\u200e", "\u200f", "\u061c"]


@pytest.mark.parametrize("ch", BIDI, ids=[f"U+{ord(c):04X}" for c in BIDI])
def test_names_refuse_bidi_controls(api, ch):
    evil = f"invoice{ch}fdp.exe"
    problem(api.post("/api/v1/sites", json={"name": evil}), 422, "name")
    problem(api.post("/api/v1/api-clients", json={"name": evil, "role": "read_only"}), 422,
            "name")
    problem(api.post("/api/v1/schedules", json={
        "name": evil, "timezone": "Europe/Berlin", "type": "daily", "mode": "once",
        "start_time": "02:30"}), 422, "name")
    problem(api.post("/api/v1/definitions", json={
        "type": "mailbox_folder_replication", "description": unique("def"),
        "settings": {"exclude_folders": [f"/Inbox/{evil}"]}}), 422, "settings.exclude_folders[0]")


def test_task_names_and_groups_refuse_bidi_controls(api):
    site = make_site(api)
    sched = ok(api.post("/api/v1/schedules", json={
        "name": unique("s"), "timezone": "Europe/Berlin", "type": "daily", "mode": "once",
        "start_time": "02:30"}), 201)
    defn = ok(api.post("/api/v1/definitions", json={"type": "mailbox_folder_replication",
                                                    "description": unique("d")}), 201)
    body = {"name": unique("task"), "site_id": site["id"], "type": defn["type"],
            "definition_id": defn["id"], "schedule_id": sched["id"],
            "group": {"kind": "mailbox", "value": "user@example.com"}}
    problem(api.post("/api/v1/exchange-tasks", json={**body, "name": "a\u202eb"}), 422, "name")
    problem(api.post("/api/v1/exchange-tasks", json={
        **body, "group": {"kind": "group_email", "value": "all\u2066@example.com"}}), 422,
        "group.value")
    task = ok(api.post("/api/v1/exchange-tasks", json=body), 201)
    r = api.patch(f"/api/v1/exchange-tasks/{task['id']}", json={"name": "x\u202ey"},
                  headers={"Content-Type": "application/merge-patch+json", "If-Match": '"1"'})
    problem(r, 422, "name")
    r = api.patch(f"/api/v1/sites/{site['id']}", json={"name": "r\u200fl"},
                  headers={"Content-Type": "application/merge-patch+json", "If-Match": '"1"'})
    problem(r, 422, "name")


def test_names_keep_other_scripts(api):
    name = unique("שלום-مرحبا-Übersicht")
    assert ok(api.post("/api/v1/sites", json={"name": name}), 201)["name"] == name


@pytest.fixture(scope="module")
def trickle_server(database):
    yield from admin_server(database, {"MSE_REQUEST_TIMEOUT": 2, "MSE_CONNECTION_TIMEOUT": 60})


def test_a_trickled_body_is_cut_off_at_the_request_timeout(trickle_server):
    """One byte every 0.2 s keeps the connection busy, so the idle timeout never fires; the
    total-time cap must end it long before the 100-byte body could arrive."""
    with socket.create_connection((trickle_server.host, trickle_server.port), timeout=30) as s:
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        cut = False
        for _ in range(100):
            time.sleep(0.2)
            try:
                s.sendall(b"x")
            except (BrokenPipeError, ConnectionResetError):
                cut = True
                break
            s.settimeout(0.001)
            try:
                if s.recv(4096) == b"":
                    cut = True
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                cut = True
                break
            s.settimeout(30)
        assert cut, "the whole trickled body was accepted"
    assert requests.get(trickle_server.url + "/healthz").status_code == 200


def test_a_stalled_body_is_cut_off_at_the_request_timeout(trickle_server):
    """A body shorter than its Content-Length ends at the request timeout (2 s), not at the
    connection timeout (60 s, longer than the socket's own 30 s here)."""
    with socket.create_connection((trickle_server.host, trickle_server.port), timeout=30) as s:
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort")
        try:
            assert s.recv(4096) == b""
        except ConnectionResetError:
            pass


def test_slow_headers_get_408(trickle_server):
    with socket.create_connection((trickle_server.host, trickle_server.port), timeout=30) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        for i in range(15):
            time.sleep(0.2)
            s.sendall(f"X-Slow-{i}: y\r\n".encode())
        s.sendall(b"\r\n")
        one_problem(read_all(s), 408)


def test_request_timeout_is_validated(database):
    full = {"MSE_DATABASE_URL": database.conninfo, "MSE_REQUEST_TIMEOUT": "0"}
    p = harness.Process([harness.binary("mse-server")], full, None, "mse-server")
    assert p.wait(30) == 2 and "MSE_REQUEST_TIMEOUT" in p.output()


# --- F9: log amplification --------------------------------------------------------------------

def test_an_outage_writes_one_line_per_request(api):
    """During a PostgreSQL outage each 503 writes its access-log line and nothing else of its
    own; warnings the outage causes (pool, queries, scheduler) are written once per window."""
    db = harness.Database()
    srv = harness.Server(db.conninfo, env={"MSE_BOOTSTRAP_CLIENT_ID": "outage-admin",
                                           "MSE_BOOTSTRAP_CLIENT_SECRET": "outage-admin-secret-0123",
                                           "MSE_TOKEN_CACHE_SECONDS": 60,
                                           "MSE_LOG_REPEAT_SECONDS": 3600})
    try:
        from api_client import ApiClient
        admin = ApiClient(srv.url).as_client("outage-admin", "outage-admin-secret-0123")
        ok(admin.get("/api/v1/sites"))
        with db._admin() as conn:
            cur = conn.cursor()
            cur.execute(f'ALTER DATABASE "{db.name}" ALLOW_CONNECTIONS false')
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = %s", (db.name,))
        start = len(srv.lines)
        ids = [f"outage-{i}" for i in range(12)]
        for rid in ids:
            r = admin.get("/api/v1/sites", headers={"X-Request-Id": rid})
            assert r.status_code == 503 and r.headers["Retry-After"], r.text
        srv.wait_for(r'"request_id":"outage-11"', start=start)
        lines = [json.loads(l) for l in srv.lines[start:] if l.startswith("{")]
        for rid in ids:
            mine = [l for l in lines if l.get("request_id") == rid]
            assert len(mine) == 1, mine
            assert mine[0]["status"] == 503 and mine[0]["detail"]
        others = [l["msg"] for l in lines if "msg" in l and "request_id" not in l]
        assert len(others) == len(set(others)), others
    finally:
        with db._admin() as conn:
            conn.cursor().execute(f'ALTER DATABASE "{db.name}" ALLOW_CONNECTIONS true')
        srv.stop_clean()
        db.drop()


# --- F6: the shape of every error on the wire -------------------------------------------------

GET = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize("payload,status", [
    (GET + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n", 431),  # over our cap, within the pool
    (b"GET /healthz HTTP/1.1\r\n\r\n", 400),  # no Host
    (GET + b"Host: y\r\n\r\n", 400),  # two Hosts
    (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\n{}", 400),
    (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length\t: 2\r\n\r\n{}", 400),
    (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}", 400),
    (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413),
    (b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404),
    (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 405),
], ids=["headers-20k", "no-host", "two-hosts", "space-before-colon", "tab-before-colon",
        "identical-content-lengths", "content-length-over-cap", "404", "405"])
def test_errors_the_server_answers_are_problem_json(server, payload, status):
    one_problem(exchange(server, payload), status)


# Answered by libmicrohttpd 0.9.75 before the application sees the request (README lists
# them): its own HTML (or empty) body, no X-Request-Id, and the connection closed.
MHD_OWN = [
    ("headers-64k", GET + b"X-Big: " + b"a" * 65536 + b"\r\n\r\n", 431),
    ("url-100k", b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("content-length-not-a-number",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400),
    ("content-length-list", b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\n{}",
     400),
    ("content-length-overflow",
     b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", 413),
    ("bad-chunk", b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
     400),
    ("chunk-size-overflow", b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
     b"\r\nFFFFFFFFFFFFFFFFFF\r\n", 413),
    ("http-0.9-request-line", b"GET /healthz\r\n\r\n", 400),
    ("http-0.9-version", b"GET /healthz HTTP/0.9\r\nHost: x\r\n\r\n", 505),
    ("http-9.9", b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", 505),
    ("header-without-colon", GET + b"NoColonHere\r\n\r\n", 400),
]


@pytest.mark.parametrize("payload,status", [(p, s) for _, p, s in MHD_OWN],
                         ids=[n for n, _, _ in MHD_OWN])
def test_errors_libmicrohttpd_answers_itself_are_as_documented(server, payload, status):
    data = exchange(server, payload)
    assert data.startswith(f"HTTP/1.1 {status} ".encode()), data[:200]
    head = data.partition(b"\r\n\r\n")[0].lower()
    assert b"connection: close" in head and b"x-request-id" not in head
    assert b"application/problem+json" not in data
    assert requests.get(server.url + "/healthz").status_code == 200


def test_readme_lists_what_libmicrohttpd_answers_itself():
    with open(f"{harness.SOURCE_DIR}/README.md", encoding="utf-8") as f:
        text = f.read()
    section = text.split("Errors libmicrohttpd answers itself", 1)[1].split("\n## ", 1)[0]
    for status in sorted({s for _, _, s in MHD_OWN}):
        assert f"{status}" in section, status
    assert "Every error is" not in text  # the claim is qualified, not absolute
