# SPDX-License-Identifier: Apache-2.0
"""Shared pytest fixtures: a fresh database and a running mse-server per test module."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))

import harness  # noqa: E402


@pytest.fixture(scope="module")
def database():
    db = harness.Database()
    yield db
    db.drop()


@pytest.fixture(scope="module")
def server(database):
    srv = harness.Server(database.conninfo)
    yield srv
    srv.stop_clean()
