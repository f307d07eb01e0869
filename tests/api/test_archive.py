# SPDX-License-Identifier: Apache-2.0
"""The archive view, filled through the real worker protocol by scripted workers (real HTTP
clients with a site's credentials): mailboxes and their counts, merged folders, messages
with deleted ones kept and marked, appointments and time ranges, attachment content, pages,
filters, errors and roles. The last tests replicate a real ews-sim mailbox from its
canonical export and demand archive == filtered export (tests/lib/archive_compare.py)."""
import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse
import uuid

import pytest

import harness
from admin_helpers import make_definition, make_site, make_task, ok, problem, unique
from archive_compare import CAL, MFR, archive_snapshot, filter_export, read_all
from scripted_worker import ScriptedWorker, folder, folder_batch, hierarchy_batch, message

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ewssim"))
import simlib  # noqa: E402

CALENDAR = {"include_calendars": "all"}


# ---- filling the archive through the worker protocol ----

class Session:
    """One mailbox of one claimed execution: batches chained on the stored checkpoints."""

    def __init__(self, worker, mailbox, checkpoints):
        self.w = worker
        self.mailbox = mailbox
        self.hierarchy_state = checkpoints["hierarchy"]
        self.folder_states = dict(checkpoints["folders"])

    def hierarchy(self, records):
        new = f"H-{uuid.uuid4()}"
        r = ok(self.w.submit(hierarchy_batch(self.mailbox, self.hierarchy_state, new, records)))
        assert r["applied"]
        self.hierarchy_state = new
        for rec in records:
            if rec["change"] == "delete":
                self.folder_states.pop(rec["folder_id"], None)

    def folder(self, folder_id, items=(), appointments=(), reset=False):
        """A folder batch; with reset, the first of a new full read (its sync state was
        refused): what that read does not report is gone."""
        new = f"S-{uuid.uuid4()}"
        base = self.folder_states.get(folder_id)
        batch = folder_batch(self.mailbox, folder_id, base, new, items, appointments,
                             reset=reset)
        ok(self.w.submit(batch))
        self.folder_states[folder_id] = new

    def put(self, data):
        sha = hashlib.sha256(data).hexdigest()
        assert self.w.put_content(sha, data).status_code in (200, 201)
        return sha


@contextlib.contextmanager
def replicating(api, anon, site, task, mailbox):
    """Runs the task now and holds its execution and the mailbox lock for the block."""
    ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    w = ScriptedWorker(anon, site["credentials"])
    ok(w.claim())
    assert w.execution["task"]["id"] == task["id"]
    ok(w.membership([mailbox]))
    granted = ok(w.lock(mailbox))
    yield Session(w, mailbox, granted["checkpoints"])
    assert w.finish(mailbox).status_code == 204
    ok(w.complete())


def new_task(api, site, mailbox, kind=MFR, settings=None):
    definition = make_definition(api, type_=kind, settings=settings)
    return make_task(api, site=site, definition=definition,
                     group={"kind": "mailbox", "value": mailbox})


def appointment(item_id, folder_id, start, end, subject="meeting", **kw):
    rec = {"item_id": item_id, "change_key": "ck1", "folder_id": folder_id, "change": "upsert",
           "item_class": "IPM.Appointment", "uid": f"uid-{item_id}", "subject": subject,
           "start": start, "end": end, "is_all_day": False, "location": "Room 1",
           "organizer": {"name": "Anna", "email": "anna@example.com"},
           "required_attendees": [{"name": "Bob", "email": "bob@example.com"}],
           "optional_attendees": [], "calendar_item_type": "Single", "is_recurring": False,
           "recurrence": None, "modified_occurrences": [], "deleted_occurrences": [],
           "sensitivity": "Normal", "has_attachments": False, "attachments": []}
    rec.update(kw)
    return rec


def series(pattern, rng, **kw):
    return {"calendar_item_type": "RecurringMaster",
            "recurrence": {"pattern": pattern, "range": rng}, **kw}


def box(address):
    return "/api/v1/mailboxes/" + urllib.parse.quote(address, safe="@")


def page(api, path, **params):
    return ok(api.get(path, params=params))


def assert_counts_consistent(api, address):
    """The trigger-kept counts equal what the lists show, per folder and per mailbox."""
    folders = read_all(api, box(address) + "/folders", include_deleted="true")
    items = read_all(api, box(address) + "/items", include_deleted="true")
    appts = read_all(api, box(address) + "/appointments")
    for f in folders:
        live = [i for i in items if i["folder_id"] == f["folder_id"] and not i["deleted"]]
        gone = [i for i in items if i["folder_id"] == f["folder_id"] and i["deleted"]]
        cal = [a for a in appts if a["folder_id"] == f["folder_id"]]
        assert f["item_count"] == len(live) + len(cal), f
        assert f["deleted_item_count"] == len(gone), f
    mbox = ok(api.get(box(address)))
    assert mbox["item_count"] == len([i for i in items if not i["deleted"]])
    assert mbox["deleted_item_count"] == len([i for i in items if i["deleted"]])
    assert mbox["appointment_count"] == len(appts)
    assert mbox["folder_count"] == len([f for f in folders if not f["deleted"]])
    assert mbox["deleted_folder_count"] == len([f for f in folders if f["deleted"]])
    return mbox


@pytest.fixture
def site(api):
    """A site of the test's own: its workers claim only what the test queued."""
    return make_site(api)


@pytest.fixture(scope="module")
def read_only(api, anon):
    client = ok(api.post("/api/v1/api-clients", json={"name": unique("ro"), "role": "read_only"}),
                201)
    return anon.as_client(client["client_id"], client["client_secret"])


def mailbox_address():
    return f"{uuid.uuid4().hex[:10]}@example.com"


# ---- mailboxes, folders, messages ----

def test_a_replicated_mailbox_its_folders_and_messages(api, anon, site, read_only):
    addr = mailbox_address()
    task = new_task(api, site, addr)
    with replicating(api, anon, site, task, addr) as s:
        s.hierarchy([folder("F-in", "Inbox"),
                     folder("F-pr", "Projects", parent="F-in", path="/Inbox/Projects"),
                     folder("F-cal", "Calendar", folder_class="IPF.Appointment")])
        s.folder("F-in", [message("I1", "F-in", subject="first",
                                  cc=[{"name": "", "email": "c@example.com"}]),
                          message("I2", "F-in", is_read=True)])
        s.folder("F-pr", [message("P1", "F-pr", sensitivity="Confidential", size=99)])
    listed = page(read_only, "/api/v1/mailboxes", prefix=addr)["items"]
    assert [m["address"] for m in listed] == [addr]
    got = ok(read_only.get(box(addr)))
    assert got == listed[0]
    assert got["folder_count"] == 3 and got["item_count"] == 3
    assert got["deleted_item_count"] == 0 and got["appointment_count"] == 0
    assert got["deleted_folder_count"] == 0
    assert re.fullmatch(r'"[0-9a-f]{32}"', read_only.get(box(addr)).headers["ETag"])

    # In the order the archive received them (within one batch, by id).
    folders = page(read_only, box(addr) + "/folders")["items"]
    assert [f["folder_id"] for f in folders] == ["F-cal", "F-in", "F-pr"]
    cal, inbox, projects = folders
    assert inbox == {**inbox, "parent_folder_id": "root", "path": "/Inbox",
                     "display_name": "Inbox", "folder_class": "IPF.Note", "sources": ["mail"],
                     "item_count": 2, "deleted_item_count": 0, "deleted": False,
                     "deleted_at": None}
    assert projects["parent_folder_id"] == "F-in" and projects["path"] == "/Inbox/Projects"
    assert cal["folder_class"] == "IPF.Appointment" and cal["item_count"] == 0

    items = page(read_only, box(addr) + "/items")["items"]
    assert [i["item_id"] for i in items] == ["I1", "I2", "P1"]
    sent = message("I1", "F-in", subject="first", cc=[{"name": "", "email": "c@example.com"}])
    first = items[0]
    for key in ("item_id", "folder_id", "change_key", "item_class", "internet_message_id",
                "subject", "sender", "from", "to", "cc", "sent", "received", "size", "is_read",
                "sensitivity", "has_attachments"):
        assert first[key] == sent[key], key
    assert first["folder_path"] == "/Inbox" and first["deleted"] is False
    assert items[2]["folder_path"] == "/Inbox/Projects" and items[2]["size"] == 99
    assert items[2]["sensitivity"] == "Confidential"

    # Another submission changes the counts, and with them the ETag.
    etag = api.get(box(addr)).headers["ETag"]
    with replicating(api, anon, site, task, addr) as s:
        s.folder("F-in", [message("I3", "F-in")])
    assert api.get(box(addr)).headers["ETag"] != etag
    assert assert_counts_consistent(api, addr)["item_count"] == 4


def test_pages_follow_the_cursor(api, anon, site):
    addr = mailbox_address()
    task = new_task(api, site, addr)
    folders = [folder(f"F{i}", f"Folder {i}") for i in range(7)]
    with replicating(api, anon, site, task, addr) as s:
        s.hierarchy(folders)
        s.folder("F0", [message(f"M{i:02}", "F0") for i in range(11)])
        s.folder("F1", [message(f"N{i:02}", "F1") for i in range(3)])

    def walk(path, limit, **params):
        seen, cursor, pages = [], None, 0
        while True:
            q = dict(params, limit=limit, **({"cursor": cursor} if cursor else {}))
            p = page(api, path, **q)
            assert len(p["items"]) <= limit
            seen += p["items"]
            pages += 1
            cursor = p["next_cursor"]
            if not cursor:
                return seen, pages

    items, pages = walk(box(addr) + "/items", 4)
    assert [i["item_id"] for i in items] == [f"M{i:02}" for i in range(11)] + \
        [f"N{i:02}" for i in range(3)]
    assert pages == 4
    items, pages = walk(box(addr) + "/items", 5, folder_id="F0")
    assert len(items) == 11 and pages == 3
    got, _ = walk(box(addr) + "/folders", 3)
    assert [f["folder_id"] for f in got] == [f"F{i}" for i in range(7)]
    # An exact fit ends with next_cursor null, not an empty page.
    assert page(api, box(addr) + "/items", folder_id="F1", limit=3)["next_cursor"] is None
    # Mailboxes come by address; a prefix narrows them.
    prefix = "pg" + uuid.uuid4().hex[:6]
    names = sorted(f"{prefix}-{c}@example.com" for c in "dacbe")
    for name in names:
        t = new_task(api, site, name)
        with replicating(api, anon, site, t, name) as s:
            s.hierarchy([folder("F", "Inbox")])
    got, pages = walk("/api/v1/mailboxes", 2, prefix=prefix.upper())
    assert [m["address"] for m in got] == names and pages == 3


def test_filters_by_folder_id_and_path(api, anon, site):
    addr = mailbox_address()
    task = new_task(api, site, addr)
    odd = "AAMkAD+/x=="  # EWS ids hold '+', '/' and '='
    with replicating(api, anon, site, task, addr) as s:
        s.hierarchy([folder("F-in", "Inbox"),
                     folder(odd, "Projects", parent="F-in", path="/Inbox/Projects")])
        s.folder("F-in", [message("I1", "F-in")])
        s.folder(odd, [message("P1", odd), message("P2", odd)])

    def ids(**params):
        return [i["item_id"] for i in page(api, box(addr) + "/items", **params)["items"]]

    assert ids(folder_id=odd) == ["P1", "P2"]
    assert ids(folder_path="/inbox/PROJECTS") == ["P1", "P2"]  # paths ignore case
    assert ids(folder_path="/Inbox") == ["I1"]
    assert ids(folder_id=odd, folder_path="/Inbox/Projects") == ["P1", "P2"]
    assert ids(folder_id="F-in", folder_path="/Inbox/Projects") == []  # both must hold
    assert ids(folder_id="nope") == [] and ids(folder_path="/Nowhere") == []
    # Addresses are matched in lower case, the path may be percent-encoded.
    upper = "/api/v1/mailboxes/" + urllib.parse.quote(addr.upper(), safe="")
    assert [f["folder_id"] for f in page(api, upper + "/folders")["items"]] == [odd, "F-in"]


def test_deleted_messages_stay_marked_at_their_last_folder(api, anon, site, database):
    addr = mailbox_address()
    task = new_task(api, site, addr)
    with replicating(api, anon, site, task, addr) as s:
        s.hierarchy([folder("F-in", "Inbox"), folder("F-old", "Old"),
                     folder("F-arc", "Archive")])
        s.folder("F-in", [message(f"I{i}", "F-in") for i in range(1, 6)])
        s.folder("F-old", [message("O1", "F-old"), message("O2", "F-old")])
        s.folder("F-arc", [message("A1", "F-arc"), message("A2", "F-arc")])
    with replicating(api, anon, site, task, addr) as s:
        # Deleted in Exchange; a move (create in the target, delete in the source); a read
        # flag; a message that became private leaves no trace.
        s.folder("F-arc", [message("I2", "F-arc")])
        s.folder("F-in", [{"item_id": "I1", "change": "delete"},
                          {"item_id": "I2", "change": "delete"},
                          {"item_id": "I3", "change": "read_flag", "is_read": True},
                          {"item_id": "I4", "change": "remove"}])
        # The folder Old leaves the replica: its messages stay, marked deleted.
        s.hierarchy([{"folder_id": "F-old", "change": "delete"}])
        # A full read again from the start (sync state refused): A1 was not reported.
        s.folder("F-arc", [message("A2", "F-arc"), message("I2", "F-arc")], reset=True)

    live = page(api, box(addr) + "/items")["items"]
    assert sorted(i["item_id"] for i in live) == ["A2", "I2", "I3", "I5"]
    every = {i["item_id"]: i for i in page(api, box(addr) + "/items",
                                             include_deleted="true")["items"]}
    assert sorted(every) == ["A1", "A2", "I1", "I2", "I3", "I5", "O1", "O2"]
    for gone in ("I1", "O1", "O2"):
        assert every[gone]["deleted"] and every[gone]["deleted_at"], gone
    assert every["I1"]["folder_id"] == "F-in" and every["O1"]["folder_path"] == "/Old"
    assert every["I2"]["folder_id"] == "F-arc" and not every["I2"]["deleted"]
    assert every["I3"]["is_read"] is True
    assert every["A1"]["deleted"] and every["A1"]["folder_id"] == "F-arc"
    assert database.scalar("SELECT count(*) FROM archive_items WHERE item_id = 'I4' "
                           "AND mailbox = %s", addr) == 0
    folders = {f["folder_id"]: f for f in page(api, box(addr) + "/folders",
                                               include_deleted="true")["items"]}
    assert folders["F-old"]["deleted"] and folders["F-old"]["deleted_at"]
    assert folders["F-old"]["item_count"] == 0 and folders["F-old"]["deleted_item_count"] == 2
    assert "F-old" not in {f["folder_id"] for f in page(api, box(addr) + "/folders")["items"]}
    assert page(api, box(addr) + "/items", folder_id="F-old")["items"] == []
    assert len(page(api, box(addr) + "/items", folder_id="F-old",
                    include_deleted="true")["items"]) == 2
    mbox = assert_counts_consistent(api, addr)
    assert mbox["item_count"] == 4 and mbox["deleted_item_count"] == 4
    assert mbox["folder_count"] == 2 and mbox["deleted_folder_count"] == 1


def test_folders_of_both_features_are_merged(api, anon, site):
    addr = mailbox_address()
    mail = new_task(api, site, addr)
    cal = new_task(api, site, addr, CAL, CALENDAR)
    with replicating(api, anon, site, mail, addr) as s:
        s.hierarchy([folder("F-in", "Inbox"),
                     folder("F-cal", "Calendar", folder_class="IPF.Appointment"),
                     folder("F-hol", "Holidays", folder_class="IPF.Appointment")])
    with replicating(api, anon, site, cal, addr) as s:
        s.hierarchy([folder("F-cal", "Calendar", folder_class="IPF.Appointment"),
                     folder("F-hol", "Holidays", folder_class="IPF.Appointment")])
        s.folder("F-cal", appointments=[appointment("E1", "F-cal", "2024-05-06T13:00:00Z",
                                                    "2024-05-06T14:00:00Z")])
    folders = page(api, box(addr) + "/folders")["items"]
    assert [f["folder_id"] for f in folders] == ["F-cal", "F-hol", "F-in"]
    assert folders[0]["sources"] == ["calendar", "mail"] and folders[0]["item_count"] == 1
    assert folders[2]["sources"] == ["mail"]
    # Mail replication drops both calendars (a definition change, say): the calendar feature
    # still holds them, so they are live; its renamed Holidays shows the live name.
    with replicating(api, anon, site, mail, addr) as s:
        s.hierarchy([{"folder_id": "F-cal", "change": "delete"},
                     {"folder_id": "F-hol", "change": "delete"}])
    with replicating(api, anon, site, cal, addr) as s:
        s.hierarchy([folder("F-hol", "Vacation", folder_class="IPF.Appointment")])
    folders = {f["folder_id"]: f for f in page(api, box(addr) + "/folders")["items"]}
    assert not folders["F-cal"]["deleted"] and not folders["F-hol"]["deleted"]
    assert folders["F-hol"]["path"] == "/Vacation"
    assert folders["F-cal"]["item_count"] == 1
    # Only when no feature has it live is a folder deleted.
    with replicating(api, anon, site, cal, addr) as s:
        s.hierarchy([{"folder_id": "F-hol", "change": "delete"}])
    every = {f["folder_id"]: f for f in page(api, box(addr) + "/folders",
                                             include_deleted="true")["items"]}
    assert every["F-hol"]["deleted"] and every["F-hol"]["deleted_at"]
    assert every["F-hol"]["sources"] == ["calendar", "mail"]
    assert sorted(f["folder_id"] for f in page(api, box(addr) + "/folders")["items"]) == \
        ["F-cal", "F-in"]
    assert assert_counts_consistent(api, addr)["folder_count"] == 2


# ---- appointments ----

WEEKLY = series({"type": "WeeklyRecurrence", "interval": 1, "days_of_week": ["Monday"]},
                {"type": "EndDateRecurrence", "start_date": "2024-05-06",
                 "end_date": "2024-06-24"},
                deleted_occurrences=["2024-06-03T13:00:00Z"])
DAILY = series({"type": "DailyRecurrence", "interval": 2},
               {"type": "NumberedRecurrence", "start_date": "2024-03-01",
                "number_of_occurrences": 5})
ENDLESS = series({"type": "AbsoluteMonthlyRecurrence", "interval": 1, "day_of_month": 15},
                 {"type": "NoEndRecurrence", "start_date": "2020-01-15"})
MOVED = series({"type": "WeeklyRecurrence", "interval": 1, "days_of_week": ["Tuesday"]},
               {"type": "NumberedRecurrence", "start_date": "2024-01-02",
                "number_of_occurrences": 2},
               modified_occurrences=[{"item_id": "X1", "original_start": "2024-01-09T09:00:00Z",
                                      "start": "2024-09-10T09:00:00Z",
                                      "end": "2024-09-10T10:00:00Z"}])


def test_appointments_by_calendar_and_time_range(api, anon, site):
    addr = mailbox_address()
    task = new_task(api, site, addr, CAL, CALENDAR)
    with replicating(api, anon, site, task, addr) as s:
        s.hierarchy([folder("C1", "Calendar", folder_class="IPF.Appointment"),
                     folder("C2", "Team", parent="C1", path="/Calendar/Team",
                            folder_class="IPF.Appointment")])
        s.folder("C1", appointments=[
            appointment("single", "C1", "2024-05-10T09:00:00Z", "2024-05-10T10:00:00Z"),
            appointment("instant", "C1", "2024-05-12T09:00:00Z", "2024-05-12T09:00:00Z"),
            appointment("weekly", "C1", "2024-05-06T13:00:00Z", "2024-05-06T13:30:00Z",
                        **WEEKLY),
            appointment("daily", "C1", "2024-03-01T08:00:00Z", "2024-03-01T08:15:00Z",
                        **DAILY),
            appointment("endless", "C1", "2020-01-15T12:00:00Z", "2020-01-15T13:00:00Z",
                        **ENDLESS),
            appointment("moved", "C1", "2024-01-02T09:00:00Z", "2024-01-02T10:00:00Z",
                        **MOVED)])
        s.folder("C2", appointments=[appointment("team", "C2", "2024-05-10T09:30:00Z",
                                                 "2024-05-10T11:00:00Z", location=None)])

    def ids(**params):
        got = page(api, box(addr) + "/appointments", **params)["items"]
        return sorted(a["item_id"] for a in got)

    assert ids() == ["daily", "endless", "instant", "moved", "single", "team", "weekly"]
    assert ids(folder_id="C2") == ["team"]
    assert ids(folder_path="/calendar") == ["daily", "endless", "instant", "moved", "single",
                                            "weekly"]
    # Overlap with [from, to): touching ends do not overlap.
    # ("moved" is a series whose exception in September stretches its span over the year.)
    assert ids(**{"from": "2024-05-10T10:00:00Z", "to": "2024-05-10T10:30:00Z"}) == \
        ["endless", "moved", "team", "weekly"]
    assert ids(**{"from": "2024-05-10T08:00:00Z", "to": "2024-05-10T09:00:00Z"}) == \
        ["endless", "moved", "weekly"]
    assert ids(**{"from": "2024-05-10T09:59:59Z", "to": "2024-05-10T10:00:00Z"}) == \
        ["endless", "moved", "single", "team", "weekly"]
    # A zero-length appointment at the start of the range overlaps it.
    assert "instant" in ids(**{"from": "2024-05-12T09:00:00Z", "to": "2024-05-12T09:01:00Z"})
    # Series by their span: the weekly one ends in June, 5 occurrences every 2 days end in
    # March, a series without end never ends, an exception moved to September extends its
    # series.
    assert ids(**{"from": "2024-06-20T00:00:00Z", "to": "2024-06-21T00:00:00Z"}) == \
        ["endless", "moved", "weekly"]
    assert ids(**{"from": "2024-07-01T00:00:00Z", "to": "2024-08-01T00:00:00Z"}) == \
        ["endless", "moved"]
    assert ids(**{"from": "2024-03-05T00:00:00Z", "to": "2024-03-06T00:00:00Z"}) == \
        ["daily", "endless", "moved"]
    assert ids(**{"from": "2024-03-13T00:00:00Z", "to": "2024-03-14T00:00:00Z"}) == \
        ["endless", "moved"]
    assert ids(**{"from": "2024-04-01T00:00:00Z", "to": "2024-04-02T00:00:00Z"}) == \
        ["endless", "moved"]
    assert ids(**{"from": "2024-09-10T09:30:00Z"}) == ["endless", "moved"]
    assert ids(to="2020-01-15T12:00:00Z") == []
    assert ids(to="2024-01-02T09:00:01Z") == ["endless", "moved"]
    # Ranges and folders combine; to == from is an instant.
    assert ids(folder_id="C2", **{"from": "2024-05-10T10:30:00Z"}) == ["team"]
    assert ids(**{"from": "2024-05-10T09:45:00Z", "to": "2024-05-10T09:45:00Z"}) == \
        ["endless", "moved", "single", "team", "weekly"]

    weekly = next(a for a in page(api, box(addr) + "/appointments")["items"]
                  if a["item_id"] == "weekly")
    sent = appointment("weekly", "C1", "2024-05-06T13:00:00Z", "2024-05-06T13:30:00Z", **WEEKLY)
    for key in ("item_id", "folder_id", "change_key", "item_class", "uid", "subject", "start",
                "end", "is_all_day", "location", "organizer", "required_attendees",
                "optional_attendees", "calendar_item_type", "is_recurring", "recurrence",
                "modified_occurrences", "deleted_occurrences", "sensitivity",
                "has_attachments", "attachments"):
        assert weekly[key] == sent[key], key
    assert weekly["folder_path"] == "/Calendar"
    moved = next(a for a in page(api, box(addr) + "/appointments")["items"]
                 if a["item_id"] == "moved")
    assert moved["modified_occurrences"] == MOVED["modified_occurrences"]

    # Deleted in Exchange: removed from the replica (and from the counts).
    with replicating(api, anon, site, task, addr) as s:
        s.folder("C1", appointments=[{"item_id": "single", "change": "delete"}])
    assert "single" not in ids()
    assert assert_counts_consistent(api, addr)["appointment_count"] == 6


def test_stored_records_are_shown_in_the_documented_shape(api, anon, site):
    """The protocol takes recurrences and people as JSON; whatever a worker stored, the view
    keeps to the documented members (the spec check of every response proves the shape)."""
    addr = mailbox_address()
    task = new_task(api, site, addr, CAL, CALENDAR)
    odd = appointment("odd", "C1", "2024-05-06T13:00:00Z", "2024-05-06T14:00:00Z",
                      organizer={"name": "Anna", "email": "a@example.com", "x": 1},
                      recurrence={"pattern": {"type": "DailyRecurrence", "interval": 1,
                                              "bogus": "y"},
                                  "range": {"type": "NoEndRecurrence",
                                            "start_date": "2024-05-06", "extra": 2}},
                      calendar_item_type="RecurringMaster",
                      modified_occurrences=[{"start": "2024-05-07T13:00:00Z", "z": 1}],
                      deleted_occurrences=["2024-05-08T13:00:00Z"])
    with replicating(api, anon, site, task, addr) as s:
        s.hierarchy([folder("C1", "Calendar", folder_class="IPF.Appointment")])
        s.folder("C1", appointments=[odd])
    got = page(api, box(addr) + "/appointments")["items"][0]
    assert got["organizer"] == {"name": "Anna", "email": "a@example.com"}
    assert got["recurrence"] == {"pattern": {"type": "DailyRecurrence", "interval": 1},
                                 "range": {"type": "NoEndRecurrence",
                                           "start_date": "2024-05-06"}}
    assert got["modified_occurrences"] == [{"start": "2024-05-07T13:00:00Z"}]
    assert got["deleted_occurrences"] == ["2024-05-08T13:00:00Z"]


# ---- attachment content ----

def test_attachment_content_download(api, anon, site, read_only):
    addr = mailbox_address()
    other = mailbox_address()
    task = new_task(api, site, addr, CAL, CALENDAR)
    other_task = new_task(api, site, other, CAL, CALENDAR)
    pdf = b"%PDF-1.4 quarterly numbers\n" + bytes(range(256))
    html = b"<script>alert(1)</script>"
    with replicating(api, anon, site, task, addr) as s:
        sha = s.put(pdf)
        sha_html = s.put(html)
        sha_empty = s.put(b"")
        sha_other = s.put(b"only the other mailbox has this")
        att = {"attachment_id": "AAMk+/att1=", "name": 'Grüße "Q1".pdf',
               "content_type": "application/pdf", "size": len(pdf), "sha256": sha}
        s.hierarchy([folder("C1", "Calendar", folder_class="IPF.Appointment")])
        s.folder("C1", appointments=[
            appointment("E1", "C1", "2024-05-06T13:00:00Z", "2024-05-06T14:00:00Z",
                        has_attachments=True, attachments=[att]),
            appointment("E2", "C1", "2024-05-07T13:00:00Z", "2024-05-07T14:00:00Z",
                        has_attachments=True, attachments=[
                            {"attachment_id": "AT2", "name": "copy.bin",
                             "content_type": "application/x-custom", "size": len(pdf),
                             "sha256": sha},
                            {"attachment_id": "AT3", "name": "page.html",
                             "content_type": "text/html", "size": len(html),
                             "sha256": sha_html},
                            {"attachment_id": "AT4", "name": "",
                             "content_type": "not a media type", "size": 0,
                             "sha256": sha_empty}])])
    with replicating(api, anon, site, other_task, other) as s:
        s.hierarchy([folder("C9", "Calendar", folder_class="IPF.Appointment")])
        s.folder("C9", appointments=[appointment(
            "E9", "C9", "2024-05-06T13:00:00Z", "2024-05-06T14:00:00Z",
            attachments=[{"attachment_id": "AT9", "name": "x", "content_type": "text/plain",
                          "size": 31, "sha256": sha_other}])])

    listed = page(read_only, box(addr) + "/appointments")["items"]
    first = listed[0]["attachments"][0]
    assert {k: first[k] for k in att} == att
    url = first["content_url"]
    assert url == f"{box(addr)}/attachments/{sha}?attachment_id=AAMk%2B%2Fatt1%3D"
    r = read_only.get(url)
    assert r.status_code == 200 and r.content == pdf
    assert r.headers["Content-Type"] == "application/pdf"
    assert int(r.headers["Content-Length"]) == len(pdf)
    assert r.headers["ETag"] == f'"{sha}"'
    assert r.headers["Content-Disposition"] == \
        "attachment; filename=\"Gr__e _Q1_.pdf\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20%22Q1%22.pdf"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # The same content under another record: attachment_id picks name and type.
    r = api.get(f"{box(addr)}/attachments/{sha}", params={"attachment_id": "AT2"})
    assert r.content == pdf and r.headers["Content-Type"] == "application/x-custom"
    assert 'filename="copy.bin"' in r.headers["Content-Disposition"]
    # Without attachment_id: the first record in replication order.
    assert api.get(f"{box(addr)}/attachments/{sha}").headers["Content-Type"] == "application/pdf"
    # HTML is sent as a download that cannot run; an unusable type becomes octet-stream.
    r = api.get(f"{box(addr)}/attachments/{sha_html}")
    assert r.content == html and r.headers["Content-Disposition"].startswith("attachment")
    r = api.get(f"{box(addr)}/attachments/{sha_empty}")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert r.headers["Content-Disposition"] == "attachment" and "X-Evil" not in r.headers
    # Conditional requests: the hash never changes.
    for inm in (f'"{sha}"', f'W/"{sha}"', f'"other", "{sha}"', "*"):
        r = api.get(url, headers={"If-None-Match": inm})
        assert r.status_code == 304 and r.content == b"", inm
        assert r.headers["ETag"] == f'"{sha}"'
    assert api.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    head = api.head(url)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["Content-Length"]) == len(pdf)
    # Only content this mailbox's appointments reference.
    problem(api.get(f"{box(addr)}/attachments/{sha_other}"), 404)
    assert ok_bytes(api.get(f"{box(other)}/attachments/{sha_other}")) == \
        b"only the other mailbox has this"
    problem(api.get(f"{box(addr)}/attachments/{sha}", params={"attachment_id": "AT9"}), 404)
    problem(api.get(f"{box(addr)}/attachments/{'0' * 64}"), 404)
    problem(api.get(f"{box(addr)}/attachments/{sha.upper()}"), 404)
    problem(api.get(f"{box(addr)}/attachments/{sha[:63]}"), 404)
    problem(api.get(f"{box(mailbox_address())}/attachments/{sha}"), 404)
    problem(api.get(url + "&bogus=1"), 400)


def ok_bytes(resp):
    assert resp.status_code == 200, resp.text
    return resp.content


# ---- errors and roles ----

ROUTES = ("", "/folders", "/items", "/appointments")


def test_unknown_mailboxes_and_bad_parameters(api, anon, site):
    addr = mailbox_address()
    task = new_task(api, site, addr)
    with replicating(api, anon, site, task, addr) as s:
        s.hierarchy([folder("F", "Inbox")])
    for suffix in ROUTES:
        problem(api.get(box(mailbox_address()) + suffix), 404)
        problem(api.get("/api/v1/mailboxes/not-an-address" + suffix), 404)
    item_cursor = "SS4x"  # an items cursor ('I') is not a folders cursor
    bad = [
        ("/items", {"bogus": "1"}, "bogus"),
        ("/items", {"limit": "0"}, "limit"),
        ("/items", {"limit": "501"}, "limit"),
        ("/items", {"limit": "ten"}, "limit"),
        ("/items", {"cursor": "!!!"}, "cursor"),
        ("/folders", {"cursor": item_cursor}, "cursor"),
        ("/items", {"include_deleted": "yes"}, "include_deleted"),
        ("/items", {"folder_id": ""}, "folder_id"),
        ("/items", {"folder_path": "/" + "x" * 1024}, "folder_path"),
        ("/items", {"from": "2024-01-01T00:00:00Z"}, "from"),
        ("/folders", {"folder_id": "F"}, "folder_id"),
        ("/appointments", {"include_deleted": "true"}, "include_deleted"),
        ("/appointments", {"from": "yesterday"}, "from"),
        ("/appointments", {"from": "2024-02-01T00:00:00Z", "to": "2024-01-01T00:00:00Z"}, "to"),
        ("", {"limit": "5"}, "limit"),
    ]
    for suffix, params, field in bad:
        problem(api.get(box(addr) + suffix, params=params), 400, field)
    problem(api.get("/api/v1/mailboxes", params={"prefix": ""}), 400, "prefix")
    problem(api.get("/api/v1/mailboxes", params={"cursor": item_cursor}), 400, "cursor")
    r = api.get(box(addr) + "/items", params={"folder_path": b"/\xff"})
    problem(r, 400, "folder_path")
    # Several errors come in one answer.
    doc = problem(api.get(box(addr) + "/items", params={"limit": "0", "x": "1"}), 400)
    assert sorted(e["field"] for e in doc["errors"]) == ["limit", "x"]


def test_readers_only(api, anon, site, read_only):
    addr = mailbox_address()
    task = new_task(api, site, addr)
    with replicating(api, anon, site, task, addr) as s:
        s.hierarchy([folder("F", "Inbox")])
    site_api = anon.as_client(site["credentials"]["client_id"],
                              site["credentials"]["client_secret"])
    paths = ["/api/v1/mailboxes"] + [box(addr) + s for s in ROUTES] + \
        [f"{box(addr)}/attachments/{'a' * 64}"]
    for path in paths:
        problem(anon.get(path), 401)
        problem(site_api.get(path), 403)
        assert read_only.get(path).status_code in (200, 404)
    assert read_only.get(box(addr)).status_code == 200


# ---- the contract with ews-sim: archive == filtered export ----

def attachment_file(name, text, content_type="text/plain"):
    return {"name": name, "content_type": content_type, "content_text": text}


FIXTURE = {
    "mailboxes": [{
        "address": "Nora.Export@fabrikam.example", "display_name": "Nora Export",
        "password": "nora-password-1",
        "folders": [
            {"name": "Inbox", "messages": [
                {"subject": "Quarterly report", "from": "Bob Baker <bob@contoso.example>",
                 "to": ["nora.export@fabrikam.example"],
                 "cc": [{"name": "Carol", "email": "carol@contoso.example"}],
                 "sent": "2024-05-01T08:29:00Z", "received": "2024-05-01T08:30:00Z",
                 "attachments": [attachment_file("q1.csv", "a,b\n1,2\n")]},
                {"subject": "Salary", "sensitivity": "Private",
                 "from": "hr@contoso.example", "received": "2024-05-02T08:30:00Z"},
                {"subject": "Lunch?", "from": "bob@contoso.example", "is_read": True,
                 "received": "2024-05-03T11:00:00Z"}],
             "folders": [
                 {"name": "Projects", "messages": [
                     {"subject": "Kick-off", "from": "carol@contoso.example",
                      "received": "2024-04-01T09:00:00Z"},
                     {"subject": "Status", "from": "carol@contoso.example",
                      "received": "2024-04-08T09:00:00Z"}]},
                 {"name": "Newsletters", "messages": [
                     {"subject": "Weekly digest", "from": "news@else.example",
                      "received": "2024-04-02T06:00:00Z"}]}]},
            {"name": "Deleted Items", "messages": [
                {"subject": "Old spam", "from": "spam@else.example",
                 "received": "2024-01-01T00:00:00Z"}]},
            {"name": "Calendar", "folder_class": "IPF.Appointment", "appointments": [
                {"subject": "Planning", "start": "2024-05-10T09:00:00Z",
                 "end": "2024-05-10T10:00:00Z", "location": "Room 9",
                 "required_attendees": ["bob@contoso.example"],
                 "attachments": [attachment_file("agenda.txt", "1. numbers\n2. plans\n")]},
                {"subject": "Weekly sync", "start": "2024-05-06T13:00:00Z",
                 "end": "2024-05-06T13:30:00Z", "location": "Teams",
                 "required_attendees": ["bob@contoso.example"],
                 "optional_attendees": [{"name": "Carol", "email": "carol@contoso.example"}],
                 "recurrence": {
                     "pattern": {"type": "WeeklyRecurrence", "interval": 1,
                                 "days_of_week": ["Monday"], "first_day_of_week": "Monday"},
                     "range": {"type": "EndDateRecurrence", "start_date": "2024-05-06",
                               "end_date": "2024-06-24"}},
                 "exceptions": [{"original_start": "2024-05-20T13:00:00Z",
                                 "start": "2024-05-21T15:00:00Z",
                                 "end": "2024-05-21T15:30:00Z", "subject": "moved"}],
                 "deleted_occurrences": ["2024-06-03T13:00:00Z"],
                 "attachments": [attachment_file("minutes.md", "# minutes\n", "text/markdown")]},
                {"subject": "Offsite", "start": "2024-06-01T00:00:00Z",
                 "end": "2024-06-02T00:00:00Z", "is_all_day": True, "sensitivity": "Private"}],
             "folders": [
                 {"name": "Team", "folder_class": "IPF.Appointment", "appointments": [
                     {"subject": "Team lunch", "start": "2024-05-15T11:00:00Z"}]}]},
            {"name": "Holidays", "folder_class": "IPF.Appointment", "appointments": [
                {"subject": "Summer", "start": "2024-08-01T00:00:00Z",
                 "end": "2024-08-15T00:00:00Z", "is_all_day": True}]},
        ],
    }],
}
NORA = "nora.export@fabrikam.example"
MFR_SETTINGS = {"exclude_folders": ["/Inbox/Newsletters"], "include_deleted_items": False,
                "include_private_items": False}


def fixture_contents():
    """sha256 → bytes of every attachment the fixture and the test's changes create."""
    texts = ["a,b\n1,2\n", "1. numbers\n2. plans\n", "# minutes\n", "new agenda\n"]
    return {hashlib.sha256(t.encode()).hexdigest(): t.encode() for t in texts}


class PerfectWorker:
    """Sends, for one feature, exactly what a perfect worker would: the changes between the
    filtered export it replicated last and the current one, as worker protocol records."""

    ROOT = "ROOT-msgfolderroot"

    def __init__(self, kind, settings):
        self.kind = kind
        self.definition = {"type": kind, "settings": settings}
        self.folders, self.records = {}, {}  # what was replicated: id → record

    def _folder_records(self, export, view):
        ids = {f["path"]: f["folder_id"] for f in export["folders"]}
        return {f["folder_id"]: {"folder_id": f["folder_id"],
                                 "parent_folder_id": ids.get(f["parent_path"], self.ROOT),
                                 "display_name": f["display_name"],
                                 "folder_class": f["folder_class"], "path": f["path"],
                                 "change": "upsert"} for f in view["folders"]}

    def _records(self, export, view):
        ids = {f["path"]: f["folder_id"] for f in export["folders"]}
        out = {}
        for m in view["messages"] if self.kind == MFR else view["appointments"]:
            rec = {k: v for k, v in m.items() if k != "folder_path"}
            rec.update(folder_id=ids[m["folder_path"]], change="upsert", change_key="ck")
            if self.kind == CAL:
                rec.update(item_class="IPM.Appointment", uid=f"uid-{m['item_id']}",
                           is_recurring=False)
                rec["modified_occurrences"] = [dict(o, item_id=f"{m['item_id']}-x{i}")
                                               for i, o in enumerate(m["modified_occurrences"])]
                rec["attachments"] = [dict(a, attachment_id=f"{m['item_id']}-a{i}")
                                      for i, a in enumerate(m["attachments"])]
            out[m["item_id"]] = rec
        return out

    def sync(self, session, export, contents):
        view = filter_export(export, [self.definition])
        folders, records = self._folder_records(export, view), self._records(export, view)
        changes = [f for fid, f in folders.items() if self.folders.get(fid) != f]
        changes += [{"folder_id": fid, "change": "delete"} for fid in self.folders
                    if fid not in folders]
        if changes:
            session.hierarchy(changes)
        batches = {}
        for iid, rec in records.items():
            if self.records.get(iid) != rec:
                batches.setdefault(rec["folder_id"], []).append(rec)
        for iid, old in self.records.items():
            gone = iid not in records or records[iid]["folder_id"] != old["folder_id"]
            if gone and old["folder_id"] in folders:
                batches.setdefault(old["folder_id"], []).append(
                    {"item_id": iid, "change": "delete"})
        for fid in sorted(batches):
            for rec in batches[fid]:
                for a in rec.get("attachments", []):
                    session.put(contents[a["sha256"]])
            key = "items" if self.kind == MFR else "appointments"
            session.folder(fid, **{key: batches[fid]})
        self.folders, self.records = folders, records


@pytest.fixture(scope="module")
def sim():
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(FIXTURE, f)
    s = simlib.EwsSim(fixture=f.name)
    yield s
    s.stop_clean()
    os.unlink(f.name)


def test_archive_equals_the_filtered_export_of_an_ews_sim_mailbox(api, anon, site, sim):
    mail = new_task(api, site, NORA, MFR, MFR_SETTINGS)
    cal = new_task(api, site, NORA, CAL, CALENDAR)
    workers = {mail["id"]: PerfectWorker(MFR, MFR_SETTINGS),
               cal["id"]: PerfectWorker(CAL, CALENDAR)}
    definitions = [w.definition for w in workers.values()]
    contents = fixture_contents()

    def replicate():
        export = sim.export(NORA)
        for task in (mail, cal):
            with replicating(api, anon, site, task, NORA) as s:
                workers[task["id"]].sync(s, export, contents)
        return export

    export = replicate()
    want = filter_export(export, definitions)
    assert want["messages"] and want["appointments"]  # the fixture is not empty after all
    assert archive_snapshot(api, NORA) == want
    assert_counts_consistent(api, NORA)
    for a in want["appointments"]:
        for att in a["attachments"]:
            got = ok_bytes(api.get(f"{box(NORA)}/attachments/{att['sha256']}"))
            assert hashlib.sha256(got).hexdigest() == att["sha256"]
            assert len(got) == att["size"]

    # Changes in Exchange: the next passes bring the archive level again.
    by_subject = {m["subject"]: m for m in export["messages"] + export["appointments"]}
    folders = {f["path"]: f for f in export["folders"]}
    items = f"/mailboxes/{NORA}/items"
    sim.control("POST", items, expect=201, json={
        "type": "message", "folder": "/Inbox/Projects", "subject": "Go-live",
        "from": "carol@contoso.example", "to": [NORA], "received": "2024-05-20T10:00:00Z"})
    sim.control("PATCH", f"{items}/{by_subject['Quarterly report']['item_id']}", expect=200,
                json={"subject": "Quarterly report (final)", "is_read": True})
    sim.control("PATCH", f"{items}/{by_subject['Kick-off']['item_id']}", expect=200,
                json={"folder": "/Inbox"})
    sim.control("DELETE", f"{items}/{by_subject['Lunch?']['item_id']}", expect=200)
    sim.control("PATCH", f"{items}/{by_subject['Salary']['item_id']}", expect=200,
                json={"sensitivity": "Normal"})
    sim.control("PATCH", f"/mailboxes/{NORA}/folders/{folders['/Inbox/Projects']['folder_id']}",
                expect=200, json={"display_name": "Projects 2024"})
    sim.control("DELETE", f"/mailboxes/{NORA}/folders/{folders['/Holidays']['folder_id']}",
                expect=200)
    sim.control("PATCH", f"{items}/{by_subject['Planning']['item_id']}", expect=200,
                json={"location": "Room 10", "start": "2024-05-10T09:30:00Z",
                      "end": "2024-05-10T10:30:00Z"})
    sim.control("DELETE", f"{items}/{by_subject['Team lunch']['item_id']}", expect=200)
    sim.control("POST", items, expect=201, json={
        "type": "appointment", "subject": "Review", "start": "2024-07-01T10:00:00Z",
        "required_attendees": ["bob@contoso.example"],
        "attachments": [attachment_file("agenda.txt", "new agenda\n")]})

    export = replicate()
    want = filter_export(export, definitions)
    assert archive_snapshot(api, NORA) == want
    assert_counts_consistent(api, NORA)
    assert "Holidays" not in {f["display_name"] for f in want["folders"]}
    # What Exchange deleted stays in the archive, marked, at its last-known folder.
    lunch = by_subject["Lunch?"]["item_id"]
    every = {i["item_id"]: i for i in read_all(api, box(NORA) + "/items",
                                               include_deleted="true")}
    assert every[lunch]["deleted"] and every[lunch]["folder_path"] == "/Inbox"
    gone = {f["path"]: f for f in read_all(api, box(NORA) + "/folders", include_deleted="true")}
    assert gone["/Holidays"]["deleted"]
    # The comparison sees a difference when there is one.
    sim.control("PATCH", f"{items}/{by_subject['Status']['item_id']}", expect=200,
                json={"subject": "Status (edited)"})
    assert archive_snapshot(api, NORA) != filter_export(sim.export(NORA), definitions)


# ---- the whole chain: the real mse-worker against ews-sim's demo organisation ----

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "worker"))
import e2e  # noqa: E402  (the worker's end-to-end helpers: its environment against a sim)

DEMO_MFR = {"exclude_folders": ["/Inbox/Customers"], "include_deleted_items": False,
            "include_private_items": False}


@pytest.fixture(scope="module")
def demo_sim():
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE)
    yield s
    s.stop_clean()


def start_worker(server, sim, site):
    env = e2e.worker_env(sim, MSE_WORKER_SERVER_URL=server.url,
                         MSE_WORKER_SITE_CLIENT_ID=site["credentials"]["client_id"],
                         MSE_WORKER_SITE_CLIENT_SECRET=site["credentials"]["client_secret"])
    env = {k: v for k, v in env.items() if k.startswith("MSE_WORKER_")}
    return harness.Process([harness.binary("mse-worker")], env, r"serving its site",
                           "mse-worker")


def run_and_wait(api, task, timeout=120):
    """Starts an execution now and waits for its end; asserts it went well."""
    x = ok(api.post(f"/api/v1/exchange-tasks/{task['id']}/run"), 202)
    deadline = time.monotonic() + timeout
    while True:
        e = ok(api.get(f"/api/v1/exchange-tasks/{task['id']}/executions/{x['id']}"))
        if e["state"] not in ("queued", "running", "waiting"):
            assert e["result"] == "ok", e
            return e
        assert time.monotonic() < deadline, f"execution still {e['state']}"
        time.sleep(0.3)


def test_the_real_worker_leaves_an_archive_equal_to_the_filtered_export(api, server, site,
                                                                        demo_sim):
    sim = demo_sim
    boxes = [m["address"] for m in sim.get("/mailboxes")["items"][:3]]
    group = {"kind": "mailbox_list", "value": ";".join(boxes)}
    mfr_def = make_definition(api, settings=DEMO_MFR)
    cal_def = make_definition(api, type_=CAL, settings=CALENDAR)
    tasks = [make_task(api, site=site, definition=d, group=group) for d in (mfr_def, cal_def)]
    definitions = [mfr_def, cal_def]
    worker = start_worker(server, sim, site)
    try:
        for t in tasks:
            run_and_wait(api, t)
        for address in boxes:
            want = filter_export(sim.export(address), definitions)
            assert want["messages"] and want["appointments"], address
            assert archive_snapshot(api, address) == want, address
            assert_counts_consistent(api, address)

        # Changes of every kind in Exchange, then incremental executions.
        anna = boxes[0]
        export = sim.export(anna)
        paths = {f["path"]: f for f in export["folders"]}
        inbox = [m for m in export["messages"] if m["folder_path"] == "/Inbox"]
        normal = [m for m in inbox if m["sensitivity"] == "Normal"]
        private = [m for m in inbox if m["sensitivity"] != "Normal"]
        appts = export["appointments"]
        items = f"/mailboxes/{anna}/items"
        sim.control("DELETE", f"{items}/{normal[0]['item_id']}", expect=200)
        sim.control("PATCH", f"{items}/{normal[1]['item_id']}", expect=200,
                    json={"folder": "/Inbox/Projects/Phoenix"})
        sim.control("PATCH", f"{items}/{normal[2]['item_id']}", expect=200,
                    json={"subject": "changed", "is_read": True})
        sim.control("PATCH", f"{items}/{private[0]['item_id']}", expect=200,
                    json={"sensitivity": "Normal"})
        sim.control("PATCH", f"{items}/{normal[3]['item_id']}", expect=200,
                    json={"sensitivity": "Confidential"})
        sim.control("PATCH", f"/mailboxes/{anna}/folders/{paths['/Inbox/Projects']['folder_id']}",
                    expect=200, json={"display_name": "Projects (old)"})
        sim.control("POST", f"/mailboxes/{anna}/folders", expect=201,
                    json={"parent_path": "/Inbox", "name": "Receipts", "messages": [
                        {"subject": "Invoice", "from": "shop@else.example", "to": [anna]}]})
        sim.control("PATCH", f"{items}/{appts[0]['item_id']}", expect=200,
                    json={"location": "Room 12", "subject": "moved on"})
        sim.control("DELETE", f"{items}/{appts[-1]['item_id']}", expect=200)
        sim.control("POST", items, expect=201, json={
            "type": "appointment", "subject": "Added review", "start": "2026-12-01T10:00:00Z",
            "attachments": [{"name": "notes.txt", "content_type": "text/plain",
                             "content_text": "review notes\n"}]})
        for t in tasks:
            run_and_wait(api, t)
        for address in boxes:
            assert archive_snapshot(api, address) == \
                filter_export(sim.export(address), definitions), address
            assert_counts_consistent(api, address)
        gone = {i["item_id"]: i for i in read_all(api, box(anna) + "/items",
                                                  include_deleted="true")}
        assert gone[normal[0]["item_id"]]["deleted"]
        assert gone[normal[0]["item_id"]]["folder_path"] == "/Inbox"
        assert normal[3]["item_id"] not in gone  # became private: no trace
        review = next(a for a in read_all(api, box(anna) + "/appointments")
                      if a["subject"] == "Added review")
        content = ok_bytes(api.get(review["attachments"][0]["content_url"]))
        assert content == b"review notes\n"
    finally:
        rc = worker.stop(timeout=60)
    worker.assert_clean_exit(rc)
