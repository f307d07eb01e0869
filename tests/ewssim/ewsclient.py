# SPDX-License-Identifier: Apache-2.0
"""A tiny raw EWS client for tests: builds requests, parses responses with ElementTree."""
import xml.etree.ElementTree as ET

from simlib import NS, envelope

ID_ONLY = "<t:BaseShape>IdOnly</t:BaseShape>"
MSG_FIELDS = ("item:Subject", "message:IsRead", "item:ItemClass", "message:InternetMessageId",
              "item:Sensitivity", "item:Size", "item:HasAttachments", "item:DateTimeReceived")


def fields(uris):
    return "<t:AdditionalProperties>" + "".join(
        f'<t:FieldURI FieldURI="{u}"/>' for u in uris) + "</t:AdditionalProperties>"


class Fault(Exception):
    def __init__(self, code, status, text):
        super().__init__(f"{code} (HTTP {status})")
        self.code, self.status, self.text = code, status, text


class Client:
    def __init__(self, sim, mailbox="alice@example.com", user=None, password=None):
        self.sim, self.mailbox = sim, mailbox
        self.user = user or "svc@example.com"
        self.password = password or "svc-secret-1"
        self.impersonate = mailbox if user is None else None

    def call(self, body):
        r = self.sim.post(envelope(body, impersonate=self.impersonate), user=self.user,
                          password=self.password)
        root = ET.fromstring(r.content)
        fault = root.find("s:Body/s:Fault", NS)
        if fault is not None:
            raise Fault(fault.find("detail/e:ResponseCode", NS).text, r.status_code, r.text)
        assert r.status_code == 200, r.text
        return root.find("s:Body", NS)[0]

    @staticmethod
    def messages(resp):
        return list(resp.find("m:ResponseMessages", NS))

    def folder_id(self, distinguished):
        body = (f"<m:GetFolder><m:FolderShape>{ID_ONLY}</m:FolderShape><m:FolderIds>"
                f'<t:DistinguishedFolderId Id="{distinguished}"/></m:FolderIds></m:GetFolder>')
        m = self.messages(self.call(body))[0]
        return m.find("m:Folders", NS)[0].find("t:FolderId", NS).get("Id")

    def sync_items(self, folder_id, state=None, max_changes=512, ignore=(), uris=MSG_FIELDS):
        st = f"<m:SyncState>{state}</m:SyncState>" if state is not None else ""
        ign = ("<m:Ignore>" + "".join(f'<t:ItemId Id="{i}"/>' for i in ignore) +
               "</m:Ignore>") if ignore else ""
        body = (f"<m:SyncFolderItems><m:ItemShape>{ID_ONLY}{fields(uris)}</m:ItemShape>"
                f'<m:SyncFolderId><t:FolderId Id="{folder_id}"/></m:SyncFolderId>{st}{ign}'
                f"<m:MaxChangesReturned>{max_changes}</m:MaxChangesReturned></m:SyncFolderItems>")
        m = self.messages(self.call(body))[0]
        changes = []
        for ch in (m.find("m:Changes", NS) if m.find("m:Changes", NS) is not None else []):
            kind = ch.tag.split("}")[1]
            if kind in ("Create", "Update"):
                item = ch[0]
                changes.append((kind, item.find("t:ItemId", NS).get("Id"), item))
            elif kind == "Delete":
                changes.append((kind, ch.find("t:ItemId", NS).get("Id"), None))
            else:
                changes.append((kind, ch.find("t:ItemId", NS).get("Id"),
                                ch.find("t:IsRead", NS).text))
        return {
            "class": m.get("ResponseClass"),
            "code": m.find("m:ResponseCode", NS).text,
            "state": m.find("m:SyncState", NS).text,
            "last": m.find("m:IncludesLastItemInRange", NS).text == "true",
            "changes": changes,
        }

    def sync_all(self, folder_id, state=None, max_changes=512):
        """Pages to the end; returns (all changes, final state, number of pages)."""
        out, pages = [], 0
        while True:
            page = self.sync_items(folder_id, state, max_changes)
            assert page["code"] == "NoError", page
            pages += 1
            out += page["changes"]
            if not page["last"]:
                assert page["state"] != state, "a new SyncState is due on every partial page"
            state = page["state"]
            if page["last"]:
                return out, state, pages

    def sync_hierarchy(self, state=None, root="msgfolderroot"):
        st = f"<m:SyncState>{state}</m:SyncState>" if state is not None else ""
        body = (f"<m:SyncFolderHierarchy><m:FolderShape>{ID_ONLY}"
                f"{fields(['folder:DisplayName', 'folder:FolderClass', 'folder:ParentFolderId'])}"
                f'</m:FolderShape><m:SyncFolderId><t:DistinguishedFolderId Id="{root}"/>'
                f"</m:SyncFolderId>{st}</m:SyncFolderHierarchy>")
        m = self.messages(self.call(body))[0]
        changes = []
        ch_el = m.find("m:Changes", NS)
        for ch in (ch_el if ch_el is not None else []):
            kind = ch.tag.split("}")[1]
            f = ch[0]
            fid = f.get("Id") if kind == "Delete" else f.find("t:FolderId", NS).get("Id")
            name = None if kind == "Delete" else f.find("t:DisplayName", NS).text
            changes.append((kind, fid, name))
        return {"code": m.find("m:ResponseCode", NS).text, "state": m.find("m:SyncState", NS).text,
                "changes": changes}
