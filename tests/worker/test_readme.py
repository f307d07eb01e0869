# SPDX-License-Identifier: Apache-2.0
"""The README's "Using the API" session, run as written against a fresh system (mse-server,
PostgreSQL, ews-sim with the demo organisation): every command must succeed and the task it
creates must end with replicated data. The examples cannot rot."""
import os
import re
import signal
import subprocess
import tempfile

import pytest

from admin_helpers import ok
from e2e import harness, simlib

README = os.path.join(harness.SOURCE_DIR, "README.md")
MARKER = "<!-- readme-example: using-the-api -->"


def readme_example():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    m = re.search(re.escape(MARKER) + r"\s*```sh\n(.*?)```", text, re.S)
    assert m, f"README.md lost its {MARKER} block"
    return m.group(1)


@pytest.fixture(scope="module")
def sim():
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE, env={
        "EWS_SIM_SERVICE_ACCOUNT": "svc-mse@contoso.example:demo-service-password"})
    yield s
    s.stop_clean()


def test_using_the_api_works_as_written(api, server, sim):
    from conftest import BOOTSTRAP_ID, BOOTSTRAP_SECRET
    script = readme_example()
    workdir = tempfile.mkdtemp(prefix="mse-readme-")
    # The block starts the worker from the checkout's build/; point it at this build.
    script = script.replace("build/worker/mse-worker", harness.binary("mse-worker"))
    env = {**os.environ, **harness.sanitizer_env(), "BASE": server.url,
           "EWS_URL": f"{sim.url}/EWS/Exchange.asmx", "CLIENT_ID": BOOTSTRAP_ID,
           "CLIENT_SECRET": BOOTSTRAP_SECRET}
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script + "\nkill -TERM %1\nwait\n"],
                            cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail("the README session did not finish:\n" + out)
    assert proc.returncode == 0, out
    with open(os.path.join(workdir, "branch-office-worker.log"), encoding="utf-8") as f:
        log = f.read()
    for pattern in harness.SANITIZER_PATTERNS:
        assert pattern not in log, log
    # What the session did is visible through the API.
    tasks = ok(api.get("/api/v1/exchange-tasks"))["items"]
    task = next(t for t in tasks if t["name"] == "Engineering mailboxes")
    assert task["health"] == "ok" and task["sequence"] > 0, task
    assert '"status":"scheduled"' in out.replace(" ", "") or "scheduled" in out
    assert "farid.haddad@contoso.example" in out
