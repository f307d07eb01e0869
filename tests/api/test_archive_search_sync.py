# SPDX-License-Identifier: Apache-2.0
"""The archive search over the messages sync tasks archive (docs/journal.md#search): real
content uploaded and submitted by a scripted worker with a site's credentials, its body text
read by the server's indexer with GMime, found by words only its body holds, with the same
filters, ranking and keyset paging as journaled messages, current versions by default."""
import hashlib
import time
import uuid

from admin_helpers import ok, problem, unique
from scripted_worker import folder, message
from test_archive import new_task, replicating
from test_journal import message as journal_message
from test_sync_content import SyncSession, make_connection, server  # noqa: F401 (fixture)

SEARCH = "/api/v1/archive/search"


def mime(subject, body, attachment=False):
    """A small RFC 5322 message, unique per call (journal ingest's test messages)."""
    return journal_message(subject, body, sender="anna@contoso.example",
                           to="ben@contoso.example", attachment=attachment)


def upload(s, data):
    sha = hashlib.sha256(data).hexdigest()
    assert s.w.put_content(sha, data).status_code in (200, 201)
    return sha


def search(client, **params):
    return ok(client.get(SEARCH, params={"limit": 100, **params}))


def wait_hits(client, n, timeout=60, **params):
    """The indexer runs on the scheduler's ticks: waits until n hits are found."""
    deadline = time.monotonic() + timeout
    while True:
        items = search(client, **params)["items"]
        if len(items) >= n or time.monotonic() > deadline:
            return items
        time.sleep(0.2)


def ids(items):
    return [(h["source"], h["message"].get("item_id") or h["message"].get("id")) for h in items]


def test_a_word_only_in_the_body_finds_the_archived_message(api, anon, database):
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    word = f"w{uuid.uuid4().hex[:12]}"
    other = f"o{uuid.uuid4().hex[:12]}"
    ok(s.hierarchy([folder("inbox", "Inbox"), folder("archive", "Archive")]))
    data = mime("Quarterly figures", f"please find the {word} attached", attachment=True)
    sha = upload(s, data)
    plain = mime(f"About {word}", f"nothing else {other}")
    sha2 = upload(s, plain)
    ok(s.folder("inbox", [
        message("m1", "inbox", subject="Quarterly figures", content_sha256=sha,
                content_size=len(data), has_attachments=True,
                to=[{"name": "Ben", "email": "Ben@Contoso.example"}]),
        message("m2", "inbox", subject=f"About {word}", content_sha256=sha2,
                content_size=len(plain))]))
    hits = wait_hits(api, 2, q=word)
    # Subject words weigh more than body words; the body word alone found m1.
    assert ids(hits) == [("mailbox", "m2"), ("mailbox", "m1")]
    assert hits[0]["rank"] > hits[1]["rank"] > 0
    hit = hits[1]["message"]
    assert hit["mailbox"] == s.mailbox and hit["folder_id"] == "inbox"
    assert hit["folder_path"] == "/Inbox" and hit["sha256"] == sha
    assert hit["size"] == len(data) and hit["current"] is True and hit["valid_to"] is None
    assert hit["from"] == "a@example.com" and hit["to"] == ["ben@contoso.example"]
    assert hit["mailboxes"] == [s.mailbox] and hit["has_attachments"] is True
    assert api.get(hit["content_url"]).content == data
    # The text is read once per content, from the store, with GMime.
    assert database.query("SELECT outcome, body_text LIKE %s FROM content_texts"
                          " WHERE sha256 = %s", f"%{word}%", sha) == [("extracted", True)]
    # Filters.
    assert ids(search(api, q=word, mailbox=s.mailbox.upper())["items"]) == ids(hits)
    assert search(api, q=word, mailbox="nobody@contoso.example")["items"] == []
    assert ids(search(api, q=word, has_attachments="true")["items"]) == [("mailbox", "m1")]
    assert ids(search(api, q=word, has_attachments="false")["items"]) == [("mailbox", "m2")]
    assert ids(search(api, q=word, to="BEN@contoso.example")["items"]) == [("mailbox", "m1")]
    assert ids(search(api, q=word, **{"from": "A@example.com"})["items"]) == ids(hits)
    assert search(api, q=word, **{"from": "b@example.com"})["items"] == []
    assert ids(search(api, q=word, folder="/inbox")["items"]) == ids(hits)
    assert search(api, q=word, folder="/Archive")["items"] == []
    assert len(search(api, q=word, after="2026-01-05T10:00:00Z")["items"]) == 2
    assert search(api, q=word, after="2026-01-05T10:00:01Z")["items"] == []
    assert search(api, q=word, before="2026-01-05T10:00:00Z")["items"] == []
    assert ids(search(api, q=f"{word} -{other}")["items"]) == [("mailbox", "m1")]
    problem(api.get(SEARCH, params={"versions": "some"}), 400, "versions")
    problem(api.get(SEARCH, params={"folder": ""}), 400, "folder")

    # A move and a new subject: the current version is found where it is now; the old one
    # only with versions=all, its content served as it was then.
    ok(s.folder("archive", [message("m1", "archive", subject="Renamed", content_sha256=sha,
                                    content_size=len(data), has_attachments=True)]))
    ok(s.folder("inbox", [{"item_id": "m1", "change": "delete"}]))
    now = search(api, q=word, has_attachments="true")["items"]
    assert [(h["message"]["folder_path"], h["message"]["subject"]) for h in now] == [
        ("/Archive", "Renamed")]
    assert search(api, q="Quarterly", mailbox=s.mailbox)["items"] == []
    old = search(api, q="Quarterly", mailbox=s.mailbox, versions="all")["items"]
    assert [(h["message"]["current"], h["message"]["folder_id"]) for h in old] == [
        (False, "inbox")]
    assert old[0]["message"]["valid_to"] and old[0]["message"]["sha256"] == sha
    assert api.get(old[0]["message"]["content_url"]).content == data
    # Deleted in Exchange: kept in the archive, found among all versions only.
    ok(s.folder("inbox", [{"item_id": "m2", "change": "delete"}]))
    s.end()
    assert ids(search(api, q=word)["items"]) == [("mailbox", "m1")]
    every = search(api, q=word, versions="all")["items"]
    assert sorted(ids(every)) == [("mailbox", "m1"), ("mailbox", "m1"), ("mailbox", "m2")]


def test_paging_is_stable_across_both_sources(api, anon):
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    word = f"p{uuid.uuid4().hex[:12]}"
    ok(s.hierarchy([folder("inbox", "Inbox")]))
    items = []
    for i in range(7):
        data = mime(f"note {i}", f"{word} number {i}" + " filler" * i)
        items.append(message(f"p{i}", "inbox", subject=f"note {i}",
                             content_sha256=upload(s, data), content_size=len(data)))
    ok(s.folder("inbox", items))
    s.end()
    journaled = ok(api.post("/api/v1/journal", data=mime("journaled", f"{word} too"),
                            headers={"Content-Type": "message/rfc822"}), 201)
    whole = wait_hits(api, 8, q=word)
    assert len(whole) == 8
    assert ("journal", journaled["id"]) in ids(whole)
    ranks = [h["rank"] for h in whole]
    assert ranks == sorted(ranks, reverse=True)
    paged, cursor = [], None
    while True:
        page = ok(api.get(SEARCH, params={"q": word, "limit": 3,
                                          **({"cursor": cursor} if cursor else {})}))
        paged += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert ids(paged) == ids(whole)
    # Without q: the filters alone, newest first, paged the same way.
    newest = search(api, mailbox=s.mailbox)["items"]
    assert sorted(h["message"]["item_id"] for h in newest) == [f"p{i}" for i in range(7)]
    assert all(h["rank"] == 0 for h in newest)
    first = ok(api.get(SEARCH, params={"mailbox": s.mailbox, "limit": 4}))
    rest = ok(api.get(SEARCH, params={"mailbox": s.mailbox, "cursor": first["next_cursor"]}))
    assert ids(first["items"] + rest["items"]) == ids(newest) and rest["next_cursor"] is None


def test_read_only_searches_sites_and_journal_clients_do_not(api, anon):
    site, conn = make_connection(api)
    s = SyncSession(api, anon, site, conn)
    word = f"r{uuid.uuid4().hex[:12]}"
    ok(s.hierarchy([folder("inbox", "Inbox")]))
    data = mime("roles", word)
    ok(s.folder("inbox", [message("r1", "inbox", content_sha256=upload(s, data),
                                  content_size=len(data))]))
    s.end()
    ro = ok(api.post("/api/v1/api-clients", json={"name": unique("ro"), "role": "read_only"}),
            201)
    reader = anon.as_client(ro["client_id"], ro["client_secret"])
    assert ids(wait_hits(reader, 1, q=word)) == [("mailbox", "r1")]
    # An Exchange task replicating the mailbox since (metadata, no content) makes the archive
    # view show its copy; the search still finds what the sync task archived, and serves it.
    with replicating(api, anon, site, new_task(api, site, s.mailbox), s.mailbox) as r:
        r.hierarchy([folder("inbox", "Inbox")])
        r.folder("inbox", [message("r1", "inbox")])
    [viewed] = ok(api.get(f"/api/v1/mailboxes/{s.mailbox}/items"))["items"]
    assert viewed["content_sha256"] is None
    [hit] = search(reader, q=word)["items"]
    assert hit["message"]["item_id"] == "r1"
    assert reader.get(hit["message"]["content_url"]).content == data
    problem(s.w.api.get(SEARCH, params={"q": word}), 403)
    mta = ok(api.post("/api/v1/api-clients", json={"name": unique("mta"), "role": "journal"}),
             201)
    problem(anon.as_client(mta["client_id"], mta["client_secret"]).get(SEARCH,
                                                                       params={"q": word}), 403)
    problem(anon.get(SEARCH, params={"q": word}), 401)
