# SPDX-License-Identifier: Apache-2.0
"""The /_sim/ control API: listings, changes, groups, reset, counters, export, errors."""
import json
import os

import pytest

import simlib
from ewsclient import ID_ONLY, Client
from simlib import NS, envelope

ALICE = "alice@example.com"


def test_mailboxes_listing(sim):
    doc = sim.get("/mailboxes")
    assert doc["next_cursor"] is None
    by = {m["address"]: m for m in doc["items"]}
    assert set(by) == {"alice@example.com", "bob@example.com", "carol@example.com",
                       "user1@example.com"}
    a = by[ALICE]
    assert a["display_name"] == "Alice Archer"
    assert a["message_count"] == 6 and a["appointment_count"] == 5
    assert a["item_count"] == 11
    assert a["folder_count"] >= 13  # fixture folders + the standard ones


def test_folder_listing_has_paths_and_counts(sim):
    items = sim.get(f"/mailboxes/{ALICE}/folders")["items"]
    by = {f["path"]: f for f in items}
    assert by["/Inbox"]["distinguished_id"] == "inbox"
    assert by["/Inbox"]["item_count"] == 3 and by["/Inbox"]["unread_count"] == 1
    assert by["/Inbox/Projects"]["parent_path"] == "/Inbox"
    assert by["/Calendar/Team"]["folder_class"] == "IPF.Appointment"


def test_export_is_canonical_and_complete(fresh):
    a = fresh.control("GET", f"/mailboxes/{ALICE}/export", expect=200)
    b = fresh.control("GET", f"/mailboxes/{ALICE}/export", expect=200)
    assert a.content == b.content, "export must be byte-for-byte deterministic"
    doc = a.json()
    assert doc["mailbox"] == ALICE
    paths = [f["path"] for f in doc["folders"]]
    assert paths == sorted(paths)
    keys = [(m["folder_path"], m["item_id"]) for m in doc["messages"]]
    assert keys == sorted(keys)
    q = next(m for m in doc["messages"] if m["subject"] == "Quarterly report")
    assert q == {**q, "internet_message_id": "<q1.report@example.com>",
                 "from": {"name": "Bob Baker", "email": "bob@example.com"},
                 "sender": {"name": "Bob Baker", "email": "bob@example.com"},
                 "to": [{"name": "Alice Archer", "email": "alice@example.com"}],
                 "cc": [{"name": "Carol Cooper", "email": "carol@example.com"}],
                 "sent": "2024-05-01T08:29:00Z", "received": "2024-05-01T08:30:00Z",
                 "item_class": "IPM.Note", "is_read": False, "sensitivity": "Normal",
                 "has_attachments": True, "folder_path": "/Inbox"}
    weekly = next(x for x in doc["appointments"] if x["subject"] == "Weekly sync")
    assert weekly["calendar_item_type"] == "RecurringMaster"
    assert weekly["recurrence"] == {
        "pattern": {"type": "WeeklyRecurrence", "interval": 1, "days_of_week": ["Monday"]},
        "range": {"type": "EndDateRecurrence", "start_date": "2024-05-06",
                  "end_date": "2024-06-24"}}
    assert weekly["modified_occurrences"] == [{"original_start": "2024-05-20T13:00:00Z",
                                               "start": "2024-05-21T15:00:00Z",
                                               "end": "2024-05-21T15:30:00Z"}]
    assert weekly["deleted_occurrences"] == ["2024-06-03T13:00:00Z"]
    design = next(x for x in doc["appointments"] if x["subject"] == "Design review")
    import hashlib
    import base64
    assert design["attachments"] == [{
        "name": "agenda.pdf", "content_type": "application/pdf",
        "size": len(base64.b64decode("JVBERi0xLjQKJSBkZW1vCg==")),
        "sha256": hashlib.sha256(base64.b64decode("JVBERi0xLjQKJSBkZW1vCg==")).hexdigest()}]
    assert design["optional_attendees"] == [{"name": "Carol Cooper", "email": "carol@example.com"}]
    offsite = next(x for x in doc["appointments"] if x["subject"] == "Offsite")
    assert offsite["is_all_day"] and offsite["sensitivity"] == "Private"
    assert offsite["location"] is None and offsite["recurrence"] is None


def test_export_matches_what_ews_reports(fresh):
    """The export is what a client sees: compare with GetItem over EWS, field by field."""
    doc = fresh.export(ALICE)
    c = Client(fresh)
    uris = ("item:Subject", "message:InternetMessageId", "message:IsRead", "item:Size",
            "item:Sensitivity", "item:DateTimeReceived", "item:ItemClass")
    from ewsclient import fields
    ids = "".join(f'<t:ItemId Id="{m["item_id"]}"/>' for m in doc["messages"])
    resp = c.call(f"<m:GetItem><m:ItemShape>{ID_ONLY}{fields(uris)}</m:ItemShape>"
                  f"<m:ItemIds>{ids}</m:ItemIds></m:GetItem>")
    for m, msg in zip(doc["messages"], c.messages(resp)):
        item = msg.find("m:Items", NS)[0]
        assert item.find("t:Subject", NS).text == m["subject"]
        assert item.find("t:InternetMessageId", NS).text == m["internet_message_id"]
        assert item.find("t:IsRead", NS).text == str(m["is_read"]).lower()
        assert int(item.find("t:Size", NS).text) == m["size"]
        assert item.find("t:DateTimeReceived", NS).text == m["received"]


def test_item_lifecycle_through_control(fresh):
    new = fresh.control("POST", f"/mailboxes/{ALICE}/items", expect=201, json={
        "type": "message", "folder": "/Inbox/Projects", "subject": "From control",
        "from": "bob@example.com", "to": [ALICE], "is_read": False,
        "attachments": [{"name": "a.txt", "content_type": "text/plain", "content_text": "hi"}],
    }).json()
    assert new["folder_path"] == "/Inbox/Projects" and new["attachment_count"] == 1
    iid = new["item_id"]
    upd = fresh.control("PATCH", f"/mailboxes/{ALICE}/items/{iid}", expect=200,
                        json={"subject": "Renamed", "sensitivity": "Confidential",
                              "folder": "/Inbox"}).json()
    assert upd["subject"] == "Renamed" and upd["folder_path"] == "/Inbox"
    assert upd["change_key"] != new["change_key"]
    exp = fresh.export(ALICE)
    m = next(x for x in exp["messages"] if x["item_id"] == iid)
    assert m["sensitivity"] == "Confidential" and m["folder_path"] == "/Inbox"
    fresh.control("DELETE", f"/mailboxes/{ALICE}/items/{iid}", expect=200)
    assert iid not in [x["item_id"] for x in fresh.export(ALICE)["messages"]]
    fresh.control("DELETE", f"/mailboxes/{ALICE}/items/{iid}", expect=404)


def test_appointment_create_through_control(fresh):
    new = fresh.control("POST", f"/mailboxes/{ALICE}/items", expect=201, json={
        "type": "appointment", "subject": "Planning", "start": "2024-08-01T10:00:00Z",
        "end": "2024-08-01T11:00:00Z", "location": "Room 9",
        "recurrence": {"pattern": {"type": "DailyRecurrence", "interval": 2},
                       "range": {"type": "NumberedRecurrence", "start_date": "2024-08-01",
                                 "number_of_occurrences": 3}}}).json()
    assert new["folder_path"] == "/Calendar" and new["type"] == "appointment"
    exp = fresh.export(ALICE)
    a = next(x for x in exp["appointments"] if x["item_id"] == new["item_id"])
    assert a["recurrence"]["pattern"] == {"type": "DailyRecurrence", "interval": 2}


@pytest.mark.parametrize("body,status", [
    ({"type": "note"}, 422),
    ({"type": "message", "folder": "/Nope"}, 404),
    ({"type": "message", "sent": "yesterday"}, 422),
    ({"type": "message", "sensitivity": "Secret"}, 422),
    ({"type": "message", "to": ["not an address"]}, 422),
    ({"type": "message", "subject": "bad \u0001 char"}, 422),
    ({"type": "appointment", "start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z"}, 422),
    ({"type": "appointment", "start": "2024-01-02T00:00:00Z",
      "recurrence": {"pattern": {"type": "WeeklyRecurrence"}}}, 422),
    ({"type": "message", "attachments": [{"name": "x", "content_base64": "***"}]}, 422),
])
def test_bad_item_bodies_are_refused_and_change_nothing(fresh, body, status):
    before = fresh.control("GET", f"/mailboxes/{ALICE}/export").content
    r = fresh.control("POST", f"/mailboxes/{ALICE}/items", json=body)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["status"] == status and r.json()["detail"]
    # Nothing visible changed (a refused item never reaches a client).
    after = fresh.control("GET", f"/mailboxes/{ALICE}/export").content
    assert json.loads(after) == json.loads(before)


def test_folder_lifecycle_and_errors(fresh):
    made = fresh.control("POST", f"/mailboxes/{ALICE}/folders", expect=201,
                         json={"parent_path": "/Inbox", "name": "Receipts"}).json()
    assert made["path"] == "/Inbox/Receipts" and made["folder_class"] == "IPF.Note"
    fresh.control("POST", f"/mailboxes/{ALICE}/folders", expect=422,
                  json={"parent_path": "/Inbox", "name": "Receipts"})
    fresh.control("POST", f"/mailboxes/{ALICE}/folders", expect=422,
                  json={"parent_path": "/Inbox", "name": "a/b"})
    moved = fresh.control("PATCH", f"/mailboxes/{ALICE}/folders/{made['folder_id']}", expect=200,
                          json={"parent_path": "/Inbox/Projects"}).json()
    assert moved["path"] == "/Inbox/Projects/Receipts"
    inbox = next(f for f in fresh.get(f"/mailboxes/{ALICE}/folders")["items"]
                 if f["path"] == "/Inbox")
    fresh.control("DELETE", f"/mailboxes/{ALICE}/folders/{inbox['folder_id']}", expect=409)
    projects = next(f for f in fresh.get(f"/mailboxes/{ALICE}/folders")["items"]
                    if f["path"] == "/Inbox/Projects")
    fresh.control("PATCH", f"/mailboxes/{ALICE}/folders/{projects['folder_id']}", expect=409,
                  json={"parent_path": "/Inbox/Projects/Receipts"})
    fresh.control("DELETE", f"/mailboxes/{ALICE}/folders/{projects['folder_id']}", expect=200)
    paths = [f["path"] for f in fresh.get(f"/mailboxes/{ALICE}/folders")["items"]]
    assert not any(p.startswith("/Inbox/Projects") for p in paths)


def expand(sim, group):
    body = f"<m:ExpandDL><m:Mailbox><t:EmailAddress>{group}</t:EmailAddress></m:Mailbox></m:ExpandDL>"
    import xml.etree.ElementTree as ET
    r = sim.post(envelope(body))
    root = ET.fromstring(r.content)
    dl = root.find(".//m:DLExpansion", NS)
    return [(m.find("t:EmailAddress", NS).text, m.find("t:MailboxType", NS).text) for m in dl]


def test_group_members_change_and_expand(fresh):
    assert expand(fresh, "team@example.com") == [
        ("alice@example.com", "Mailbox"), ("bob@example.com", "Mailbox"),
        ("nested@example.com", "PublicDL"), ("partner@outside.example", "OneOff")]
    fresh.control("PUT", "/groups/team@example.com/members", expect=200,
                  json={"members": ["carol@example.com"]})
    assert expand(fresh, "team@example.com") == [("carol@example.com", "Mailbox")]
    fresh.control("PUT", "/groups/ghost@example.com/members", expect=404, json={"members": []})
    fresh.control("PUT", "/groups/team@example.com/members", expect=422, json={"members": [3]})
    made = fresh.control("POST", "/groups", expect=201,
                         json={"address": "new@example.com", "members": ["bob@example.com"]})
    assert made.json()["members"] == ["bob@example.com"]
    fresh.control("POST", "/groups", expect=409, json={"address": "new@example.com"})
    fresh.control("POST", "/groups", expect=422, json={"address": "x@example.com", "members": "a"})
    assert expand(fresh, "new@example.com") == [("bob@example.com", "Mailbox")]
    groups = {g["address"] for g in fresh.get("/groups")["items"]}
    assert {"team@example.com", "nested@example.com", "new@example.com"} <= groups


def test_reset_restores_the_fixture(fresh):
    before = fresh.control("GET", f"/mailboxes/{ALICE}/export").content
    fresh.control("POST", f"/mailboxes/{ALICE}/items", expect=201,
                  json={"type": "message", "subject": "temp"})
    assert fresh.control("GET", f"/mailboxes/{ALICE}/export").content != before
    fresh.control("POST", "/reset", expect=200)
    assert fresh.control("GET", f"/mailboxes/{ALICE}/export").content == before


def test_counters_per_operation_and_mailbox(fresh):
    fresh.control("POST", "/stats/reset", expect=200)
    c = Client(fresh)
    inbox = c.folder_id("inbox")
    c.sync_all(inbox)
    Client(fresh, mailbox="bob@example.com").folder_id("inbox")
    alice = fresh.get(f"/mailboxes/{ALICE}/counters")
    assert alice["requests"]["GetFolder"] == 1 and alice["requests"]["SyncFolderItems"] == 1
    assert alice["sync_changes"] == 3 and alice["requests"]["GetItem"] == 0
    bob = fresh.get("/mailboxes/bob@example.com/counters")
    assert bob["requests"]["GetFolder"] == 1 and bob["requests"]["SyncFolderItems"] == 0
    total = fresh.stats()
    assert total["requests"]["GetFolder"] == 2
    assert fresh.get(f"/mailboxes/{ALICE}")["counters"] == alice


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/nothing", 404), ("DELETE", "/mailboxes", 405), ("GET", "/mailboxes/ghost@x.example", 404),
    ("GET", "/mailboxes/ghost@x.example/export", 404), ("POST", "/faults", 400),
    ("GET", "/mailboxes/alice@example.com/items/AAAA", 405),
    ("PATCH", "/mailboxes/alice@example.com/items/AAAA", 400),
    ("DELETE", "/mailboxes/alice@example.com/items/AAAA", 404),
    ("GET", "/a/b/c/d/e/f/g/h/i/j", 404),
])
def test_control_errors(sim, method, path, status):
    r = sim.control(method, path)
    assert r.status_code == status, r.text
    assert r.json()["status"] == status


def test_invalid_json_body(sim):
    r = sim.control("POST", "/faults", data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_control_token_mode():
    s = simlib.EwsSim(fixture=os.path.join(simlib.FIXTURES, "org.json"),
                      env={"EWS_SIM_CONTROL_TOKEN": "control-secret-123"})
    try:
        assert s.control("GET", "/mailboxes").status_code == 403
        r = s.control("GET", "/mailboxes", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 403
        r = s.control("GET", "/mailboxes", headers={"Authorization": "Bearer control-secret-123"})
        assert r.status_code == 200
    finally:
        rc = s.stop()
        s.assert_clean_exit(rc)
