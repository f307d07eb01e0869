# SPDX-License-Identifier: Apache-2.0
"""A sync task whose server connection's secret cannot be opened at claim time
(docs/sync-recover.md, "The claim"): the claim hands out no execution without its secret.
That execution ends failed with connection_secret_unreadable, naming the connection and what
the administrator must do, shown in the task's status; the worker gets the next execution or
204; the secret never appears in the server's log."""
import time

import pytest

from admin_helpers import ok
from api_client import ApiClient
from conftest import BOOTSTRAP_ID, BOOTSTRAP_SECRET, FAST, admin_server
from scripted_worker import ScriptedWorker
from test_sync_content import (BASE, SECRET, executions, mailbox_address, make_connection,
                               make_sync_task, wait_claim)

CODE = "connection_secret_unreadable"


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, {"MSE_SCHEDULER_INTERVAL_MS": FAST[
        "MSE_SCHEDULER_INTERVAL_MS"]})


def queued(database, task_id, timeout=15):
    """Waits until the scheduler has queued the task's first execution."""
    deadline = time.monotonic() + timeout
    while not executions(database, task_id):
        assert time.monotonic() < deadline, "the scheduler never queued the task"
        time.sleep(0.05)


# Damaged ciphertext (its last byte flipped), and another connection's sealed secret (bound to
# that connection's id): neither opens. A secret sealed under another master key: below.
SPOIL = {
    "damaged": "UPDATE server_connections SET secret_sealed = set_byte(secret_sealed,"
               " length(secret_sealed) - 1, get_byte(secret_sealed, length(secret_sealed) - 1)"
               " # 255) WHERE id = %s",
    "sealed_for_another": "UPDATE server_connections SET secret_sealed = (SELECT o.secret_sealed"
                          " FROM server_connections o WHERE o.id = %s) WHERE id = %s",
}


@pytest.mark.parametrize("how", sorted(SPOIL))
def test_an_unreadable_secret_fails_the_execution_not_the_claim(api, anon, database, server,
                                                                 how):
    site, conn = make_connection(api)
    # Its own site: the worker below claims only what this test queued.
    _, other = make_connection(api)
    if how == "damaged":
        database.query(SPOIL[how], conn["id"])
    else:
        database.query(SPOIL[how], other["id"], conn["id"])
    broken = make_sync_task(api, conn, [mailbox_address()])
    queued(database, broken["id"])
    # A healthy task of the same site and connection's site, queued after the broken one.
    _, good_conn = make_connection(api, site)
    good = make_sync_task(api, good_conn, [mailbox_address()])
    queued(database, good["id"])

    w = ScriptedWorker(anon, site["credentials"])
    claim = wait_claim(w)
    # The claim skipped the execution it could not complete and handed out the next one.
    assert claim["task"]["id"] == good["id"]
    assert claim["connection"]["secret"] == SECRET
    r = w.claim()
    assert r.status_code == 204, r.text

    rows = database.query("SELECT state, result, error_code, error_text FROM executions"
                          " WHERE task_id = %s", broken["id"])
    assert len(rows) == 1
    state, result, code, text = rows[0]
    assert (state, result, code) == ("completed", "failed", CODE)
    assert conn["name"] in text and conn["id"] in text and "secret again" in text
    task = ok(api.get(f"{BASE}/{broken['id']}"))
    assert task["status"] == "failed"
    assert CODE in task["latest_detail"] and conn["name"] in task["latest_detail"]
    assert "secret again" in task["latest_detail"]
    # Logged for the operator (repeats of a warning are held back), never with the secret,
    # though the good claim carried it in the clear.
    server.wait_for(f"ended at its claim \\({CODE}\\): the secret of server connection")
    assert SECRET not in server.output()

    # The administrator re-enters the secret: the task's next execution carries it.
    assert w.release().status_code == 204
    ok(api.post(f"{BASE}/{good['id']}/stop"))
    ok(api.patch(f"/api/v1/server-connections/{conn['id']}", json={"secret": SECRET}))
    database.query("UPDATE executions SET finished_at = finished_at - interval '1 day'"
                   " WHERE task_id = %s", broken["id"])
    again = wait_claim(w)
    assert again["task"]["id"] == broken["id"] and again["connection"]["secret"] == SECRET


def test_a_secret_sealed_under_another_master_key(api, database):
    """A second server on the same database with a master key of its own (its data directory's,
    as when the key file was replaced) cannot open what the first sealed: its claim fails the
    execution, names the connection, and answers 204; the secret entered again through it
    opens."""
    site, conn = make_connection(api)
    task = make_sync_task(api, conn, [mailbox_address()])
    queued(database, task["id"])
    other = admin_server(database, {"MSE_SCHEDULER_INTERVAL_MS": FAST[
        "MSE_SCHEDULER_INTERVAL_MS"]})
    srv = next(other)
    try:
        anon2 = ApiClient(srv.url)
        api2 = anon2.as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        w = ScriptedWorker(anon2, site["credentials"])
        r = w.claim()
        assert r.status_code == 204, r.text
        assert database.query("SELECT result, error_code FROM executions WHERE task_id = %s",
                              task["id"]) == [("failed", CODE)]
        shown = ok(api2.get(f"{BASE}/{task['id']}"))
        assert shown["status"] == "failed" and conn["name"] in shown["latest_detail"]
        ok(api2.patch(f"/api/v1/server-connections/{conn['id']}", json={"secret": SECRET}))
        database.query("UPDATE executions SET finished_at = finished_at - interval '1 day'"
                       " WHERE task_id = %s", task["id"])
        again = wait_claim(w)
        assert again["task"]["id"] == task["id"] and again["connection"]["secret"] == SECRET
        assert SECRET not in srv.output()
    finally:
        next(other, None)


def test_a_connection_test_with_an_unreadable_secret_fails_and_the_others_are_served(api, anon,
                                                                                     database):
    """The worker's poll for connection tests leaves out a test whose secret does not open
    and ends it failed, naming the connection; the site's other tests are served."""
    site, broken = make_connection(api)
    _, good = make_connection(api, site)
    database.query(SPOIL["damaged"], broken["id"])
    bad_test = ok(api.post(f"/api/v1/server-connections/{broken['id']}/test"), 202)
    good_test = ok(api.post(f"/api/v1/server-connections/{good['id']}/test"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    served = ok(w.api.get("/api/v1/worker/server-connection-tests"))["tests"]
    assert [(t["id"], t["secret"]) for t in served] == [(good_test["id"], SECRET)]
    done = ok(api.get(f"/api/v1/server-connections/{broken['id']}/tests/{bad_test['id']}"))
    assert done["state"] == "failed" and done["reason_code"] == CODE
    assert broken["name"] in done["detail"] and "secret again" in done["detail"]
    assert ok(api.get(f"/api/v1/server-connections/{broken['id']}"))["last_test"] == done
