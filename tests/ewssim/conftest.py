# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the ews-sim tests: a simulator over the test organisation per module."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import simlib  # noqa: E402


@pytest.fixture(scope="module")
def sim():
    s = simlib.EwsSim(fixture=os.path.join(simlib.FIXTURES, "org.json"))
    yield s
    s.stop_clean()


@pytest.fixture
def fresh(sim):
    """The module's simulator, reset to the fixture and without fault rules, for one test."""
    sim.control("POST", "/reset", expect=200)
    sim.control("DELETE", "/faults", expect=200)
    yield sim
    sim.control("DELETE", "/faults", expect=200)
