# SPDX-License-Identifier: Apache-2.0
"""Small helpers for admin API tests: creating resources, reading problems, table snapshots."""
import itertools
import uuid

_counter = itertools.count(1)

# Tables whose row counts must not move when a request is refused.
ADMIN_TABLES = ("sites", "api_clients", "access_tokens", "schedules", "definitions",
                "exchange_tasks", "audit_events", "idempotency_keys")


def unique(prefix):
    return f"{prefix}-{next(_counter)}-{uuid.uuid4().hex[:6]}"


def problem(resp, status, field=None):
    """Asserts an RFC 9457 problem with this status; with field, that errors[] names it."""
    assert resp.status_code == status, f"{resp.status_code} {resp.text}"
    assert resp.headers["Content-Type"] == "application/problem+json", resp.headers
    doc = resp.json()
    assert doc["status"] == status and doc["title"] and doc["detail"]
    if field is not None:
        fields = [e["field"] for e in doc.get("errors", [])]
        assert field in fields, f"{field} not in {fields}: {doc}"
    return doc


def fields(resp):
    """The fields named by a problem's errors[]."""
    return sorted(e["field"] for e in resp.json().get("errors", []))


def ok(resp, status=200):
    assert resp.status_code == status, f"{resp.status_code} {resp.text}"
    return resp.json() if resp.content else None


def make_site(api, **kw):
    body = {"name": unique("site"), **kw}
    return ok(api.post("/api/v1/sites", json=body), 201)


def make_schedule(api, **kw):
    body = {"name": unique("sched"), "timezone": "Europe/Berlin", "type": "daily",
            "mode": "once", "start_time": "02:30", **kw}
    return ok(api.post("/api/v1/schedules", json=body), 201)


def make_definition(api, type_="mailbox_folder_replication", settings=None, **kw):
    body = {"type": type_, "description": unique("def"), **kw}
    if settings is not None:
        body["settings"] = settings
    return ok(api.post("/api/v1/definitions", json=body), 201)


def make_task(api, site=None, schedule=None, definition=None, **kw):
    site = site or make_site(api)
    schedule = schedule or make_schedule(api)
    definition = definition or make_definition(api)
    body = {"name": unique("task"), "site_id": site["id"], "type": definition["type"],
            "definition_id": definition["id"], "schedule_id": schedule["id"],
            "group": {"kind": "mailbox", "value": "user@example.com"}, **kw}
    return ok(api.post("/api/v1/exchange-tasks", json=body), 201)


def audit_events(api, **filters):
    """Every audit event matching filters, newest first (follows the cursor)."""
    out, cursor = [], None
    while True:
        params = dict(filters, limit=500)
        if cursor:
            params["cursor"] = cursor
        page = ok(api.get("/api/v1/audit-events", params=params))
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


def snapshot(db):
    """Row counts of the admin tables and the newest audit event: equal before and after."""
    counts = db.counts(*ADMIN_TABLES)
    counts["audit_last"] = db.scalar("SELECT coalesce(max(seq), 0) FROM audit_events")
    return counts
