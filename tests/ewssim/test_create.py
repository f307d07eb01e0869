# SPDX-License-Identifier: Apache-2.0
"""CreateItem and CreateFolder as Exchange answers them: what restore and storage management
need to put items back and mark them. Each created thing must be readable by GetItem, show up
in the sim's export and in the next incremental SyncFolderItems / SyncFolderHierarchy."""
import base64

import pytest

from ewsclient import Client
from simlib import NS
from test_fidelity import code, props_of
from test_items import ALICE, children, get_item

MARK = ('<t:ExtendedFieldURI PropertySetId="c11ff724-aa03-4555-9952-8fa248a11c3e" '
        'PropertyName="RestoredFrom" PropertyType="String"/>')

MIME = (b"From: Bob Baker <bob@example.com>\r\n"
        b"To: Alice Archer <alice@example.com>, carol@example.com\r\n"
        b"Subject: Restored report\r\n"
        b"Date: Tue, 07 May 2024 10:15:00 +0000\r\n"
        b"Message-ID: <restored.1@example.com>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        b"The numbers, again.\r\n")


@pytest.fixture
def c(fresh):
    return Client(fresh)


def create(c, items, folder='<t:DistinguishedFolderId Id="inbox"/>', attrs=' MessageDisposition="SaveOnly"'):
    saved = f"<m:SavedItemFolderId>{folder}</m:SavedItemFolderId>" if folder else ""
    return c.messages(c.call(f"<m:CreateItem{attrs}>{saved}<m:Items>{items}</m:Items>"
                             "</m:CreateItem>"))


def new_id(msg):
    assert msg.get("ResponseClass") == "Success", code(msg)
    return msg.find("m:Items", NS)[0].find("t:ItemId", NS).get("Id")


def test_a_message_from_mime_content_with_a_mark(c):
    item = ("<t:Message><t:MimeContent CharacterSet=\"UTF-8\">"
            f"{base64.b64encode(MIME).decode()}</t:MimeContent>"
            f"<t:ExtendedProperty>{MARK}<t:Value>archive:42</t:Value></t:ExtendedProperty>"
            "<t:IsRead>true</t:IsRead></t:Message>")
    iid = new_id(create(c, item)[0])
    got = get_item(c, iid, "AllProperties", extra="<t:IncludeMimeContent>true"
                   "</t:IncludeMimeContent>")
    assert got.find("t:Subject", NS).text == "Restored report"
    assert got.find("t:InternetMessageId", NS).text == "<restored.1@example.com>"
    assert got.find("t:From/t:Mailbox/t:EmailAddress", NS).text == "bob@example.com"
    to = [m.text for m in got.findall("t:ToRecipients/t:Mailbox/t:EmailAddress", NS)]
    assert to == ["alice@example.com", "carol@example.com"]
    assert got.find("t:DateTimeSent", NS).text == "2024-05-07T10:15:00Z"
    assert got.find("t:IsRead", NS).text == "true"
    assert base64.b64decode(got.find("t:MimeContent", NS).text) == MIME
    assert props_of(c, iid, MARK) == {(None, "String"): "archive:42"}
    exported = [m for m in c.sim.export(ALICE)["messages"] if m["subject"] == "Restored report"]
    assert len(exported) == 1 and exported[0]["folder_path"] == "/Inbox"


def test_a_message_from_fields_in_drafts_by_default(c):
    item = ("<t:Message><t:ItemClass>IPM.Note.Restored</t:ItemClass><t:Subject>From fields"
            "</t:Subject><t:Body BodyType=\"HTML\">&lt;p&gt;hi&lt;/p&gt;</t:Body>"
            "<t:ToRecipients><t:Mailbox><t:Name>Bob</t:Name><t:EmailAddress>bob@example.com"
            "</t:EmailAddress></t:Mailbox></t:ToRecipients>"
            "<t:From><t:Mailbox><t:EmailAddress>alice@example.com</t:EmailAddress></t:Mailbox>"
            "</t:From><t:InternetMessageId>&lt;fields.1@example.com&gt;</t:InternetMessageId>"
            "</t:Message>")
    iid = new_id(create(c, item, folder=None)[0])
    got = get_item(c, iid, "AllProperties")
    assert got.find("t:ItemClass", NS).text == "IPM.Note.Restored"
    assert got.find("t:Body", NS).get("BodyType") == "HTML"
    assert got.find("t:InternetMessageId", NS).text == "<fields.1@example.com>"
    exported = next(m for m in c.sim.export(ALICE)["messages"] if m["subject"] == "From fields")
    assert exported["folder_path"] == "/Drafts"


def test_a_created_item_is_a_create_for_an_incremental_sync(c):
    inbox = c.folder_id("inbox")
    state = c.sync_all(inbox)[1]
    iid = new_id(create(c, "<t:Message><t:Subject>Seen by sync</t:Subject></t:Message>")[0])
    changes = c.sync_all(inbox, state)[0]
    assert [(kind, item_id) for kind, item_id, _ in changes] == [("Create", iid)]


def test_a_calendar_item(c):
    item = ("<t:CalendarItem><t:Subject>Restored meeting</t:Subject>"
            f"<t:ExtendedProperty>{MARK}<t:Value>archive:7</t:Value></t:ExtendedProperty>"
            "<t:Start>2024-06-05T09:00:00Z</t:Start><t:End>2024-06-05T10:00:00Z</t:End>"
            "<t:Location>Room 1</t:Location><t:RequiredAttendees><t:Attendee><t:Mailbox>"
            "<t:EmailAddress>bob@example.com</t:EmailAddress></t:Mailbox></t:Attendee>"
            "</t:RequiredAttendees></t:CalendarItem>")
    msg = create(c, item, folder='<t:DistinguishedFolderId Id="calendar"/>',
                 attrs=' SendMeetingInvitations="SendToNone"')[0]
    got = get_item(c, new_id(msg), "AllProperties")
    assert got.tag == f"{{{NS['t']}}}CalendarItem"
    assert got.find("t:Start", NS).text == "2024-06-05T09:00:00Z"
    assert got.find("t:Location", NS).text == "Room 1"
    assert got.find("t:CalendarItemType", NS).text == "Single"
    assert props_of(c, new_id(msg), MARK) == {(None, "String"): "archive:7"}


@pytest.mark.parametrize("attrs,item,expected", [
    ("", "<t:Message><t:Subject>x</t:Subject></t:Message>", "ErrorMessageDispositionRequired"),
    (' MessageDisposition="SendAndSaveCopy"', "<t:Message><t:Subject>x</t:Subject></t:Message>",
     "ErrorInvalidOperation"),
    ("", "<t:CalendarItem><t:Subject>x</t:Subject></t:CalendarItem>",
     "ErrorSendMeetingInvitationsRequired"),
    (' MessageDisposition="SaveOnly"', "<t:Message><t:MimeContent>!!!</t:MimeContent></t:Message>",
     "ErrorMimeContentConversionFailed"),
])
def test_refused_creations_change_nothing(c, attrs, item, expected):
    before = c.sim.export(ALICE)
    msg = create(c, item, attrs=attrs)[0]
    assert msg.get("ResponseClass") == "Error" and code(msg) == expected
    assert c.sim.export(ALICE) == before


def create_folder(c, parent, folders):
    return c.messages(c.call(f"<m:CreateFolder><m:ParentFolderId>{parent}</m:ParentFolderId>"
                             f"<m:Folders>{folders}</m:Folders></m:CreateFolder>"))


def test_create_folder_and_save_into_it(c):
    hier = c.sync_hierarchy()["state"]
    msgs = create_folder(c, '<t:DistinguishedFolderId Id="inbox"/>',
                         "<t:Folder><t:DisplayName>Restored</t:DisplayName></t:Folder>"
                         "<t:CalendarFolder><t:DisplayName>Old meetings</t:DisplayName>"
                         "</t:CalendarFolder>")
    assert [m.get("ResponseClass") for m in msgs] == ["Success", "Success"]
    fid = msgs[0].find("m:Folders/t:Folder/t:FolderId", NS).get("Id")
    assert children(msgs[1].find("m:Folders", NS)) == ["CalendarFolder"]
    new_id(create(c, "<t:Message><t:Subject>Into it</t:Subject></t:Message>",
                  folder=f'<t:FolderId Id="{fid}"/>')[0])
    export = c.sim.export(ALICE)
    classes = {f["path"]: f["folder_class"] for f in export["folders"]}
    assert classes["/Inbox/Restored"] == "IPF.Note"
    assert classes["/Inbox/Old meetings"] == "IPF.Appointment"
    assert next(m for m in export["messages"]
                if m["subject"] == "Into it")["folder_path"] == "/Inbox/Restored"
    again = create_folder(c, '<t:DistinguishedFolderId Id="inbox"/>',
                          "<t:Folder><t:DisplayName>restored</t:DisplayName></t:Folder>")[0]
    assert code(again) == "ErrorFolderExists"
    # The next hierarchy sync reports the two new folders.
    created = [(k, n) for k, _, n in c.sync_hierarchy(hier)["changes"]]
    assert sorted(created) == [("Create", "Old meetings"), ("Create", "Restored")]


def marked(c, subject, mark):
    mime = MIME.replace(b"Restored report", subject.encode())
    prop = (f"<t:ExtendedProperty>{MARK}<t:Value>{mark}</t:Value></t:ExtendedProperty>"
            if mark else "")
    item = ("<t:Message><t:MimeContent CharacterSet=\"UTF-8\">"
            f"{base64.b64encode(mime).decode()}</t:MimeContent>{prop}</t:Message>")
    return new_id(create(c, item)[0])


def test_find_item_restricted_on_an_extended_property(c):
    """A restore resuming after a crash asks which of its items exist: FindItem restricted on
    the property that marks them, as Exchange evaluates it (an item without the property
    matches no comparison; Exists is false for it)."""
    from test_items import find_items
    marked(c, "first restored", "restore-1:m1")
    marked(c, "second restored", "restore-1:m2")
    marked(c, "plain", None)

    def subjects(restriction):
        _, found = find_items(c, "inbox", 0, 100, f"<m:Restriction>{restriction}</m:Restriction>")
        return sorted(s for s in found if s in ("first restored", "second restored", "plain"))

    equal = ("<t:IsEqualTo>" + MARK + '<t:FieldURIOrConstant><t:Constant Value="restore-1:m2"/>'
             "</t:FieldURIOrConstant></t:IsEqualTo>")
    assert subjects(equal) == ["second restored"]
    exists = f"<t:Exists>{MARK}</t:Exists>"
    assert subjects(exists) == ["first restored", "second restored"]
    assert subjects(f"<t:Not>{exists}</t:Not>") == ["plain"]
    prefixed = ("<t:Contains ContainmentMode=\"Prefixed\" ContainmentComparison=\"Exact\">"
                + MARK + '<t:Constant Value="restore-1:"/></t:Contains>')
    assert subjects(prefixed) == ["first restored", "second restored"]
    other = MARK.replace("RestoredFrom", "SomethingElse")
    assert subjects(f"<t:Exists>{other}</t:Exists>") == []
