# SPDX-License-Identifier: Apache-2.0
"""The Graph backend against EWS on the same simulated organisation: one mailbox replicated
once through EWS and once through Microsoft Graph gives the same replica, on the first pass
and after changes (creations, edits, read flags, moves, deletions, folder changes); a wrong
app secret fails the pass with a reason naming it, and no secret reaches the logs. A site's
worker whose backend is graph serves Mailbox Folder Replication tasks through the server, and
says where the administrator looks what it cannot do through Graph.
"""
import os
import tempfile

import pytest

import e2e
import simlib
from admin_helpers import make_definition, make_site, make_task, ok
from conftest import FAST, admin_server
from test_service import assert_archive_equals, run_and_wait, start_worker, wait_ended

ALICE = "alice@example.com"
TENANT = "0b9d7c3e-1f2a-4b5c-8d6e-7f8091a2b3c4"
APP = "7d1e2f3a-4b5c-4d6e-9f70-81a2b3c4d5e6"
SECRET = "Wkr~Graph.Secret_42"


@pytest.fixture(scope="module")
def sim():
    s = simlib.EwsSim(fixture=os.path.join(simlib.FIXTURES, "org.json"),
                      env={"EWS_SIM_GRAPH_APPS": f"{TENANT}:{APP}:{SECRET}"})
    yield s
    s.stop_clean()


@pytest.fixture
def fresh(sim):
    sim.control("POST", "/reset", expect=200)
    yield sim


def graph_env(sim, secret=SECRET):
    return {"MSE_WORKER_BACKEND": "graph", "MSE_WORKER_GRAPH_URL": sim.url,
            "MSE_WORKER_GRAPH_LOGIN_URL": sim.url, "MSE_WORKER_GRAPH_TENANT": TENANT,
            "MSE_WORKER_GRAPH_CLIENT_ID": APP, "MSE_WORKER_GRAPH_CLIENT_SECRET": secret}


class Pair:
    """One mailbox replicated twice, side by side: through EWS and through Graph."""

    def __init__(self, sim, tmp):
        self.sim = sim
        self.replicas = {"ews": e2e.Replica(), "graph": e2e.Replica()}
        self.states = {k: os.path.join(tmp, f"{k}.state") for k in self.replicas}

    def run(self, backend, **kw):
        env = graph_env(self.sim) if backend == "graph" else {}
        run = e2e.run_worker(self.sim, ALICE, state=self.states[backend], env=env, **kw)
        assert run.returncode == 0 and run.outcome["health"] == "healthy", run.log
        self.replicas[backend].apply_run(run)
        return run

    def sync_both(self):
        runs = {k: self.run(k) for k in self.replicas}
        assert_same_replica(self.replicas["ews"], self.replicas["graph"])
        e2e.assert_replica_equals(self.replicas["graph"], self.sim.export(ALICE))
        return runs


def assert_same_replica(ews, graph):
    """Every folder and message record, ids included, is the same.

    Change keys are left out: an EWS ReadFlagChange carries no new ChangeKey, so the EWS
    replica keeps the one before a read flag changed, where Graph's delta sends the whole
    message (archive_compare.py does not compare them either).
    """
    def items(r):
        return {i: {k: v for k, v in rec.items() if k != "change_key"}
                for i, rec in r.items.items()}
    assert graph.folders == ews.folders
    assert items(graph) == items(ews)
    assert not graph.appointments and not ews.appointments


@pytest.fixture
def pair(fresh):
    with tempfile.TemporaryDirectory() as tmp:
        yield Pair(fresh, tmp)


def test_first_pass_through_graph_equals_ews(pair):
    runs = pair.sync_both()
    assert runs["graph"].outcome["items"] == runs["ews"].outcome["items"] > 0
    assert pair.replicas["graph"].checkpoints["hierarchy"]  # delta links are the checkpoints
    # Graph needs no GetItem round: the delta pages carry every field.
    assert runs["graph"].outcome["ews_requests"] < runs["ews"].outcome["ews_requests"]


def test_incremental_passes_with_changes_moves_and_deletes_stay_equal(pair):
    sim = pair.sim
    pair.sync_both()
    items = {i["subject"]: i["item_id"] for i in sim.get(f"/mailboxes/{ALICE}/items")["items"]}
    made = sim.control("POST", f"/mailboxes/{ALICE}/folders", expect=201,
                       json={"parent_path": "/Inbox", "name": "From Graph"}).json()
    sim.control("POST", f"/mailboxes/{ALICE}/items", expect=201,
                json={"type": "message", "subject": "brand new", "folder": "/Inbox/From Graph"})
    sim.control("POST", f"/mailboxes/{ALICE}/items", expect=201,
                json={"type": "message", "subject": "another"})
    sim.control("PATCH", f"/mailboxes/{ALICE}/items/{items['Lunch?']}",
                json={"subject": "Lunch at noon"}, expect=200)
    sim.control("PATCH", f"/mailboxes/{ALICE}/items/{items['Quarterly report']}",
                json={"is_read": True}, expect=200)
    sim.control("PATCH", f"/mailboxes/{ALICE}/items/{items['Private matter']}",
                json={"folder": "/Inbox/Projects"}, expect=200)
    deleted = next(s for s in items if s not in ("Lunch?", "Quarterly report", "Private matter"))
    sim.control("DELETE", f"/mailboxes/{ALICE}/items/{items[deleted]}", expect=200)
    runs = pair.sync_both()
    # Graph does not tell a creation from a change, so a private message moved in is also
    # sent as a removal the replica does not hold: the counts may differ, the replicas not.
    assert runs["graph"].outcome["deletes"] >= runs["ews"].outcome["deletes"] >= 1

    folders = {f["path"]: f["folder_id"] for f in sim.get(f"/mailboxes/{ALICE}/folders")["items"]}
    sim.control("PATCH", f"/mailboxes/{ALICE}/folders/{made['folder_id']}",
                json={"display_name": "Renamed"}, expect=200)
    sim.control("DELETE", f"/mailboxes/{ALICE}/folders/{folders['/Inbox/Projects']}", expect=200)
    pair.sync_both()
    # Nothing changed: both backends store nothing new.
    quiet = pair.sync_both()
    assert quiet["graph"].outcome["batches"] == quiet["ews"].outcome["batches"] == 0


def test_a_refused_delta_link_starts_the_folders_over(pair):
    pair.sync_both()
    pair.sim.control("POST", f"/mailboxes/{ALICE}/invalidate-sync-state", expect=200)
    runs = {k: e2e.run_worker(pair.sim, ALICE, state=pair.states[k],
                              env=graph_env(pair.sim) if k == "graph" else {})
            for k in ("ews", "graph")}
    for k, run in runs.items():
        assert run.returncode == 0 and run.outcome["reason"] == "sync_state_reset", run.log
        pair.replicas[k].apply_run(run)
    assert_same_replica(pair.replicas["ews"], pair.replicas["graph"])


def test_a_wrong_app_secret_fails_with_the_cause_and_no_secret_is_logged(fresh):
    with tempfile.TemporaryDirectory() as tmp:
        wrong = "Not.The~Secret_9"
        run = e2e.run_worker(fresh, ALICE, state=os.path.join(tmp, "s"),
                             env=graph_env(fresh, wrong))
        assert run.returncode == 1 and run.batches == []
        assert run.outcome["health"] == "error"
        assert run.outcome["reason"] == "graph_auth_failed"
        assert "invalid_client" in run.outcome["text"]
        assert "AADSTS7000215" in run.outcome["text"] and APP in run.outcome["text"]
        assert wrong not in run.log and wrong not in str(run.outcome)

        ok = e2e.run_worker(fresh, ALICE, state=os.path.join(tmp, "t"), env=dict(
            graph_env(fresh), MSE_WORKER_LOG_LEVEL="debug"))
        assert ok.returncode == 0 and SECRET not in ok.log
        assert "simgraph." not in ok.log  # nor the access token


def test_graph_backend_refuses_what_it_cannot_do_yet(fresh):
    run = e2e.run_worker(fresh, ALICE, kind=e2e.CAL, env=graph_env(fresh), check=False)
    assert run.returncode != 0 and "calendar_replication needs backend ews" in run.log


def test_graph_429s_are_waited_out_per_app(fresh):
    """Two passes of one app at once over an app limit of one request: Graph answers 429 with
    Retry-After, the worker waits it out, both replicas are complete."""
    import concurrent.futures
    sim = fresh
    sim.control("PUT", "/realism", json={"latency_ms": 100, "max_concurrency": 1,
                                          "busy_backoff_ms": 100}, expect=200)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            def one(address):
                return address, e2e.run_worker(sim, address, state=os.path.join(tmp, address),
                                               env=graph_env(sim))
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                runs = dict(pool.map(one, [ALICE, "bob@example.com"]))
        throttled = 0
        for address, run in runs.items():
            assert run.returncode == 0 and run.outcome["health"] == "healthy", run.log
            replica = e2e.Replica()
            replica.apply_run(run)
            e2e.assert_replica_equals(replica, sim.export(address))
            throttled += run.outcome["ews_throttled"]
        accounts = {a["account"]: a for a in sim.get("/realism")["accounts"]}
        assert accounts[f"graph:{APP}"]["throttled"] == throttled > 0
    finally:
        sim.control("PUT", "/realism", json={"latency_ms": 0, "max_concurrency": 0}, expect=200)


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, FAST)


def _mailboxes(api, task, execution):
    return {m["address"]: m for m in ok(api.get(
        f"/api/v1/exchange-tasks/{task['id']}/executions/{execution['id']}/mailboxes"))["items"]}


def test_a_sites_worker_replicates_through_graph(api, database, server, fresh):
    """The service mode with backend = graph: a task's archive equals the sim's export, first
    and after changes, with no EWS request for its mailboxes. What Graph cannot do is refused
    where the administrator looks, never ok: created before the worker said it reads through
    Graph, a calendar task and a distribution group fail at their run; created after, they are
    refused at once."""
    sim = fresh
    site = make_site(api)
    boxes = [ALICE, "bob@example.com"]
    task = make_task(api, site=site, group={"kind": "mailbox_list", "value": ";".join(boxes)})
    cal_def = make_definition(api, "calendar_replication")
    calendar = make_task(api, site=site, definition=cal_def,
                         group={"kind": "mailbox", "value": ALICE})
    team = make_task(api, site=site, group={"kind": "group_email", "value": "team@example.com"})
    worker = start_worker(server, sim, site, **graph_env(sim))
    try:
        assert run_and_wait(api, task)["result"] == "ok"
        for m in boxes:
            assert assert_archive_equals(database, sim, m, e2e.MFR) > 0
        msgs = [m for m in sim.get(f"/mailboxes/{ALICE}/items?folder=/Inbox")["items"]
                if m["type"] == "message"]
        sim.control("PATCH", f"/mailboxes/{ALICE}/items/{msgs[0]['item_id']}", expect=200,
                    json={"subject": "changed through Graph"})
        sim.control("DELETE", f"/mailboxes/{ALICE}/items/{msgs[1]['item_id']}", expect=200)
        assert run_and_wait(api, task)["result"] == "ok"
        assert_archive_equals(database, sim, ALICE, e2e.MFR)
        for m in boxes:  # every read went through Graph
            ews = sim.get(f"/mailboxes/{m}/counters")["requests"]
            assert ews["SyncFolderItems"] == ews["SyncFolderHierarchy"] == 0, ews
        workers = ok(api.get(f"/api/v1/sites/{site['id']}"))["workers"]
        assert [w["backend"] for w in workers] == ["graph"], workers

        e = run_and_wait(api, calendar)
        assert e["result"] != "ok", e
        mb = _mailboxes(api, calendar, e)[ALICE]
        assert mb["state"] == "error" and mb["reason_code"] == "unsupported_task_type", mb
        assert "Microsoft Graph" in mb["reason_text"], mb
        e = run_and_wait(api, team)
        assert e["result"] != "ok", e
        assert "does not expand distribution groups" in str(e), e

        r = api.post("/api/v1/exchange-tasks", json={
            "name": "calendar through graph", "site_id": site["id"],
            "type": "calendar_replication", "definition_id": cal_def["id"],
            "schedule_id": calendar["schedule_id"], "group": {"kind": "mailbox", "value": ALICE}})
        assert r.status_code == 422 and "Microsoft Graph" in r.text, r.text
    finally:
        rc = worker.stop()
    worker.assert_clean_exit(rc)
    assert SECRET not in worker.output()


def test_kill_9_of_a_graph_worker_loses_and_doubles_nothing(api, database, server, fresh):
    """A graph worker dies part-way through a task of four mailboxes (Graph answering slowly);
    a new one resumes from the delta links the server holds: the archive equals the export,
    nothing is doubled, the sequence counts every applied submission once."""
    import signal
    import time
    sim = fresh
    site = make_site(api)
    boxes = [m["address"] for m in sim.get("/mailboxes")["items"]]
    task = make_task(api, site=site, group={"kind": "mailbox_list", "value": ";".join(boxes)})
    sim.control("PUT", "/realism", json={"latency_ms": 150}, expect=200)
    try:
        first = start_worker(server, sim, site, **graph_env(sim))
        x = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
        deadline = time.monotonic() + 120
        while ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))["sequence"] < 3:
            assert time.monotonic() < deadline, "no submissions arrived"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        sim.control("PUT", "/realism", json={"latency_ms": 0}, expect=200)
    second = start_worker(server, sim, site, **graph_env(sim))
    try:
        e = wait_ended(api, task, x, timeout=180)
        # The kill cost a lease expiry and a claim; a starved machine may lapse another.
        assert e["result"] == "ok" and e["lease_expiries"] >= 1, e
        assert e["claims"] == e["lease_expiries"] + 1, e
        for m in boxes:
            assert_archive_equals(database, sim, m, e2e.MFR)
        dupes = database.query("SELECT i.mailbox, i.internet_message_id, count(*) "
                               "FROM archive_items i "
                               "JOIN archive_partitions p ON p.id = i.partition_id "
                               "WHERE p.task_id = %s AND i.deleted_at IS NULL "
                               "GROUP BY i.mailbox, i.internet_message_id HAVING count(*) > 1",
                               task["id"])
        assert dupes == []
        seq = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))["sequence"]
        applied = database.scalar("SELECT count(*) FROM applied_batches WHERE task_id = %s",
                                  task["id"])
        assert seq == applied == e["submissions"]
    finally:
        rc = second.stop()
    second.assert_clean_exit(rc)


def test_a_wrong_app_secret_is_a_clear_error_on_the_task(api, database, server, fresh):
    """A revoked or mistyped app secret on a site's graph worker: the task's mailboxes end in
    error with the identity platform's reason, the execution is not ok, no secret is logged."""
    sim = fresh
    site = make_site(api)
    task = make_task(api, site=site, group={"kind": "mailbox", "value": ALICE})
    wrong = "Wrong~Secret_7"
    worker = start_worker(server, sim, site, **graph_env(sim, secret=wrong))
    try:
        e = run_and_wait(api, task)
        assert e["result"] != "ok", e
        mb = _mailboxes(api, task, e)[ALICE]
        assert mb["state"] == "error" and mb["reason_code"] == "graph_auth_failed", mb
        assert "AADSTS" in mb["reason_text"], mb
    finally:
        rc = worker.stop()
    worker.assert_clean_exit(rc)
    assert wrong not in worker.output() and SECRET not in worker.output()
