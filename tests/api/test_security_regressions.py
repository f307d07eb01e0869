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
