# SPDX-License-Identifier: Apache-2.0
"""Retrying a task's failed mailboxes (issue 22, item 11), and the per-mailbox results of past
executions: real HTTP, a scripted worker, PostgreSQL."""
import pytest

from admin_helpers import make_definition, make_site, make_task, ok, problem
from conftest import FAST, admin_server
from scripted_worker import ScriptedWorker

A, B, C = "ret-a@example.com", "ret-b@example.com", "ret-c@example.com"


@pytest.fixture(scope="module")
def server(database):
    # Scripted workers without heartbeats: a lease a loaded machine cannot outlast.
    yield from admin_server(database, {**FAST, "MSE_LEASE_SECONDS": 600})


def first_run(api, anon):
    """A task over A, B, C whose first execution ends with B and C failed."""
    site = make_site(api)
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "mailbox_list", "value": f"{A};{B};{C}"})
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    ok(w.membership([A, B, C]))
    for m, state in ((A, "healthy"), (B, "error"), (C, "error")):
        ok(w.lock(m))
        extra = {"reason_code": "mailbox_not_found", "reason_text": "no such mailbox"} \
            if state == "error" else {}
        ok(w.finish(m, state=state, **extra), 204)
    first = ok(w.complete())
    return site, task, first


def path(task, suffix=""):
    return f"/api/v1/exchange-tasks/{task['id']}{suffix}"


def test_retry_runs_only_the_failed_mailboxes(api, anon):
    site, task, first = first_run(api, anon)
    failed = ok(api.get(path(task, f"/executions/{first['id']}/mailboxes"),
                        params={"state": "error"}))["items"]
    assert [(m["address"], m["reason_code"]) for m in failed] == \
        [(B, "mailbox_not_found"), (C, "mailbox_not_found")]
    every = ok(api.get(path(task, f"/executions/{first['id']}/mailboxes"), params={"limit": 2}))
    assert [m["address"] for m in every["items"]] == [A, B] and every["next_cursor"]
    rest = ok(api.get(path(task, f"/executions/{first['id']}/mailboxes"),
                      params={"cursor": every["next_cursor"]}))
    assert [m["address"] for m in rest["items"]] == [C] and rest["next_cursor"] is None

    retry = ok(api.post(path(task, "/run"), json={"mailboxes": "failed"}), 202)
    assert retry["mailboxes_requested"] is True and retry["retry_of"] == first["id"]
    assert retry["mailboxes"]["total"] == 2 and retry["mailboxes"]["pending"] == 2
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    assert w.execution["id"] == retry["id"] and w.execution["membership_known"] is True
    assert [m["address"] for m in w.execution["mailboxes"]] == [B, C]
    # The mailboxes are given: a membership report changes nothing.
    assert [m["address"] for m in ok(w.membership([A, B, C]))["mailboxes"]] == [B, C]
    for m in (B, C):
        ok(w.lock(m))
        ok(w.finish(m), 204)
    done = ok(w.complete())
    assert done["result"] == "ok"
    # The first execution's results stay as they were; the task's mailboxes are all healthy.
    assert len(ok(api.get(path(task, f"/executions/{first['id']}/mailboxes"),
                          params={"state": "error"}))["items"]) == 2
    states = {m["address"]: m["state"] for m in ok(api.get(path(task, "/mailboxes")))["items"]}
    assert states == {A: "healthy", B: "healthy", C: "healthy"}
    # Nothing failed last time: nothing to retry.
    doc = problem(api.post(path(task, "/run"), json={"mailboxes": "failed"}), 409)
    assert done["id"] in doc["detail"]


def test_retry_of_listed_mailboxes(api, anon):
    site, task, _ = first_run(api, anon)
    doc = problem(api.post(path(task, "/run"), json={"mailboxes": [C, "zed@example.com"]}), 422,
                  "mailboxes[1]")
    assert "zed@example.com" in doc["errors"][0]["message"]
    problem(api.post(path(task, "/run"), json={"mailboxes": ["not an address"]}), 422,
            "mailboxes[0]")
    problem(api.post(path(task, "/run"), json={"mailboxes": []}), 422, "mailboxes")
    problem(api.post(path(task, "/run"), json={"mailboxes": "all"}), 422, "mailboxes")
    problem(api.post(path(task, "/run"), json={"colour": "red"}), 422, "colour")
    # Refused requests queued nothing.
    assert len(ok(api.get(path(task, "/executions")))["items"]) == 1
    retry = ok(api.post(path(task, "/run"), json={"mailboxes": [C.upper(), A, C]}), 202)
    assert retry["mailboxes_requested"] is True and retry["retry_of"] is None
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    assert [m["address"] for m in w.execution["mailboxes"]] == [C, A]
    # One active execution per task, whichever way it was asked for.
    problem(api.post(path(task, "/run"), json={"mailboxes": "failed"}), 409)
    problem(api.post(path(task, "/run")), 409)


def test_retry_needs_a_finished_execution_and_a_known_execution(api, anon):
    task = make_task(api, site=make_site(api), definition=make_definition(api))
    problem(api.post(path(task, "/run"), json={"mailboxes": "failed"}), 409)
    problem(api.get(path(task, "/executions/00000000-0000-4000-8000-000000000000/mailboxes")),
            404)
    problem(api.post("/api/v1/exchange-tasks/00000000-0000-4000-8000-000000000000/run",
                     json={"mailboxes": "failed"}), 404)
