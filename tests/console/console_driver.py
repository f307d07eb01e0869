# SPDX-License-Identifier: Apache-2.0
"""Runs a scenario of drive.mjs (the console in Debian's Chromium through puppeteer-core) and
returns its findings; checks the axe-core results and the browser's console errors."""
import json
import os
import shutil
import subprocess

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTEFACTS = os.path.join(harness.BUILD_DIR, "console-artefacts")


def drive(scenario, server, idle=(), **values):
    """Runs the scenario with values as MSE_CONSOLE_* variables; returns its findings. The
    clients in idle sat unused while the browser ran, possibly past the server's idle timeout:
    their pooled connections are dropped, so the next request opens a new one instead of
    racing the server's close of the old one."""
    os.makedirs(ARTEFACTS, exist_ok=True)
    env = dict(os.environ, MSE_CONSOLE_URL=server.url, MSE_CONSOLE_ARTEFACTS=ARTEFACTS,
               MSE_CONSOLE_CHROMIUM=CHROMIUM,
               **{f"MSE_CONSOLE_{k.upper()}": str(v) for k, v in values.items()})
    r = subprocess.run(["node", os.path.join(HERE, "drive.mjs"), scenario], env=env,
                       capture_output=True, text=True, timeout=240, cwd=harness.SOURCE_DIR)
    for client in idle:
        client.session.close()
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert "error" not in out, out["error"] + "\n" + r.stderr
    return out


def assert_accessible(out, refusals=("403", "422")):
    """No serious or critical axe-core violation on any page visited; the browser logged no
    error but the refusals the scenario provokes on purpose (by default: the probe by which
    the console learns a client is read-only, 403, and validation errors, 422)."""
    for name, page in out["pages"].items():
        assert page["axe"] == [], f"{name}: {page['axe']}"
    assert all(any(code in e for code in refusals) for e in out["console_errors"]), out["console_errors"]
