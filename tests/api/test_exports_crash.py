# SPDX-License-Identifier: Apache-2.0
"""An export whose server is killed (SIGKILL) while it writes the file is produced again by
the server that comes back, from the start: it completes with the right content, counts a
second attempt and leaves no staging file. A server stopped with SIGTERM gives its export
back at once. Files a crash left that no export accounts for go at start-up; a producer that
lost its claim to another attempt changes nothing more (docs/export.md)."""
import hashlib
import os
import shutil
import signal
import time
import uuid

from admin_helpers import ok
from api_client import ApiClient
from conftest import BOOTSTRAP_ID, BOOTSTRAP_SECRET, FAST
import harness
from test_exports import BASE, create, fill, wait_state


# For tests only: a pause after each item, so a production is seen while it runs.
DELAY_MS = "500"
SIZE = 4 * 1024 * 1024


def start(database, data_dir=None):
    env = {"MSE_BOOTSTRAP_CLIENT_ID": BOOTSTRAP_ID, "MSE_BOOTSTRAP_CLIENT_SECRET": BOOTSTRAP_SECRET,
           "MSE_SCHEDULER_INTERVAL_MS": FAST["MSE_SCHEDULER_INTERVAL_MS"],
           "MSE_EXPORT_TEST_DELAY_MS": DELAY_MS}
    if data_dir:
        env["MSE_DATA_DIR"] = data_dir
    srv = harness.Server(database.conninfo, env=env)
    anon = ApiClient(srv.url)
    return srv, anon, anon.as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)


def staged(data_dir):
    return [f for f in os.listdir(os.path.join(data_dir, "exports")) if f.endswith(".part")]


def part_size(data_dir, export_id):
    """The size of the export's staging file (any attempt's); None while there is none."""
    for f in staged(data_dir):
        if f.startswith(export_id):
            try:
                return os.stat(os.path.join(data_dir, "exports", f)).st_size
            except FileNotFoundError:
                return None
    return None


def caught_writing(api, data_dir, box, tries=5, timeout=120):
    """An export whose staging file was seen growing while at most two of its messages are in
    it (each message is followed by a pause: more than a second of writing is left)."""
    for _ in range(tries):
        e = create(api, {"mailbox": box})
        seen, deadline = None, time.monotonic() + timeout
        while time.monotonic() < deadline:
            size = part_size(data_dir, e["id"])
            if size is not None and size > 3 * SIZE:
                break  # too far along: another is asked
            if size and seen and size > seen:
                return e
            if size:
                seen = size
            if size is None and ok(api.get(f"{BASE}/{e['id']}"))["state"] in ("completed",
                                                                                "failed"):
                break
            time.sleep(0.005)
    raise AssertionError("no export was ever seen writing its file")


def test_a_killed_producer_s_export_is_produced_again(database):
    srv, anon, api = start(database)
    data_dir = srv.data_dir
    try:
        box = fill(api, anon, 6, SIZE)
        e = caught_writing(api, data_dir, box)
        srv.stop(signal.SIGKILL, timeout=30)
        # Files a crash can leave that no export accounts for: removed at start-up.
        exports_dir = os.path.join(data_dir, "exports")
        orphans = [str(uuid.uuid4()), f"{uuid.uuid4()}.1.part", f"{e['id']}.part"]
        for name in orphans + ["not-an-export"]:
            with open(os.path.join(exports_dir, name), "wb") as f:
                f.write(b"left behind")
        srv, anon, api = start(database, data_dir)
        deadline = time.monotonic() + 120
        while any(os.path.exists(os.path.join(exports_dir, n)) for n in orphans):
            assert time.monotonic() < deadline, os.listdir(exports_dir)
            time.sleep(0.05)
        assert os.path.exists(os.path.join(exports_dir, "not-an-export"))
        os.unlink(os.path.join(exports_dir, "not-an-export"))
        done = wait_state(api, e)
        assert done["state"] == "completed" and done["attempts"] == 2, done
        assert done["items"] == 6 and done["skipped"] == 0
        r = api.get(done["content_url"])
        assert hashlib.sha256(r.content).hexdigest() == done["sha256"]
        assert staged(data_dir) == []
        # SIGTERM while one runs: given back (queued, the attempt not counted), then finished.
        e = caught_writing(api, data_dir, box)
        srv.stop_clean()
        left = database.query("SELECT state, attempts FROM exports WHERE id = %s", e["id"])[0]
        assert tuple(left) == ("queued", 0)
        assert staged(data_dir) == []
        srv, anon, api = start(database, data_dir)
        assert wait_state(api, e)["state"] == "completed"
        lost_claim(api, database, data_dir, box)
    finally:
        srv.stop(signal.SIGTERM, timeout=60)
        shutil.rmtree(data_dir, ignore_errors=True)


def lost_claim(api, database, data_dir, box):
    """A producer whose claim was taken over (as when another server recovered the export
    after this one's session ended, and claimed it again: one attempt more) changes nothing
    more: its export is not completed by it, another attempt's staging file stays, and the
    export is produced again from the start. The bytes written so far show while it runs."""
    e = caught_writing(api, data_dir, box)
    deadline = time.monotonic() + 120
    while ok(api.get(f"{BASE}/{e['id']}"))["bytes"] in (None, 0):
        assert time.monotonic() < deadline, "no bytes were ever recorded while running"
        time.sleep(0.05)
    mine = database.scalar("SELECT attempts FROM exports WHERE id = %s", e["id"])
    other = os.path.join(data_dir, "exports", f"{e['id']}.{mine + 1}.part")
    with open(other, "wb") as f:
        f.write(b"another attempt's")
    taken = database.query("UPDATE exports SET attempts = attempts + 1 WHERE id = %s"
                           " AND state = 'running' RETURNING attempts", e["id"])
    assert taken, "the export completed before its claim could be taken over"
    mine_part = os.path.join(data_dir, "exports", f"{e['id']}.{mine}.part")
    deadline = time.monotonic() + 120
    while os.path.exists(mine_part):
        assert time.monotonic() < deadline, os.listdir(os.path.join(data_dir, "exports"))
        time.sleep(0.05)
    row = database.query("SELECT state, attempts FROM exports WHERE id = %s", e["id"])[0]
    assert row[0] != "completed" or row[1] > mine + 1, row
    # Its lock let go, the export is recovered (that attempt's staging file removed with it)
    # and produced by a third attempt.
    done = wait_state(api, e)
    assert done["state"] == "completed" and done["attempts"] == mine + 2, done
    assert done["bytes"] == len(api.get(done["content_url"]).content)
    assert staged(data_dir) == []
