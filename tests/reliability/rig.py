# SPDX-License-Identifier: Apache-2.0
"""The reliability suite's test rig: a PostgreSQL cluster of its own (the suite stops it), an
mse-server that can be killed and started again on the same port, service-mode workers, and
ews-sim with a generated mailbox; plus the checks every run ends with.

Sizes: `MSE_RELIABILITY_SCALE=soak` (make soak) runs the full trial (5,000 items, 20 kills);
otherwise a size that fits in make test.
"""
import os
import random
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "worker"))

import harness  # noqa: E402
from admin_helpers import make_definition, make_site, make_task, ok  # noqa: E402
from api_client import ApiClient  # noqa: E402
from conftest import BOOTSTRAP_ID, BOOTSTRAP_SECRET  # noqa: E402
from e2e import MFR, simlib, worker_env  # noqa: E402
from test_service import assert_archive_equals  # noqa: E402

SOAK = os.environ.get("MSE_RELIABILITY_SCALE") == "soak"
# Items of the mailbox the trial replicates, and kill -9 points of the worker.
ITEMS = 5000 if SOAK else 600
KILLS = 20 if SOAK else 3
OUTAGE_S = 20
# Heartbeats every 2 s, leases of 6 s: an outage of 20 s is far longer than a lease.
SERVER_ENV = {"MSE_HEARTBEAT_SECONDS": 2, "MSE_SCHEDULER_INTERVAL_MS": 200,
              "MSE_BOOTSTRAP_CLIENT_ID": BOOTSTRAP_ID,
              "MSE_BOOTSTRAP_CLIENT_SECRET": BOOTSTRAP_SECRET}
RNG = random.Random(int(os.environ.get("MSE_RELIABILITY_SEED", "24")))


def wait_until(cond, timeout, what, step=0.1):
    deadline = time.monotonic() + timeout
    while not (value := cond()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(step)
    return value


class Rig:
    """Everything one trial needs; stop() ends every process it started."""

    def __init__(self, folders=5):
        self.pg = harness.PgCluster().start()
        self.db = harness.Database(self.pg.conninfo)
        self.server = None
        self.port = 0
        self.start_server()
        per_folder = max(1, ITEMS // folders)
        self.sim = simlib.EwsSim(generate=f"mailboxes=1,folders={folders},items={per_folder},"
                                          "appointments=0,attachment_bytes=512,groups=0",
                                 env={"EWS_SIM_THREADS": "4"})
        self.mailbox = self.sim.get("/mailboxes")["items"][0]["address"]
        self.api = ApiClient(self.server.url).as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        self.site = make_site(self.api)
        self.task = make_task(self.api, site=self.site, definition=make_definition(self.api),
                              group={"kind": "mailbox_list", "value": self.mailbox})
        self.workers = []

    # ---- processes ----
    def start_server(self):
        env = dict(SERVER_ENV)
        if self.port:
            env["MSE_LISTEN"] = f"127.0.0.1:{self.port}"  # the workers know this address
        self.server = harness.Server(self.db.conninfo, env=env)
        self.port = self.server.port

    def kill_server(self):
        self.server.stop(signal.SIGKILL, timeout=30)

    def start_worker(self, slots=2):
        env = worker_env(self.sim, MSE_WORKER_SERVER_URL=self.server.url,
                         MSE_WORKER_SITE_CLIENT_ID=self.site["credentials"]["client_id"],
                         MSE_WORKER_SITE_CLIENT_SECRET=self.site["credentials"]["client_secret"],
                         MSE_WORKER_SLOTS=slots, MSE_WORKER_EWS_TIMEOUT=60)
        env = {k: v for k, v in env.items() if k.startswith("MSE_WORKER_")}
        w = harness.Process([harness.binary("mse-worker")], env, r"serving its site",
                            "mse-worker")
        self.workers.append(w)
        return w

    def kill_worker(self, w):
        w.stop(signal.SIGKILL, timeout=30)
        assert not w.sanitizer_reports(), w.output()

    def slow_exchange(self, delay_ms):
        """Every EWS request of the mailbox answered after delay_ms (a slow Exchange)."""
        self.sim.control("POST", "/faults", expect=201, json={
            "kind": "delay", "mailbox": self.mailbox, "delay_ms": delay_ms})

    def stop(self):
        for w in self.workers:
            if w.proc.poll() is None:
                rc = w.stop(signal.SIGTERM, timeout=60)
                w.assert_clean_exit(rc)
        self.sim.control("DELETE", "/faults")
        self.sim.stop_clean()
        if self.server.proc.poll() is None:
            self.server.stop_clean()
        self.pg.destroy()

    # ---- what the trial watches ----
    def run(self):
        return ok(self.api.post(f"/api/v1/exchange-tasks/{self.task['id']}/run"), 202)

    def execution(self, x):
        return ok(self.api.get(f"/api/v1/exchange-tasks/{self.task['id']}/executions/{x['id']}"))

    def sequence(self):
        """The task's sequence, read from PostgreSQL (the server may be down)."""
        return self.db.scalar("SELECT sequence FROM exchange_tasks WHERE id = %s",
                              self.task["id"])

    def wait_for_submissions(self, n, timeout=300):
        return wait_until(lambda: self.sequence() >= n, timeout, f"{n} applied submissions")

    def wait_for_end(self, x, timeout=900):
        return wait_until(lambda: (e := self.execution(x))["state"] not in
                          ("queued", "running", "waiting") and e, timeout,
                          "the execution to end", step=0.5)

    def mailbox_figures(self):
        return ok(self.api.get(f"/api/v1/exchange-tasks/{self.task['id']}/mailboxes"))["items"][0]

    # ---- the checks every trial ends with ----
    def assert_exactly_once(self, e):
        """Archive = the sim's export; sequence = applied batches; no duplicate Message-ID;
        the baseline of a first full pass counts every item once."""
        assert e["result"] == "ok", e
        compared = assert_archive_equals(self.db, self.sim, self.mailbox, MFR)
        assert compared > 0
        applied = self.db.scalar("SELECT count(*) FROM applied_batches WHERE task_id = %s",
                                 self.task["id"])
        assert self.sequence() == applied == e["submissions"], (self.sequence(), applied, e)
        dup = self.db.query("SELECT i.internet_message_id, count(*) FROM archive_items i "
                            "JOIN archive_partitions p ON p.id = i.partition_id "
                            "WHERE p.task_id = %s AND i.mailbox = %s AND i.deleted_at IS NULL "
                            "GROUP BY i.internet_message_id HAVING count(*) > 1",
                            self.task["id"], self.mailbox)
        assert not dup, dup[:5]
        box = self.mailbox_figures()
        assert box["state"] == "healthy", box
        assert box["first_full_sync_at"] and box["first_full_sync_duration_ms"] > 0, box
        # Every item of the first pass counted once across its attempts.
        assert box["first_full_sync_items"] == compared, (box, compared)
        assert box["items_replicated"] == e["items"] == compared, (box, e, compared)
        return box
