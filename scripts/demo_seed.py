#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Seeds the demo configuration of `make run` through the API, once: a site (whose worker
credentials go to a 0600 file for the demo worker), a schedule every five minutes, a
definition of each type, a Mailbox Folder Replication task and a Calendar Replication task
on the demo organisation's groups — and starts both tasks at once. With LDAP_URL, the site
also gets the demo Active Directory (scripts/demo_directory.py) and a Mailbox Folder
Replication task on one of its groups (ad_group). With EWS_URL and EWS_ACCOUNT (user:password),
a server connection to that Exchange for the site and a Sync & Recover task archiving a few
demo mailboxes' content (it starts when created); on later starts the connection is pointed at
EWS_URL again, wherever the sim listens now.

usage: demo_seed.py BASE_URL CLIENT_ID CLIENT_SECRET STATE_FILE [LDAP_URL [EWS_URL EWS_ACCOUNT]]
STATE_FILE keeps the demo site's id and credentials; when it names a site that still exists,
nothing is created again.
"""
import json
import os
import sys

import requests

from demo_directory import ROOT_DN, ROOT_PW, SUFFIX

SITE = "demo-site"
MFR_GROUP = "all@contoso.example"          # nested: includes engineering@ and sales@
CALENDAR_GROUP = "management@contoso.example"
AD_GROUP = f"cn=Engineering,ou=Groups,{SUFFIX}"
SYNC_MAILBOXES = ["anna.schmidt@contoso.example", "ben.carter@contoso.example",
                  "chloe.martin@contoso.example"]


def main():
    base, client_id, secret, state_file = sys.argv[1:5]
    s = requests.Session()
    r = s.post(f"{base}/api/v1/oauth/token", auth=(client_id, secret),
               data={"grant_type": "client_credentials"}, timeout=30)
    r.raise_for_status()
    s.headers["Authorization"] = "Bearer " + r.json()["access_token"]

    if os.path.exists(state_file):
        with open(state_file, encoding="utf-8") as f:
            state = json.load(f)
        if s.get(f"{base}/api/v1/sites/{state['site_id']}", timeout=30).status_code == 200:
            if len(sys.argv) > 7:
                follow_ews(s, base, state, sys.argv[6], sys.argv[7])
                write_private(state_file, json.dumps(state))
            print(f"demo: configuration already seeded (site {SITE})")
            return
    state = seed(s, base, sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else None)
    if len(sys.argv) > 7:
        follow_ews(s, base, state, sys.argv[6], sys.argv[7])
    write_private(state_file, json.dumps(state))
    # The worker reads its secret from a file, so it never appears in a process listing.
    write_private(state_file + ".secret", state["client_secret"])
    print(f"demo: seeded site {SITE}, a schedule, four definitions, "
          f"{len(state['tasks'])} running tasks and {len(state.get('sync_tasks', []))} sync task")


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def post(s, base, path, body):
    r = s.post(f"{base}{path}", json=body, timeout=30)
    if r.status_code not in (200, 201, 202):
        sys.exit(f"demo: POST {path} failed: {r.status_code} {r.text}")
    return r.json()


def seed(s, base, ldap_url):
    site = post(s, base, "/api/v1/sites",
                {"name": SITE, "description": "The demo engine of make run"})
    schedule = post(s, base, "/api/v1/schedules",
                    {"name": "Every 5 minutes", "timezone": "UTC", "type": "daily",
                     "mode": "many", "start_time": "00:00", "end_time": "23:55",
                     "interval_minutes": 5})
    mfr = post(s, base, "/api/v1/definitions",
               {"type": "mailbox_folder_replication",
                "description": "Folders and message metadata, private items excluded",
                "settings": {"exclude_folders": [], "include_deleted_items": False,
                             "include_private_items": False}})
    cal = post(s, base, "/api/v1/definitions",
               {"type": "calendar_replication", "description": "Every calendar",
                "settings": {"include_calendars": "all"}})
    post(s, base, "/api/v1/definitions",
         {"type": "mailbox_storage_management", "description": "Stub attachments after a year",
          "settings": {"action": "attachment_stub", "older_than_days": 365,
                       "min_size_kb": 256, "folders": "all", "exclude_folders": []}})
    post(s, base, "/api/v1/definitions",
         {"type": "managed_folders", "description": "Empty Deleted Items after 30 days",
          "settings": {"policies": [{"folder": "deleteditems", "action": "exchange_delete",
                                     "lifespan_days": 30}]}})
    tasks = []
    groups = [("Demo: mailbox folder replication (all staff)", mfr, "group_email", MFR_GROUP),
              ("Demo: calendar replication (management)", cal, "group_email", CALENDAR_GROUP)]
    if ldap_url:
        # The demo directory's certificate is self-signed.
        r = s.put(f"{base}/api/v1/sites/{site['id']}/directory", timeout=30,
                  json={"urls": [ldap_url], "bind_dn": ROOT_DN, "password": ROOT_PW,
                        "base_dn": SUFFIX, "tls_verify": False})
        if r.status_code != 200:
            sys.exit(f"demo: PUT directory failed: {r.status_code} {r.text}")
        groups.append(("Demo: mailbox folder replication (AD group Engineering)", mfr,
                       "ad_group", AD_GROUP))
    for name, definition, kind, group in groups:
        task = post(s, base, "/api/v1/exchange-tasks",
                    {"name": name, "site_id": site["id"], "type": definition["type"],
                     "definition_id": definition["id"], "schedule_id": schedule["id"],
                     "group": {"kind": kind, "value": group}})
        post(s, base, f"/api/v1/exchange-tasks/{task['id']}/run", None)
        tasks.append(task["id"])
    return {"site_id": site["id"], "client_id": site["credentials"]["client_id"],
            "client_secret": site["credentials"]["client_secret"], "tasks": tasks}


def follow_ews(s, base, state, ews_url, account):
    """The server connection to the demo Exchange and a sync task over a few mailboxes, once;
    on later starts the connection follows the sim's address (EWS_SIM_LISTEN may change)."""
    conn_id = state.get("connection_id")
    if conn_id:
        r = s.get(f"{base}/api/v1/server-connections/{conn_id}", timeout=30)
        if r.status_code == 200:
            if r.json()["ews_url"] != ews_url:
                r = s.patch(f"{base}/api/v1/server-connections/{conn_id}", timeout=30,
                            json={"ews_url": ews_url})
                if r.status_code not in (200, 202):
                    sys.exit(f"demo: PATCH server connection failed: {r.status_code} {r.text}")
            return
    user, password = account.split(":", 1)
    conn = post(s, base, "/api/v1/server-connections",
                {"name": "Demo: ews-sim", "site_id": state["site_id"], "ews_url": ews_url,
                 "authentication": "basic", "service_account": user, "secret": password,
                 "impersonation": True, "tls_verify": True})
    task = post(s, base, "/api/v1/sync-tasks",
                {"name": "Demo: Sync & Recover (three mailboxes)", "connection_id": conn["id"],
                 "group": {"kind": "mailbox_list", "value": ";".join(SYNC_MAILBOXES)},
                 "interval_minutes": 5})
    state["connection_id"] = conn["id"]
    state["sync_tasks"] = [task["id"]]


if __name__ == "__main__":
    main()
