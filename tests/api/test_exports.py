# SPDX-License-Identifier: Apache-2.0
"""Exports (docs/export.md) against a real server and PostgreSQL: a sync task's scripted
worker archives messages with content and appointments; exports of that archive, read by
independent readers (Python's zipfile, mailbox and email modules, the icalendar package), hold
exactly the archived content in the folders it was in at `as_of`; the download honours ETag
and Range; exports interrupted by a server's end are given back; files expire; every route is
authorised; bad input is refused naming the field; a large export's memory stays bounded."""
import hashlib
import io
import mailbox
import os
import re
import tempfile
import time
import uuid
import zipfile

import icalendar
import pytest

from admin_helpers import audit_events, ok, problem
from conftest import FAST, admin_server
from scripted_worker import folder, folder_batch, message
from test_archive import appointment, series
from test_content_access import read_only  # noqa: F401 (a fixture)
from test_sync_content import SyncSession, db_now, make_connection

BASE = "/api/v1/exports"


@pytest.fixture(scope="module")
def server(database):
    # The pause after each item (for tests only) keeps a large production seen while it runs.
    yield from admin_server(database, {"MSE_SCHEDULER_INTERVAL_MS": FAST[
        "MSE_SCHEDULER_INTERVAL_MS"], "MSE_EXPORT_TEST_DELAY_MS": "200"})


# A body line that starts with "From " (and one already quoted) must survive mbox.
FROM_BODY = b"Subject: %s\r\nFrom: a@example.com\r\n\r\nhello\r\nFrom the start, %s\r\n>From x\r\n"


def content(s, text):
    data = FROM_BODY % (text.encode(), text.encode())
    sha = hashlib.sha256(data).hexdigest()
    assert s.w.put_content(sha, data).status_code in (200, 201)
    return sha, data


@pytest.fixture(scope="module")
def archive(api, anon, database):
    """Inbox (with Projects below it), Archive and a Calendar; m1 moves from Inbox to Archive
    and m2 is deleted after `before`."""
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    ok(s.hierarchy([folder("inbox", "Inbox"), folder("proj", "Projects", parent="inbox",
                                                     path="/Inbox/Projects"),
                    folder("arch", "Archive"),
                    folder("cal", "Calendar", folder_class="IPF.Appointment")]))
    shas = {}
    for item_id, folder_id in (("m1", "inbox"), ("m2", "proj"), ("m3", "arch")):
        sha, data = content(s, item_id)
        shas[item_id] = (sha, data)
        ok(s.folder(folder_id, [message(item_id, folder_id, content_sha256=sha,
                                        content_size=len(data))]))
    before = db_now(database)
    ok(s.folder("arch", [message("m1", "arch", content_sha256=shas["m1"][0],
                                 content_size=len(shas["m1"][1]))]))
    ok(s.folder("inbox", [{"item_id": "m1", "change": "delete"}]))
    ok(s.folder("proj", [{"item_id": "m2", "change": "delete"}]))
    weekly = series({"type": "WeeklyRecurrence", "interval": 1, "days_of_week": ["Monday"]},
                    {"type": "EndDateRecurrence", "start_date": "2026-01-05",
                     "end_date": "2026-02-23"},
                    deleted_occurrences=["2026-01-19T09:00:00Z"],
                    modified_occurrences=[{"item_id": "occ", "original_start":
                                           "2026-01-26T09:00:00Z", "start": "2026-01-27T14:00:00Z",
                                           "end": "2026-01-27T15:00:00Z"}])
    ok(s.w.heartbeat())
    ok(s.w.submit(folder_batch(s.mailbox, "cal", s.states.get("cal"), f"S-{uuid.uuid4()}",
                               appointments=[
        appointment("a1", "cal", "2026-01-07T10:00:00Z", "2026-01-07T11:00:00Z",
                    subject="single"),
        appointment("a2", "cal", "2026-01-05T09:00:00Z", "2026-01-05T09:30:00Z",
                    subject="weekly", **weekly)])))
    s.end()
    return {"box": s.mailbox, "shas": shas, "before": before, "session": s}


def create(api, selection, fmt="eml_zip", **kw):
    return ok(api.post(BASE, json={"format": fmt, "selection": selection}, **kw), 201)


def wait_state(api, export, states=("completed", "failed"), timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        e = ok(api.get(f"{BASE}/{export['id']}"))
        if e["state"] in states:
            return e
        assert time.monotonic() < deadline, f"export still {e['state']}"
        time.sleep(0.1)


def produced(api, selection, fmt="eml_zip"):
    e = wait_state(api, create(api, selection, fmt))
    assert e["state"] == "completed", e
    r = api.get(e["content_url"])
    assert r.status_code == 200 and len(r.content) == e["bytes"]
    assert hashlib.sha256(r.content).hexdigest() == e["sha256"]
    assert r.headers["ETag"] == f'"{e["sha256"]}"'
    assert r.headers["Content-Type"] == e["media_type"]
    assert e["file_name"] in r.headers["Content-Disposition"]
    return e, r.content


def eml_tree(data):
    """{folder: sorted content hashes} of a ZIP of EML files."""
    tree = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.testzip() is None
        for info in z.infolist():
            folder_path, name = info.filename.rsplit("/", 1)
            assert name.endswith(".eml")
            tree.setdefault(folder_path, []).append(hashlib.sha256(z.read(info)).hexdigest())
    return {k: sorted(v) for k, v in tree.items()}


def test_eml_zip_holds_the_archived_content_in_its_folders(api, archive):
    sha = {k: v[0] for k, v in archive["shas"].items()}
    e, data = produced(api, {"mailbox": archive["box"]})
    assert eml_tree(data) == {"Archive": sorted([sha["m1"], sha["m3"]])}
    assert (e["items"], e["folders"], e["skipped"], e["errors"]) == (2, 1, 0, [])
    assert e["media_type"] == "application/zip" and e["file_name"].endswith(".zip")
    # Deleted in Exchange: at its last folder, when asked for.
    _, data = produced(api, {"mailbox": archive["box"], "include_deleted": True})
    assert eml_tree(data) == {"Archive": sorted([sha["m1"], sha["m3"]]),
                              "Inbox/Projects": [sha["m2"]]}
    # As it was before the move and the delete: the earlier folder set.
    e, data = produced(api, {"mailbox": archive["box"], "as_of": archive["before"]})
    assert eml_tree(data) == {"Inbox": [sha["m1"]], "Inbox/Projects": [sha["m2"]],
                              "Archive": [sha["m3"]]}
    assert e["as_of"] == archive["before"]
    # A folder selects its subfolders; ids and item ids narrow it.
    _, data = produced(api, {"mailbox": archive["box"], "as_of": archive["before"],
                             "folder_paths": ["/inbox"]})
    assert eml_tree(data) == {"Inbox": [sha["m1"]], "Inbox/Projects": [sha["m2"]]}
    _, data = produced(api, {"mailbox": archive["box"], "as_of": archive["before"],
                             "folder_ids": ["inbox"], "item_ids": ["m2"]})
    assert eml_tree(data) == {"Inbox/Projects": [sha["m2"]]}
    # The range excludes everything received before it (the messages were received in January).
    e, data = produced(api, {"mailbox": archive["box"], "from": "2026-02-01T00:00:00Z"})
    assert e["items"] == 0 and eml_tree(data) == {}


def unquote(data):
    """mboxrd: one '>' less on every line that is ">...>From "."""
    return re.sub(rb"(?m)^>(>*From )", rb"\1", data)


def mbox_messages(data):
    with tempfile.NamedTemporaryFile(suffix=".mbox", delete=False) as f:
        f.write(data)
    try:
        box = mailbox.mbox(f.name, create=False)
        return [unquote(box.get_bytes(k)) for k in box.keys()]
    finally:
        os.unlink(f.name)


def test_mbox_per_folder_round_trips_from_lines(api, archive):
    shas = archive["shas"]
    e, data = produced(api, {"mailbox": archive["box"], "folder_paths": ["/Archive"]}, "mbox")
    assert e["media_type"] == "application/mbox" and e["file_name"].endswith(".mbox")
    got = mbox_messages(data)
    assert sorted(hashlib.sha256(m).hexdigest() for m in got) == sorted(
        [shas["m1"][0], shas["m3"][0]])
    assert all(b"\r\nFrom the start, " in m for m in got)
    assert data.count(b"\n>From the start") == 2 and data.startswith(b"From a@example.com ")
    # Several folders: a ZIP with one mbox per folder.
    e, data = produced(api, {"mailbox": archive["box"], "as_of": archive["before"]}, "mbox")
    assert e["media_type"] == "application/zip" and e["folders"] == 3
    counts = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            msgs = mbox_messages(z.read(info))
            counts[info.filename] = [hashlib.sha256(m).hexdigest() for m in msgs]
    assert counts == {"Inbox.mbox": [shas["m1"][0]], "Inbox/Projects.mbox": [shas["m2"][0]],
                      "Archive.mbox": [shas["m3"][0]]}


def test_ics_holds_the_appointments_with_their_recurrence(api, archive):
    e, data = produced(api, {"mailbox": archive["box"]}, "ics")
    assert e["media_type"] == "text/calendar" and e["items"] == 2 and e["errors"] == []
    cal = icalendar.Calendar.from_ical(data)
    events = [c for c in cal.walk("VEVENT")]
    by = {}
    for ev in events:
        by.setdefault(str(ev["UID"]), []).append(ev)
    assert set(by) == {"uid-a1", "uid-a2"}
    single = by["uid-a1"][0]
    assert str(single["SUMMARY"]) == "single" and str(single["LOCATION"]) == "Room 1"
    assert single.decoded("DTSTART").isoformat() == "2026-01-07T10:00:00+00:00"
    assert single.decoded("DTEND").isoformat() == "2026-01-07T11:00:00+00:00"
    assert "anna@example.com" in str(single["ORGANIZER"])
    assert "bob@example.com" in str(single["ATTENDEE"])
    master = [ev for ev in by["uid-a2"] if "RRULE" not in ev and "RECURRENCE-ID" in ev]
    series_ev = [ev for ev in by["uid-a2"] if "RRULE" in ev][0]
    rule = series_ev["RRULE"]
    assert rule["FREQ"] == ["WEEKLY"] and rule["BYDAY"] == ["MO"]
    assert rule["UNTIL"][0].date().isoformat() == "2026-02-23"
    exdates = [d.dt.isoformat() for d in series_ev["EXDATE"].dts]
    assert exdates == ["2026-01-19T09:00:00+00:00"]
    assert len(master) == 1
    assert master[0].decoded("RECURRENCE-ID").isoformat() == "2026-01-26T09:00:00+00:00"
    assert master[0].decoded("DTSTART").isoformat() == "2026-01-27T14:00:00+00:00"
    # A calendar by path selects only its appointments.
    e, _ = produced(api, {"mailbox": archive["box"], "folder_paths": ["/Inbox"]}, "ics")
    assert e["items"] == 0


def test_download_validators_and_ranges(api, archive):
    e, data = produced(api, {"mailbox": archive["box"]})
    url, etag = e["content_url"], f'"{e["sha256"]}"'
    part = api.get(url, headers={"Range": "bytes=10-29"})
    assert part.status_code == 206 and part.content == data[10:30]
    assert part.headers["Content-Range"] == f"bytes 10-29/{len(data)}"
    tail = api.get(url, headers={"Range": "bytes=-7"})
    assert tail.status_code == 206 and tail.content == data[-7:]
    past = api.get(url, headers={"Range": f"bytes={len(data)}-"})
    problem(past, 416)
    assert past.headers["Content-Range"] == f"bytes */{len(data)}"
    assert api.get(url, headers={"If-None-Match": etag}).status_code == 304
    stale = api.get(url, headers={"Range": "bytes=0-3", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == data
    # If-Range: the current strong tag gives the range; a weak one (never a match) or an
    # HTTP date (the file has no Last-Modified) the whole file.
    same = api.get(url, headers={"Range": "bytes=0-3", "If-Range": etag})
    assert same.status_code == 206 and same.content == data[:4]
    weak = api.get(url, headers={"Range": "bytes=0-3", "If-Range": "W/" + etag})
    assert weak.status_code == 200 and weak.content == data
    downloads = audit_events(api, action="export.download", resource_id=e["id"])
    assert {d["after"].get("range") for d in downloads} >= {"bytes=10-29", "bytes=-7"}


def test_idempotency_audit_list_and_delete(api, archive):
    key = str(uuid.uuid4())
    body = {"format": "eml_zip", "selection": {"mailbox": archive["box"].upper()}}
    first = api.post(BASE, json=body, headers={"Idempotency-Key": key})
    again = api.post(BASE, json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    e = first.json()
    assert again.json()["id"] == e["id"] and e["selection"]["mailbox"] == archive["box"]
    assert first.headers["Location"] == f"{BASE}/{e['id']}"
    assert [a["action"] for a in audit_events(api, resource_id=e["id"])] == ["export.create"]
    e = wait_state(api, e)
    listed = ok(api.get(BASE, params={"state": "completed", "limit": 500}))["items"]
    assert e["id"] in [x["id"] for x in listed] and all(x["state"] == "completed" for x in listed)
    page = ok(api.get(BASE, params={"limit": 1}))
    assert len(page["items"]) == 1 and page["next_cursor"]
    problem(api.get(BASE, params={"state": "done"}), 400, "state")
    etag = api.get(f"{BASE}/{e['id']}").headers["ETag"]
    problem(api.delete(f"{BASE}/{e['id']}", headers={"If-Match": '"1"'}), 412)
    assert api.delete(f"{BASE}/{e['id']}", headers={"If-Match": etag}).status_code == 204
    problem(api.get(f"{BASE}/{e['id']}"), 404)
    problem(api.get(f"{BASE}/{e['id']}/content"), 404)
    problem(api.delete(f"{BASE}/{e['id']}"), 404)
    assert "export.delete" in [a["action"] for a in audit_events(api, resource_id=e["id"])]


def test_bad_input_names_the_field(api, archive):
    box = archive["box"]
    cases = [
        ({"selection": {"mailbox": box}}, "format"),
        ({"format": "pst", "selection": {"mailbox": box}}, "format"),
        ({"format": "mbox"}, "selection"),
        ({"format": "mbox", "selection": {}}, "selection.mailbox"),
        ({"format": "mbox", "selection": {"mailbox": "nobody@nowhere.example"}},
         "selection.mailbox"),
        ({"format": "mbox", "selection": {"mailbox": box, "folder_paths": ["Inbox"]}},
         "selection.folder_paths[0]"),
        ({"format": "mbox", "selection": {"mailbox": box, "item_ids": []}}, "selection.item_ids"),
        ({"format": "mbox", "selection": {"mailbox": box, "folder_ids": [7]}},
         "selection.folder_ids[0]"),
        ({"format": "mbox", "selection": {"mailbox": box, "from": "2026-02-01T00:00:00Z",
                                          "to": "2026-01-01T00:00:00Z"}}, "selection.to"),
        ({"format": "mbox", "selection": {"mailbox": box, "as_of": "yesterday"}},
         "selection.as_of"),
        ({"format": "mbox", "selection": {"mailbox": box, "as_of": "2999-01-01T00:00:00Z"}},
         "selection.as_of"),
        ({"format": "ics", "selection": {"mailbox": box, "as_of": archive["before"]}},
         "selection.as_of"),
        ({"format": "ics", "selection": {"mailbox": box, "include_deleted": True}},
         "selection.include_deleted"),
        ({"format": "mbox", "selection": {"mailbox": box, "folder": "x"}}, "selection.folder"),
        ({"format": "mbox", "selection": {"mailbox": box}, "as_of": "x"}, "as_of"),
    ]
    before = len(ok(api.get(BASE, params={"limit": 500}))["items"])
    for body, field in cases:
        problem(api.post(BASE, json=body), 422, field)
    problem(api.post(BASE, data=b"{", headers={"Content-Type": "application/json"}), 400)
    assert api.post(BASE, data=b"x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert len(ok(api.get(BASE, params={"limit": 500}))["items"]) == before
    problem(api.get(f"{BASE}/not-a-uuid"), 404)
    problem(api.get(f"{BASE}/{uuid.uuid4()}"), 404)
    problem(api.get(f"{BASE}/{uuid.uuid4()}/content"), 404)


def test_auth_matrix(api, anon, read_only, archive):
    e = wait_state(api, create(api, {"mailbox": archive["box"]}))
    site_client = archive["session"].w.api
    one, content = f"{BASE}/{e['id']}", f"{BASE}/{e['id']}/content"
    body = {"format": "mbox", "selection": {"mailbox": archive["box"]}}
    for client, status in ((anon, 401), (site_client, 403)):
        problem(client.get(BASE), status)
        problem(client.post(BASE, json=body), status)
        problem(client.get(one), status)
        problem(client.get(content), status)
        problem(client.delete(one), status)
    # read_only sees the state, never the content, and changes nothing.
    assert ok(read_only.get(one))["id"] == e["id"]
    assert e["id"] in [x["id"] for x in ok(read_only.get(BASE, params={"limit": 500}))["items"]]
    problem(read_only.get(content), 403)
    problem(read_only.post(BASE, json=body), 403)
    problem(read_only.delete(one), 403)
    assert ok(api.get(one))["state"] == "completed"


def insert_running(database, box, attempts):
    """An export a producer that died left running (no advisory lock is held on it)."""
    return database.scalar(
        "INSERT INTO exports (format, mailbox, selection, as_of, state, attempts, started_at,"
        " ttl_seconds)"
        " VALUES ('eml_zip', %s, jsonb_build_object('mailbox', %s::text), now(), 'running', %s,"
        " now(), 3600) RETURNING id::text", box, box, attempts)


def test_an_export_whose_producer_died_is_resumed_or_failed(api, archive, database):
    again = insert_running(database, archive["box"], 1)
    spent = insert_running(database, archive["box"], 3)
    resumed = wait_state(api, {"id": again})
    assert resumed["state"] == "completed" and resumed["attempts"] == 2 and resumed["items"] == 2
    failed = wait_state(api, {"id": spent})
    assert failed["state"] == "failed" and failed["error"]["code"] == "interrupted"
    problem(api.get(f"{BASE}/{spent}/content"), 409)


def test_expiry_removes_the_file(server, database, archive):
    """The TTL is the requesting server's; servers on one database share a data directory."""
    gen = admin_server(database, {"MSE_SCHEDULER_INTERVAL_MS": FAST["MSE_SCHEDULER_INTERVAL_MS"],
                                  "MSE_EXPORT_TTL_SECONDS": 1, "MSE_DATA_DIR": server.data_dir})
    srv = next(gen)
    try:
        from api_client import ApiClient
        from conftest import BOOTSTRAP_ID, BOOTSTRAP_SECRET
        api = ApiClient(srv.url).as_client(BOOTSTRAP_ID, BOOTSTRAP_SECRET)
        e = wait_state(api, create(api, {"mailbox": archive["box"]}),
                       states=("expired", "failed"))
        assert e["state"] == "expired" and e["content_url"] is None and e["sha256"]
        problem(api.get(f"{BASE}/{e['id']}/content"), 409)
        # The file goes before the row says expired; a slow machine may show them in between.
        path, deadline = os.path.join(srv.data_dir, "exports", e["id"]), time.monotonic() + 60
        while os.path.exists(path):
            assert time.monotonic() < deadline, "the expired export's file stayed"
            time.sleep(0.05)
    finally:
        next(gen, None)


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        return int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))


def mailbox_of(api, anon, contents, name="Inbox"):
    """A mailbox whose one folder holds messages of these contents; its address."""
    return folders_of(api, anon, {name: contents})


def folders_of(api, anon, folders):
    """A mailbox of top folders {name: [content, ...]}; its address."""
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    ok(s.hierarchy([folder(f"f{k}", name) for k, name in enumerate(folders)]))
    i = 0
    for k, contents in enumerate(folders.values()):
        for data in contents:
            sha = hashlib.sha256(data).hexdigest()
            assert s.w.put_content(sha, data).status_code in (200, 201)
            ok(s.folder(f"f{k}", [message(f"m{i}", f"f{k}", content_sha256=sha,
                                          content_size=len(data))]))
            i += 1
    s.end()
    return s.mailbox


def test_zip_names_never_merge_folders(api, anon):
    """Folder names an unpacker would take as one (after sanitising, case folded), or that no
    file system takes (dots and spaces only, trailing dots), each get a directory of their own.
    A long name is cut where a UTF-8 character begins."""
    names = ["A:B", "A?B", "Inbox", "INBOX", "..", ". .", "Notes. ", "é" * 200]
    contents = {n: [b"Subject: %d\r\n\r\nin folder %d\r\n" % (k, k)]
                for k, n in enumerate(names)}
    box = folders_of(api, anon, contents)
    e, data = produced(api, {"mailbox": box})
    tree = eml_tree(data)
    assert e["folders"] == len(names) and len(tree) == len(names), tree
    assert len({d.lower() for d in tree}) == len(names)
    for d in tree:
        assert d and not d.endswith((".", " ")) and d not in (".", ".."), d
        d.encode("utf-8")  # whole characters only (zipfile decodes the flagged UTF-8 names)
    assert sorted(h for v in tree.values() for h in v) == sorted(
        hashlib.sha256(c[0]).hexdigest() for c in contents.values())
    # Paths come in byte order ("/INBOX" before "/Inbox"): the later one is uniquified.
    assert {"A_B", "A_B~2", "INBOX", "Inbox~2", "_", "_~2", "Notes"} <= set(tree), tree
    _, data = produced(api, {"mailbox": box}, "mbox")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        entries = z.namelist()
    assert len(entries) == len(names) and len({n.lower() for n in entries}) == len(names)


def fill(api, anon, n, size, name="Inbox"):
    """A mailbox of n incompressible messages of size bytes in one folder; its address."""
    return mailbox_of(api, anon, (b"Subject: big\r\n\r\n" + os.urandom(size) for _ in range(n)),
                      name)


def test_mbox_long_quote_runs_round_trip(api, anon):
    """However long a line's leading run of '>' before "From ", a reader gets the bytes back."""
    data = (b"Subject: q\r\n\r\n" + b">" * 100 + b"From the deep\r\n" + b">" * 59
            + b"From x\r\nFrom top\r\n")
    e, out = produced(api, {"mailbox": mailbox_of(api, anon, [data])}, "mbox")
    assert b"\n" + b">" * 101 + b"From the deep" in out
    assert [hashlib.sha256(m).hexdigest() for m in mbox_messages(out)] == [
        hashlib.sha256(data).hexdigest()]


def part_size(path):
    try:
        return os.stat(path).st_size
    except FileNotFoundError:  # put in place meanwhile
        return None


def test_a_large_export_keeps_the_servers_memory_bounded(api, anon, server, capsys):
    """40 MiB of incompressible messages: the server's peak RSS grows by far less than that.
    (Under the sanitizers freed memory is quarantined, not reused: what each message's ZIP
    entry allocates and frees shows up once per message, whatever its size.)"""
    n, size = 8, 5 * 1024 * 1024
    box = fill(api, anon, n, size, "Größe")
    before = peak_rss_kib(server.proc.pid)
    e = wait_state(api, create(api, {"mailbox": box}))
    grown = peak_rss_kib(server.proc.pid) - before
    r = api.get(e["content_url"])
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == e["sha256"]
    # Names are flagged UTF-8, so an unpacker shows the folder as it is called.
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert {n.split("/")[0] for n in z.namelist()} == {"Größe"}
    with capsys.disabled():
        print(f"\nexport of {e['bytes']} bytes: server peak RSS {before} KiB before, grew by"
              f" {grown} KiB")
    assert e["items"] == n and e["bytes"] > n * size
    assert grown * 1024 < n * size // 4, f"peak RSS grew {grown} KiB for {e['bytes']} bytes"
    # Removed while in production (its staging file seen growing): no file of it stays behind.
    exports_dir = os.path.join(server.data_dir, "exports")
    gone = create(api, {"mailbox": box})
    deadline, seen = time.monotonic() + 120, 0
    while True:
        sizes = [part_size(os.path.join(exports_dir, f)) for f in os.listdir(exports_dir)
                 if f.startswith(gone["id"]) and f.endswith(".part")]
        sizes = [n for n in sizes if n is not None]
        if sizes and seen and sizes[0] > seen:
            break
        seen = sizes[0] if sizes else seen
        assert ok(api.get(f"{BASE}/{gone['id']}"))["state"] in ("queued", "running")
        assert time.monotonic() < deadline, "the export's staging file was never seen growing"
        time.sleep(0.005)
    assert api.delete(f"{BASE}/{gone['id']}").status_code == 204
    deadline = time.monotonic() + 120
    while any(f.startswith(gone["id"]) for f in os.listdir(exports_dir)):
        assert time.monotonic() < deadline, os.listdir(exports_dir)
        time.sleep(0.1)
    # The producer went on with the next export.
    assert wait_state(api, create(api, {"mailbox": box}))["state"] == "completed"
