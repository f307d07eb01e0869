# SPDX-License-Identifier: Apache-2.0
"""The replication peer: python3-exchangelib replicating a mailbox's mail folders with its
sync_items loop — the hierarchy with sync_hierarchy, then sync_items (pages of 512) of every
mail folder outside Deleted Items, fetching the fields the worker replicates (the recipient
lists, which SyncFolderItems does not return, with GetItem through account.fetch). Impersonation
with the service account, Basic auth and the server version given (no discovery probes).

usage: exchangelib_sync.py EWS_URL USER PASSWORD MAILBOX  → one "BENCH {json}" line on stdout.
"""
import json
import sys
import time

from exchangelib import BASIC, IMPERSONATION, Account, Configuration, Credentials, Folder, Version
from exchangelib.version import EXCHANGE_2013_SP1

SYNC_FIELDS = ("item_class", "subject", "sensitivity", "datetime_received", "datetime_sent",
               "size", "has_attachments", "message_id", "author", "sender", "is_read")
GET_FIELDS = ("to_recipients", "cc_recipients")


def mail_folders(account):
    """Mail folders of the hierarchy outside the Deleted Items subtree."""
    root = account.msg_folder_root
    deleted = account.trash
    folders = [f for change, f in root.sync_hierarchy() if change == "create"]
    by_id = {f.id: f for f in folders}

    def under_deleted(f):
        while f is not None:
            if f.id == deleted.id:
                return True
            f = by_id.get(f.parent_folder_id.id) if f.parent_folder_id else None
        return False

    # sync_hierarchy hands out these folders typed as MsgFolderRoot, which sync_items would
    # address as the distinguished msgfolderroot: address each by its id instead.
    return [Folder(root=account.root, id=f.id, changekey=f.changekey, name=f.name,
                   folder_class=f.folder_class)
            for f in folders
            if (not f.folder_class or f.folder_class == "IPF.Note"
                or f.folder_class.startswith("IPF.Note."))
            and not under_deleted(f)]


def main():
    url, user, password, mailbox = sys.argv[1:5]
    config = Configuration(service_endpoint=url, credentials=Credentials(user, password),
                           auth_type=BASIC, version=Version(build=EXCHANGE_2013_SP1))
    t0 = time.monotonic()
    account = Account(mailbox, config=config, autodiscover=False, access_type=IMPERSONATION)
    items = 0
    for folder in mail_folders(account):
        changed = [item for change, item in
                   folder.sync_items(only_fields=SYNC_FIELDS, max_changes_returned=512)
                   if change in ("create", "update")]
        # Exchange's SyncFolderItems returns no recipient lists: GetItem brings them, in
        # exchangelib's own chunks.
        for item in account.fetch(ids=changed, only_fields=GET_FIELDS):
            items += 1
    seconds = time.monotonic() - t0
    print("BENCH " + json.dumps({"items": items, "seconds": seconds,
                                 "items_per_s": items / seconds if seconds else 0}))


if __name__ == "__main__":
    main()
