# SPDX-License-Identifier: Apache-2.0
"""Continuity (docs/continuity.md): end users' credentials bound to a mailbox (mailbox_user)
with delegates, continuity events (states from their times, clone, extend, end, If-Match,
audit), and the status a user's client polls (merged windows, ETag / 304, group scopes the
server can and cannot resolve), all over real HTTP against a real PostgreSQL."""
import datetime
import time

import pytest

from admin_helpers import (audit_events, make_definition, make_site, make_task, ok, problem,
                           unique)
from scripted_worker import ScriptedWorker

EVENTS = "/api/v1/continuity-events"
STATUS = "/api/v1/me/continuity"


def iso(delta_seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def address(prefix="user"):
    return f"{unique(prefix)}@example.com"


def new_user(api, mailbox=None, delegates=()):
    body = {"name": unique("end-user"), "role": "mailbox_user",
            "mailbox": mailbox or address(), "delegates": list(delegates)}
    return ok(api.post("/api/v1/api-clients", json=body), 201)


def as_user(anon, user):
    return anon.as_client(user["client_id"], user["client_secret"])


def new_event(api, scope, **kw):
    body = {"name": unique("outage"), "scope": scope, **kw}
    return ok(api.post(EVENTS, json=body), 201)


def mailboxes(*addrs):
    return {"kind": "mailbox_list", "value": ";".join(addrs)}


def wait_until(predicate, timeout=60, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


# ---- the end-user principal ----

def test_mailbox_user_credentials_issue_rotate_revoke(api, anon, server):
    boss = address("boss")
    user = new_user(api, mailbox="Ann." + address("ann").capitalize(), delegates=[boss.upper()])
    assert user["role"] == "mailbox_user" and user["mailbox"] == user["mailbox"].lower()
    assert user["delegates"] == [boss] and user["client_secret"]
    got = ok(api.get(f"/api/v1/api-clients/{user['id']}"))
    assert "client_secret" not in got and got["mailbox"] == user["mailbox"]
    listed = ok(api.get("/api/v1/api-clients", params={"role": "mailbox_user", "limit": 500}))
    assert user["id"] in [c["id"] for c in listed["items"]]
    assert all("client_secret" not in c for c in listed["items"])
    me = as_user(anon, user)
    status = ok(me.get(STATUS))
    assert status["mailbox"] == user["mailbox"]
    assert [m["address"] for m in status["mailboxes"]] == [user["mailbox"], boss]

    # Rotation: a new secret, once; the old secret and the tokens issued with it stop working.
    r = api.post(f"/api/v1/api-clients/{user['id']}/credentials")
    fresh = ok(r)
    assert fresh["client_id"] == user["client_id"] and fresh["client_secret"] != \
        user["client_secret"]
    problem(me.get(STATUS), 401)
    assert anon.post("/api/v1/oauth/token", auth=(user["client_id"], user["client_secret"]),
                     data={"grant_type": "client_credentials"}).status_code == 401
    me = anon.as_client(user["client_id"], fresh["client_secret"])
    ok(me.get(STATUS))
    rotated = audit_events(api, action="api_client.credentials.rotate")
    assert any(e["resource_id"] == user["id"] for e in rotated)
    text = repr(rotated) + server.output()
    assert fresh["client_secret"] not in text and user["client_secret"] not in text

    # Delegates are replaced as a whole; revocation (disable) takes effect at once.
    other = address("other")
    changed = ok(api.patch(f"/api/v1/api-clients/{user['id']}", json={"delegates": [other]}))
    assert changed["delegates"] == [other]
    assert [m["address"] for m in ok(me.get(STATUS))["mailboxes"]] == [user["mailbox"], other]
    ok(api.patch(f"/api/v1/api-clients/{user['id']}", json={"enabled": False}))
    problem(me.get(STATUS), 401)
    ok(api.delete(f"/api/v1/api-clients/{user['id']}"), 204)


def test_mailbox_user_validation(api):
    mine = address()
    bad = [
        ({"role": "mailbox_user"}, "mailbox"),
        ({"role": "mailbox_user", "mailbox": "not an address"}, "mailbox"),
        ({"role": "read_only", "mailbox": mine}, "mailbox"),
        ({"role": "journal", "delegates": []}, "delegates"),
        ({"role": "mailbox_user", "mailbox": mine, "delegates": "x@example.com"}, "delegates"),
        ({"role": "mailbox_user", "mailbox": mine, "delegates": ["nope"]}, "delegates[0]"),
        ({"role": "mailbox_user", "mailbox": mine, "delegates": [mine.upper()]}, "delegates[0]"),
        ({"role": "mailbox_user", "mailbox": mine,
          "delegates": ["a@example.com", "A@example.com"]}, "delegates[1]"),
        ({"role": "mailbox_user", "mailbox": mine,
          "delegates": [f"d{i}@example.com" for i in range(101)]}, "delegates"),
    ]
    for body, field in bad:
        problem(api.post("/api/v1/api-clients", json={"name": unique("u"), **body}), 422, field)
    user = new_user(api)
    problem(api.patch(f"/api/v1/api-clients/{user['id']}", json={"mailbox": mine}), 422,
            "mailbox")
    problem(api.patch(f"/api/v1/api-clients/{user['id']}",
                      json={"delegates": [user["mailbox"]]}), 422, "delegates[0]")
    reader = ok(api.post("/api/v1/api-clients", json={"name": unique("r"), "role": "read_only"}),
                201)
    problem(api.patch(f"/api/v1/api-clients/{reader['id']}", json={"delegates": [mine]}), 422,
            "delegates")
    problem(api.post(f"/api/v1/api-clients/{user['id']}/credentials", json={"x": 1}), 422)
    site = make_site(api)
    site_client = next(c for c in ok(api.get("/api/v1/api-clients",
                                             params={"role": "site", "limit": 500}))["items"]
                       if c["site_id"] == site["id"])
    problem(api.post(f"/api/v1/api-clients/{site_client['id']}/credentials"), 409)
    assert ok(api.get(f"/api/v1/api-clients/{user['id']}"))["delegates"] == []


def test_a_user_cannot_read_another_mailbox_or_any_admin_route(api, anon):
    ann, bob = new_user(api), new_user(api)
    me = as_user(anon, ann)
    for path in (f"/api/v1/mailboxes/{bob['mailbox']}", f"/api/v1/mailboxes/{bob['mailbox']}/items",
                 f"/api/v1/mailboxes/{ann['mailbox']}/items", "/api/v1/archive/search",
                 EVENTS, "/api/v1/api-clients"):
        problem(me.get(path), 403)
    problem(me.post(EVENTS, json={}), 403)
    problem(api.get(STATUS), 403)


# ---- events ----

def test_event_lifecycle_states_and_audit(api, anon):
    target = address()
    event = new_event(api, mailboxes(target.upper(), " " + target), start="now")
    assert event["state"] == "active" and event["end"] is None and event["until"] is None
    assert event["scope"] == {"kind": "mailbox_list", "value": target}
    assert event["scope_resolution"]["state"] == "listed"
    assert event["scope_resolution"]["mailboxes"] == 1
    assert event["expand_distribution_lists"] is False
    path = f"{EVENTS}/{event['id']}"
    etag = api.get(path).headers["ETag"]

    # Extend gives an end; If-Match guards every change.
    end = iso(7200)
    problem(api.post(f"{path}/extend", json={"end": end}, headers={"If-Match": '"999"'}), 412)
    extended = ok(api.post(f"{path}/extend", json={"end": end}, headers={"If-Match": etag}))
    assert extended["end"] == end and extended["until"] == end and extended["state"] == "active"
    problem(api.post(f"{path}/extend", json={"end": iso(3600)}), 422, "end")
    problem(api.post(f"{path}/extend", json={}), 422, "end")
    problem(api.patch(path, json={"start": iso(60)}), 409)
    renamed = ok(api.patch(path, json={"name": "Exchange down", "expand_distribution_lists": True}))
    assert renamed["name"] == "Exchange down" and renamed["expand_distribution_lists"] is True

    ended = ok(api.post(f"{path}/end"))
    assert ended["state"] == "ended" and ended["ended_at"] and ended["until"] == ended["ended_at"]
    assert ended["end"] == end
    problem(api.post(f"{path}/end"), 409)
    problem(api.post(f"{path}/extend", json={"end": iso(9000)}), 409)

    clone = ok(api.post(f"{path}/clone", json={"start": iso(3600), "end": iso(7200)}), 201)
    assert clone["cloned_from"] == event["id"] and clone["state"] == "scheduled"
    assert clone["scope"] == event["scope"] and clone["name"] == "Exchange down"
    assert clone["expand_distribution_lists"] is True
    start = iso(1800)
    moved = ok(api.patch(f"{EVENTS}/{clone['id']}", json={"start": start}))
    assert moved["start"] == start and moved["state"] == "scheduled"
    problem(api.patch(f"{EVENTS}/{clone['id']}", json={"start": iso(9000)}), 422, "start")
    ended_clone = ok(api.post(f"{EVENTS}/{clone['id']}/end"))
    assert ended_clone["state"] == "ended"  # a scheduled event ended never becomes active

    actions = {e["action"] for e in audit_events(api, resource_id=event["id"])}
    assert {"continuity_event.create", "continuity_event.extend", "continuity_event.update",
            "continuity_event.end"} <= actions
    assert audit_events(api, resource_id=clone["id"], action="continuity_event.clone")

    by_state = ok(api.get(EVENTS, params={"state": "ended", "limit": 500}))["items"]
    assert {event["id"], clone["id"]} <= {e["id"] for e in by_state}
    problem(api.get(EVENTS, params={"state": "later"}), 400, "state")
    reader = ok(api.post("/api/v1/api-clients", json={"name": unique("r"), "role": "read_only"}),
                201)
    ro = anon.as_client(reader["client_id"], reader["client_secret"])
    assert ok(ro.get(path))["id"] == event["id"]
    problem(ro.post(f"{path}/clone"), 403)


def test_event_validation_names_the_field(api, database):
    before = database.scalar("SELECT count(*) FROM continuity_events")
    bad = [
        ({"scope": {"kind": "all"}}, "name"),
        ({"name": "x"}, "scope"),
        ({"name": "x", "scope": {"kind": "everyone"}}, "scope.kind"),
        ({"name": "x", "scope": {"kind": "all", "value": "a@example.com"}}, "scope.value"),
        ({"name": "x", "scope": {"kind": "mailbox_list"}}, "scope.value"),
        ({"name": "x", "scope": {"kind": "mailbox", "value": "not-an-address"}}, "scope.value"),
        ({"name": "x", "scope": {"kind": "ad_group", "value": "=nope"}}, "scope.value"),
        ({"name": "x", "scope": {"kind": "all"}, "start": "tomorrow"}, "start"),
        ({"name": "x", "scope": {"kind": "all"}, "start": iso(-3600)}, "start"),
        ({"name": "x", "scope": {"kind": "all"}, "start": iso(3600), "end": iso(1800)}, "end"),
        ({"name": "x", "scope": {"kind": "all"}, "end": iso(-60)}, "end"),
        ({"name": "x", "scope": {"kind": "all"}, "expand_distribution_lists": "yes"},
         "expand_distribution_lists"),
        ({"name": "x", "scope": {"kind": "all"}, "state": "active"}, "state"),
    ]
    for body, field in bad:
        problem(api.post(EVENTS, json=body), 422, field)
    assert database.scalar("SELECT count(*) FROM continuity_events") == before
    problem(api.get(f"{EVENTS}/not-a-uuid"), 404)
    missing = "00000000-0000-4000-8000-000000000000"
    problem(api.get(f"{EVENTS}/{missing}"), 404)
    problem(api.post(f"{EVENTS}/{missing}/end"), 404)
    problem(api.post(f"{EVENTS}/{missing}/clone"), 404)
    event = new_event(api, {"kind": "mailbox", "value": address()}, start=iso(3600))
    problem(api.patch(f"{EVENTS}/{event['id']}", json={"end": iso(7200)}), 422, "end")
    problem(api.post(f"{EVENTS}/{event['id']}/end", json={"now": True}), 422)
    ok(api.post(f"{EVENTS}/{event['id']}/end"))


def test_a_scheduled_event_becomes_active_at_its_start(api, anon):
    user = new_user(api)
    me = as_user(anon, user)
    event = new_event(api, {"kind": "mailbox", "value": user["mailbox"]}, start=iso(3))
    assert event["state"] == "scheduled"
    status = ok(me.get(STATUS))
    assert status["active"] is False and status["mailboxes"][0]["window"] is None
    assert status["mailboxes"][0]["next_window"]["events"] == [event["id"]]
    wait_until(lambda: ok(api.get(f"{EVENTS}/{event['id']}"))["state"] == "active",
               what="the event's start")
    status = ok(me.get(STATUS))
    assert status["active"] is True and status["new_mail_interval_seconds"] == 60
    assert status["mailboxes"][0]["window"]["start"] == event["start"]
    ok(api.post(f"{EVENTS}/{event['id']}/end"))


# ---- the client's status ----

def test_status_merges_overlapping_events_per_mailbox_and_polls_cheaply(api, anon):
    boss = address("boss")
    user = new_user(api, delegates=[boss])
    me = as_user(anon, user)
    r = me.get(STATUS)
    idle = ok(r)
    assert idle == {"mailbox": user["mailbox"], "active": False, "check_interval_seconds": 180,
                    "new_mail_interval_seconds": None, "unresolved_events": [],
                    "mailboxes": [
                        {"address": user["mailbox"], "delegate": False, "active": False,
                         "window": None, "next_window": None},
                        {"address": boss, "delegate": True, "active": False, "window": None,
                         "next_window": None}]}
    etag = r.headers["ETag"]
    assert r.headers["Cache-Control"] == "no-cache"
    again = me.get(STATUS, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.content and again.headers["ETag"] == etag

    # The delegate's outage: the client enters continuity for the delegate mailbox only.
    a = new_event(api, mailboxes(boss), end=iso(7200))
    r = me.get(STATUS, headers={"If-None-Match": etag})
    status = ok(r)
    assert r.headers["ETag"] != etag
    assert status["active"] is True and status["new_mail_interval_seconds"] == 60
    own, delegate = status["mailboxes"]
    assert own["active"] is False and own["window"] is None
    assert delegate["active"] is True
    assert delegate["window"] == {"start": a["start"], "end": a["end"], "events": [a["id"]]}

    # Overlapping events for one mailbox make one window, never two.
    b = new_event(api, {"kind": "mailbox", "value": boss}, start=iso(3600), end=iso(10800))
    c = new_event(api, mailboxes(user["mailbox"], boss), start=iso(20000), end=iso(21000))
    status = ok(me.get(STATUS))
    own, delegate = status["mailboxes"]
    assert delegate["window"] == {"start": a["start"], "end": b["end"],
                                  "events": [a["id"], b["id"]]}
    assert delegate["next_window"] == {"start": c["start"], "end": c["end"], "events": [c["id"]]}
    assert own["window"] is None
    assert own["next_window"] == {"start": c["start"], "end": c["end"], "events": [c["id"]]}
    # An open-ended event joining the window leaves it open.
    d = new_event(api, mailboxes(boss), start=iso(5000))
    delegate = ok(me.get(STATUS))["mailboxes"][1]
    assert delegate["window"]["end"] is None
    assert delegate["window"]["events"] == [a["id"], b["id"], d["id"], c["id"]]
    assert delegate["next_window"] is None
    for e in (a, b, c, d):
        ok(api.post(f"{EVENTS}/{e['id']}/end"))
    r = me.get(STATUS)
    assert ok(r)["active"] is False and r.headers["ETag"] == etag


def test_group_scopes_unresolved_then_resolved_by_a_workers_report(api, anon):
    member, outsider = new_user(api), new_user(api)
    group = f"{unique('team')}@example.com"
    event = new_event(api, {"kind": "group_email", "value": group.upper()})
    resolution = event["scope_resolution"]
    assert resolution["state"] == "unresolved" and "no worker" in resolution["detail"]
    assert resolution["mailboxes"] is None
    for user in (member, outsider):
        status = ok(as_user(anon, user).get(STATUS))
        assert status["active"] is False
        assert status["unresolved_events"] == [{"id": event["id"], "name": event["name"]}]

    # A task naming the same group resolves it: the membership its worker reported counts.
    site = make_site(api)
    task = make_task(api, site=site, definition=make_definition(api),
                     group={"kind": "group_email", "value": group})
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    assert w.execution["task"]["id"] == task["id"]
    ok(w._post("/membership", {"mailboxes": [member["mailbox"]], "skipped": [],
                               "skipped_total": 0}))
    resolved = ok(api.get(f"{EVENTS}/{event['id']}"))["scope_resolution"]
    assert resolved["state"] == "resolved" and resolved["mailboxes"] == 1
    assert resolved["execution_id"] == w.execution["id"] and resolved["resolved_at"]
    status = ok(as_user(anon, member).get(STATUS))
    assert status["active"] is True and status["unresolved_events"] == []
    assert status["mailboxes"][0]["window"]["events"] == [event["id"]]
    status = ok(as_user(anon, outsider).get(STATUS))
    assert status["active"] is False and status["unresolved_events"] == []
    ok(api.post(f"{EVENTS}/{event['id']}/end"))


@pytest.mark.parametrize("scope", [{"kind": "all"}])
def test_an_all_mailboxes_event_reaches_every_user(api, anon, scope):
    users = [new_user(api), new_user(api, delegates=[address("shared")])]
    event = new_event(api, scope)
    assert event["scope_resolution"]["state"] == "all"
    for user in users:
        status = ok(as_user(anon, user).get(STATUS))
        assert all(m["active"] and m["window"]["events"] == [event["id"]]
                   for m in status["mailboxes"])
    ok(api.post(f"{EVENTS}/{event['id']}/end"))
