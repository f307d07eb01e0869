# SPDX-License-Identifier: Apache-2.0
"""tests/lib/archive_compare.py on small hand-made inputs: how an export is reduced to what a
definition replicates, how the archive view becomes the export's shape, and that a
comparison of the two can fail. No server: both are plain functions."""
import copy
import json

import pytest

from archive_compare import (CAL, MFR, NOT_REPLICATED, filter_export, snapshot_from_view)


def person(name, email=None):
    return {"name": name, "email": email or f"{name.lower()}@example.com"}


def folder(fid, path, cls="IPF.Note", dist=None, count=0):
    parent = path.rsplit("/", 1)[0] or "/"
    return {"folder_id": fid, "path": path, "parent_path": parent,
            "display_name": path.rsplit("/", 1)[1], "folder_class": cls,
            "distinguished_id": dist, "item_count": count}


def message(iid, path, sensitivity="Normal", **kw):
    m = {"item_id": iid, "folder_path": path, "internet_message_id": f"<{iid}@example.com>",
         "subject": f"subject {iid}", "sender": person("Bob"), "from": person("Bob"),
         "to": [person("Anna")], "cc": [], "sent": "2024-05-01T08:29:00Z",
         "received": "2024-05-01T08:30:00Z", "size": 1000, "item_class": "IPM.Note",
         "is_read": False, "sensitivity": sensitivity, "has_attachments": False}
    m.update(kw)
    return m


def appointment(iid, path, **kw):
    a = {"item_id": iid, "folder_path": path, "subject": f"meeting {iid}",
         "start": "2024-05-06T13:00:00Z", "end": "2024-05-06T13:30:00Z", "is_all_day": False,
         "location": None, "organizer": person("Anna"), "required_attendees": [person("Bob")],
         "optional_attendees": [], "calendar_item_type": "Single", "recurrence": None,
         "modified_occurrences": [], "deleted_occurrences": [], "sensitivity": "Normal",
         "has_attachments": False, "attachments": []}
    a.update(kw)
    return a


SERIES = {
    "calendar_item_type": "RecurringMaster",
    "recurrence": {"pattern": {"type": "WeeklyRecurrence", "interval": 1,
                               "days_of_week": ["Monday"]},
                   "range": {"type": "EndDateRecurrence", "start_date": "2024-05-06",
                             "end_date": "2024-06-24"}},
    "modified_occurrences": [{"original_start": "2024-05-20T13:00:00Z",
                              "start": "2024-05-21T15:00:00Z", "end": "2024-05-21T15:30:00Z"}],
    "deleted_occurrences": ["2024-06-03T13:00:00Z"],
    "has_attachments": True,
    "attachments": [{"name": "agenda.txt", "content_type": "text/plain", "size": 4,
                     "sha256": "a" * 64}],
}


def export():
    """A mailbox with every case a definition decides: Deleted Items, exclusions, a private
    message, folders that are not mail folders, three calendars (one in Deleted Items)."""
    return {
        "mailbox": "Anna@Example.com",
        "display_name": "Anna",
        "folders": [
            folder("F-cal", "/Calendar", "IPF.Appointment", "calendar", 3),
            folder("F-team", "/Calendar/Team", "IPF.Appointment", None, 1),
            folder("F-contacts", "/Contacts", "IPF.Contact", "contacts", 1),
            folder("F-del", "/Deleted Items", "IPF.Note", "deleteditems", 1),
            folder("F-oldcal", "/Deleted Items/Old", "IPF.Appointment", None, 1),
            folder("F-inbox", "/Inbox", "IPF.Note", "inbox", 4),
            folder("F-news", "/Inbox/Newsletters", "IPF.Note", None, 1),
            folder("F-odd", "/Inbox/Odd", "IPF.Note.Custom", None, 1),
            folder("F-plain", "/Notes to self", "", None, 1),
        ],
        "messages": [
            message("m-contact", "/Contacts", item_class="IPM.Contact"),
            message("m-trash", "/Deleted Items"),
            message("m1", "/Inbox"),
            message("m2", "/Inbox", is_read=True),
            message("m-private", "/Inbox", "Private"),
            message("m-news", "/Inbox/Newsletters"),
            message("m-odd", "/Inbox/Odd"),
            message("m-plain", "/Notes to self"),
        ],
        "appointments": [
            appointment("a1", "/Calendar"),
            appointment("a2", "/Calendar", **SERIES),
            appointment("a-confidential", "/Calendar", sensitivity="Confidential"),
            appointment("a-team", "/Calendar/Team"),
            appointment("a-old", "/Deleted Items/Old"),
            appointment("a-inbox", "/Inbox"),
        ],
    }


def ids(records, key="item_id"):
    return sorted(r[key] for r in records)


def definition(kind, **settings):
    return {"type": kind, "settings": settings}


def test_mailbox_folder_replication_defaults():
    got = filter_export(export(), [definition(MFR)])
    assert got["mailbox"] == "anna@example.com"
    assert got["display_name"] is NOT_REPLICATED
    # Everything but the Deleted Items subtree; calendars and contacts appear without items.
    assert [f["path"] for f in got["folders"]] == [
        "/Calendar", "/Calendar/Team", "/Contacts", "/Inbox", "/Inbox/Newsletters",
        "/Inbox/Odd", "/Notes to self"]
    # Mail folders only (IPF.Note, IPF.Note.*, no class), no private message.
    assert ids(got["messages"]) == ["m-news", "m-odd", "m-plain", "m1", "m2"]
    assert got["appointments"] == []
    counts = {f["path"]: f["item_count"] for f in got["folders"]}
    assert counts == {"/Calendar": 0, "/Calendar/Team": 0, "/Contacts": 0, "/Inbox": 2,
                      "/Inbox/Newsletters": 1, "/Inbox/Odd": 1, "/Notes to self": 1}
    assert {f["distinguished_id"] for f in got["folders"]} == {NOT_REPLICATED}
    # Sorted as the export sorts: folder path, then item id.
    assert [m["item_id"] for m in got["messages"]] == ["m1", "m2", "m-news", "m-odd", "m-plain"]


def test_mailbox_folder_replication_settings():
    d = definition(MFR, exclude_folders=[" / inbox/NEWSLETTERS/ ", "/", " "],
                   include_deleted_items=True, include_private_items=True)
    got = filter_export(export(), [d])
    paths = [f["path"] for f in got["folders"]]
    assert "/Inbox/Newsletters" not in paths and "/Inbox" in paths  # "/" excludes nothing
    assert "/Deleted Items" in paths and "/Deleted Items/Old" in paths
    assert ids(got["messages"]) == ["m-odd", "m-plain", "m-private", "m-trash", "m1", "m2"]
    # An excluded folder takes its sub-folders along; a prefix of a name is not a sub-folder.
    d = definition(MFR, exclude_folders=["/Inbox", "/Note"])
    paths = [f["path"] for f in filter_export(export(), [d])["folders"]]
    assert not [p for p in paths if p.startswith("/Inbox")]
    assert "/Notes to self" in paths


def test_calendar_replication_default_and_all():
    got = filter_export(export(), [definition(CAL, include_calendars="default")])
    assert [f["path"] for f in got["folders"]] == ["/Calendar"]
    assert ids(got["appointments"]) == ["a-confidential", "a1", "a2"]  # private ones too
    assert got["messages"] == []
    assert got["folders"][0]["item_count"] == 3
    got = filter_export(export(), [definition(CAL, include_calendars="all")])
    assert [f["path"] for f in got["folders"]] == ["/Calendar", "/Calendar/Team"]
    assert ids(got["appointments"]) == ["a-confidential", "a-team", "a1", "a2"]
    series = next(a for a in got["appointments"] if a["item_id"] == "a2")
    assert series["recurrence"] == SERIES["recurrence"]
    assert series["modified_occurrences"] == SERIES["modified_occurrences"]
    assert series["attachments"] == SERIES["attachments"]


def test_both_features_merge_their_folders():
    got = filter_export(export(), [definition(MFR), definition(CAL, include_calendars="all")])
    cal = next(f for f in got["folders"] if f["path"] == "/Calendar")
    assert cal["item_count"] == 3  # the calendar feature's appointments
    assert len([f for f in got["folders"] if f["path"] == "/Calendar"]) == 1
    assert ids(got["messages"]) == ["m-news", "m-odd", "m-plain", "m1", "m2"]
    assert ids(got["appointments"]) == ["a-confidential", "a-team", "a1", "a2"]


def test_definitions_that_do_not_combine_are_refused():
    with pytest.raises(ValueError):
        filter_export(export(), [definition(MFR), definition(MFR)])
    with pytest.raises(ValueError):
        filter_export(export(), [definition("managed_folders")])


def test_the_export_is_not_modified():
    original = export()
    kept = copy.deepcopy(original)
    got = filter_export(original, [definition(MFR), definition(CAL, include_calendars="all")])
    got["messages"][0]["to"].append(person("X"))
    got["appointments"][0]["required_attendees"].clear()
    assert original == kept


# ---- the archive side ----

def view_folder(fid, path, parent, cls="IPF.Note", count=0, deleted=False, sources=("mail",)):
    return {"folder_id": fid, "parent_folder_id": parent, "path": path,
            "display_name": path.rsplit("/", 1)[1], "folder_class": cls,
            "sources": list(sources), "item_count": count, "deleted_item_count": 0,
            "deleted": deleted, "deleted_at": "2024-06-01T00:00:00Z" if deleted else None,
            "updated_at": "2024-06-01T00:00:00Z"}


def view_item(m, folder_id, deleted=False):
    v = {k: copy.deepcopy(m[k]) for k in m}
    v.update({"folder_id": folder_id, "change_key": "CK", "deleted": deleted,
              "deleted_at": "2024-06-01T00:00:00Z" if deleted else None,
              "updated_at": "2024-06-01T00:00:00Z"})
    return v


def view_appointment(a, folder_id):
    v = copy.deepcopy(a)
    v.update({"folder_id": folder_id, "change_key": "CK", "item_class": "IPM.Appointment",
              "uid": "UID", "is_recurring": False, "updated_at": "2024-06-01T00:00:00Z"})
    v["modified_occurrences"] = [dict(o, item_id="EXC") for o in a["modified_occurrences"]]
    v["attachments"] = [dict(x, attachment_id="AT", content_url="/api/v1/…")
                        for x in a["attachments"]]
    return v


def perfect_view(filtered, source_ids):
    """The archive view a perfect replica of a filtered export shows."""
    folders = [view_folder(source_ids[f["path"]], f["path"],
                           source_ids.get(f["parent_path"], "ROOT"), f["folder_class"] or None,
                           f["item_count"]) for f in filtered["folders"]]
    items = [view_item(m, source_ids[m["folder_path"]]) for m in filtered["messages"]]
    appts = [view_appointment(a, source_ids[a["folder_path"]]) for a in filtered["appointments"]]
    return folders, items, appts


def test_view_of_a_perfect_replica_equals_the_filtered_export():
    defs = [definition(MFR), definition(CAL, include_calendars="all")]
    filtered = filter_export(export(), defs)
    source_ids = {f["path"]: f["folder_id"] for f in export()["folders"]}
    folders, items, appts = perfect_view(filtered, source_ids)
    # The archive also keeps deleted records; the comparison leaves them out.
    folders.append(view_folder("F-gone", "/Gone", "ROOT", deleted=True))
    items.append(view_item(message("m-gone", "/Gone"), "F-gone", deleted=True))
    # Whatever order the API lists them in.
    got = snapshot_from_view("anna@example.com", folders[::-1], items[::-1], appts[::-1])
    assert got == filtered
    assert json.dumps(got, sort_keys=True) == json.dumps(filtered, sort_keys=True)


def test_view_fields_are_mapped_to_the_export_shape():
    folders = [view_folder("P", "/Inbox", "ROOT", count=1),
               view_folder("C", "/Inbox/Sub", "P", cls=None),
               # A calendar whose parent the archive does not list: parent from the path.
               view_folder("K", "/Inbox/Sub/Cal", "NOT-LISTED", "IPF.Appointment",
                           sources=("calendar",))]
    a = appointment("a2", "/Inbox/Sub/Cal", **SERIES)
    got = snapshot_from_view("x@example.com", folders, [], [view_appointment(a, "K")])
    by_path = {f["path"]: f for f in got["folders"]}
    assert by_path["/Inbox"]["parent_path"] == "/"
    assert by_path["/Inbox/Sub"]["parent_path"] == "/Inbox"
    assert by_path["/Inbox/Sub"]["folder_class"] == ""
    assert by_path["/Inbox/Sub/Cal"]["parent_path"] == "/Inbox/Sub"
    assert list(by_path["/Inbox"]) == ["folder_id", "path", "parent_path", "display_name",
                                       "folder_class", "distinguished_id", "item_count"]
    out = got["appointments"][0]
    assert out["modified_occurrences"] == SERIES["modified_occurrences"]  # no item_id
    assert out["attachments"] == SERIES["attachments"]  # no attachment_id, content_url
    assert "uid" not in out and "item_class" not in out and "folder_id" not in out
    assert list(got) == ["mailbox", "display_name", "folders", "messages", "appointments"]


@pytest.mark.parametrize("damage", [
    "drop_message", "change_subject", "extra_folder", "rename_folder", "wrong_parent",
    "wrong_count", "undelete", "occurrence", "attachment_hash", "recipient_order"])
def test_a_difference_is_seen(damage):
    """The comparison can fail: each kind of damage to a perfect replica makes it unequal."""
    defs = [definition(MFR), definition(CAL, include_calendars="all")]
    filtered = filter_export(export(), defs)
    source_ids = {f["path"]: f["folder_id"] for f in export()["folders"]}
    folders, items, appts = perfect_view(filtered, source_ids)
    series = next(a for a in appts if a["item_id"] == "a2")
    if damage == "drop_message":
        items.pop()
    elif damage == "change_subject":
        items[0]["subject"] += "!"
    elif damage == "extra_folder":
        folders.append(view_folder("F-x", "/Extra", "ROOT"))
    elif damage == "rename_folder":
        folders[0]["display_name"] += "2"
    elif damage == "wrong_parent":
        team = next(f for f in folders if f["path"] == "/Calendar/Team")
        team["parent_folder_id"] = source_ids["/Inbox"]
    elif damage == "wrong_count":
        folders[0]["item_count"] += 1
    elif damage == "undelete":
        items.append(view_item(message("m-private", "/Inbox", "Private"), "F-inbox"))
    elif damage == "occurrence":
        series["deleted_occurrences"] = []
    elif damage == "attachment_hash":
        series["attachments"][0]["sha256"] = "b" * 64
    elif damage == "recipient_order":
        items[0]["to"] = [person("Zed")] + items[0]["to"]
    assert snapshot_from_view("anna@example.com", folders, items, appts) != filtered
