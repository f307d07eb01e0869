# SPDX-License-Identifier: Apache-2.0
"""Large content from workers (a message's MIME of 150 MB, attachments): the body is written
to disk as it arrives, after the site client was authenticated, so the server's memory does
not grow with the content; the hash is checked as the store copies it in; the cap is
MSE_MAX_CONTENT_BYTES."""
import hashlib
import os
import time

import socket

import pytest

from admin_helpers import ok, problem
from conftest import FAST, admin_server
from scripted_worker import ScriptedWorker

MIB = 1024 * 1024
CAP = 64 * MIB


@pytest.fixture(scope="module")
def server(database):
    # Scripted workers without heartbeats: a lease a loaded machine cannot outlast.
    yield from admin_server(database, {**FAST, "MSE_MAX_CONTENT_BYTES": CAP,
                                       "MSE_LEASE_SECONDS": 600})


@pytest.fixture(scope="module")
def site(api):
    return ok(api.post("/api/v1/sites", json={"name": f"upload-{os.getpid()}-{time.time_ns()}"}),
              201)


@pytest.fixture(scope="module")
def worker(anon, site):
    return ScriptedWorker(anon, site["credentials"])


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def chunks(total, piece=MIB):
    """total bytes, generated piece by piece (the test holds no copy either)."""
    block = bytes(range(256)) * (piece // 256)
    sent = 0
    while sent < total:
        n = min(piece, total - sent)
        yield block[:n]
        sent += n


def content_file(path, total):
    """A file of total bytes and its SHA-256: requests streams a file from disk."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for c in chunks(total):
            h.update(c)
            f.write(c)
    return h.hexdigest()


def test_content_near_the_cap_costs_the_server_no_memory_of_its_size(server, worker, tmp_path):
    size = CAP - MIB  # the largest this server takes
    sha = content_file(tmp_path / "big", size)
    before = peak_rss_kib(server.proc.pid)
    with open(tmp_path / "big", "rb") as f:
        r = worker.api.put(f"/api/v1/worker/attachments/{sha}", data=f,
                           headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 201, r.text
    assert r.json() == {"sha256": sha, "size": size, "created": True}
    grown_kib = peak_rss_kib(server.proc.pid) - before
    # Held in memory it would have grown by the content's size at least.
    assert grown_kib * 1024 < size / 4, (grown_kib, size)
    with open(os.path.join(server.data_dir, "blobs", sha[:2], sha), "rb") as f:
        h = hashlib.sha256()
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    assert h.hexdigest() == sha
    assert worker.api.get(f"/api/v1/worker/attachments/{sha}").status_code == 200


def test_content_that_is_not_what_its_path_names_is_refused_and_not_stored(server, worker):
    data = os.urandom(3 * MIB)
    wrong = hashlib.sha256(b"something else").hexdigest()
    r = worker.put_content(wrong, data)
    problem(r, 422)
    assert "SHA-256" in r.json()["detail"]
    assert not os.path.exists(os.path.join(server.data_dir, "blobs", wrong[:2], wrong))
    assert worker.api.get(f"/api/v1/worker/attachments/{wrong}").status_code == 404


def head_only(server, length, token=None):
    """Sends a PUT's headers announcing length bytes and no body; the status line answered."""
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    host, port = server.url.split("//", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall((f"PUT /api/v1/worker/attachments/{'1' * 64} HTTP/1.1\r\n"
                      f"Host: {host}\r\nContent-Type: application/octet-stream\r\n"
                      f"Content-Length: {length}\r\n{auth}\r\n").encode())
        return sock.recv(4096).decode(errors="replace")  # a timeout here fails the test


def test_content_over_the_cap_gets_413_at_once(server, worker):
    head = head_only(server, CAP + MIB, worker.api.token)
    assert head.startswith("HTTP/1.1 413"), head
    assert str(CAP) in head


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_an_unauthenticated_upload_is_refused_before_its_body_is_sent(server, token):
    """Headers announcing 32 MiB, and not a byte of body: the answer comes at once. A server
    that read the body before authenticating would wait for it (and a stranger could fill its
    disk)."""
    head = head_only(server, 32 * MIB, token)
    assert head.startswith("HTTP/1.1 401"), head
