# SPDX-License-Identifier: Apache-2.0
"""EWS as Exchange answers it, where a third-party client found the simulator short: occurrences
by InstanceIndex, FirstOccurrence/LastOccurrence, well-known MAPI properties by PropertyTag."""
import pytest

from ewsclient import Client
from simlib import NS
from test_items import ALICE, children, get_item, item_id


@pytest.fixture
def c(fresh):
    return Client(fresh)


def get_by_index(c, master, index, uris=("item:Subject", "calendar:Start", "calendar:End",
                                         "calendar:OriginalStart", "calendar:CalendarItemType")):
    fields = "".join(f'<t:FieldURI FieldURI="{u}"/>' for u in uris)
    body = ("<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"
            f"<t:AdditionalProperties>{fields}</t:AdditionalProperties></m:ItemShape>"
            f'<m:ItemIds><t:OccurrenceItemId RecurringMasterId="{master}" '
            f'InstanceIndex="{index}"/></m:ItemIds></m:GetItem>')
    return c.messages(c.call(body))[0]


def code(msg):
    return msg.find("m:ResponseCode", NS).text


def text(el, path):
    return el.find(path, NS).text


def test_an_occurrence_by_instance_index(c):
    # Weekly sync: Mondays 2024-05-06 … 2024-06-24 (8), the 3rd moved, the 5th deleted.
    master = item_id(c.sim, "Weekly sync")
    first = get_by_index(c, master, 1)
    assert first.get("ResponseClass") == "Success"
    occ = first.find("m:Items/t:CalendarItem", NS)
    assert text(occ, "t:CalendarItemType") == "Occurrence"
    assert text(occ, "t:Start") == text(occ, "t:OriginalStart") == "2024-05-06T13:00:00Z"
    assert text(occ, "t:End") == "2024-05-06T13:30:00Z"
    moved = get_by_index(c, master, 3).find("m:Items/t:CalendarItem", NS)
    assert text(moved, "t:CalendarItemType") == "Exception"
    assert text(moved, "t:Start") == "2024-05-21T15:00:00Z"
    assert text(moved, "t:OriginalStart") == "2024-05-20T13:00:00Z"
    # The occurrence id it answers with names the same occurrence.
    again = get_item(c, moved.find("t:ItemId", NS).get("Id"), uris=("calendar:OriginalStart",))
    assert text(again, "t:OriginalStart") == "2024-05-20T13:00:00Z"
    last = get_by_index(c, master, 8).find("m:Items/t:CalendarItem", NS)
    assert text(last, "t:OriginalStart") == "2024-06-24T13:00:00Z"


@pytest.mark.parametrize("index,expected", [
    ("9", "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"),
    ("0", "ErrorCalendarOccurrenceIndexIsOutOfRecurrenceRange"),
    ("5", "ErrorCalendarOccurrenceIsDeletedFromRecurrence"),
])
def test_an_instance_index_outside_the_series(c, index, expected):
    msg = get_by_index(c, item_id(c.sim, "Weekly sync"), index)
    assert msg.get("ResponseClass") == "Error" and code(msg) == expected
    assert msg.find("m:Items", NS) is not None and len(msg.find("m:Items", NS)) == 0


def test_an_instance_index_of_what_is_not_a_series(c):
    msg = get_by_index(c, item_id(c.sim, "Offsite"), 1)
    assert code(msg) == "ErrorItemNotFound"
    msg = get_by_index(c, item_id(c.sim, "Quarterly report"), 1)
    assert code(msg) == "ErrorItemNotFound"


def test_first_and_last_occurrence_of_a_master(c):
    master = item_id(c.sim, "Weekly sync")
    cal = get_item(c, master, uris=("calendar:Recurrence", "calendar:FirstOccurrence",
                                    "calendar:LastOccurrence", "calendar:ModifiedOccurrences"))
    # Schema order: Recurrence, FirstOccurrence, LastOccurrence, ModifiedOccurrences.
    assert children(cal) == ["ItemId", "Recurrence", "FirstOccurrence", "LastOccurrence",
                             "ModifiedOccurrences"]
    first, last = cal.find("t:FirstOccurrence", NS), cal.find("t:LastOccurrence", NS)
    assert children(first) == ["ItemId", "Start", "End", "OriginalStart"]
    assert text(first, "t:Start") == "2024-05-06T13:00:00Z"
    assert text(last, "t:OriginalStart") == "2024-06-24T13:00:00Z"
    assert text(last, "t:End") == "2024-06-24T13:30:00Z"
    occ = get_item(c, last.find("t:ItemId", NS).get("Id"), uris=("calendar:CalendarItemType",))
    assert text(occ, "t:CalendarItemType") == "Occurrence"
    # A single appointment has neither.
    single = get_item(c, item_id(c.sim, "Offsite"), uris=("calendar:FirstOccurrence",
                                                          "calendar:LastOccurrence"))
    assert children(single) == ["ItemId"]


def tag_uri(tag, ptype):
    return f'<t:ExtendedFieldURI PropertyTag="{tag}" PropertyType="{ptype}"/>'


def props_of(c, iid, *uris):
    el = get_item(c, iid, extra=f"<t:AdditionalProperties>{''.join(uris)}"
                  "</t:AdditionalProperties>")
    return {(p.find("t:ExtendedFieldURI", NS).get("PropertyTag"),
             p.find("t:ExtendedFieldURI", NS).get("PropertyType")): p.find("t:Value", NS).text
            for p in el.findall("t:ExtendedProperty", NS)}


def test_well_known_properties_by_tag(c):
    iid = item_id(c.sim, "Quarterly report")
    size = next(i["size"] for i in c.sim.get(f"/mailboxes/{ALICE}/items")["items"]
                if i["subject"] == "Quarterly report")
    got = props_of(c, iid, tag_uri("3592", "Integer"), tag_uri("0x0037", "String"),
                   tag_uri("0x1035", "String"), tag_uri("0x0E06", "SystemTime"),
                   tag_uri("0x0e1b", "Boolean"), tag_uri("0x0E07", "Integer"),
                   tag_uri("0x001A", "String"))
    assert got == {("3592", "Integer"): str(size),              # PR_MESSAGE_SIZE
                   ("0x0037", "String"): "Quarterly report",    # PR_SUBJECT
                   ("0x1035", "String"): "<q1.report@example.com>",
                   ("0x0E06", "SystemTime"): "2024-05-01T08:30:00Z",
                   ("0x0e1b", "Boolean"): "true",               # it has an attachment
                   ("0x0E07", "Integer"): "16",                 # unread, has attachments
                   ("0x001A", "String"): "IPM.Note"}
    # A tag asked for with another type, or one the store cannot answer: left out.
    assert props_of(c, iid, tag_uri("0x0E08", "String"), tag_uri("0x6700", "Integer")) == {}


def test_a_property_set_by_tag_is_found_however_the_tag_is_written(c):
    iid = item_id(c.sim, "Quarterly report")
    uri = tag_uri("0x6705", "String")
    body = ('<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly">'
            f'<m:ItemChanges><t:ItemChange><t:ItemId Id="{iid}"/><t:Updates><t:SetItemField>'
            f"{uri}<t:Message><t:ExtendedProperty>{uri}<t:Value>kept</t:Value>"
            "</t:ExtendedProperty></t:Message></t:SetItemField></t:Updates></t:ItemChange>"
            "</m:ItemChanges></m:UpdateItem>")
    assert c.messages(c.call(body))[0].get("ResponseClass") == "Success"
    assert props_of(c, iid, tag_uri("26373", "String")) == {("26373", "String"): "kept"}
    named = ('<t:ExtendedFieldURI PropertySetId="c11ff724-aa03-4555-9952-8fa248a11c3e" '
             'PropertyName="ArchiveState" PropertyType="String"/>')
    assert props_of(c, iid, named) == {}
