# SPDX-License-Identifier: Apache-2.0
"""Schedules: types and rules, next runs in the schedule's time zone across both European DST
changes of 2026, recomputation of their tasks' next_run_at, deletion rules."""
import datetime
import zoneinfo

import pytest

from admin_helpers import (audit_events, fields, make_schedule, make_task, ok, problem,
                           snapshot, unique)

SPRING = "2026-03-27T12:00:00Z"  # two days before Europe's clocks go forward (03-29)
AUTUMN = "2026-10-23T12:00:00Z"  # two days before they go back (10-25)


def runs(api, schedule, start, count=5):
    r = api.get(f"/api/v1/schedules/{schedule['id']}", params={"from": start, "count": count})
    return ok(r)["next_runs"]


def utc(local, tz):
    """A local wall-clock time that exists exactly once, as RFC 3339 UTC (Python's zoneinfo)."""
    t = datetime.datetime.fromisoformat(local).replace(tzinfo=zoneinfo.ZoneInfo(tz))
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_daily_once_across_spring_forward(api):
    s = make_schedule(api, timezone="Europe/Berlin", start_time="02:30")
    assert runs(api, s, SPRING) == [
        utc("2026-03-28T02:30", "Europe/Berlin"),
        # 02:30 does not exist on 03-29: read with the offset before the gap = 03:30 CEST.
        "2026-03-29T01:30:00Z",
        utc("2026-03-30T02:30", "Europe/Berlin"),
        utc("2026-03-31T02:30", "Europe/Berlin"),
        utc("2026-04-01T02:30", "Europe/Berlin"),
    ]


def test_daily_once_across_fall_back(api):
    s = make_schedule(api, timezone="Europe/Berlin", start_time="02:30")
    assert runs(api, s, AUTUMN, 4) == [
        utc("2026-10-24T02:30", "Europe/Berlin"),
        # 02:30 happens twice on 10-25: once, at the first (CEST) occurrence.
        "2026-10-25T00:30:00Z",
        utc("2026-10-26T02:30", "Europe/Berlin"),
        utc("2026-10-27T02:30", "Europe/Berlin"),
    ]
    assert runs(api, s, "2026-10-25T00:30:00Z", 1) == [utc("2026-10-26T02:30", "Europe/Berlin")]


def test_daily_many_across_both_changes(api):
    s = make_schedule(api, timezone="Europe/Berlin", mode="many", start_time="01:00",
                      end_time="04:00", interval_minutes=30)
    # Spring: 02:00 and 02:30 fall in the gap and land on 03:00/03:30 CEST, which run once.
    assert runs(api, s, "2026-03-28T23:30:00Z", 6) == [
        "2026-03-29T00:00:00Z", "2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z",
        "2026-03-29T01:30:00Z", "2026-03-29T02:00:00Z", utc("2026-03-30T01:00", "Europe/Berlin")]
    # Autumn: 02:00 and 02:30 run at their first occurrence; the repeated hour runs once.
    assert runs(api, s, "2026-10-24T22:00:00Z", 8) == [
        "2026-10-24T23:00:00Z", "2026-10-24T23:30:00Z", "2026-10-25T00:00:00Z",
        "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z",
        "2026-10-25T03:00:00Z", utc("2026-10-26T01:00", "Europe/Berlin")]


def test_weekly_on_the_sundays_the_clocks_change(api):
    s = make_schedule(api, type="weekly", timezone="Europe/London", start_time="01:30",
                      days_of_week=["sunday", "wednesday"])
    assert s["days_of_week"] == ["wednesday", "sunday"]  # week order
    assert runs(api, s, SPRING, 3) == [
        "2026-03-29T01:30:00Z",  # 01:30 GMT does not exist: 02:30 BST
        utc("2026-04-01T01:30", "Europe/London"),
        utc("2026-04-05T01:30", "Europe/London"),
    ]
    assert runs(api, s, AUTUMN, 2) == ["2026-10-25T00:30:00Z",  # first 01:30 (BST)
                                      utc("2026-10-28T01:30", "Europe/London")]


def test_each_type_and_its_representation(api):
    one = make_schedule(api, type="one_off", mode=None, start_time=None,
                        run_at="2099-12-24T18:00:00+01:00", timezone="America/New_York")
    assert one["run_at"] == "2099-12-24T17:00:00Z" and one["next_runs"] == [one["run_at"]]
    assert one["mode"] is None and one["start_time"] is None and one["days_of_week"] is None
    many = make_schedule(api, timezone="UTC", mode="many", start_time="08:00", end_time="17:00",
                         interval_minutes=60)
    assert (many["end_time"], many["interval_minutes"]) == ("17:00", 60)
    assert len(many["next_runs"]) == 5 and many["next_runs"] == sorted(many["next_runs"])
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert all(t > now for t in many["next_runs"])
    assert all(t[11:16] in {f"{h:02}:00" for h in range(8, 18)} for t in many["next_runs"])
    got = api.get(f"/api/v1/schedules/{many['id']}", params={"count": 100})
    assert len(ok(got)["next_runs"]) == 100 and got.headers["ETag"] == '"1"'


@pytest.mark.parametrize("tz", ["+01:00", "UTC+1", "CET-1CEST", "/etc/localtime", "../../etc",
                                "Europe/Nowhere", "localtime", "Europe//Berlin", "x" * 65])
def test_timezones_must_come_from_the_tz_database(api, database, tz):
    before = snapshot(database)
    problem(api.post("/api/v1/schedules", json={"name": unique("s"), "timezone": tz,
                                                "type": "daily", "mode": "once",
                                                "start_time": "01:00"}), 422, "timezone")
    assert snapshot(database) == before


def test_every_rule_is_reported_at_once(api, database):
    before = snapshot(database)
    r = api.post("/api/v1/schedules", json={"name": unique("s"), "timezone": "Europe/Paris",
                                            "type": "daily", "mode": "many", "start_time": "10:00",
                                            "end_time": "09:00", "run_at": "2099-01-01T00:00:00Z",
                                            "days_of_week": ["monday"]})
    problem(r, 422)
    assert fields(r) == ["days_of_week", "end_time", "interval_minutes", "run_at"]
    r = api.post("/api/v1/schedules", json={"type": "weekly", "timezone": "UTC", "mode": "once",
                                            "start_time": "25:00", "interval_minutes": 0,
                                            "days_of_week": ["monday", "monday", "funday"]})
    problem(r, 422)
    assert fields(r) == ["days_of_week", "days_of_week", "interval_minutes", "name",
                         "start_time"]
    r = api.post("/api/v1/schedules", json={"name": unique("s"), "timezone": "UTC",
                                            "type": "one_off", "run_at": "2001-01-01T00:00:00Z",
                                            "start_time": "10:00"})
    problem(r, 422)
    assert fields(r) == ["run_at", "start_time"]
    problem(api.post("/api/v1/schedules", json={"name": "x", "timezone": "UTC", "type": "daily",
                                                "mode": "once", "start_time": "10:00",
                                                "days_of_week": []}), 422, "days_of_week")
    problem(api.post("/api/v1/schedules", json={"name": "x", "timezone": "UTC",
                                                "type": "one_off", "run_at": "tomorrow"}), 422,
            "run_at")
    assert snapshot(database) == before


def test_names_are_unique(api):
    s = make_schedule(api)
    problem(api.post("/api/v1/schedules", json={"name": s["name"].upper(), "timezone": "UTC",
                                                "type": "daily", "mode": "once",
                                                "start_time": "01:00"}), 409)


def test_patch_merges_and_recomputes_next_run_of_tasks(api, database):
    s = make_schedule(api, timezone="Europe/Berlin", start_time="02:30")
    task = make_task(api, schedule=s)
    assert task["next_run_at"] == s["next_runs"][0]
    path = f"/api/v1/schedules/{s['id']}"
    r = api.patch(path, json={"start_time": "05:15"}, headers={"If-Match": '"1"'})
    changed = ok(r)
    assert r.headers["ETag"] == '"2"' and changed["start_time"] == "05:15"
    got = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))
    assert got["next_run_at"] == changed["next_runs"][0]
    assert got["next_run_at"][11:16] in ("04:15", "03:15")  # 05:15 CET or CEST
    # The task's ETag reflects what an administrator set; next_run_at is derived.
    assert api.get(f"/api/v1/exchange-tasks/{task['id']}").headers["ETag"] == '"1"'
    # daily → weekly keeps the daily fields and needs days; many needs its window.
    problem(api.patch(path, json={"type": "weekly"}), 422, "days_of_week")
    problem(api.patch(path, json={"mode": "many"}), 422, "end_time")
    weekly = ok(api.patch(path, json={"type": "weekly", "days_of_week": ["friday"]}))
    assert (weekly["mode"], weekly["start_time"]) == ("once", "05:15")
    # → one_off drops every recurring field.
    one = ok(api.patch(path, json={"type": "one_off", "run_at": "2099-06-01T08:00:00Z"}))
    assert one["start_time"] is None and one["mode"] is None and one["days_of_week"] is None
    got = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))
    assert got["next_run_at"] == "2099-06-01T08:00:00Z"
    problem(api.patch(path, json={"start_time": "01:00"}), 422, "start_time")
    problem(api.patch(path, json={"type": "daily"}), 422, "mode")
    problem(api.patch(path, json={"type": "daily", "mode": "once"}), 422, "start_time")
    again = ok(api.patch(path, json={"type": "daily", "mode": "once", "start_time": "07:00"}))
    assert again["run_at"] is None
    problem(api.patch(path, json={"start_time": "07:00"}, headers={"If-Match": '"2"'}), 412)
    events = audit_events(api, resource_id=s["id"], action="schedule.update")
    assert events[0]["after"]["start_time"] == "07:00" and events[0]["before"]["type"] == "one_off"


def test_disabled_tasks_have_no_next_run(api):
    s = make_schedule(api)
    task = make_task(api, schedule=s, enabled=False)
    assert task["next_run_at"] is None and task["status"] == "disabled"
    ok(api.patch(f"/api/v1/schedules/{s['id']}", json={"start_time": "06:00"}))
    assert ok(api.get(f"/api/v1/exchange-tasks/{task['id']}"))["next_run_at"] is None


def test_delete_refused_while_referenced(api, database):
    s = make_schedule(api)
    task = make_task(api, schedule=s)
    before = snapshot(database)
    problem(api.delete(f"/api/v1/schedules/{s['id']}"), 409)
    assert snapshot(database) == before
    assert api.delete(f"/api/v1/exchange-tasks/{task['id']}").status_code == 204
    assert api.delete(f"/api/v1/schedules/{s['id']}").status_code == 204
    problem(api.get(f"/api/v1/schedules/{s['id']}"), 404)
    # The deleted task keeps its row; its schedule reference is cleared with the schedule.
    assert database.scalar("SELECT schedule_id FROM exchange_tasks WHERE id = %s",
                           task["id"]) is None


def test_read_parameters_are_checked(api):
    s = make_schedule(api)
    path = f"/api/v1/schedules/{s['id']}"
    problem(api.get(path, params={"count": 0}), 400, "count")
    problem(api.get(path, params={"count": 101}), 400, "count")
    problem(api.get(path, params={"from": "yesterday"}), 400, "from")
    problem(api.get(path, params={"to": "2026-01-01T00:00:00Z"}), 400, "to")
    page = ok(api.get("/api/v1/schedules", params={"limit": 1}))
    assert len(page["items"]) == 1 and page["next_cursor"]
    problem(api.get("/api/v1/schedules", params={"cursor": page["next_cursor"][::-1]}), 400,
            "cursor")


def test_preview_shows_the_runs_a_schedule_would_have_and_stores_nothing(api, database):
    before = snapshot(database)
    body = {"timezone": "Europe/Berlin", "type": "daily", "mode": "once", "start_time": "02:30"}
    r = api.post("/api/v1/schedules/preview", json={**body, "from": SPRING, "count": 3})
    # The same runs as a stored schedule's, across the spring gap, in the schedule's zone.
    assert ok(r) == {"next_runs": [utc("2026-03-28T02:30", "Europe/Berlin"),
                                   "2026-03-29T01:30:00Z",
                                   utc("2026-03-30T02:30", "Europe/Berlin")]}
    assert snapshot(database) == before
    stored = make_schedule(api, **body)
    before = snapshot(database)
    preview = api.post("/api/v1/schedules/preview",
                       json={**body, "name": "unsaved", "from": SPRING, "count": 3})
    assert ok(preview)["next_runs"] == runs(api, stored, SPRING, 3)
    assert snapshot(database) == before


def test_preview_reports_what_a_creation_would(api):
    r = api.post("/api/v1/schedules/preview", json={"timezone": "UTC", "type": "daily",
                                                    "mode": "many", "start_time": "25:00"})
    problem(r, 422)
    assert fields(r) == ["end_time", "interval_minutes", "start_time"]
    problem(api.post("/api/v1/schedules/preview", json={"type": "daily", "timezone": "Mars/Olympus",
                                                        "mode": "once", "start_time": "01:00"}),
            422, "timezone")
    r = api.post("/api/v1/schedules/preview", json={"type": "daily", "timezone": "UTC",
                                                    "mode": "once", "start_time": "01:00",
                                                    "count": 0, "from": "soon", "id": "x"})
    problem(r, 422)
    assert fields(r) == ["count", "from", "id"]
