# SPDX-License-Identifier: Apache-2.0
"""Item reads and writes over raw EWS: shapes, MIME, bodies, paging, restrictions, series."""
import base64

import pytest

from ewsclient import ID_ONLY, Client, fields
from simlib import NS

ALICE = "alice@example.com"


@pytest.fixture
def c(fresh):
    return Client(fresh)


def item_id(sim, subject, folder=None):
    q = f"?folder={folder}" if folder else ""
    return next(i["item_id"] for i in sim.get(f"/mailboxes/{ALICE}/items{q}")["items"]
                if i["subject"] == subject)


def get_item(c, iid, shape="IdOnly", extra="", uris=()):
    body = (f"<m:GetItem><m:ItemShape><t:BaseShape>{shape}</t:BaseShape>{extra}"
            f"{fields(uris) if uris else ''}</m:ItemShape>"
            f'<m:ItemIds><t:ItemId Id="{iid}"/></m:ItemIds></m:GetItem>')
    msg = c.messages(c.call(body))[0]
    assert msg.get("ResponseClass") == "Success", msg.find("m:ResponseCode", NS).text
    return msg.find("m:Items", NS)[0]


def children(el):
    return [ch.tag.split("}")[1] for ch in el]


def test_base_shapes(c):
    iid = item_id(c.sim, "Quarterly report")
    assert children(get_item(c, iid)) == ["ItemId"]
    default = get_item(c, iid, "Default")
    assert {"Subject", "Body", "DateTimeReceived", "From", "IsRead"} <= set(children(default))
    every = get_item(c, iid, "AllProperties")
    assert {"Sender", "ToRecipients", "CcRecipients", "InternetMessageId", "DisplayTo",
            "Size", "Attachments", "HasAttachments"} <= set(children(every))
    assert "MimeContent" not in children(every)
    cal = get_item(c, item_id(c.sim, "Weekly sync"), "AllProperties")
    assert cal.tag == f"{{{NS['t']}}}CalendarItem"
    assert {"Start", "End", "Recurrence", "ModifiedOccurrences", "DeletedOccurrences",
            "CalendarItemType", "Organizer"} <= set(children(cal))


def test_unknown_field_uris_are_ignored(c):
    iid = item_id(c.sim, "Quarterly report")
    el = get_item(c, iid, uris=("item:Subject", "calendar:Start", "item:Preview",
                                "message:ReplyTo", "meeting:AssociatedCalendarItemId"))
    assert children(el) == ["ItemId", "Subject"]


def test_mime_content_stored_and_synthesised(c):
    stored = get_item(c, item_id(c.sim, "Lunch?"), extra="<t:IncludeMimeContent>true"
                      "</t:IncludeMimeContent>")
    mime = base64.b64decode(stored.find("t:MimeContent", NS).text).decode()
    assert mime.startswith("From: bob@example.com") and "Noon?" in mime
    made = get_item(c, item_id(c.sim, "Quarterly report"),
                    extra="<t:IncludeMimeContent>true</t:IncludeMimeContent>")
    mime = base64.b64decode(made.find("t:MimeContent", NS).text).decode()
    assert "Subject: Quarterly report" in mime and "Message-ID: <q1.report@example.com>" in mime
    assert "multipart/mixed" in mime and 'filename="q1.csv"' in mime


def test_body_types(c):
    iid = item_id(c.sim, "Private matter")
    html = get_item(c, iid, extra="<t:BodyType>Best</t:BodyType>", uris=("item:Body",))
    body = html.find("t:Body", NS)
    assert body.get("BodyType") == "HTML" and "<p>" in body.text
    text = get_item(c, iid, extra="<t:BodyType>Text</t:BodyType>", uris=("item:Body",))
    body = text.find("t:Body", NS)
    assert body.get("BodyType") == "Text" and "<" not in body.text and "nobody else" in body.text


def test_extended_property_round_trip(c):
    iid = item_id(c.sim, "Quarterly report")
    uri = ('<t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" '
           'PropertyName="X-Archive-Stub" PropertyType="String"/>')
    body = ('<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly">'
            f'<m:ItemChanges><t:ItemChange><t:ItemId Id="{iid}"/><t:Updates><t:SetItemField>'
            f"{uri}<t:Message><t:ExtendedProperty>{uri}<t:Value>archive-42</t:Value>"
            "</t:ExtendedProperty></t:Message></t:SetItemField><t:SetItemField>"
            '<t:FieldURI FieldURI="item:ItemClass"/><t:Message><t:ItemClass>IPM.Note.Stub'
            "</t:ItemClass></t:Message></t:SetItemField></t:Updates></t:ItemChange>"
            "</m:ItemChanges></m:UpdateItem>")
    assert c.messages(c.call(body))[0].get("ResponseClass") == "Success"
    got = get_item(c, iid, extra=f"<t:AdditionalProperties>{uri}"
                   '<t:FieldURI FieldURI="item:ItemClass"/></t:AdditionalProperties>')
    assert got.find("t:ItemClass", NS).text == "IPM.Note.Stub"
    assert got.find("t:ExtendedProperty/t:Value", NS).text == "archive-42"
    assert c.sim.export(ALICE)["messages"][0]["item_class"] in ("IPM.Note", "IPM.Note.Stub")


def test_unsupported_update_is_refused_whole(c):
    iid = item_id(c.sim, "Quarterly report")
    body = ('<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly">'
            f'<m:ItemChanges><t:ItemChange><t:ItemId Id="{iid}"/><t:Updates>'
            '<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>new'
            "</t:Subject></t:Message></t:SetItemField>"
            '<t:SetItemField><t:FieldURI FieldURI="item:Importance"/><t:Message><t:Importance>High'
            "</t:Importance></t:Message></t:SetItemField></t:Updates></t:ItemChange>"
            "</m:ItemChanges></m:UpdateItem>")
    msg = c.messages(c.call(body))[0]
    assert msg.find("m:ResponseCode", NS).text == "ErrorInvalidPropertySet"
    assert msg.find("m:Items", NS) is not None
    assert get_item(c, iid, uris=("item:Subject",)).find("t:Subject", NS).text == "Quarterly report"


def find_items(c, folder, offset, max_entries, restriction=""):
    body = (f'<m:FindItem Traversal="Shallow"><m:ItemShape>{ID_ONLY}'
            f'{fields(["item:Subject"])}</m:ItemShape>'
            f'<m:IndexedPageItemView MaxEntriesReturned="{max_entries}" Offset="{offset}" '
            f'BasePoint="Beginning"/>{restriction}<m:ParentFolderIds>'
            f'<t:DistinguishedFolderId Id="{folder}"/></m:ParentFolderIds></m:FindItem>')
    root = c.messages(c.call(body))[0].find("m:RootFolder", NS)
    return root, [i.find("t:Subject", NS).text for i in root.find("t:Items", NS)]


def test_find_item_paging(c):
    for n in range(7):
        c.sim.control("POST", f"/mailboxes/{ALICE}/items", expect=201,
                      json={"type": "message", "subject": f"page {n}"})
    seen, offset = [], 0
    while True:
        root, subjects = find_items(c, "inbox", offset, 4)
        assert root.get("TotalItemsInView") == "10"
        seen += subjects
        offset = int(root.get("IndexedPagingOffset"))
        if root.get("IncludesLastItemInRange") == "true":
            break
    assert len(seen) == 10 and len(set(seen)) == 10


def test_find_item_restrictions(c):
    unread = ('<m:Restriction><t:IsEqualTo><t:FieldURI FieldURI="message:IsRead"/>'
              '<t:FieldURIOrConstant><t:Constant Value="false"/></t:FieldURIOrConstant>'
              "</t:IsEqualTo></m:Restriction>")
    assert find_items(c, "inbox", 0, 100, unread)[1] == ["Quarterly report"]
    after = ('<m:Restriction><t:And><t:IsGreaterThan><t:FieldURI FieldURI="item:DateTimeReceived"/>'
             '<t:FieldURIOrConstant><t:Constant Value="2024-05-01T12:00:00Z"/>'
             "</t:FieldURIOrConstant></t:IsGreaterThan><t:Contains ContainmentMode=\"Substring\" "
             'ContainmentComparison="IgnoreCase"><t:FieldURI FieldURI="item:Subject"/>'
             '<t:Constant Value="LUNCH"/></t:Contains></t:And></m:Restriction>')
    assert find_items(c, "inbox", 0, 100, after)[1] == ["Lunch?"]


def test_find_folder_all_calendars(c):
    body = ('<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>Default</t:BaseShape>'
            f'{fields(["folder:FolderClass"])}</m:FolderShape><m:Restriction><t:IsEqualTo>'
            '<t:FieldURI FieldURI="folder:FolderClass"/><t:FieldURIOrConstant>'
            '<t:Constant Value="IPF.Appointment"/></t:FieldURIOrConstant></t:IsEqualTo>'
            '</m:Restriction><m:ParentFolderIds><t:DistinguishedFolderId Id="msgfolderroot"/>'
            "</m:ParentFolderIds></m:FindFolder>")
    root = c.messages(c.call(body))[0].find("m:RootFolder", NS)
    names = sorted(f.find("t:DisplayName", NS).text for f in root.find("t:Folders", NS))
    assert names == ["Calendar", "Team"]
    assert all(f.tag.endswith("CalendarFolder") for f in root.find("t:Folders", NS))


def test_occurrences_by_id_and_deletion(c):
    master = item_id(c.sim, "Weekly sync")
    cal = get_item(c, master, uris=("calendar:ModifiedOccurrences",))
    occ_id = cal.find("t:ModifiedOccurrences/t:Occurrence/t:ItemId", NS).get("Id")
    occ = get_item(c, occ_id, uris=("item:Subject", "calendar:CalendarItemType",
                                    "calendar:Start", "calendar:OriginalStart"))
    assert occ.find("t:CalendarItemType", NS).text == "Exception"
    assert occ.find("t:Subject", NS).text == "Weekly sync (moved)"
    assert occ.find("t:OriginalStart", NS).text == "2024-05-20T13:00:00Z"
    body = ('<m:DeleteItem DeleteType="HardDelete" SendMeetingCancellations="SendToNone">'
            f'<m:ItemIds><t:ItemId Id="{occ_id}"/></m:ItemIds></m:DeleteItem>')
    assert c.messages(c.call(body))[0].get("ResponseClass") == "Success"
    exp = next(a for a in c.sim.export(ALICE)["appointments"] if a["subject"] == "Weekly sync")
    assert exp["modified_occurrences"] == []
    assert sorted(exp["deleted_occurrences"]) == ["2024-05-20T13:00:00Z", "2024-06-03T13:00:00Z"]
    missing = c.messages(c.call(body.replace("HardDelete", "SoftDelete")))[0]
    assert missing.find("m:ResponseCode", NS).text == "ErrorItemNotFound"


def test_delete_calendar_item_needs_cancellation_mode(c):
    iid = item_id(c.sim, "Offsite")
    body = ('<m:DeleteItem DeleteType="HardDelete">'
            f'<m:ItemIds><t:ItemId Id="{iid}"/></m:ItemIds></m:DeleteItem>')
    msg = c.messages(c.call(body))[0]
    assert msg.find("m:ResponseCode", NS).text == "ErrorSendMeetingCancellationsRequired"


def test_resolve_names_multiple_results(c):
    c.sim.control("POST", "/groups", expect=201, json={"address": "alpha@example.com"})
    body = ('<m:ResolveNames ReturnFullContactData="false"><m:UnresolvedEntry>a</m:UnresolvedEntry>'
            "</m:ResolveNames>")
    msg = c.messages(c.call(body))[0]
    assert msg.get("ResponseClass") == "Warning"
    assert msg.find("m:ResponseCode", NS).text == "ErrorNameResolutionMultipleResults"
    body = body.replace(">a<", ">nobody-here<")
    assert c.messages(c.call(body))[0].find("m:ResponseCode", NS).text == \
        "ErrorNameResolutionNoResults"
