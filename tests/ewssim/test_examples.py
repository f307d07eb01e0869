# SPDX-License-Identifier: Apache-2.0
"""Every EWS request example gets a schema-valid response; invalid examples get the fault.

Responses are checked twice: inside the simulator (EWS_SIM_VALIDATE_RESPONSES, asserted when
the module's simulator stops) and here, independently, with xmllint against the same schemas.
"""
import glob
import os
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import pytest

import simlib
from simlib import NS, envelope, strip_xml_decl

EXAMPLES = os.path.join(simlib.HERE, "examples")
ENVELOPE_XSD = os.path.join(simlib.SCHEMA_DIR, "ews-envelope.xsd")


def xmllint_valid(text):
    with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        r = subprocess.run(["xmllint", "--noout", "--nonet", "--schema", ENVELOPE_XSD, path],
                           capture_output=True, text=True)
        return r.returncode == 0, r.stderr
    finally:
        os.unlink(path)


def request_for(name):
    text = open(os.path.join(EXAMPLES, name), encoding="utf-8").read()
    if name.startswith("env-"):
        return text
    return envelope(strip_xml_decl(text))


def op_of(name):
    return re.sub(r"^(req|neg)-([A-Za-z]+).*$", r"\2", name)


def body_child(resp_text):
    root = ET.fromstring(resp_text.encode())
    return root.find("s:Body", NS)[0]


REQUESTS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(EXAMPLES, "req-*.xml")))
REQUESTS.append("env-impersonation-request.xml")


@pytest.mark.parametrize("name", REQUESTS)
def test_request_example_gets_schema_valid_response(sim, name):
    r = sim.post(request_for(name))
    assert r.headers["Content-Type"].startswith("text/xml")
    ok, err = xmllint_valid(r.text)
    assert ok, f"{name}: response is not schema-valid:\n{err}\n{r.text}"
    child = body_child(r.text)
    assert r.status_code == 200, r.text
    op = "SyncFolderItems" if name.startswith("env-") else op_of(name)
    assert child.tag == f"{{{NS['m']}}}{op}Response"
    # Every response message carries a ResponseClass and a ResponseCode.
    msgs = child.find("m:ResponseMessages", NS)
    assert len(msgs) >= 1
    for m in msgs:
        assert m.get("ResponseClass") in ("Success", "Warning", "Error")
        assert m.find("m:ResponseCode", NS) is not None
    # Non-fault responses report the server version with all four numbers.
    svi = ET.fromstring(r.text.encode()).find("s:Header/t:ServerVersionInfo", NS)
    for attr in ("MajorVersion", "MinorVersion", "MajorBuildNumber", "MinorBuildNumber"):
        assert svi.get(attr, "").isdigit()


@pytest.mark.parametrize("name", ["neg-FindItem-CapitalCalendar.xml", "neg-SyncFolderItems-513.xml",
                                  "neg-SyncFolderItems-noMax.xml", "env-neg-bad-body.xml"])
def test_invalid_example_gets_schema_validation_fault(sim, name):
    r = sim.post(request_for(name))
    assert r.status_code == 500
    ok, err = xmllint_valid(r.text)
    assert ok, err
    fault = ET.fromstring(r.text.encode()).find("s:Body/s:Fault", NS)
    assert fault.find("faultcode").text.endswith(":ErrorSchemaValidation")
    detail = fault.find("detail")
    assert detail.find("e:ResponseCode", NS).text == "ErrorSchemaValidation"
    mx = detail.find("t:MessageXml", NS)
    assert int(mx.find("t:LineNumber", NS).text) >= 1
    assert int(mx.find("t:LinePosition", NS).text) >= 0
    assert mx.find("t:Violation", NS).text


def test_two_connecting_sids_are_a_schema_error(sim):
    bad = open(os.path.join(EXAMPLES, "hdr-ExchangeImpersonation-BAD-two-children.xml")).read()
    body = ('<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>'
            '<m:FolderIds><t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>')
    r = sim.post(envelope(body, extra_headers=strip_xml_decl(bad)))
    assert r.status_code == 500
    assert "ErrorSchemaValidation" in r.text


def test_real_ids_give_success_for_every_item_operation(fresh):
    """The examples with ids of real items: the same operations succeed end to end."""
    sim = fresh
    items = sim.get("/mailboxes/alice@example.com/items?folder=/Inbox")["items"]
    report = next(i for i in items if i["subject"] == "Quarterly report")
    iid, ck = report["item_id"], report["change_key"]
    alice = "alice@example.com"

    def call(body):
        r = sim.post(envelope(body, impersonate=alice))
        ok, err = xmllint_valid(r.text)
        assert ok, err
        assert r.status_code == 200, r.text
        msgs = body_child(r.text).find("m:ResponseMessages", NS)
        assert [m.get("ResponseClass") for m in msgs] == ["Success"] * len(msgs), r.text
        return body_child(r.text)

    get = open(os.path.join(EXAMPLES, "req-GetItem.xml")).read()
    get = get.replace('<t:ItemId Id="AAMkAGI1" ChangeKey="DwAAABYA"/>', f'<t:ItemId Id="{iid}"/>')
    get = get.replace('<t:ItemId Id="AAMkAGI2"/>', "")
    resp = call(strip_xml_decl(get))
    msg = resp.find(".//t:Message", NS)
    assert msg.find("t:Subject", NS).text == "Quarterly report"
    assert msg.find("t:Body", NS).text == "Numbers attached."
    att_id = msg.find("t:Attachments/t:FileAttachment/t:AttachmentId", NS).get("Id")

    ga = open(os.path.join(EXAMPLES, "req-GetAttachment.xml")).read().replace("AAMkAtt1", att_id)
    content = call(strip_xml_decl(ga)).find(".//t:FileAttachment/t:Content", NS).text
    import base64
    assert base64.b64decode(content) == b"region,revenue\nnorth,10\n"

    ca = open(os.path.join(EXAMPLES, "req-CreateAttachment.xml")).read()
    ca = ca.replace('Id="AAMkAGI1" ChangeKey="DwAAABYA"', f'Id="{iid}" ChangeKey="{ck}"')
    created = call(strip_xml_decl(ca)).find(".//t:AttachmentId", NS)
    new_att, root_ck = created.get("Id"), created.get("RootItemChangeKey")
    assert created.get("RootItemId") == iid and root_ck != ck

    up = open(os.path.join(EXAMPLES, "req-UpdateItem-stub-body.xml")).read()
    up = up.replace('Id="AAMkAGI1" ChangeKey="DwAAABYA"', f'Id="{iid}" ChangeKey="{root_ck}"')
    new_ck = call(strip_xml_decl(up)).find(".//t:ItemId", NS).get("ChangeKey")
    assert new_ck != root_ck

    da = open(os.path.join(EXAMPLES, "req-DeleteAttachment.xml")).read()
    da = da.replace('<t:AttachmentId Id="AAMkAtt1"/><t:AttachmentId Id="AAMkAtt2"/>',
                    f'<t:AttachmentId Id="{att_id}"/><t:AttachmentId Id="{new_att}"/>')
    call(strip_xml_decl(da))

    after = [i for i in sim.get("/mailboxes/alice@example.com/items?folder=/Inbox")["items"]
             if i["item_id"] == iid][0]
    assert after["attachment_count"] == 0

    de = open(os.path.join(EXAMPLES, "req-DeleteItem.xml")).read()
    de = de.replace('<t:ItemId Id="AAMkAGI1" ChangeKey="DwAAABYA"/>', f'<t:ItemId Id="{iid}"/>')
    call(strip_xml_decl(de))
    moved = sim.get("/mailboxes/alice@example.com/items?folder=/Deleted%20Items")["items"]
    assert [i["item_id"] for i in moved] == [iid]


def test_the_oracle_can_fail():
    """xmllint (the independent check above) accepts Microsoft-shaped responses and refuses the
    classic mistake — an error message without <m:Items/> — so its verdicts mean something."""
    def wrapped(name):
        body = strip_xml_decl(open(os.path.join(EXAMPLES, name), encoding="utf-8").read())
        return (f'<s:Envelope xmlns:s="{NS["s"]}"><s:Body>{body}</s:Body></s:Envelope>')
    goods = sorted(os.path.basename(p) for p in glob.glob(os.path.join(EXAMPLES, "resp-*.xml")))
    assert goods
    for name in goods:
        ok, err = xmllint_valid(wrapped(name))
        assert ok, f"{name}: {err}"
    ok, _ = xmllint_valid(wrapped("neg-resp-error-without-Items.xml"))
    assert not ok
