# SPDX-License-Identifier: Apache-2.0
"""End to end through a real MTA: a private Postfix instance (its own configuration, queue and
loopback port) delivers every message through a pipe transport to mse-journal, which posts it
to mse-server; the message becomes searchable, attributed to its internal recipient, and its
content downloads byte for byte as Postfix delivered it."""
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
import uuid

import pytest

import harness
from admin_helpers import ok, unique
from conftest import admin_server

DOMAIN = "corp.example"

pytestmark = pytest.mark.skipif(
    not shutil.which("postfix") or os.geteuid() != 0,
    reason="needs Debian's postfix (scripts/deps.sh) and root to start a private instance")

MASTER_CF = """\
{listen} inet n - n - - smtpd
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
journal unix - n n - - pipe
  flags=Rq user=nobody argv={journal} --config {conf} -f ${{sender}} -- ${{recipient}}
journal-down unix - n n - - pipe
  flags=Rq user=nobody argv={journal} --config {conf_down} -f ${{sender}} -- ${{recipient}}
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.test.example
mydestination =
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = journal
local_transport = journal
relay_transport = journal
journal_destination_recipient_limit = 1000
# Mail for down.example goes to an mse-journal whose server is not there.
transport_maps = inline:{{ down.example=journal-down }}
# Pass messages on as the client sent them: a message without From must reach the archive's
# refusal, not be repaired by cleanup(8).
local_header_rewrite_clients =
always_add_missing_headers = no
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(database):
    yield from admin_server(database, {"MSE_INTERNAL_DOMAINS": DOMAIN})


@pytest.fixture(scope="module")
def postfix(server, api):
    client = ok(api.post("/api/v1/api-clients", json={"name": unique("postfix"),
                                                      "role": "journal"}), 201)
    d = tempfile.mkdtemp(prefix="mse-postfix-")
    os.chmod(d, 0o755)
    conf = os.path.join(d, "journal.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(f"MSE_JOURNAL_URL={server.url}\nMSE_JOURNAL_CLIENT_ID={client['client_id']}\n"
                f"MSE_JOURNAL_CLIENT_SECRET={client['client_secret']}\n")
    os.chmod(conf, 0o644)
    conf_down = os.path.join(d, "journal-down.conf")
    with open(conf_down, "w", encoding="utf-8") as f:
        f.write(f"MSE_JOURNAL_URL=http://127.0.0.1:{free_port()}\n"
                f"MSE_JOURNAL_CLIENT_ID={client['client_id']}\n"
                f"MSE_JOURNAL_CLIENT_SECRET={client['client_secret']}\n")
    os.chmod(conf_down, 0o644)
    etc = os.path.join(d, "etc")
    for sub in ("etc", "queue", "data"):
        os.mkdir(os.path.join(d, sub))
    shutil.chown(os.path.join(d, "data"), "postfix")
    # pipe(8) runs mse-journal as nobody, who may not traverse the build tree (a checkout
    # under a private temporary directory, say): it runs a copy from this open directory.
    journal = os.path.join(d, "mse-journal")
    shutil.copy2(harness.binary("mse-journal"), journal)
    os.chmod(journal, 0o755)
    port = free_port()
    with open(os.path.join(etc, "main.cf"), "w", encoding="utf-8") as f:
        f.write(MAIN_CF.format(dir=d))
    with open(os.path.join(etc, "master.cf"), "w", encoding="utf-8") as f:
        f.write(MASTER_CF.format(listen=f"127.0.0.1:{port}", journal=journal,
                                 conf=conf, conf_down=conf_down))
    env = {**os.environ, **harness.sanitizer_env()}
    # Postfix reports a bad configuration only to a terminal or its log: show the log.
    started = subprocess.run(["postfix", "-c", etc, "start"], env=env, capture_output=True,
                             timeout=60)
    if started.returncode != 0:
        log = os.path.join(d, "maillog")
        pytest.fail("postfix did not start:\n" + (open(log, encoding="utf-8").read()
                                                   if os.path.exists(log) else ""))
    yield port, d
    subprocess.run(["postfix", "-c", etc, "stop"], env=env, capture_output=True, timeout=60)
    shutil.rmtree(d, ignore_errors=True)


def send(port, raw, sender, rcpts):
    deadline = time.monotonic() + 30
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
                s.sendmail(sender, rcpts, raw)
                return
        except (ConnectionRefusedError, smtplib.SMTPServerDisconnected):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_for_hit(api, tag, postfix_dir, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = ok(api.get("/api/v1/archive/search", params={"q": tag}))["items"]
        if hits:
            return hits[0]["message"]
        time.sleep(0.3)
    with open(os.path.join(postfix_dir, "maillog"), encoding="utf-8", errors="replace") as f:
        pytest.fail("never journaled; Postfix's log:\n" + f.read()[-4000:])


def maillog_line(postfix_dir, needle, timeout=60):
    """The first line of Postfix's log holding needle, waiting for it."""
    path = os.path.join(postfix_dir, "maillog")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if needle in line:
                    return line
        time.sleep(0.3)
    pytest.fail(f"{needle} never appeared in Postfix's log")


def test_a_message_sent_through_postfix_is_searchable_and_attributed(api, postfix):
    port, d = postfix
    tag = uuid.uuid4().hex[:12]
    raw = (f"From: Outside <sender@outside.example>\r\nTo: Bob <bob@{DOMAIN}>\r\n"
           f"Subject: through postfix {tag}\r\nMessage-ID: <{tag}@outside.example>\r\n"
           "Date: Wed, 02 Dec 2026 09:00:00 +0000\r\n\r\nHello via the MTA.\r\n")
    send(port, raw, "sender@outside.example", [f"bob@{DOMAIN}"])
    hit = wait_for_hit(api, tag, d)
    assert hit["mailboxes"] == [f"bob@{DOMAIN}"]
    assert hit["envelope_sender"] == "sender@outside.example"
    assert hit["envelope_recipients"] == [f"bob@{DOMAIN}"]
    assert hit["message_id"] == f"{tag}@outside.example"
    content = api.get(hit["content_url"]).content
    # Postfix prepends its trace headers; the message itself arrives intact.
    assert content.startswith(b"Received: ") or b"Return-Path" in content
    assert f"Subject: through postfix {tag}".encode() in content


def test_a_malformed_message_bounces_with_the_archives_reason(api, postfix):
    port, d = postfix
    tag = uuid.uuid4().hex[:12]
    # No From and no Sender: the archive refuses it for good (422, mse-journal exits 65).
    send(port, f"Subject: nobody wrote this {tag}\r\n\r\nbody\r\n",
         "sender@outside.example", [f"carol-{tag}@{DOMAIN}"])
    line = maillog_line(d, f"to=<carol-{tag}@{DOMAIN}>")
    assert "status=bounced" in line and "dsn=5." in line, line
    assert "originator" in line or "From" in line, line
    assert ok(api.get("/api/v1/archive/search", params={"q": tag}))["items"] == []


def test_an_unreachable_archive_defers_the_message(postfix):
    port, d = postfix
    tag = uuid.uuid4().hex[:12]
    send(port, f"From: a@outside.example\r\nSubject: later {tag}\r\n\r\nbody\r\n",
         "a@outside.example", [f"dave-{tag}@down.example"])
    line = maillog_line(d, f"to=<dave-{tag}@down.example>")
    # 75 (EX_TEMPFAIL): Postfix keeps the message queued and retries.
    assert "status=deferred" in line and "dsn=4." in line, line
