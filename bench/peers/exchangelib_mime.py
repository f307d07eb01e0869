# SPDX-License-Identifier: Apache-2.0
"""The content peer: python3-exchangelib reading every message of a mailbox's mail folders with
its MIME content, as a Sync & Recover pass does — sync_items (pages of 512) per mail folder
outside Deleted Items, then account.fetch of mime_content in exchangelib's own chunks, each
message hashed (SHA-256) as the worker hashes what it archives. Impersonation with the service
account, Basic auth and the server version given (no discovery probes).

usage: exchangelib_mime.py EWS_URL USER PASSWORD MAILBOX  → one "BENCH {json}" line on stdout.
"""
import hashlib
import json
import sys
import time

from exchangelib import BASIC, IMPERSONATION, Account, Configuration, Credentials, Version
from exchangelib.version import EXCHANGE_2013_SP1

from exchangelib_sync import mail_folders


def main():
    url, user, password, mailbox = sys.argv[1:5]
    config = Configuration(service_endpoint=url, credentials=Credentials(user, password),
                           auth_type=BASIC, version=Version(build=EXCHANGE_2013_SP1))
    t0 = time.monotonic()
    account = Account(mailbox, config=config, autodiscover=False, access_type=IMPERSONATION)
    items = size = 0
    for folder in mail_folders(account):
        changed = [item for change, item in
                   folder.sync_items(only_fields=("item_class",), max_changes_returned=512)
                   if change in ("create", "update")]
        for item in account.fetch(ids=changed, only_fields=("mime_content",)):
            hashlib.sha256(item.mime_content).hexdigest()
            items += 1
            size += len(item.mime_content)
    seconds = time.monotonic() - t0
    print("BENCH " + json.dumps({"items": items, "seconds": seconds, "bytes": size,
                                 "items_per_s": items / seconds if seconds else 0}))


if __name__ == "__main__":
    main()
