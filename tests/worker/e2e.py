# SPDX-License-Identifier: Apache-2.0
"""Helpers for the worker's end-to-end tests against ews-sim.

Runs `mse-worker --sync-once` (real process, real HTTP to a real ews-sim), applies the batches
it prints to a replica exactly as docs/worker.md tells the server to, and projects both the
replica and the simulator's export (`GET /_sim/mailboxes/{address}/export`) to the same shape so
that a test can demand equality.
"""
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "ewssim"))

import harness  # noqa: E402
import simlib  # noqa: E402

MFR = "mailbox_folder_replication"
CAL = "calendar_replication"


class WorkerRun:
    """The result of one `mse-worker --sync-once`: batches, contents, outcome, logs."""

    def __init__(self, proc, stdout, stderr):
        self.returncode = proc.returncode
        self.batches, self.contents, self.outcome = [], [], None
        for line in stdout.splitlines():
            doc = json.loads(line)
            if "batch" in doc:
                self.batches.append(doc["batch"])
            elif "content" in doc:
                self.contents.append(doc["content"])
            elif "outcome" in doc:
                self.outcome = doc["outcome"]
        self.log = stderr

    def progress(self):
        """The progress details the worker reported, in order."""
        out = []
        for line in self.log.splitlines():
            try:
                msg = json.loads(line).get("msg", "")
            except ValueError:
                continue
            if msg.startswith("progress: "):
                out.append(msg[len("progress: "):])
        return out


def worker_env(sim, **extra):
    env = dict(os.environ)
    env.update(harness.sanitizer_env())
    for k in list(env):
        if k.startswith("MSE_WORKER_"):
            del env[k]
    env.update({
        "MSE_WORKER_EWS_URL": sim.ews_url,
        "MSE_WORKER_EWS_USERNAME": simlib.SERVICE_USER,
        "MSE_WORKER_EWS_PASSWORD": simlib.SERVICE_PASSWORD,
        # Tests must not wait for minutes: short backoffs (server hints are honoured as sent).
        "MSE_WORKER_EWS_BACKOFF_BASE_MS": "20",
        "MSE_WORKER_EWS_BACKOFF_MAX": "1",
        "MSE_WORKER_EWS_TIMEOUT": "20",
        "MSE_WORKER_LOG_LEVEL": "info",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_worker(sim, mailbox, kind=MFR, definition=None, state=None, content_dir=None,
               env=None, timeout=120, check=True):
    """Runs one pass; asserts no sanitizer report (and exit 0/1 when check)."""
    argv = [harness.binary("mse-worker"), "--sync-once", mailbox, "--type", kind]
    if definition is not None:
        argv += ["--definition", json.dumps(definition)]
    if state:
        argv += ["--state", state]
    if content_dir:
        argv += ["--content-dir", content_dir]
    proc = subprocess.run(argv, env=worker_env(sim, **(env or {})), capture_output=True,
                          text=True, timeout=timeout)
    reports = [p for p in harness.SANITIZER_PATTERNS if p in proc.stderr]
    assert not reports, f"mse-worker sanitizer report {reports}:\n{proc.stderr[-20000:]}"
    run = WorkerRun(proc, proc.stdout, proc.stderr)
    if check:
        assert proc.returncode in (0, 1), f"mse-worker exited {proc.returncode}:\n{proc.stderr}"
        assert run.outcome is not None, proc.stderr
    return run


def resolve_group(sim, kind, value):
    argv = [harness.binary("mse-worker"), "--resolve-group", kind, value]
    proc = subprocess.run(argv, env=worker_env(sim), capture_output=True, text=True, timeout=60)
    assert not [p for p in harness.SANITIZER_PATTERNS if p in proc.stderr], proc.stderr
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


class Replica:
    """What a server holds after applying batches as docs/worker.md specifies."""

    def __init__(self):
        self.folders = {}        # folder_id -> record (+ "deleted")
        self.items = {}          # item_id -> record (+ "deleted")
        self.appointments = {}   # item_id -> record
        self.checkpoints = {"hierarchy": None, "folders": {}}
        self.sweeps = {}         # folder_id -> ids not yet seen since a reset
        self.applied = set()

    def apply(self, b):
        if b["batch_id"] in self.applied:
            return  # a replayed batch is acknowledged, not applied twice
        scope = b["folder_id"]
        stored = (self.checkpoints["hierarchy"] if scope is None
                  else self.checkpoints["folders"].get(scope))
        assert b["base_checkpoint"] == stored, f"batch {b['batch_id']}: base checkpoint differs"
        self.applied.add(b["batch_id"])
        for f in b["folders"]:
            if f["change"] == "upsert":
                self.folders[f["folder_id"]] = dict(f, deleted=False)
            else:
                assert f["change"] == "delete", f
                if f["folder_id"] in self.folders:
                    self.folders[f["folder_id"]]["deleted"] = True
                self.checkpoints["folders"].pop(f["folder_id"], None)
                for it in self.items.values():
                    if it["folder_id"] == f["folder_id"]:
                        it["deleted"] = True
                for aid in [a for a, r in self.appointments.items()
                            if r["folder_id"] == f["folder_id"]]:
                    del self.appointments[aid]
        if b["reset"]:
            held = {i for i, r in self.items.items()
                    if r["folder_id"] == scope and not r["deleted"]}
            held |= {i for i, r in self.appointments.items() if r["folder_id"] == scope}
            self.sweeps[scope] = held
        for rec in b["items"]:
            self._item(scope, rec)
        for rec in b["appointments"]:
            self._appointment(scope, rec)
        if scope is None:
            self.checkpoints["hierarchy"] = b["new_checkpoint"]
        else:
            self.checkpoints["folders"][scope] = b["new_checkpoint"]
        if b["complete"] and scope in self.sweeps:
            for i in self.sweeps.pop(scope):
                if i in self.items and self.items[i]["folder_id"] == scope:
                    self.items[i]["deleted"] = True
                if i in self.appointments and self.appointments[i]["folder_id"] == scope:
                    del self.appointments[i]

    def _item(self, scope, rec):
        iid, change = rec["item_id"], rec["change"]
        self.sweeps.get(scope, set()).discard(iid)
        cur = self.items.get(iid)
        if change == "upsert":
            assert rec["folder_id"] == scope
            self.items[iid] = dict(rec, deleted=False)
        elif change == "delete":
            if cur and cur["folder_id"] == scope:
                cur["deleted"] = True
        elif change == "remove":
            if cur and cur["folder_id"] == scope:
                del self.items[iid]
        elif change == "read_flag":
            if cur:
                cur["is_read"] = rec["is_read"]
        else:
            raise AssertionError(f"unknown change {rec}")

    def _appointment(self, scope, rec):
        iid = rec["item_id"]
        self.sweeps.get(scope, set()).discard(iid)
        if rec["change"] == "upsert":
            assert rec["folder_id"] == scope
            self.appointments[iid] = rec
        else:
            assert rec["change"] == "delete", rec
            cur = self.appointments.get(iid)
            if cur and cur["folder_id"] == scope:
                del self.appointments[iid]

    def apply_run(self, run):
        for b in run.batches:
            self.apply(b)

    # ---- projections ----
    def folder_view(self):
        return sorted((f["path"], f["display_name"], f["folder_class"])
                      for f in self.folders.values() if not f["deleted"])

    def _path(self, folder_id):
        return self.folders[folder_id]["path"]

    def message_view(self):
        out = {}
        for iid, r in self.items.items():
            if r["deleted"]:
                continue
            out[iid] = {k: r[k] for k in MESSAGE_KEYS if k != "folder_path"}
            out[iid]["folder_path"] = self._path(r["folder_id"])
        return out

    def appointment_view(self):
        out = {}
        for iid, r in self.appointments.items():
            a = {k: r[k] for k in APPOINTMENT_KEYS if k not in ("folder_path",)}
            a["folder_path"] = self._path(r["folder_id"])
            a["modified_occurrences"] = [{k: o[k] for k in ("original_start", "start", "end")}
                                         for o in r["modified_occurrences"]]
            a["attachments"] = [{k: x[k] for k in ("name", "content_type", "size", "sha256")}
                                for x in r["attachments"]]
            out[iid] = a
        return out


MESSAGE_KEYS = ("folder_path", "internet_message_id", "subject", "sender", "from", "to", "cc",
                "sent", "received", "size", "item_class", "is_read", "sensitivity",
                "has_attachments")
APPOINTMENT_KEYS = ("folder_path", "subject", "start", "end", "is_all_day", "location",
                    "organizer", "required_attendees", "optional_attendees",
                    "calendar_item_type", "recurrence", "modified_occurrences",
                    "deleted_occurrences", "sensitivity", "has_attachments", "attachments")


def _under(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")


def _norm(p):
    return "/" + p.strip().strip("/")


class Expected:
    """The sim's export reduced to what a replica under a definition must hold."""

    def __init__(self, export, kind=MFR, definition=None):
        d = definition or {}
        folders = export["folders"]
        deleted = [f["path"] for f in folders if f.get("distinguished_id") == "deleteditems"]
        if kind == MFR:
            excluded = [_norm(p) for p in d.get("exclude_folders", []) if p.strip("/ ")]
            if not d.get("include_deleted_items"):
                excluded += deleted
            keep = [f for f in folders
                    if not any(_under(f["path"].lower(), e.lower()) for e in excluded)]
        elif d.get("include_calendars") == "all":
            keep = [f for f in folders if f["folder_class"] == "IPF.Appointment"
                    and not any(_under(f["path"], e) for e in deleted)]
        else:
            keep = [f for f in folders if f.get("distinguished_id") == "calendar"]
        paths = {f["path"] for f in keep}
        self.folders = sorted((f["path"], f["display_name"], f["folder_class"]) for f in keep)
        mail = {f["path"] for f in keep
                if not f["folder_class"] or f["folder_class"] == "IPF.Note"
                or f["folder_class"].startswith("IPF.Note.")}
        private = ("Personal", "Private", "Confidential")
        self.messages = {}
        if kind == MFR:
            for m in export["messages"]:
                if m["folder_path"] not in mail:
                    continue
                if m["sensitivity"] in private and not d.get("include_private_items"):
                    continue
                self.messages[m["item_id"]] = {k: m[k] for k in MESSAGE_KEYS}
        self.appointments = {}
        if kind == CAL:
            for a in export["appointments"]:
                if a["folder_path"] in paths:
                    self.appointments[a["item_id"]] = {k: a[k] for k in APPOINTMENT_KEYS}


def assert_replica_equals(replica, export, kind=MFR, definition=None):
    exp = Expected(export, kind, definition)
    assert replica.folder_view() == exp.folders
    if kind == MFR:
        got = replica.message_view()
        _assert_same(got, exp.messages, "message")
        assert not replica.appointments
    else:
        got = replica.appointment_view()
        _assert_same(got, exp.appointments, "appointment")
        assert not replica.items


def _assert_same(got, want, what):
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing, f"{what}s missing from the replica: {[want[i] for i in missing][:3]}"
    assert not extra, f"{what}s the replica should not hold: {[got[i] for i in extra][:3]}"
    for iid in want:
        assert got[iid] == want[iid], f"{what} {iid} differs:\n got  {got[iid]}\n want {want[iid]}"


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()
