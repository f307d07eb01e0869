# SPDX-License-Identifier: Apache-2.0
"""The server skeleton: health, routing errors, caps, request ids, access log, shutdown."""
import json
import signal
import socket
import threading
import time

import pytest
import requests

import harness


def problem(resp, status):
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"] == "application/problem+json"
    doc = resp.json()
    assert doc["status"] == status
    assert doc["title"] and doc["detail"]
    return doc


def test_healthz_and_readyz(server):
    r = requests.get(server.url + "/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    r = requests.get(server.url + "/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"


def test_head_is_served_by_get_routes(server):
    r = requests.head(server.url + "/healthz")
    assert r.status_code == 200 and r.content == b""


def test_unknown_path_is_404_problem(server):
    doc = problem(requests.get(server.url + "/no/such/thing"), 404)
    assert doc["instance"] == "/no/such/thing"


def test_trailing_slash_and_empty_segments_are_404(server):
    problem(requests.get(server.url + "/healthz/"), 404)
    problem(requests.get(server.url + "//healthz"), 404)


def test_wrong_method_is_405_with_allow(server):
    r = requests.delete(server.url + "/readyz")
    problem(r, 405)
    assert r.headers["Allow"] == "GET, HEAD"


def test_request_id_echoed_or_generated(server):
    r = requests.get(server.url + "/healthz", headers={"X-Request-Id": "abc-123"})
    assert r.headers["X-Request-Id"] == "abc-123"
    r = requests.get(server.url + "/healthz", headers={"X-Request-Id": "bad id with spaces"})
    generated = r.headers["X-Request-Id"]
    assert len(generated) == 36 and generated != "bad id with spaces"
    doc = problem(requests.get(server.url + "/nope"), 404)
    assert len(doc["request_id"]) == 36


def test_access_log_line_per_request(server):
    rid = "access-log-check-1"
    requests.get(server.url + "/readyz", headers={"X-Request-Id": rid})
    m = server.wait_for(r'^\{.*"request_id":"access-log-check-1".*"status":200.*\}$')
    line = json.loads(m.group(0))
    assert line["method"] == "GET" and line["path"] == "/readyz"
    assert line["duration_ms"] >= 0 and line["route"] == "/readyz"


def test_ten_mebibyte_body_is_413(server):
    r = requests.post(server.url + "/healthz", data=b"x" * (10 * 1024 * 1024))
    problem(r, 413)


def test_chunked_body_over_cap_is_413(server):
    def chunks():
        for _ in range(40):
            yield b"y" * 65536
    problem(requests.post(server.url + "/healthz", data=chunks()), 413)


def test_huge_headers_are_431(server):
    r = requests.get(server.url + "/healthz", headers={"X-Big": "z" * 20000})
    problem(r, 431)


def raw_request(url_host, port, payload, timeout=5):
    with socket.create_connection((url_host, port), timeout=timeout) as s:
        s.sendall(payload)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data


def test_malformed_request_line_does_not_crash(server):
    reply = raw_request(server.host, server.port, b"GARBAGE\r\n\r\n")
    assert reply == b"" or reply.startswith(b"HTTP/1.1 400")
    reply = raw_request(server.host, server.port,
                        b"GET /%zz%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 404"), reply
    assert requests.get(server.url + "/healthz").status_code == 200


def test_config_errors_exit_2_with_message(database):
    for env, needle in [({"MSE_LISTEN": "nonsense"}, "MSE_LISTEN"),
                        ({"MSE_THREADS": "0"}, "MSE_THREADS"),
                        ({"MSE_LOG_LEVEL": "loud"}, "MSE_LOG_LEVEL")]:
        full = {"MSE_DATABASE_URL": database.conninfo, **env}
        p = harness.Process([harness.binary("mse-server")], full, None, "mse-server")
        rc = p.wait(30)
        assert rc == 2 and needle in p.output()


def test_per_ip_connection_limit(database):
    srv = harness.Server(database.conninfo, env={"MSE_PER_IP_CONNECTIONS": 2})
    try:
        held = [socket.create_connection((srv.host, srv.port), timeout=30) for _ in range(2)]
        # Answered requests prove the server accepted both (the kernel accepts before it
        # does); keep-alive holds them open.
        for s in held:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
        # The third connection is accepted by the kernel and closed by the server at once.
        third = socket.create_connection((srv.host, srv.port), timeout=5)
        third.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            assert third.recv(100) == b""
        except ConnectionResetError:
            pass
        for s in held:
            s.close()
        time.sleep(0.2)
        assert requests.get(srv.url + "/healthz").status_code == 200
    finally:
        srv.stop_clean()


def test_idle_connection_is_closed_after_timeout(database):
    srv = harness.Server(database.conninfo, env={"MSE_CONNECTION_TIMEOUT": 1})
    try:
        s = socket.create_connection((srv.host, srv.port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\n")  # never finished
        start = time.monotonic()
        try:
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass
        assert time.monotonic() - start < 9
        s.close()
    finally:
        srv.stop_clean()


def test_sigterm_with_fifty_slow_requests_in_flight(database):
    """Every request either completes or is refused; the server exits 0."""
    srv = harness.Server(database.conninfo)
    results = []
    lock = threading.Lock()
    started = threading.Barrier(51)

    def slow_client():
        # A body that trickles in for about a second keeps the request in flight.
        def body():
            started.wait()
            for _ in range(10):
                time.sleep(0.1)
                yield b"0123456789"
        try:
            r = requests.post(srv.url + "/healthz", data=body(), timeout=30)
            outcome = ("response", r.status_code)
        except requests.ConnectionError as e:
            outcome = ("refused", str(e))
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=slow_client) for _ in range(50)]
    for t in threads:
        t.start()
    started.wait()
    time.sleep(0.3)
    srv.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(60)
    rc = srv.wait(60)
    srv.assert_clean_exit(rc)
    assert len(results) == 50
    answered = [r for r in results if r[0] == "response"]
    # Requests already sending when SIGTERM came are finished, not cut off.
    assert len(answered) == 50, results
    assert all(status == 405 for _, status in answered)
    # New clients are refused once shutdown began.
    with pytest.raises(requests.ConnectionError):
        requests.get(srv.url + "/healthz", timeout=5)


def test_readyz_follows_the_database():
    """PostgreSQL stopped → 503 with Retry-After; restarted → ready, same server process."""
    cluster = harness.PgCluster().start()
    try:
        srv = harness.Server(cluster.conninfo)
        try:
            assert requests.get(srv.url + "/readyz").status_code == 200
            cluster.stop()
            r = requests.get(srv.url + "/readyz")
            problem(r, 503)
            assert int(r.headers["Retry-After"]) > 0
            assert requests.get(srv.url + "/healthz").status_code == 200
            cluster.start()
            deadline = time.monotonic() + 30
            while requests.get(srv.url + "/readyz").status_code != 200:
                assert time.monotonic() < deadline, "server did not become ready again"
                time.sleep(0.2)
        finally:
            srv.stop_clean()
    finally:
        cluster.destroy()
