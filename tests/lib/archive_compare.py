# SPDX-License-Identifier: Apache-2.0
"""The archive of a mailbox and ews-sim's canonical export of it, in one comparable shape.

ews-sim's `GET /_sim/mailboxes/{address}/export` (docs/ews-sim.md, "Export format") is what a
perfect replica of the mailbox equals. An MSE archive holds what its definitions select, so

    assert archive_snapshot(api, address) == filter_export(sim.export(address), definitions)

is the end-to-end statement "the archive equals the mailbox": `archive_snapshot` rebuilds the
export's shape from the archive view API (`/api/v1/mailboxes/{address}/…`), `filter_export`
reduces the export to what the definitions replicate. Both are plain functions of their
inputs (`snapshot_from_view` is the API-free half of `archive_snapshot`). Addresses are
compared in lower case, as the archive stores them.

Definitions are the definitions API's documents (or any dict with `type` and `settings`), at
most one per feature type; their selection rules are docs/worker.md's "Selection":

- mailbox_folder_replication: every folder below the top except the Deleted Items subtree
  (unless `include_deleted_items`) and the `exclude_folders` subtrees (compared without regard
  to case, `/` at either end optional, `/` alone ignored); messages of mail folders (class
  IPF.Note, IPF.Note.* or none) only, private ones (Personal, Private, Confidential) only with
  `include_private_items`.
- calendar_replication: the default calendar, or with `include_calendars: "all"` every folder
  of class IPF.Appointment outside Deleted Items; all their appointments.

What cannot be compared, and is set to the same value (NOT_REPLICATED) on both sides:

- `display_name` of the mailbox: the worker protocol carries no mailbox display name.
- `distinguished_id` of folders: hierarchy records carry no DistinguishedFolderId (the
  worker uses it for its selection only).

What is compared after a documented normalisation:

- `item_count` of folders: the export gives EWS TotalCount (every item, also those a
  definition leaves out, and items of folders whose kind the feature does not read), which a
  replica cannot know. `filter_export` recounts it as the messages and appointments it keeps
  in the folder; the archive's `item_count` is the same count of what it holds.
- `folder_class`: EWS omits an empty FolderClass, the export shows `""`; null counts as `""`.
- `parent_path`: the archive links folders by id; it is the parent folder's path when the
  archive lists the parent, else (a calendar below a folder the calendar feature does not
  replicate, or a top-level folder) the path without its last segment.
- `modified_occurrences`: the archive also has each exception's `item_id`, which the export
  has not; dropped. Attachments' `attachment_id` and `content_url` likewise.
- Appointments' `item_class`, `uid`, `is_recurring`, `change_key`, and messages'
  `change_key`, are archive fields the export does not have: not part of the snapshot.
"""
import copy
import string
import urllib.parse

MFR = "mailbox_folder_replication"
CAL = "calendar_replication"

NOT_REPLICATED = None

PRIVATE = ("Personal", "Private", "Confidential")

FOLDER_KEYS = ("folder_id", "path", "parent_path", "display_name", "folder_class",
               "distinguished_id", "item_count")
MESSAGE_KEYS = ("item_id", "folder_path", "internet_message_id", "subject", "sender", "from",
                "to", "cc", "sent", "received", "size", "item_class", "is_read", "sensitivity",
                "has_attachments")
APPOINTMENT_KEYS = ("item_id", "folder_path", "subject", "start", "end", "is_all_day",
                    "location", "organizer", "required_attendees", "optional_attendees",
                    "calendar_item_type", "recurrence", "modified_occurrences",
                    "deleted_occurrences", "sensitivity", "has_attachments", "attachments")
OCCURRENCE_KEYS = ("original_start", "start", "end")
ATTACHMENT_KEYS = ("name", "content_type", "size", "sha256")


# ---- shared pieces ----

def _under(path, top):
    """True when path is top or inside it, without regard to case."""
    path, top = path.lower(), top.lower().rstrip("/")
    return path == top or path.startswith(top + "/")


def _mail_class(folder_class):
    return not folder_class or folder_class == "IPF.Note" or folder_class.startswith("IPF.Note.")


def _parent_of(path):
    head = path.rsplit("/", 1)[0]
    return head or "/"


def _snapshot(mailbox, folders, messages, appointments):
    """The export's top-level shape, lists in the export's order."""
    return {
        "mailbox": mailbox,
        "display_name": NOT_REPLICATED,
        "folders": sorted(folders, key=lambda f: f["path"]),
        "messages": sorted(messages, key=lambda m: (m["folder_path"], m["item_id"])),
        "appointments": sorted(appointments, key=lambda a: (a["folder_path"], a["item_id"])),
    }


def _settings(definitions):
    """{type: settings} for at most one definition per type."""
    out = {}
    for d in definitions:
        kind = d["type"]
        if kind not in (MFR, CAL):
            raise ValueError(f"{kind} definitions replicate nothing to compare")
        if kind in out:
            raise ValueError(f"two {kind} definitions: their selections do not combine")
        out[kind] = d.get("settings") or {}
    return out


# ---- the export side ----

def _mfr_paths(folders, settings):
    """Paths of the folders Mailbox Folder Replication keeps under these settings."""
    # As the worker reads them: '/' and blanks at either end do not count; "/" is no path.
    trim = "/" + string.whitespace
    excluded = ["/" + p.strip(trim) for p in settings.get("exclude_folders", []) if p.strip(trim)]
    if not settings.get("include_deleted_items"):
        excluded += [f["path"] for f in folders if f["distinguished_id"] == "deleteditems"]
    return {f["path"] for f in folders if not any(_under(f["path"], e) for e in excluded)}


def _calendar_paths(folders, settings):
    """Paths of the calendars Calendar Replication keeps under these settings."""
    if settings.get("include_calendars", "default") != "all":
        return {f["path"] for f in folders if f["distinguished_id"] == "calendar"}
    trash = [f["path"] for f in folders if f["distinguished_id"] == "deleteditems"]
    return {f["path"] for f in folders if f["folder_class"] == "IPF.Appointment"
            and not any(_under(f["path"], t) for t in trash)}


def filter_export(export, definitions):
    """The export reduced to what a replica under these definitions holds (a new dict)."""
    settings = _settings(definitions)
    folders = export["folders"]
    kept, mail, calendars = set(), set(), set()
    if MFR in settings:
        paths = _mfr_paths(folders, settings[MFR])
        kept |= paths
        mail = {f["path"] for f in folders if f["path"] in paths and _mail_class(f["folder_class"])}
    if CAL in settings:
        calendars = _calendar_paths(folders, settings[CAL])
        kept |= calendars
    private_ok = settings.get(MFR, {}).get("include_private_items", False)
    messages = [{k: copy.deepcopy(m[k]) for k in MESSAGE_KEYS} for m in export["messages"]
                if m["folder_path"] in mail and (private_ok or m["sensitivity"] not in PRIVATE)]
    appointments = [{k: copy.deepcopy(a[k]) for k in APPOINTMENT_KEYS}
                    for a in export["appointments"] if a["folder_path"] in calendars]
    counts = {}
    for r in messages + appointments:
        counts[r["folder_path"]] = counts.get(r["folder_path"], 0) + 1
    out_folders = []
    for f in folders:
        if f["path"] not in kept:
            continue
        g = {k: f[k] for k in FOLDER_KEYS}
        g["folder_class"] = f["folder_class"] or ""
        g["distinguished_id"] = NOT_REPLICATED
        g["item_count"] = counts.get(f["path"], 0)
        out_folders.append(g)
    return _snapshot(export["mailbox"].lower(), out_folders, messages, appointments)


# ---- the archive side ----

def snapshot_from_view(mailbox, folders, items, appointments):
    """The export's shape from the archive view's live folders, messages and appointments
    (the `items` of the folder, item and appointment lists, every page)."""
    live = [f for f in folders if not f["deleted"]]
    by_id = {f["folder_id"]: f for f in live}
    out_folders = []
    for f in live:
        parent = by_id.get(f["parent_folder_id"])
        out_folders.append({
            "folder_id": f["folder_id"],
            "path": f["path"],
            "parent_path": parent["path"] if parent else _parent_of(f["path"]),
            "display_name": f["display_name"],
            "folder_class": f["folder_class"] or "",
            "distinguished_id": NOT_REPLICATED,
            "item_count": f["item_count"],
        })
    messages = [{k: copy.deepcopy(m[k]) for k in MESSAGE_KEYS} for m in items if not m["deleted"]]
    out_appointments = []
    for a in appointments:
        b = {k: copy.deepcopy(a[k]) for k in APPOINTMENT_KEYS}
        b["modified_occurrences"] = [{k: o.get(k) for k in OCCURRENCE_KEYS}
                                     for o in a["modified_occurrences"]]
        b["attachments"] = [{k: x[k] for k in ATTACHMENT_KEYS} for x in a["attachments"]]
        out_appointments.append(b)
    return _snapshot(mailbox, out_folders, messages, out_appointments)


def read_all(api, path, **params):
    """Every item of a list route, following next_cursor (pages of 500)."""
    out, cursor = [], None
    while True:
        query = dict(params, limit=500, **({"cursor": cursor} if cursor else {}))
        r = api.get(path, params=query)
        assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text}"
        page = r.json()
        out += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return out


def archive_snapshot(api, address):
    """The archive's view of a mailbox in the export's shape (empty lists when the archive
    does not hold the mailbox, so that a comparison shows what is missing)."""
    base = "/api/v1/mailboxes/" + urllib.parse.quote(address.lower(), safe="@")
    if api.get(base).status_code == 404:
        return _snapshot(address.lower(), [], [], [])
    return snapshot_from_view(address.lower(), read_all(api, base + "/folders"),
                              read_all(api, base + "/items"),
                              read_all(api, base + "/appointments"))
