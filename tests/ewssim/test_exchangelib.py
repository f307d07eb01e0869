# SPDX-License-Identifier: Apache-2.0
"""python3-exchangelib (Debian's package) drives the simulator as a third-party EWS client."""
import pytest
from exchangelib import (DELEGATE, IMPERSONATION, UTC, Account, Configuration, Credentials,
                         EWSDateTime, FaultTolerance)
from exchangelib.errors import ErrorServerBusy
from exchangelib.protocol import close_connections
from exchangelib.items import CalendarItem, Message

import simlib

ALICE = "alice@example.com"


def account(sim, address=ALICE, retry_policy=None, access=IMPERSONATION, creds=None):
    """No auth_type and no version: exchangelib discovers both (401 probe, version probe)."""
    creds = creds or Credentials(simlib.SERVICE_USER, simlib.SERVICE_PASSWORD)
    kw = {"retry_policy": retry_policy} if retry_policy else {}
    cfg = Configuration(service_endpoint=sim.ews_url, credentials=creds, **kw)
    return Account(address, config=cfg, autodiscover=False, access_type=access)


@pytest.fixture(autouse=True)
def no_cached_protocols():
    """exchangelib caches a protocol (with its retry policy) per endpoint and credentials."""
    close_connections()
    yield
    close_connections()


def test_connect_with_version_discovery(fresh):
    acct = account(fresh)
    assert acct.version.api_version == "Exchange2016"
    assert acct.version.build.major_version == 15
    # The probe with Exchange2019 was refused, the retry with Exchange2016 accepted.
    assert fresh.stats()["request_schema_errors"] >= 1


def test_hierarchy_sync_then_incremental(fresh):
    acct = account(fresh)
    root = acct.msg_folder_root
    created = [f for ct, f in root.sync_hierarchy() if ct == "create"]
    names = {f.name for f in created}
    assert {"Inbox", "Projects", "Calendar", "Team", "Sent Items"} <= names
    calendars = {f.name for f in created if f.folder_class == "IPF.Appointment"}
    assert {"Calendar", "Team"} <= calendars
    state = root.folder_sync_state
    fresh.control("POST", f"/mailboxes/{ALICE}/folders", expect=201,
                  json={"parent_path": "/Inbox", "name": "Invoices"})
    changes = list(root.sync_hierarchy(sync_state=state))
    assert [(ct, f.name) for ct, f in changes] == [("create", "Invoices")]


def test_item_sync_loop_to_the_end_with_small_pages(fresh):
    for n in range(9):
        fresh.control("POST", f"/mailboxes/{ALICE}/items", expect=201,
                      json={"type": "message", "subject": f"bulk {n}"})
    acct = account(fresh)
    inbox = acct.inbox
    seen = [(ct, it) for ct, it in inbox.sync_items(max_changes_returned=4)]
    assert len(seen) == 12 and all(ct == "create" for ct, _ in seen)
    assert all(isinstance(it, Message) for _, it in seen)
    assert fresh.get(f"/mailboxes/{ALICE}/counters")["requests"]["SyncFolderItems"] == 3
    state = inbox.item_sync_state
    subj = {it.subject: it for _, it in seen}
    fresh.control("PATCH", f"/mailboxes/{ALICE}/items/{subj['bulk 0'].id}",
                  json={"is_read": True}, expect=200)
    fresh.control("DELETE", f"/mailboxes/{ALICE}/items/{subj['bulk 1'].id}", expect=200)
    changes = list(inbox.sync_items(sync_state=state))
    kinds = sorted(ct for ct, _ in changes)
    assert kinds == ["delete", "read_flag_change"]


def test_get_item_with_bodies_and_metadata(fresh):
    acct = account(fresh)
    items = {i.subject: i for i in acct.inbox.all().only(
        "subject", "body", "author", "to_recipients", "is_read", "message_id", "sensitivity",
        "has_attachments", "datetime_received", "size")}
    q = items["Quarterly report"]
    assert q.body == "Numbers attached."
    assert q.author.email_address == "bob@example.com"
    assert [r.email_address for r in q.to_recipients] == [ALICE]
    assert q.message_id == "<q1.report@example.com>" and q.has_attachments
    assert q.datetime_received == EWSDateTime(2024, 5, 1, 8, 30, tzinfo=UTC)
    private = items["Private matter"]
    assert private.sensitivity == "Private" and "nobody else" in private.body
    full = acct.inbox.get(subject="Quarterly report")
    att = full.attachments[0]
    assert att.name == "q1.csv" and att.content == b"region,revenue\nnorth,10\n"


def test_calendar_items_and_view(fresh):
    acct = account(fresh)
    items = {i.subject: i for i in acct.calendar.all()}
    assert {"Design review", "Weekly sync", "Offsite", "Board meeting"} <= set(items)
    weekly = items["Weekly sync"]
    assert weekly.type == "RecurringMaster" and weekly.recurrence is not None
    assert str(weekly.recurrence.pattern).startswith("Occurs on weekday")
    design = items["Design review"]
    assert design.location == "Room 4" and design.organizer.email_address == "bob@example.com"
    assert [a.mailbox.email_address for a in design.required_attendees] == [ALICE]
    view = list(acct.calendar.view(start=EWSDateTime(2024, 5, 1, tzinfo=UTC),
                                   end=EWSDateTime(2024, 6, 30, tzinfo=UTC)))
    weekly_occ = [v for v in view if v.subject.startswith("Weekly sync")]
    # 8 Mondays from May 6 to June 24, minus the deleted June 3; the May 20 one moved.
    assert len(weekly_occ) == 7
    moved = [v for v in weekly_occ if v.subject == "Weekly sync (moved)"]
    assert len(moved) == 1 and moved[0].type == "Exception"
    assert moved[0].start == EWSDateTime(2024, 5, 21, 15, 0, tzinfo=UTC)
    board = [v for v in view if v.subject == "Board meeting"]
    assert [b.start.day for b in board] == [2, 6]  # first Thursdays of May and June
    assert all(isinstance(v, CalendarItem) for v in view)


def test_expand_dl_and_resolve_names(fresh):
    acct = account(fresh)
    members = acct.protocol.expand_dl("team@example.com")
    got = [(m.email_address, m.mailbox_type) for m in members]
    assert ("nested@example.com", "PublicDL") in got and (ALICE, "Mailbox") in got
    resolved = acct.protocol.resolve_names(["bob@example.com"])
    assert [r.email_address for r in resolved] == ["bob@example.com"]


def test_recovers_from_injected_server_busy(fresh):
    fresh.control("POST", "/faults", expect=201, json={
        "kind": "server_busy", "operation": "SyncFolderItems", "mailbox": ALICE, "count": 2,
        "backoff_ms": 200})
    acct = account(fresh, retry_policy=FaultTolerance(max_wait=60))
    changes = list(acct.inbox.sync_items())
    assert len(changes) == 3
    assert fresh.get("/faults")["items"][0]["fired"] == 2


def test_fail_fast_surfaces_server_busy(fresh):
    fresh.control("POST", "/faults", expect=201, json={
        "kind": "server_busy", "operation": "SyncFolderItems", "mailbox": ALICE, "count": 1,
        "backoff_ms": 100})
    acct = account(fresh)
    with pytest.raises(ErrorServerBusy) as e:
        list(acct.inbox.sync_items())
    assert e.value.back_off == 0.1


def test_delegate_and_update_through_exchangelib(fresh):
    creds = Credentials("assistant@example.com", "assistant-pw")
    acct = account(fresh, access=DELEGATE, creds=creds)
    item = acct.inbox.get(subject="Lunch?")
    item.is_read = False
    item.subject = "Lunch tomorrow?"
    item.save(update_fields=["is_read", "subject"])
    exp = fresh.export(ALICE)
    m = next(x for x in exp["messages"] if x["internet_message_id"] == "<lunch@example.com>")
    assert m["subject"] == "Lunch tomorrow?" and m["is_read"] is False
    item.delete()
    assert "<lunch@example.com>" not in [x["internet_message_id"] for x in fresh.export(ALICE)["messages"]]


def test_folder_walk_filters_attachments_and_deletes(fresh):
    from exchangelib import FileAttachment
    acct = account(fresh)
    names = {f.name for f in acct.root.walk()}
    assert {"Top of Information Store", "Inbox", "Projects", "Recoverable Items",
            "Deletions"} <= names
    assert [i.subject for i in acct.inbox.filter(subject__contains="report")] == \
        ["Quarterly report"]
    assert acct.inbox.all().count() == 3 and acct.inbox.unread_count == 1
    item = acct.inbox.get(subject="Lunch?")
    att = FileAttachment(name="note.txt", content=b"hello")
    item.attach(att)
    listed = fresh.get(f"/mailboxes/{ALICE}/items?folder=/Inbox")["items"]
    assert next(i for i in listed if i["subject"] == "Lunch?")["attachment_count"] == 1
    item.detach(att)
    item.move_to_trash()
    assert [i.subject for i in acct.trash.all()] == ["Lunch?"]
    acct.inbox.get(subject="Private matter").soft_delete()
    exp = fresh.export(ALICE)
    subjects = {(m["folder_path"], m["subject"]) for m in exp["messages"]}
    assert ("/Deleted Items", "Lunch?") in subjects
    assert not any(s == "Private matter" for _, s in subjects)  # in the dumpster: not exported
