# SPDX-License-Identifier: Apache-2.0
"""`make run`, started for real and stopped every way an administrator stops it: Ctrl-C (SIGINT
to the process group), SIGTERM to make, to the process group and to the script. Each way must
stop everything the run started: PostgreSQL, ews-sim, mse-server and the demo worker. The
demo's sync task archives its mailboxes' content, which the archive search then finds.

The run uses this build's binaries (MSE_RUN_BIN) and a state directory of its own
(MSE_RUN_VAR), so a developer's ./.var is never touched.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import hashlib
import time

import pytest
import requests

from e2e import harness


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_pids(sid):
    """Every live process of session sid (make run starts a session of its own)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:  # state, ppid, pgrp, session
            out.append(int(entry))
    return out


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def postmaster_pid(var):
    try:
        with open(os.path.join(var, "pg", "data", "postmaster.pid"), encoding="utf-8") as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="module")
def var():
    d = tempfile.mkdtemp(prefix="mse-run-")
    os.chmod(d, 0o755)  # as root, the postgres user must reach the cluster directory
    yield d
    if postmaster_pid(d):
        subprocess.run([harness.PG_SCRIPT, "stop", os.path.join(d, "pg")], check=False)
    shutil.rmtree(d, ignore_errors=True)


def start_make_run(var):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MSE_", "EWS_SIM_")) or k in ("MSE_SOURCE_DIR", "MSE_BUILD_DIR")}
    env.update(harness.sanitizer_env())
    env.update(MSE_RUN_BIN=harness.BUILD_DIR, MSE_RUN_VAR=var,
               MSE_LISTEN=f"127.0.0.1:{free_port()}",
               EWS_SIM_LISTEN=f"127.0.0.1:{free_port()}",
               MSE_DEMO_LDAP_LISTEN=f"127.0.0.1:{free_port()}")
    return subprocess.Popen(["make", "--no-print-directory", "-C", harness.SOURCE_DIR, "run"],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_until_running(proc):
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("API reference:"):
            return lines
    pytest.fail("make run ended before it was running:\n" + "".join(lines))


def script_pid(sid):
    return next(p for p in session_pids(sid) if "scripts/run.sh" in cmdline(p))


def banner_value(lines, label):
    """A value of the banner: the first word after the label at the start of a line."""
    for line in lines:
        words = line.split()
        if words[:1] == [label]:
            return words[1]
    raise AssertionError(f"no {label} in the banner:\n" + "".join(lines))


def test_the_demo_sync_task_archives_its_mailboxes_content(var):
    """First in the module: the demo is seeded by this run, with the sim where it listens."""
    proc = start_make_run(var)
    try:
        lines = wait_until_running(proc)
        base = banner_value(lines, "mse-server")
        auth = (banner_value(lines, "client_id"), banner_value(lines, "client_secret"))
        s = requests.Session()
        r = s.post(f"{base}/api/v1/oauth/token", auth=auth,
                   data={"grant_type": "client_credentials"}, timeout=30)
        assert r.status_code == 200, r.text
        s.headers["Authorization"] = "Bearer " + r.json()["access_token"]
        tasks = s.get(f"{base}/api/v1/sync-tasks", timeout=30).json()["items"]
        [task] = [t for t in tasks if t["name"].startswith("Demo: Sync & Recover")]
        assert task["group"]["kind"] == "mailbox_list" and task["enabled"] is True
        # The sync task runs beside the demo's Exchange tasks (mailbox locks): generous time.
        deadline = time.monotonic() + 300
        while True:
            hits = s.get(f"{base}/api/v1/archive/search", timeout=30, params={
                "q": "numbers", "mailbox": "anna.schmidt@contoso.example"}).json()["items"]
            hits = [h for h in hits if h["source"] == "mailbox"]
            if hits or time.monotonic() > deadline:
                break
            time.sleep(1)
        now = s.get(f"{base}/api/v1/sync-tasks/{task['id']}", timeout=30).json()
        log = open(os.path.join(var, "log", "worker.log"), encoding="utf-8").read()[-3000:]
        assert hits, f"nothing archived for anna.schmidt is searchable: {now}\n{log}"
        content = s.get(base + hits[0]["message"]["content_url"], timeout=30)
        assert content.status_code == 200
        assert hashlib.sha256(content.content).hexdigest() == hits[0]["message"]["sha256"]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()


@pytest.mark.parametrize("how", ["sigint_group", "sigterm_make", "sigterm_group",
                                 "sigterm_script"])
def test_every_way_of_stopping_make_run_stops_everything(var, how):
    proc = start_make_run(var)
    try:
        lines = wait_until_running(proc)
        pg = postmaster_pid(var)
        assert pg and alive(pg), "make run did not start its PostgreSQL"
        # The worker is started in the background just before the banner: wait for it.
        deadline = time.monotonic() + 30
        while True:
            names = " ".join(cmdline(p) for p in session_pids(proc.pid))
            missing = [b for b in ("ews-sim", "mse-server", "mse-worker") if b not in names]
            if not missing or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert not missing, f"{missing} not running: {names}"
        if how == "sigint_group":
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        elif how == "sigterm_make":
            os.kill(proc.pid, signal.SIGTERM)
        elif how == "sigterm_group":
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            os.kill(script_pid(proc.pid), signal.SIGTERM)
        rest, _ = proc.communicate(timeout=120)
        out = "".join(lines) + rest
        assert "run: stopped" in out, out
        # Everything the run started, PostgreSQL included, is gone once make has returned.
        deadline = time.monotonic() + 30
        while (session_pids(proc.pid) or alive(pg)) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = [cmdline(p) for p in session_pids(proc.pid)]
        assert not left, f"still running after {how}: {left}\n{out}"
        assert not alive(pg), f"PostgreSQL (pid {pg}) still running after {how}\n{out}"
        assert postmaster_pid(var) is None, f"PostgreSQL did not shut down after {how}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()

