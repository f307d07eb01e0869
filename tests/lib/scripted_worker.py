# SPDX-License-Identifier: Apache-2.0
"""A worker driven step by step by a test: a real HTTP client of the worker protocol
(docs/worker-protocol.md) with a site's credentials — not a mock of the server. Each call
returns the response, so tests can assert on every status the server gives."""
import urllib.parse
import uuid


class ScriptedWorker:
    def __init__(self, anon, credentials, worker_id=None):
        self.api = anon.as_client(credentials["client_id"], credentials["client_secret"])
        self.worker_id = worker_id or f"scripted-{uuid.uuid4().hex[:8]}"
        self.execution = None  # the last claim's document
        self.token = None

    # ---- site level ----

    def heartbeat(self, executions=None, **kw):
        held = executions if executions is not None else (
            [{"id": self.execution["id"], "fencing_token": self.token}] if self.execution else [])
        body = {"worker_id": self.worker_id, "version": "test", "host": "test-host",
                "executions": held, **kw}
        return self.api.post("/api/v1/worker/heartbeat", json=body)

    def claim(self, wait=None, request_id=None, timeout=60):
        """wait: the claim's wait_seconds (absent when None); request_id: its X-Request-Id."""
        body = {"worker_id": self.worker_id}
        if wait is not None:
            body["wait_seconds"] = wait
        headers = {"X-Request-Id": request_id} if request_id else None
        r = self.api.post("/api/v1/worker/claims", json=body, headers=headers, timeout=timeout)
        if r.status_code == 200:
            self.execution = r.json()
            self.token = self.execution["fencing_token"]
        return r

    # ---- execution level: every write carries the claim's fencing token ----

    def _path(self, suffix, mailbox=None, execution_id=None):
        eid = execution_id or self.execution["id"]
        if mailbox is None:
            return f"/api/v1/worker/executions/{eid}{suffix}"
        quoted = urllib.parse.quote(mailbox, safe="")
        return f"/api/v1/worker/executions/{eid}/mailboxes/{quoted}{suffix}"

    def _post(self, suffix, body=None, mailbox=None, token=None, execution_id=None):
        headers = {"MSE-Fencing-Token": str(token if token is not None else self.token)}
        kw = {"json": body} if body is not None else {}
        return self.api.post(self._path(suffix, mailbox, execution_id), headers=headers, **kw)

    def membership(self, mailboxes=None, error=None, **kw):
        body = {"error": error} if error else {"mailboxes": mailboxes}
        return self._post("/membership", body, **kw)

    def lock(self, mailbox, **kw):
        return self._post("/lock", mailbox=mailbox, **kw)

    def progress(self, command, detail, **kw):
        return self._post("/progress", {"command": command, "latest_detail": detail}, **kw)

    def submit(self, batch, **kw):
        return self._post("/submissions", batch, **kw)

    def finish(self, mailbox, state="healthy", items=0, full_sync=True, duration_ms=1000,
               **kw):
        body = {"state": state, "items": items, "full_sync": full_sync,
                "duration_ms": duration_ms}
        for key in ("reason_code", "reason_text"):
            if key in kw:
                body[key] = kw.pop(key)
        return self._post("/finish", body, mailbox=mailbox, **kw)

    def complete(self, **kw):
        return self._post("/complete", **kw)

    def release(self, **kw):
        return self._post("/release", **kw)

    def put_content(self, sha256, data):
        return self.api.put(f"/api/v1/worker/attachments/{sha256}", data=data,
                            headers={"Content-Type": "application/octet-stream"})


def hierarchy_batch(mailbox, base, new, folders, complete=True):
    return {"batch_id": str(uuid.uuid4()), "mailbox": mailbox, "scope": "hierarchy",
            "folder_id": None, "base_checkpoint": base, "new_checkpoint": new,
            "complete": complete, "reset": False, "folders": folders, "items": [],
            "appointments": []}


def folder_batch(mailbox, folder_id, base, new, items=(), appointments=(), complete=True,
                 reset=False):
    return {"batch_id": str(uuid.uuid4()), "mailbox": mailbox, "scope": "folder",
            "folder_id": folder_id, "base_checkpoint": base, "new_checkpoint": new,
            "complete": complete, "reset": reset, "folders": [], "items": list(items),
            "appointments": list(appointments)}


def folder(folder_id, name, parent="root", folder_class="IPF.Note", path=None):
    return {"folder_id": folder_id, "parent_folder_id": parent, "display_name": name,
            "folder_class": folder_class, "path": path or f"/{name}", "change": "upsert"}


def message(item_id, folder_id, subject="hello", **kw):
    rec = {"item_id": item_id, "change_key": "ck1", "folder_id": folder_id, "change": "upsert",
           "item_class": "IPM.Note", "internet_message_id": f"<{item_id}@example.com>",
           "subject": subject, "sender": {"name": "A", "email": "a@example.com"},
           "from": {"name": "A", "email": "a@example.com"},
           "to": [{"name": "B", "email": "b@example.com"}], "cc": [],
           "sent": "2026-01-05T10:00:00Z", "received": "2026-01-05T10:00:05Z", "size": 1234,
           "is_read": False, "sensitivity": "Normal", "has_attachments": False}
    rec.update(kw)
    return rec
