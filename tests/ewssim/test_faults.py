# SPDX-License-Identifier: Apache-2.0
"""Fault injection by operation and mailbox: count and probability rules of every kind."""
import time
import xml.etree.ElementTree as ET

import pytest
import requests

from ewsclient import Client, Fault
from simlib import NS, envelope

ALICE = "alice@example.com"


def add(sim, **rule):
    return sim.control("POST", "/faults", json=rule, expect=201).json()


def test_server_busy_with_backoff_then_recovery(fresh):
    c = Client(fresh)
    inbox = c.folder_id("inbox")
    rule = add(fresh, kind="server_busy", operation="SyncFolderItems", mailbox=ALICE, count=2,
               backoff_ms=1234)
    for _ in range(2):
        with pytest.raises(Fault) as e:
            c.sync_items(inbox)
        assert e.value.code == "ErrorServerBusy" and e.value.status == 500
        fault = ET.fromstring(e.value.text).find("s:Body/s:Fault", NS)
        assert fault.find("faultcode").text.endswith(":ErrorServerBusy")
        value = fault.find("detail/t:MessageXml/t:Value", NS)
        assert value.get("Name") == "BackOffMilliseconds" and value.text == "1234"
    assert c.sync_items(inbox)["code"] == "NoError"
    rules = fresh.get("/faults")["items"]
    assert rules[0]["id"] == rule["id"] and rules[0]["fired"] == 2 and rules[0]["remaining"] == 0
    assert fresh.get(f"/mailboxes/{ALICE}/counters")["faults_injected"] == 2


def test_rules_match_operation_and_mailbox_only(fresh):
    add(fresh, kind="server_busy", operation="SyncFolderItems", mailbox="bob@example.com")
    c = Client(fresh)
    assert c.sync_items(c.folder_id("inbox"))["code"] == "NoError"  # alice: untouched
    bob = Client(fresh, mailbox="bob@example.com")
    inbox = bob.folder_id("inbox")  # GetFolder: untouched
    with pytest.raises(Fault):
        bob.sync_items(inbox)


GET_INBOX_BODY = ("<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>"
                  "</m:FolderShape><m:FolderIds><t:DistinguishedFolderId Id=\"inbox\"/>"
                  "</m:FolderIds></m:GetFolder>")
GET_INBOX = envelope(GET_INBOX_BODY, impersonate=ALICE)


def test_http_503_with_retry_after(fresh):
    add(fresh, kind="http_503", count=1, backoff_ms=2500)
    r = fresh.post(GET_INBOX)
    assert r.status_code == 503 and r.headers["Retry-After"] == "3"
    assert fresh.post(GET_INBOX).status_code == 200


def test_401_burst(fresh):
    add(fresh, kind="http_401", count=3)
    c = Client(fresh)
    statuses = []
    for _ in range(4):
        try:
            c.folder_id("inbox")
            statuses.append(200)
        except ET.ParseError:
            statuses.append(401)
    assert statuses == [401, 401, 401, 200]


def test_delay(fresh):
    add(fresh, kind="delay", operation="GetFolder", count=1, delay_ms=600)
    c = Client(fresh)
    t = time.monotonic()
    c.folder_id("inbox")
    assert time.monotonic() - t >= 0.6
    t = time.monotonic()
    c.folder_id("inbox")
    assert time.monotonic() - t < 0.6


def test_cutoff_response(fresh):
    add(fresh, kind="cutoff", operation="GetFolder", count=1)
    try:
        r = fresh.post(GET_INBOX)
        # urllib3 may hand over a short body instead of raising: it must be short.
        assert len(r.content) < int(r.headers["Content-Length"])
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError):
        pass
    assert fresh.post(GET_INBOX).status_code == 200


def test_invalid_sync_state_injection(fresh):
    c = Client(fresh)
    inbox = c.folder_id("inbox")
    _, state, _ = c.sync_all(inbox)
    add(fresh, kind="invalid_sync_state", operation="SyncFolderItems", count=1)
    page = c.sync_items(inbox, state)
    assert page["code"] == "ErrorInvalidSyncStateData" and page["last"]
    assert c.sync_items(inbox, state)["code"] == "NoError"


@pytest.mark.parametrize("kind,code", [("mailbox_move", "ErrorMailboxMoveInProgress"),
                                       ("no_mailbox", "ErrorNonExistentMailbox"),
                                       ("internal", "ErrorInternalServerError")])
def test_fault_kinds(fresh, kind, code):
    add(fresh, kind=kind, mailbox=ALICE, count=1)
    c = Client(fresh)
    with pytest.raises(Fault) as e:
        c.folder_id("inbox")
    assert e.value.code == code
    assert c.folder_id("inbox")


def test_probability_rule_fires_sometimes(fresh):
    add(fresh, kind="server_busy", operation="GetFolder", probability=0.5, backoff_ms=0)
    c = Client(fresh)
    busy = 0
    for _ in range(60):
        try:
            c.folder_id("inbox")
        except Fault:
            busy += 1
    assert 10 < busy < 50
    fired = fresh.get("/faults")["items"][0]["fired"]
    assert fired == busy


@pytest.mark.parametrize("rule", [{"kind": "nope"}, {"kind": "delay", "delay_ms": -1},
                                  {"kind": "server_busy", "probability": 0},
                                  {"kind": "server_busy", "count": 0},
                                  {"kind": "server_busy", "operation": "Subscribe"}])
def test_bad_rules_are_refused(fresh, rule):
    r = fresh.control("POST", "/faults", json=rule)
    assert r.status_code == 422, r.text
    assert fresh.get("/faults")["items"] == []


def test_rules_can_be_deleted(fresh):
    a = add(fresh, kind="delay", delay_ms=1)
    add(fresh, kind="delay", delay_ms=1)
    fresh.control("DELETE", f"/faults/{a['id']}", expect=200)
    fresh.control("DELETE", f"/faults/{a['id']}", expect=404)
    assert len(fresh.get("/faults")["items"]) == 1
    fresh.control("DELETE", "/faults", expect=200)
    assert fresh.get("/faults")["items"] == []


def test_shutdown_does_not_wait_for_a_long_delay():
    import os
    import threading
    import simlib
    s = simlib.EwsSim(fixture=os.path.join(simlib.FIXTURES, "org.json"))
    s.control("POST", "/faults", expect=201, json={"kind": "delay", "delay_ms": 600000})
    t = threading.Thread(target=lambda: _swallow(lambda: s.post(GET_INBOX)), daemon=True)
    t.start()
    time.sleep(0.5)
    started = time.monotonic()
    s.stop_clean(timeout=30)
    assert time.monotonic() - started < 10


def _swallow(fn):
    try:
        fn()
    except Exception:  # the connection may be cut at shutdown
        pass


@pytest.mark.parametrize("operation", ["GetItem", "GetFolder", "SyncFolderItems", "FindItem",
                                       "GetAttachment", "SyncFolderHierarchy", "DeleteItem"])
def test_busy_as_response_message(fresh, operation):
    """HTTP 200 with ErrorInternalServerError + inner ErrorServerBusy, schema-valid per op."""
    add(fresh, kind="busy_message", operation=operation, count=1, backoff_ms=750)
    bodies = {
        "GetItem": '<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>'
                   '<m:ItemIds><t:ItemId Id="AAMkAGI1"/></m:ItemIds></m:GetItem>',
        "GetFolder": GET_INBOX_BODY,
        "SyncFolderItems": '<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
                           '</m:ItemShape><m:SyncFolderId><t:DistinguishedFolderId Id="inbox"/>'
                           "</m:SyncFolderId><m:MaxChangesReturned>5</m:MaxChangesReturned>"
                           "</m:SyncFolderItems>",
        "FindItem": '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly'
                    '</t:BaseShape></m:ItemShape><m:ParentFolderIds><t:DistinguishedFolderId '
                    'Id="inbox"/></m:ParentFolderIds></m:FindItem>',
        "GetAttachment": '<m:GetAttachment><m:AttachmentIds><t:AttachmentId Id="AAMkAtt1"/>'
                         "</m:AttachmentIds></m:GetAttachment>",
        "SyncFolderHierarchy": '<m:SyncFolderHierarchy><m:FolderShape><t:BaseShape>IdOnly'
                               "</t:BaseShape></m:FolderShape></m:SyncFolderHierarchy>",
        "DeleteItem": '<m:DeleteItem DeleteType="HardDelete"><m:ItemIds><t:ItemId Id="AAMkAGI1"/>'
                      "</m:ItemIds></m:DeleteItem>",
    }
    r = fresh.post(envelope(bodies[operation], impersonate=ALICE))
    assert r.status_code == 200
    msg = ET.fromstring(r.content).find(".//m:ResponseMessages", NS)[0]
    assert msg.find("m:ResponseCode", NS).text == "ErrorInternalServerError"
    values = {v.get("Name"): v.text for v in msg.find("m:MessageXml", NS)}
    assert values["InnerErrorResponseCode"] == "ErrorServerBusy"
    assert values["BackOffMilliseconds"] == "750"
    fresh.assert_schema_clean()
