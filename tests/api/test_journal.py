# SPDX-License-Identifier: Apache-2.0
"""Journal ingest and search: a message posted as message/rfc822 is stored once (content in the
blob store, a row per distinct content), attributed to its internal mailboxes, found by
full-text search with filters and keyset paging, and served back byte for byte; bad media
types, malformed messages and oversized bodies are refused with a problem naming the cause;
mse-journal posts through the same route and exits with the code an MTA acts on."""
import hashlib
import os
import subprocess
import uuid

import pytest

import harness
from admin_helpers import ok, problem, unique
from conftest import admin_server

DOMAIN = "corp.example"


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, {"MSE_INTERNAL_DOMAINS": f" {DOMAIN.upper()} , other.example"})


def message(subject, body="Hello there.", sender=f"alice@{DOMAIN}", to="bob@outside.example",
            cc=None, extra="", attachment=False):
    """A small RFC 5322 message, unique per call (its Message-ID)."""
    mid = f"<{uuid.uuid4().hex}@test>"
    head = (f"From: Alice Example <{sender}>\r\nTo: {to}\r\n" + (f"Cc: {cc}\r\n" if cc else "") +
            f"Subject: {subject}\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
            f"Message-ID: {mid}\r\nMIME-Version: 1.0\r\n{extra}")
    if not attachment:
        return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()
    return (head + 'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
            "Content-Type: text/plain\r\n\r\n" + body + "\r\n--b1\r\n"
            'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="r.pdf"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n").encode()


def post(client, raw, rcpt=(), sender=None, ctype="message/rfc822"):
    params = [("rcpt", r) for r in rcpt] + ([("sender", sender)] if sender is not None else [])
    return client.post("/api/v1/journal", params=params, data=raw,
                       headers={"Content-Type": ctype} if ctype else {})


def search(client, **params):
    return ok(client.get("/api/v1/archive/search", params=params))


@pytest.fixture(scope="module")
def journal_client(api, anon):
    c = ok(api.post("/api/v1/api-clients", json={"name": unique("mta"), "role": "journal"}), 201)
    return c, anon.as_client(c["client_id"], c["client_secret"])


@pytest.fixture(scope="module")
def read_only(api, anon):
    c = ok(api.post("/api/v1/api-clients", json={"name": unique("ro"), "role": "read_only"}), 201)
    return anon.as_client(c["client_id"], c["client_secret"])


def test_a_message_is_stored_once_and_attributed_to_its_internal_mailboxes(api, server, database):
    database.query("INSERT INTO archive_mailboxes (address) VALUES ('carol@archived.example')"
                   " ON CONFLICT DO NOTHING")
    raw = message("Quarterly figures", cc="Carol <Carol@Archived.Example>")
    first = post(api, raw, rcpt=["bob@outside.example", "dave@other.example"],
                 sender=f"alice@{DOMAIN}")
    doc = ok(first, 201)
    sha = hashlib.sha256(raw).hexdigest()
    assert doc["sha256"] == sha and doc["size"] == len(raw)
    assert doc["subject"] == "Quarterly figures" and doc["from"] == f"alice@{DOMAIN}"
    assert doc["from_name"] == "Alice Example" and doc["cc"] == ["carol@archived.example"]
    assert doc["date"] == "2026-12-01T10:00:00Z" and doc["has_attachments"] is False
    # Internal: the sender's listed domain, an archived mailbox, a recipient of the other
    # listed domain; bob is external.
    assert doc["mailboxes"] == ["alice@corp.example", "carol@archived.example",
                                "dave@other.example"]
    assert doc["content_url"] == f"/api/v1/archive/messages/{sha}/content"
    # The content is in the blob store, referenced (the collector never takes it), not in SQL.
    assert os.path.exists(os.path.join(server.data_dir, "blobs", sha[:2], sha))
    row = database.query("SELECT content IS NULL, referenced_at IS NOT NULL FROM blobs"
                         " WHERE sha256 = %s", sha)
    assert row == [(True, True)]
    again = ok(post(api, raw, rcpt=["someone@corp.example"]), 200)
    assert again == doc  # the first post's record, envelope and attribution
    assert database.scalar("SELECT count(*) FROM journal_messages WHERE sha256 = %s", sha) == 1


def test_refusals_name_their_cause(api, database):
    before = database.scalar("SELECT count(*) FROM journal_messages")
    d = problem(post(api, message("x"), ctype="text/plain; charset=utf-8"), 415)
    assert "text/plain" in d["detail"]
    d = problem(post(api, message("x"), ctype=None), 415)
    d = problem(post(api, b""), 422)
    assert "empty" in d["detail"].lower() or "no bytes" in d["detail"].lower(), d
    d = problem(post(api, b"just some words without any header line\r\n"), 422)
    d = problem(post(api, b"Subject: nobody sent this\r\n\r\nbody\r\n"), 422)
    assert "originator" in d["detail"].lower() or "from" in d["detail"].lower(), d
    problem(post(api, message("x"), rcpt=["not an address"]), 400, "rcpt")
    problem(post(api, message("x"), sender="nobody"), 400, "sender")
    r = api.post("/api/v1/journal", params={"recipient": "a@b.example"}, data=message("x"),
                 headers={"Content-Type": "message/rfc822"})
    problem(r, 400, "recipient")
    big = message("big", body="x" * (32 * 1024 * 1024))
    problem(post(api, big), 413)
    assert database.scalar("SELECT count(*) FROM journal_messages") == before


def test_journal_clients_may_post_and_nothing_else(journal_client, read_only):
    _, mta = journal_client
    ok(post(mta, message("from the MTA")), 201)
    problem(mta.get("/api/v1/archive/search", params={"q": "x"}), 403)
    problem(mta.get("/api/v1/sites"), 403)
    problem(post(read_only, message("read only may not post")), 403)


def test_search_ranks_filters_and_pages(api, read_only):
    tag = uuid.uuid4().hex[:10]
    subj = ok(post(api, message(f"Budget {tag} review", body="numbers")), 201)
    body = ok(post(api, message("Lunch", body=f"the budget {tag} is attached", attachment=True,
                                sender=f"erin@{DOMAIN}", to=f"frank@{DOMAIN}")), 201)
    hits = search(read_only, q=tag)["items"]
    # Subject words weigh more than body words.
    assert [h["message"]["id"] for h in hits] == [subj["id"], body["id"]]
    assert hits[0]["rank"] > hits[1]["rank"] > 0
    assert [h["message"]["id"] for h in search(api, q=tag, has_attachments="true")["items"]] == \
        [body["id"]]
    assert [h["message"]["id"] for h in search(api, q=tag, mailbox=f"FRANK@{DOMAIN}")["items"]] \
        == [body["id"]]
    assert [h["message"]["id"] for h in search(api, q=tag, **{"from": f"erin@{DOMAIN}"})["items"]] \
        == [body["id"]]
    assert [h["message"]["id"] for h in search(api, q=tag, to="bob@outside.example")["items"]] == \
        [subj["id"]]
    assert search(api, q=tag, after="2026-12-02T00:00:00Z")["items"] == []
    assert len(search(api, q=tag, before="2026-12-02T00:00:00Z")["items"]) == 2
    assert search(api, q=f'"{tag} review"')["items"][0]["message"]["id"] == subj["id"]
    assert search(api, q=f"{tag} -numbers")["items"][0]["message"]["id"] == body["id"]
    # Keyset paging: one hit per page, in rank order, then the end.
    page1 = search(api, q=tag, limit=1)
    page2 = search(api, q=tag, limit=1, cursor=page1["next_cursor"])
    assert [page1["items"][0]["message"]["id"], page2["items"][0]["message"]["id"]] == \
        [subj["id"], body["id"]]
    assert page2["next_cursor"] is None
    problem(api.get("/api/v1/archive/search", params={"cursor": "nonsense"}), 400, "cursor")
    problem(api.get("/api/v1/archive/search", params={"has_attachments": "maybe"}), 400,
            "has_attachments")
    problem(api.get("/api/v1/archive/search", params={"after": "2026-12-02T00:00:00Z",
                                                      "before": "2026-12-01T00:00:00Z"}),
            400, "before")
    # Without q: the filters alone, newest first.
    newest = search(api, mailbox=f"erin@{DOMAIN}")["items"]
    assert newest[0]["message"]["id"] == body["id"] and newest[0]["rank"] == 0


def test_content_is_served_byte_for_byte_with_validators_and_ranges(api, read_only):
    raw = message("download me", body="the whole message")
    doc = ok(post(api, raw), 201)
    url = doc["content_url"]
    r = read_only.get(url)
    assert r.status_code == 200 and r.content == raw
    assert r.headers["Content-Type"] == "message/rfc822"
    assert r.headers["ETag"] == f'"{doc["sha256"]}"'
    assert read_only.get(url, headers={"If-None-Match": r.headers["ETag"]}).status_code == 304
    part = read_only.get(url, headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == raw[:10]
    problem(read_only.get(url, headers={"Range": f"bytes={len(raw)}-"}), 416)
    problem(read_only.get("/api/v1/archive/messages/" + "0" * 64 + "/content"), 404)
    problem(read_only.get("/api/v1/archive/messages/NOTAHASH/content"), 404)


def run_journal(server, client, raw, *args, **env):
    e = {"PATH": os.environ["PATH"], "MSE_JOURNAL_URL": server.url,
         "MSE_JOURNAL_CLIENT_ID": client["client_id"],
         "MSE_JOURNAL_CLIENT_SECRET": client["client_secret"], **harness.sanitizer_env(), **env}
    return subprocess.run([harness.binary("mse-journal"), *args], input=raw, env=e,
                          capture_output=True, timeout=60)


def test_mse_journal_posts_and_exits_with_sendmail_codes(server, api, journal_client):
    client, _ = journal_client
    tag = uuid.uuid4().hex[:10]
    raw = message(f"via pipe {tag}")
    r = run_journal(server, client, raw, "-f", f"alice@{DOMAIN}", "--", "bob@outside.example")
    assert r.returncode == 0, r.stderr
    hit = search(api, q=tag)["items"][0]["message"]
    assert hit["envelope_sender"] == f"alice@{DOMAIN}"
    assert hit["envelope_recipients"] == ["bob@outside.example"]
    assert run_journal(server, client, raw, "bob@outside.example").returncode == 0  # stored once
    # A malformed message is refused for good (65); the MTA bounces it.
    r = run_journal(server, client, b"no header here\r\n", "bob@outside.example")
    assert r.returncode == 65, r.stderr
    # Wrong credentials or an unreachable server: temporary (75), the MTA retries.
    bad = {**client, "client_secret": "wrong"}
    assert run_journal(server, bad, raw, "bob@outside.example").returncode == 75
    r = run_journal(server, client, raw, "bob@outside.example",
                    MSE_JOURNAL_URL="http://127.0.0.1:9")
    assert r.returncode == 75
    # Its own settings missing: EX_CONFIG (78), naming what is missing.
    r = run_journal(server, {**client, "client_id": ""}, raw, "bob@outside.example")
    assert r.returncode == 78 and b"MSE_JOURNAL_CLIENT_ID" in r.stderr, r.stderr


@pytest.mark.parametrize("value", ["corp.example;evil", "corp example", "a" * 1100])
def test_a_bad_internal_domain_list_stops_the_server(database, value):
    p = harness.Process([harness.binary("mse-server")],
                        {"MSE_DATABASE_URL": database.conninfo, "MSE_INTERNAL_DOMAINS": value},
                        None, "mse-server")
    assert p.wait(30) == 2 and "MSE_INTERNAL_DOMAINS" in p.output()
