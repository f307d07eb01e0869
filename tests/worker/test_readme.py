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


def session_pids(sid):
    """Live processes of session sid: what the session left running."""
    out = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:
            out.append(int(entry))
    return out


def test_using_the_api_works_as_written(api, server, sim):
    from conftest import BOOTSTRAP_ID, BOOTSTRAP_SECRET
    script = readme_example()
    workdir = tempfile.mkdtemp(prefix="mse-readme-")
    tmpdir = tempfile.mkdtemp(prefix="mse-readme-tmp-")
    # The block starts the worker from the checkout's build/; point it at this build.
    script = script.replace("build/worker/mse-worker", harness.binary("mse-worker"))
    env = {**os.environ, **harness.sanitizer_env(), "BASE": server.url,
           "EWS_URL": f"{sim.url}/EWS/Exchange.asmx", "CLIENT_ID": BOOTSTRAP_ID,
           "CLIENT_SECRET": BOOTSTRAP_SECRET, "TMPDIR": tmpdir}
    # Run as written: the block itself must stop what it started (its worker exits 0 on
    # SIGTERM, and a sanitizer report would make that exit status, and so the block, fail).
    proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script],
                            cwd=workdir, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail("the README session did not finish (did it leave its worker running?):\n"
                    + out)
    left = session_pids(proc.pid)
    if left:
        os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, out
    assert not left, "the README session left processes running"
    # Nothing stays behind: no log in the directory it ran in, none in the temporary one.
    assert os.listdir(workdir) == [] and os.listdir(tmpdir) == [], out
    # What the session did is visible through the API.
    tasks = ok(api.get("/api/v1/exchange-tasks"))["items"]
    task = next(t for t in tasks if t["name"] == "Engineering mailboxes")
    assert task["health"] == "ok" and task["sequence"] > 0, task
    assert '"status":"scheduled"' in out.replace(" ", "") or "scheduled" in out
    assert "farid.haddad@contoso.example" in out
