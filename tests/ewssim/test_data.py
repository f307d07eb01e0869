# SPDX-License-Identifier: Apache-2.0
"""Organisations: the demo fixture, the deterministic generator, fixture errors at start-up."""
import json
import os
import subprocess

import pytest
from exchangelib import IMPERSONATION, Account, Configuration, Credentials
from exchangelib.protocol import close_connections

import harness
import simlib


def test_demo_fixture_is_a_small_company():
    s = simlib.EwsSim(fixture=simlib.DEMO_FIXTURE)
    try:
        boxes = s.get("/mailboxes")["items"]
        assert len(boxes) == 20
        groups = {g["address"]: g for g in s.get("/groups")["items"]}
        nested = [g for g in groups.values() if any(m in groups for m in g["members"])]
        assert nested, "the demo has a nested group"
        privates, cal_atts, recurring = 0, 0, 0
        for b in boxes:
            exp = s.export(b["address"])
            assert len(exp["messages"]) + len(exp["appointments"]) == b["item_count"]
            privates += sum(m["sensitivity"] != "Normal" for m in exp["messages"])
            cal_atts += sum(bool(a["attachments"]) for a in exp["appointments"])
            recurring += sum(a["recurrence"] is not None for a in exp["appointments"])
        assert privates and cal_atts and recurring
        # A third-party client can read a demo mailbox end to end.
        close_connections()
        cfg = Configuration(service_endpoint=s.ews_url,
                            credentials=Credentials(simlib.SERVICE_USER, simlib.SERVICE_PASSWORD))
        first = boxes[0]["address"]
        acct = Account(first, config=cfg, autodiscover=False, access_type=IMPERSONATION)
        exp = s.export(first)
        inbox_count = sum(1 for m in exp["messages"] if m["folder_path"] == "/Inbox")
        assert len(list(acct.inbox.sync_items())) == inbox_count
        close_connections()
    finally:
        s.stop_clean()


def exports(sim):
    return {b["address"]: sim.control("GET", f"/mailboxes/{b['address']}/export").content
            for b in sim.get("/mailboxes")["items"]}


def test_generator_is_deterministic():
    spec = "mailboxes=3,folders=2,items=15,appointments=12,attachment_bytes=300,groups=2"
    a = simlib.EwsSim(generate=spec, seed=7)
    b = simlib.EwsSim(generate=spec, seed=7)
    c = simlib.EwsSim(generate=spec, seed=8)
    try:
        ea, eb, ec = exports(a), exports(b), exports(c)
        assert ea == eb
        assert ea != ec
        doc = json.loads(ea["user0001@example.com"])
        assert len(doc["messages"]) == 15 * 3  # Inbox + 2 folders
        assert len(doc["appointments"]) == 12
        assert any(x["attachments"] for x in doc["appointments"])
        assert {f["path"] for f in doc["folders"]} >= {"/Inbox/Folder 01", "/Inbox/Folder 02"}
        assert len(a.get("/groups")["items"]) == 2
    finally:
        for s in (a, b, c):
            s.stop_clean()


@pytest.mark.parametrize("env,needle", [
    ({"EWS_SIM_GENERATE": "mailboxes=0"}, "EWS_SIM_GENERATE"),
    ({"EWS_SIM_GENERATE": "cats=3"}, "EWS_SIM_GENERATE"),
    ({"EWS_SIM_LISTEN": "nowhere"}, "EWS_SIM_LISTEN"),
    ({"EWS_SIM_SERVICE_ACCOUNT": "no-colon"}, "EWS_SIM_SERVICE_ACCOUNT"),
    ({"EWS_SIM_FIXTURE": "/nonexistent/fixture.json"}, "cannot open fixture"),
    ({"EWS_SIM_SCHEMA_DIR": "/nonexistent"}, "schema"),
    ({"EWS_SIM_FIXTURE": "BAD"}, "mailboxes[0].folders[0].messages[0].sent"),
])
def test_bad_configuration_stops_with_a_message(tmp_path, env, needle):
    if env.get("EWS_SIM_FIXTURE") == "BAD":
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"mailboxes": [{"address": "a@example.com", "folders": [
            {"name": "Inbox", "messages": [{"subject": "x", "sent": "last week"}]}]}]}))
        env = {"EWS_SIM_FIXTURE": str(bad)}
    full = dict(os.environ)
    full.update(harness.sanitizer_env())
    full.update({"EWS_SIM_LISTEN": "127.0.0.1:0", "EWS_SIM_SCHEMA_DIR": simlib.SCHEMA_DIR})
    full.update(env)
    r = subprocess.run([harness.binary("ews-sim")], env=full, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode in (1, 2)
    assert needle in r.stderr, r.stderr
    assert "Sanitizer" not in r.stderr
