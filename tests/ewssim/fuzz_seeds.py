# SPDX-License-Identifier: Apache-2.0
"""Regenerates the real-* fuzz seeds in ewssim/fuzz/corpus/: requests that carry real ids of
the organisation the fuzz target generates (ids are deterministic). Run it after changing the
generator:    cd tests && MSE_BUILD_DIR=../build-test /usr/bin/python3 ewssim/fuzz_seeds.py
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import simlib  # noqa: E402
from ewsclient import ID_ONLY, Client, fields  # noqa: E402
from simlib import NS  # noqa: E402

s = simlib.EwsSim(generate="mailboxes=3,folders=2,items=5,appointments=4,attachment_bytes=64",
                env={"EWS_SIM_SERVICE_ACCOUNT":"svc@example.com:secret"})
out = os.path.join(HERE, '..', '..', 'ewssim', 'fuzz', 'corpus')
box="user0001@example.com"
items=s.get(f"/mailboxes/{box}/items")["items"]
folders=s.get(f"/mailboxes/{box}/folders")["items"]
msg=next(i for i in items if i["type"]=="message" and i["attachment_count"])
appt=next(i for i in items if i["type"]=="appointment")
c=Client(s, mailbox=box, user="svc@example.com", password="secret"); c.impersonate=box
def getitem(iid, uris):
    body=(f"<m:GetItem><m:ItemShape>{ID_ONLY}{fields(uris)}</m:ItemShape><m:ItemIds><t:ItemId Id=\"{iid}\"/></m:ItemIds></m:GetItem>")
    return c.messages(c.call(body))[0].find("m:Items",NS)[0]
att=getitem(msg["item_id"],["item:Attachments"]).find("t:Attachments/t:FileAttachment/t:AttachmentId",NS).get("Id")
masters=[i for i in items if i["type"]=="appointment"]
occ=None
for m in masters:
    el=getitem(m["item_id"],["calendar:CalendarItemType"])
    if el.find("t:CalendarItemType",NS).text=="RecurringMaster":
        master=m["item_id"]; break
inbox=next(f["folder_id"] for f in folders if f["path"]=="/Inbox")
sub=next(f["folder_id"] for f in folders if f["path"].startswith("/Inbox/"))
def env(body, imp=box):
    hdr='<t:RequestServerVersion Version="Exchange2016"/>'
    if imp: hdr+=f'<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{imp}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>'
    return ('<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">'
            f'<s:Header>{hdr}</s:Header><s:Body>{body}</s:Body></s:Envelope>')
seeds={
 "real-sync-items": f'<m:SyncFolderItems><m:ItemShape>{ID_ONLY}{fields(["item:Subject","message:IsRead","item:Size","calendar:Start"])}</m:ItemShape><m:SyncFolderId><t:FolderId Id="{inbox}"/></m:SyncFolderId><m:Ignore><t:ItemId Id="{msg["item_id"]}"/></m:Ignore><m:MaxChangesReturned>3</m:MaxChangesReturned></m:SyncFolderItems>',
 "real-get-item-all": f'<m:GetItem><m:ItemShape><t:BaseShape>AllProperties</t:BaseShape><t:IncludeMimeContent>true</t:IncludeMimeContent><t:BodyType>HTML</t:BodyType></m:ItemShape><m:ItemIds><t:ItemId Id="{msg["item_id"]}"/><t:ItemId Id="{master}"/><t:RecurringMasterItemId OccurrenceId="{master}"/></m:ItemIds></m:GetItem>',
 "real-get-attachment": f'<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="{att}"/></m:AttachmentIds></m:GetAttachment>',
 "real-update-item": f'<m:UpdateItem ConflictResolution="AlwaysOverwrite" MessageDisposition="SaveOnly" SendMeetingInvitationsOrCancellations="SendToNone"><m:ItemChanges><t:ItemChange><t:ItemId Id="{msg["item_id"]}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>x</t:Subject></t:Message></t:SetItemField><t:AppendToItemField><t:FieldURI FieldURI="item:Body"/><t:Message><t:Body BodyType="Text">y</t:Body></t:Message></t:AppendToItemField><t:SetItemField><t:FieldURI FieldURI="message:IsRead"/><t:Message><t:IsRead>true</t:IsRead></t:Message></t:SetItemField></t:Updates></t:ItemChange><t:ItemChange><t:ItemId Id="{master}"/><t:Updates><t:SetItemField><t:FieldURI FieldURI="calendar:Start"/><t:CalendarItem><t:Start>2026-02-01T10:00:00Z</t:Start></t:CalendarItem></t:SetItemField><t:DeleteItemField><t:FieldURI FieldURI="calendar:Location"/></t:DeleteItemField></t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>',
 "real-create-attachment": f'<m:CreateAttachment><m:ParentItemId Id="{msg["item_id"]}"/><m:Attachments><t:FileAttachment><t:Name>n.txt</t:Name><t:ContentType>text/plain</t:ContentType><t:Content>aGVsbG8=</t:Content></t:FileAttachment></m:Attachments></m:CreateAttachment>',
 "real-delete-attachment": f'<m:DeleteAttachment><m:AttachmentIds><t:AttachmentId Id="{att}"/></m:AttachmentIds></m:DeleteAttachment>',
 "real-delete-item": f'<m:DeleteItem DeleteType="MoveToDeletedItems" SendMeetingCancellations="SendToNone"><m:ItemIds><t:ItemId Id="{msg["item_id"]}"/></m:ItemIds></m:DeleteItem>',
 "real-find-item": f'<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>Default</t:BaseShape></m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="2" Offset="1" BasePoint="End"/><m:Restriction><t:Or><t:IsLessThan><t:FieldURI FieldURI="item:Size"/><t:FieldURIOrConstant><t:Constant Value="5000"/></t:FieldURIOrConstant></t:IsLessThan><t:Not><t:Exists><t:FieldURI FieldURI="item:Subject"/></t:Exists></t:Not></t:Or></m:Restriction><m:ParentFolderIds><t:FolderId Id="{sub}"/></m:ParentFolderIds></m:FindItem>',
 "real-find-folder": f'<m:FindFolder Traversal="Deep"><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:IndexedPageFolderView MaxEntriesReturned="3" Offset="0" BasePoint="Beginning"/><m:ParentFolderIds><t:FolderId Id="{inbox}"/></m:ParentFolderIds></m:FindFolder>',
 "real-get-folder": f'<m:GetFolder><m:FolderShape><t:BaseShape>AllProperties</t:BaseShape></m:FolderShape><m:FolderIds><t:FolderId Id="{sub}"/><t:DistinguishedFolderId Id="calendar"><t:Mailbox><t:EmailAddress>user0002@example.com</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:FolderIds></m:GetFolder>',
 "real-sync-hierarchy-folder": f'<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape><m:SyncFolderId><t:FolderId Id="{inbox}"/></m:SyncFolderId><m:SyncState></m:SyncState></m:SyncFolderHierarchy>',
 "real-expand-dl": '<m:ExpandDL><m:Mailbox><t:EmailAddress>group001@example.com</t:EmailAddress></m:Mailbox></m:ExpandDL>',
 "real-convert-id": f'<m:ConvertId DestinationFormat="EwsId"><m:SourceIds><t:AlternateId Format="EwsId" Id="{msg["item_id"]}" Mailbox="{box}"/></m:SourceIds></m:ConvertId>',
}
for k,v in seeds.items():
    open(f'{out}/{k}','wb').write(b'\x00'+env(v).encode())
    r=s.post(env(v), user="svc@example.com", password="secret")
    print(k, r.status_code)
s.stop()
