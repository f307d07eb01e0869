# SPDX-License-Identifier: Apache-2.0
"""The replication limit: a bare EWS client asking ews-sim for the pages a full mailbox folder
replication reads — GetFolder, SyncFolderHierarchy, SyncFolderItems pages of 512 with the
worker's properties per mail folder, GetItem batches of 100 (the worker's default) for the
recipients — over one kept-alive connection, and doing nothing with the answers beyond finding
the next page's SyncState and the item ids. Its time is what the simulator needs to serve those
pages. With `mime`, the GetItems ask for each message's MIME content instead (what a Sync &
Recover content pass reads), and the bytes answered are counted.

usage: bare_ews.py EWS_URL USER PASSWORD MAILBOX [mime]  → one "BENCH {json}" line on stdout.
"""
import base64
import http.client
import json
import re
import sys
import time
import urllib.parse

NS = ('xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
      'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
      'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"')
SYNC_FIELDS = ("item:ItemClass", "item:Subject", "item:Sensitivity", "item:DateTimeReceived",
               "item:DateTimeSent", "item:Size", "item:HasAttachments", "item:ParentFolderId",
               "message:InternetMessageId", "message:From", "message:Sender", "message:IsRead")
GET_FIELDS = ("message:ToRecipients", "message:CcRecipients")
FOLDER_FIELDS = ("folder:DisplayName", "folder:FolderClass", "folder:ParentFolderId")
PAGE = 512
GETITEM_BATCH = 100


def props(uris):
    return ("<t:AdditionalProperties>" +
            "".join(f'<t:FieldURI FieldURI="{u}"/>' for u in uris) + "</t:AdditionalProperties>")


class Client:
    def __init__(self, url, user, password, mailbox):
        u = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=300)
        self.path = u.path
        self.mailbox = mailbox
        self.headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode(),
            "X-AnchorMailbox": mailbox,
        }
        self.requests = {}
        self.bytes = 0

    def call(self, op, body):
        env = (f'<?xml version="1.0" encoding="utf-8"?><s:Envelope {NS}><s:Header>'
               '<t:RequestServerVersion Version="Exchange2013_SP1"/><t:ExchangeImpersonation>'
               f"<t:ConnectingSID><t:PrimarySmtpAddress>{self.mailbox}</t:PrimarySmtpAddress>"
               "</t:ConnectingSID></t:ExchangeImpersonation></s:Header>"
               f"<s:Body>{body}</s:Body></s:Envelope>")
        self.conn.request("POST", self.path, env.encode(), self.headers)
        r = self.conn.getresponse()
        raw = r.read()
        self.bytes += len(raw)
        text = raw.decode("utf-8")
        if r.status != 200 or 'ResponseClass="Error"' in text:
            raise RuntimeError(f"{op}: HTTP {r.status}: {text[:400]}")
        self.requests[op] = self.requests.get(op, 0) + 1
        return text


def folders_to_read(c):
    """Mail folders below msgfolderroot outside Deleted Items, as the worker selects them."""
    text = c.call("GetFolder", "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>"
                  "</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id=\"msgfolderroot\"/>"
                  "<t:DistinguishedFolderId Id=\"deleteditems\"/>"
                  "<t:DistinguishedFolderId Id=\"calendar\"/></m:FolderIds></m:GetFolder>")
    deleted = re.findall(r'<t:FolderId Id="([^"]+)"', text)[1]
    state, folders = "", {}
    while True:
        st = f"<m:SyncState>{state}</m:SyncState>" if state else ""
        text = c.call("SyncFolderHierarchy",
                      "<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>"
                      f"{props(FOLDER_FIELDS)}</m:FolderShape><m:SyncFolderId>"
                      '<t:DistinguishedFolderId Id="msgfolderroot"/></m:SyncFolderId>'
                      f"{st}</m:SyncFolderHierarchy>")
        for block in re.findall(r"<t:Folder>(.*?)</t:Folder>", text, re.S):
            fid = re.search(r'<t:FolderId Id="([^"]+)"', block).group(1)
            parent = re.search(r'<t:ParentFolderId Id="([^"]+)"', block)
            cls = re.search(r"<t:FolderClass>([^<]*)<", block)
            folders[fid] = (parent.group(1) if parent else None, cls.group(1) if cls else "")
        state = re.search(r"<m:SyncState>([^<]*)<", text).group(1)
        if "<m:IncludesLastFolderInRange>true<" in text:
            break

    def under_deleted(fid):
        while fid in folders:
            if fid == deleted:
                return True
            fid = folders[fid][0]
        return fid == deleted

    return [f for f, (_, cls) in folders.items()
            if (cls == "" or cls == "IPF.Note" or cls.startswith("IPF.Note."))
            and not under_deleted(f)]


def read_folder(c, folder_id, mime=False):
    """Every page of one folder, and GetItem for what the pages created; returns the items."""
    state, items = "", 0
    while True:
        st = f"<m:SyncState>{state}</m:SyncState>" if state else ""
        text = c.call("SyncFolderItems",
                      "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"
                      f"{props(SYNC_FIELDS)}</m:ItemShape><m:SyncFolderId>"
                      f'<t:FolderId Id="{folder_id}"/></m:SyncFolderId>{st}'
                      f"<m:MaxChangesReturned>{PAGE}</m:MaxChangesReturned>"
                      "<m:SyncScope>NormalItems</m:SyncScope></m:SyncFolderItems>")
        ids = re.findall(r'<t:Create>\s*<t:\w+>\s*<t:ItemId Id="([^"]+)"', text)
        for k in range(0, len(ids), GETITEM_BATCH):
            refs = "".join(f'<t:ItemId Id="{i}"/>' for i in ids[k:k + GETITEM_BATCH])
            shape = ("<t:IncludeMimeContent>true</t:IncludeMimeContent>" if mime
                     else props(GET_FIELDS))
            c.call("GetItem", "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>"
                   f"{shape}</m:ItemShape><m:ItemIds>{refs}</m:ItemIds></m:GetItem>")
        items += len(ids)
        state = re.search(r"<m:SyncState>([^<]*)<", text).group(1)
        if "<m:IncludesLastItemInRange>true<" in text:
            return items


def main():
    url, user, password, mailbox = sys.argv[1:5]
    mime = sys.argv[5:6] == ["mime"]
    c = Client(url, user, password, mailbox)
    t0 = time.monotonic()
    items = sum(read_folder(c, f, mime) for f in folders_to_read(c))
    seconds = time.monotonic() - t0
    print("BENCH " + json.dumps({"items": items, "seconds": seconds,
                                 "items_per_s": items / seconds if seconds else 0,
                                 "bytes": c.bytes, "requests": c.requests}))


if __name__ == "__main__":
    main()
