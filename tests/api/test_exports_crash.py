# SPDX-License-Identifier: Apache-2.0
"""An export whose server is killed (SIGKILL) while it writes the file is produced again by
the server that comes back, from the start: it completes with the right content, counts a
second attempt and leaves no staging file. A server stopped with SIGTERM gives its export
back at once (docs/export.md)."""
import hashlib
import os
import shutil
import signal
import time

from admin_helpers import ok
from api_client import ApiClient
from conftest import BOOTSTRAP_ID, BOOTSTRAP_SECRET, FAST
import harness
from test_exports import BASE, create, fill, wait_state


def start(database, data_dir=None):
    env = {"MSE_BOOTSTRAP_CLIENT_ID": BOOTSTRAP_ID, "MSE_BOOTSTRAP_CLIENT_SECRET": BOOTSTRAP_SECRET,
           "MSE_SCHEDULER_INTERVAL_MS": FAST["MSE_SCHEDULER_INTERVAL_MS"]}
    if data_dir:
        env["MSE_DATA_DIR"] = data_dir
    srv = harness.Server(database.conninfo, env=env)
    anon = ApiClient(srv.url)
    return srv, anon, anon.as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)


def caught_running(api, box, tries=20):
    """An export seen running (a small one may complete first: then another is asked)."""
    for _ in range(tries):
        e = create(api, {"mailbox": box})
        while True:
            e = ok(api.get(f"{BASE}/{e['id']}"))
            if e["state"] != "queued":
                break
            time.sleep(0.01)
        if e["state"] == "running":
            return e
    raise AssertionError("no export was ever seen running")


def staged(data_dir):
    return [f for f in os.listdir(os.path.join(data_dir, "exports")) if f.endswith(".part")]


def test_a_killed_producer_s_export_is_produced_again(database):
    srv, anon, api = start(database)
    data_dir = srv.data_dir
    try:
        box = fill(api, anon, 6, 4 * 1024 * 1024)
        e = caught_running(api, box)
        srv.stop(signal.SIGKILL, timeout=30)
        srv, anon, api = start(database, data_dir)
        done = wait_state(api, e)
        assert done["state"] == "completed" and done["attempts"] == 2, done
        assert done["items"] == 6 and done["skipped"] == 0
        r = api.get(done["content_url"])
        assert hashlib.sha256(r.content).hexdigest() == done["sha256"]
        assert staged(data_dir) == []
        # SIGTERM while one runs: given back (queued, the attempt not counted), then finished.
        e = caught_running(api, box)
        srv.stop_clean()
        left = database.query("SELECT state, attempts FROM exports WHERE id = %s", e["id"])[0]
        assert tuple(left) == ("queued", 0)
        assert staged(data_dir) == []
        srv, anon, api = start(database, data_dir)
        assert wait_state(api, e)["state"] == "completed"
    finally:
        srv.stop(signal.SIGTERM, timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)
