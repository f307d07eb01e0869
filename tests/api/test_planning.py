# SPDX-License-Identifier: Apache-2.0
"""Throughput planning (issue 18, seed 004; docs/planning.md): baselines on the task and its
mailboxes, whether one execution of the group fits its schedule's interval (with the warning
and the gauges), and POST /api/v1/planning/estimate, measured or from seed 004's defaults.

Passes are reported by scripted workers with durations of minutes, so that the time the test
itself takes between mailboxes (the overhead the baselines add) is none: wall time is shorter
than the reported passes."""
import datetime
import re

import pytest

from admin_helpers import make_definition, make_schedule, make_site, make_task, ok, problem
from conftest import FAST, admin_server
from scripted_worker import ScriptedWorker, folder, folder_batch, hierarchy_batch, message

MIN = 60000
EST = "/api/v1/planning/estimate"


@pytest.fixture(scope="module")
def server(database):
    # Scripted workers without heartbeats: a lease a loaded machine cannot outlast.
    yield from admin_server(database, {**FAST, "MSE_LEASE_SECONDS": 600})


def quiet_schedule(api, interval_minutes):
    """Every interval_minutes, but only on the day three days from now: no run falls due while
    the test runs, and the interval one execution has is still interval_minutes."""
    day = (datetime.date.today() + datetime.timedelta(days=3)).strftime("%A").lower()
    return make_schedule(api, type="weekly", days_of_week=[day], mode="many", start_time="00:00",
                         end_time="23:00", interval_minutes=interval_minutes)


def execute(api, anon, site, task, passes):
    """One execution of task over passes {address: (items, duration_ms, full_sync)}."""
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    if not w.execution["membership_known"]:
        ok(w.membership(list(passes)))
    for mb, (items, ms, full) in passes.items():
        ok(w.lock(mb))
        if full:
            ok(w.submit(hierarchy_batch(mb, None, "H1", [folder("F1", "Inbox")])))
            msgs = [message(f"{mb}-{i}", "F1") for i in range(items)]
            ok(w.submit(folder_batch(mb, "F1", None, "S1", msgs)))
        assert w.finish(mb, items=items, full_sync=full, duration_ms=ms).status_code == 204
    return ok(w.complete())


def group_task(api, site, addresses, type_="mailbox_folder_replication", definition=None,
               schedule=None):
    return make_task(api, site=site, schedule=schedule,
                     definition=definition or make_definition(api, type_),
                     group={"kind": "mailbox_list", "value": ";".join(addresses)})


def task_doc(api, task):
    return ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))


def gauges(anon, name, task):
    text = anon.get("/metrics").text
    return re.findall(rf'^{name}{{task_id="{task["id"]}"[^}}]*}} (\S+)$', text, re.M)


def test_baselines_on_the_task_its_mailboxes_and_the_planner(api, anon):
    site = make_site(api)
    boxes = ["small@example.com", "medium@example.com", "large@example.com"]
    task = group_task(api, site, boxes)
    before = task_doc(api, task)
    assert before["baseline"]["incremental"]["passes"] == 0
    assert before["baseline"]["execution_estimate_ms"] is None and before["fit"]["fits"] is None

    # First passes: 10, 20, 30 items in 1, 2, 3 minutes; then two incremental executions.
    execute(api, anon, site, task, {b: (10 * (i + 1), (i + 1) * MIN, True)
                                    for i, b in enumerate(boxes)})
    execute(api, anon, site, task, {b: (0, (i + 1) * 6000, False) for i, b in enumerate(boxes)})
    execute(api, anon, site, task, {b: (1, (i + 1) * 6600, False) for i, b in enumerate(boxes)})

    doc = task_doc(api, task)
    base = doc["baseline"]
    assert base["group_mailboxes"] == 3
    assert base["first_full_pass"] == {"mailboxes": 3, "median_ms": 2 * MIN,
                                       "p95_ms": round(2.9 * MIN), "average_items": 20}
    inc = base["incremental"]
    assert inc["passes"] == 6 and inc["median_items"] in (0, 1)  # 0.5, rounded
    # Durations 6000, 6600, 12000, 13200, 18000, 19800: the median between the middle two.
    assert inc["median_ms"] == 12600 and inc["p95_ms"] == round(18000 + 0.75 * 1800)
    assert base["overhead_per_mailbox_ms"] == 0  # reported passes outlast the wall time
    # Each member's own median: 6300 + 12600 + 18900.
    assert base["execution_estimate_ms"] == 37800
    # Daily once: a day; 37.8 s fits.
    assert doc["fit"] == {"interval_minutes": 1440, "execution_estimate_ms": 37800, "fits": True,
                          "tasks_needed": 1, "parallel_needed": 1, "warning": None}
    assert doc["max_parallel_mailboxes"] == 1

    listing = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/mailboxes"))["items"]
    large = next(m for m in listing if m["address"] == "large@example.com")
    assert large["baseline"]["incremental_passes"] == 2
    assert large["baseline"]["incremental_median_ms"] == 18900
    assert large["baseline"]["incremental_p95_ms"] == round(18000 + 0.95 * 1800)
    assert large["baseline"]["archive_bytes"] >= 0

    # The planner's fit over those passes: first passes lie on 6 s per item exactly.
    est = ok(api.post(EST, json={"type": "mailbox_folder_replication",
                                 "group": {"task_id": task["id"]}, "interval_minutes": 1440}))
    assert est["group"] == {"task_id": task["id"], "mailboxes": 3, "average_items": 20}
    first = est["first_pass"]
    assert first["basis"] == "measured" and first["measurements"] == 3 and first["note"] is None
    assert abs(first["ms_per_item"] - 6000) < 1e-6 and abs(first["intercept_ms"]) < 1
    assert first["standard_error_ms"] == 0 and abs(first["r2"] - 1) < 1e-9
    assert est["incremental"]["basis"] == "measured" and est["basis"] == "measured"
    assert est["incremental"]["standard_error_ms"] > 0
    # Fitted values sum to the measured ones: the group's first execution is 6 minutes.
    assert abs(est["first_execution_ms"] - 6 * MIN) <= 1
    assert abs(est["execution_ms"] - 37800) <= 1
    assert est["tasks_needed"] == 1 and est["sites_needed"] == 1 and est["fits"]
    assert est["tasks"] == [{"task": 1, "mailboxes": 3, "start_offset_minutes": 0,
                             "execution_ms": est["execution_ms"],
                             "first_execution_ms": est["first_execution_ms"]}]

    # The same organisation, a bigger group every 10 minutes.
    big = ok(api.post(EST, json={"type": "mailbox_folder_replication", "interval_minutes": 10,
                                 "group": {"mailboxes": 100, "average_items": 20}}))
    per_box = big["execution_ms"] / 100
    assert abs(per_box - 12600) <= 1
    # 47 mailboxes fit 10 minutes: 3 tasks, 34, 33 and 33 mailboxes.
    assert big["mailboxes_per_task"] == 34
    assert big["tasks_needed"] == len(big["tasks"]) == 3
    assert sum(t["mailboxes"] for t in big["tasks"]) == 100
    assert [t["start_offset_minutes"] for t in big["tasks"]] == [0, 3, 6]
    assert all(t["execution_ms"] <= 10 * MIN for t in big["tasks"])


def test_a_group_that_cannot_fit_its_interval_warns(api, anon):
    site = make_site(api)
    boxes = [f"slow{i}@example.com" for i in range(3)]
    every10 = quiet_schedule(api, 10)
    definition = make_definition(api, "mailbox_storage_management",
                                 {"action": "attachment_stub", "older_than_days": 90})
    task = group_task(api, site, boxes, definition=definition, schedule=every10)
    # 7 minutes a mailbox after the first pass: 21 minutes for the group, every 10 wanted.
    execute(api, anon, site, task, {b: (0, 9 * MIN, False) for b in boxes})
    execute(api, anon, site, task, {b: (0, 7 * MIN, False) for b in boxes})
    execute(api, anon, site, task, {b: (0, 7 * MIN, False) for b in boxes})
    fit = task_doc(api, task)["fit"]
    assert fit["interval_minutes"] == 10 and fit["fits"] is False
    assert fit["execution_estimate_ms"] == 21 * MIN and fit["tasks_needed"] == 3
    assert "longer than the schedule's interval of 10 minutes" in fit["warning"]
    assert "split the group into 3 tasks" in fit["warning"]
    assert fit["parallel_needed"] == 3 and "max_parallel_mailboxes to 3" in fit["warning"]

    assert gauges(anon, "mse_task_fits", task) == ["0"]
    assert gauges(anon, "mse_task_tasks_needed", task) == ["3"]
    assert gauges(anon, "mse_task_execution_estimate_seconds", task) == ["1260"]
    assert gauges(anon, "mse_task_interval_seconds", task) == ["600"]
    text = anon.get("/metrics").text
    assert int(re.search(r"^mse_tasks_not_fitting (\d+)$", text, re.M).group(1)) >= 1

    # Three mailboxes at once: the same task fits (the next execution claims with it).
    ok(api.patch(f"/api/v1/exchange-tasks/{task['id']}", json={"max_parallel_mailboxes": 3}))
    fit = task_doc(api, task)["fit"]
    assert fit["fits"] is True and fit["execution_estimate_ms"] == 7 * MIN
    assert task_doc(api, task)["baseline"]["execution_estimate_ms"] == 21 * MIN
    ok(api.patch(f"/api/v1/exchange-tasks/{task['id']}", json={"max_parallel_mailboxes": 1}))

    # Once a day, the same group fits.
    daily = make_schedule(api)
    ok(api.patch(f"/api/v1/exchange-tasks/{task['id']}", json={"schedule_id": daily["id"]}))
    fit = task_doc(api, task)["fit"]
    assert fit["fits"] is True and fit["warning"] is None and fit["tasks_needed"] == 1
    assert gauges(anon, "mse_task_fits", task) == ["1"]


@pytest.mark.parametrize("schedule,minutes", [
    ({}, 1440),
    ({"mode": "many", "start_time": "06:00", "end_time": "20:00", "interval_minutes": 90}, 90),
    ({"type": "weekly", "days_of_week": ["monday", "thursday"]}, 3 * 1440),
    ({"type": "weekly", "days_of_week": ["sunday"]}, 7 * 1440),
    ({"type": "weekly", "days_of_week": ["monday"], "mode": "many", "start_time": "01:00",
      "end_time": "02:00", "interval_minutes": 15}, 15),
    ({"type": "one_off", "run_at": "2099-01-01T00:00:00Z", "mode": None, "start_time": None},
     None),
])
def test_the_interval_one_execution_has(api, schedule, minutes):
    task = make_task(api, schedule=make_schedule(api, **schedule))
    assert task_doc(api, task)["fit"]["interval_minutes"] == minutes


def test_too_few_measurements_fall_back_to_seed_004(api):
    """No managed-folders pass is measured: seed 004's 10,000 items → 20 min, then 2 min."""
    est = ok(api.post(EST, json={"type": "managed_folders", "interval_minutes": 1440,
                                 "group": {"mailboxes": 5000, "average_items": 10000}}))
    assert est["basis"] == "default"
    for model in (est["first_pass"], est["incremental"]):
        assert model["basis"] == "default" and model["measurements"] == 0
        assert "too few measurements" in model["note"] and "seed 004" in model["note"]
    # The seed's arithmetic: 5,000 × 2 minutes ≈ 7 days on one task.
    assert est["execution_ms"] == 5000 * 2 * MIN
    assert est["first_execution_ms"] == 5000 * 20 * MIN
    assert est["tasks_needed"] == 7 and est["mailboxes_per_task"] == 715
    assert est["task_execution_ms"] <= 1440 * MIN and est["sites_needed"] == 1
    assert len(est["tasks"]) == 7 and est["tasks"][1]["start_offset_minutes"] == 1440 // 7
    assert "consider starting the tasks at different times" in est["advice"]
    # Hourly with 40 tasks a site: 167 tasks of 30 mailboxes, on 5 sites.
    hourly = ok(api.post(EST, json={"type": "managed_folders", "interval_minutes": 60,
                                    "tasks_per_site": 40,
                                    "group": {"mailboxes": 5000, "average_items": 10000}}))
    assert hourly["mailboxes_per_task"] == 30 and hourly["tasks_needed"] == 167
    assert hourly["sites_needed"] == 5
    # A mailbox longer than the interval: nothing fits.
    never = ok(api.post(EST, json={"type": "managed_folders", "interval_minutes": 1,
                                   "group": {"mailboxes": 2, "average_items": 10000}}))
    assert never["fits"] is False and "no split of the group fits" in never["advice"]


def test_parallel_mailboxes_divide_the_tasks(api):
    body = {"type": "managed_folders", "interval_minutes": 60, "max_parallel_mailboxes": 10,
            "group": {"mailboxes": 5000, "average_items": 10000}}
    est = ok(api.post(EST, json=body))
    # 30 mailboxes an hour a lane, 10 lanes: 300 a task, 17 tasks (167 one by one).
    assert est["max_parallel_mailboxes"] == 10 and est["mailboxes_per_task"] == 295
    assert est["tasks_needed"] == 17 and est["task_execution_ms"] <= 60 * MIN


def test_max_parallel_mailboxes_is_set_at_creation_and_changed(api):
    task = make_task(api, max_parallel_mailboxes=4)
    assert task["max_parallel_mailboxes"] == 4
    changed = ok(api.patch(f"/api/v1/exchange-tasks/{task['id']}",
                           json={"max_parallel_mailboxes": 2}))
    assert changed["max_parallel_mailboxes"] == 2
    for bad in (0, 17, "2", 1.5):
        problem(api.patch(f"/api/v1/exchange-tasks/{task['id']}",
                          json={"max_parallel_mailboxes": bad}), 422, "max_parallel_mailboxes")
    assert make_task(api)["max_parallel_mailboxes"] == 1


def test_read_only_clients_may_plan(api, anon):
    c = ok(api.post("/api/v1/api-clients", json={"name": "planner-ro", "role": "read_only"}), 201)
    ro = anon.as_client(c["client_id"], c["client_secret"])
    ok(ro.post(EST, json={"type": "calendar_replication", "interval_minutes": 60,
                          "group": {"mailboxes": 1, "average_items": 0}}))
    assert anon.post(EST, json={}).status_code == 401


@pytest.mark.parametrize("body,field", [
    ({"group": {"mailboxes": 1, "average_items": 1}, "interval_minutes": 60}, "type"),
    ({"type": "nope", "group": {"mailboxes": 1, "average_items": 1}, "interval_minutes": 60},
     "type"),
    ({"type": "managed_folders", "interval_minutes": 60}, "group"),
    ({"type": "managed_folders", "group": {}, "interval_minutes": 60}, "group"),
    ({"type": "managed_folders", "group": {"mailboxes": 1}, "interval_minutes": 60},
     "group.average_items"),
    ({"type": "managed_folders", "group": {"mailboxes": 0, "average_items": 1},
      "interval_minutes": 60}, "group.mailboxes"),
    ({"type": "managed_folders", "group": {"mailboxes": 1, "average_items": -1},
      "interval_minutes": 60}, "group.average_items"),
    ({"type": "managed_folders", "group": {"mailboxes": 1, "average_items": 1,
                                           "task_id": "6b0f8c38-8d8f-4a8e-9a57-5d3c2f1e0a11"},
      "interval_minutes": 60}, "group"),
    ({"type": "managed_folders", "group": {"task_id": "6b0f8c38-8d8f-4a8e-9a57-5d3c2f1e0a11"},
      "interval_minutes": 60}, "group.task_id"),
    ({"type": "managed_folders", "group": {"task_id": "x"}, "interval_minutes": 60},
     "group.task_id"),
    ({"type": "managed_folders", "group": {"mailboxes": 1, "average_items": 1},
      "interval_minutes": 0}, "interval_minutes"),
    ({"type": "managed_folders", "group": {"mailboxes": 1, "average_items": 1}}, "interval_minutes"),
    ({"type": "managed_folders", "group": {"mailboxes": 1, "average_items": 1},
      "interval_minutes": 60, "tasks_per_site": 0}, "tasks_per_site"),
    ({"type": "managed_folders", "group": {"mailboxes": 1, "average_items": 1},
      "interval_minutes": 60, "max_parallel_mailboxes": 17}, "max_parallel_mailboxes"),
    ({"type": "managed_folders", "group": {"mailboxes": 1, "average_items": 1, "size": 3},
      "interval_minutes": 60}, "group.size"),
])
def test_bad_input_is_a_problem_naming_the_field(api, body, field):
    problem(api.post(EST, json=body), 422, field)


def test_a_task_of_another_type_or_without_sizes_is_refused(api):
    task = make_task(api)  # never ran: no members, no sizes
    problem(api.post(EST, json={"type": "calendar_replication", "interval_minutes": 60,
                                "group": {"task_id": task["id"]}}), 422, "type")
    problem(api.post(EST, json={"type": "mailbox_folder_replication", "interval_minutes": 60,
                                "group": {"task_id": task["id"]}}), 422, "group.task_id")
