# SPDX-License-Identifier: Apache-2.0
"""Shared pytest fixtures: a fresh database and a running mse-server per test module.

Every HTTP response any test receives from an mse-server started by the harness is checked
against api-spec/openapi.yaml (tests/lib/openapi_check.py), whichever client sent the
request, and the operation it exercised is recorded for the coverage check.
"""
import os
import sys

import pytest
import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import harness  # noqa: E402
import openapi_check  # noqa: E402
from api_client import ApiClient  # noqa: E402

BOOTSTRAP_ID = "test-admin"
BOOTSTRAP_SECRET = "test-admin-secret-0123456789"
SPEC_PATH = os.path.join(harness.SOURCE_DIR, "api-spec", "openapi.yaml")
COVERAGE_DIR = os.environ.get("MSE_API_COVERAGE_DIR")

_spec = openapi_check.Spec(SPEC_PATH)
_coverage = openapi_check.Coverage(COVERAGE_DIR)
_original_send = requests.Session.send


def _checked_send(self, request, **kw):
    resp = _original_send(self, request, **kw)
    if harness.is_server_url(request.url):
        body = request.body if isinstance(request.body, (bytes, str)) else None
        op = _spec.check(request.method, request.url, resp.status_code, resp.headers,
                         resp.content.decode("utf-8", "replace"), request.headers, body)
        _coverage.record(op, resp.status_code)
    return resp


requests.Session.send = _checked_send


def pytest_sessionfinish(session, exitstatus):
    """Tells the coverage check which test files this run covered."""
    if not COVERAGE_DIR:
        return
    files = sorted({os.path.basename(str(item.fspath)) for item in session.items})
    os.makedirs(COVERAGE_DIR, exist_ok=True)
    with open(os.path.join(COVERAGE_DIR, f"ran-{os.getpid()}.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(files) + "\n")


@pytest.fixture(scope="session")
def spec():
    return _spec


@pytest.fixture(scope="module")
def database():
    db = harness.Database()
    yield db
    db.drop()


# Short leases, so that expiry can be tested: heartbeats every 2 s, leases of 6 s.
FAST = {"MSE_HEARTBEAT_SECONDS": 2, "MSE_SCHEDULER_INTERVAL_MS": 200}


def admin_server(database, env=None):
    """mse-server on the module's database with the bootstrap admin, env on top; a module
    that needs other settings defines its `server` fixture as `yield from admin_server(…)`."""
    srv = harness.Server(database.conninfo, env={"MSE_BOOTSTRAP_CLIENT_ID": BOOTSTRAP_ID,
                                                 "MSE_BOOTSTRAP_CLIENT_SECRET": BOOTSTRAP_SECRET,
                                                 **(env or {})})
    yield srv
    srv.stop_clean()


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database)


@pytest.fixture(scope="module")
def anon(server):
    """A client of the module's server without credentials."""
    return ApiClient(server.url)


@pytest.fixture(scope="module")
def api(anon):
    """A client of the module's server holding the bootstrap admin's token."""
    return anon.as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
