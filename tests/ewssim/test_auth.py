# SPDX-License-Identifier: Apache-2.0
"""Authentication, impersonation, delegate access and RequestServerVersion handling."""
import xml.etree.ElementTree as ET

import pytest

from ewsclient import ID_ONLY
from simlib import NS, basic, envelope

GET_INBOX = (f"<m:GetFolder><m:FolderShape>{ID_ONLY}</m:FolderShape><m:FolderIds>"
             '<t:DistinguishedFolderId Id="inbox"/></m:FolderIds></m:GetFolder>')


def get_folder_of(mailbox):
    return (f"<m:GetFolder><m:FolderShape>{ID_ONLY}</m:FolderShape><m:FolderIds>"
            f'<t:DistinguishedFolderId Id="inbox"><t:Mailbox><t:EmailAddress>{mailbox}'
            "</t:EmailAddress></t:Mailbox></t:DistinguishedFolderId></m:FolderIds></m:GetFolder>")


def fault_code(r):
    f = ET.fromstring(r.content).find("s:Body/s:Fault", NS)
    return f.find("detail/e:ResponseCode", NS).text if f is not None else None


def first_code(r):
    root = ET.fromstring(r.content)
    return root.find(".//m:ResponseMessages", NS)[0].find("m:ResponseCode", NS).text


def test_no_credentials_get_401_with_basic_challenge(sim):
    r = sim.post(envelope(GET_INBOX), user=None)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("auth", [basic("alice@example.com", "wrong"), basic("nobody@example.com",
                                  "x"), "Basic !!!not-base64", "Bearer wrong-token-0000000000",
                                  "Negotiate abc", basic("alice@example.com", "")])
def test_bad_credentials_get_401(sim, auth):
    r = sim.http.post(sim.ews_url, data=envelope(GET_INBOX), headers={"Authorization": auth})
    assert r.status_code == 401
    assert "Basic" in r.headers["WWW-Authenticate"]


def test_basic_and_bearer_reach_own_mailbox(sim):
    r = sim.post(envelope(GET_INBOX), user="alice@example.com", password="alice-pw")
    assert r.status_code == 200 and first_code(r) == "NoError"
    r = sim.http.post(sim.ews_url, data=envelope(GET_INBOX),
                      headers={"Authorization": "Bearer alice-bearer-token-0123456789"})
    assert r.status_code == 200 and first_code(r) == "NoError"


def test_impersonation_needs_the_right(sim):
    ok = sim.post(envelope(GET_INBOX, impersonate="bob@example.com"), user="helpdesk@example.com",
                  password="helpdesk-pw")
    assert ok.status_code == 200 and first_code(ok) == "NoError"
    denied = sim.post(envelope(GET_INBOX, impersonate="alice@example.com"),
                      user="helpdesk@example.com", password="helpdesk-pw")
    assert denied.status_code == 500 and fault_code(denied) == "ErrorImpersonateUserDenied"
    plain = sim.post(envelope(GET_INBOX, impersonate="bob@example.com"), user="alice@example.com",
                     password="alice-pw")
    assert fault_code(plain) == "ErrorImpersonateUserDenied"


def test_impersonating_a_missing_mailbox(sim):
    r = sim.post(envelope(GET_INBOX, impersonate="ghost@example.com"))
    assert r.status_code == 500 and fault_code(r) == "ErrorNonExistentMailbox"


def test_delegate_access_needs_full_access(sim):
    ok = sim.post(envelope(get_folder_of("alice@example.com")), user="assistant@example.com",
                  password="assistant-pw")
    assert first_code(ok) == "NoError"
    no = sim.post(envelope(get_folder_of("alice@example.com")), user="carol@example.com",
                  password="carol-pw")
    assert first_code(no) == "ErrorAccessDenied"
    ghost = sim.post(envelope(get_folder_of("ghost@example.com")), user="carol@example.com",
                     password="carol-pw")
    assert first_code(ghost) == "ErrorNonExistentMailbox"


def test_item_ids_of_other_mailboxes_are_denied(fresh):
    alice_items = fresh.get("/mailboxes/alice@example.com/items")["items"]
    body = (f"<m:GetItem><m:ItemShape>{ID_ONLY}</m:ItemShape><m:ItemIds>"
            f'<t:ItemId Id="{alice_items[0]["item_id"]}"/></m:ItemIds></m:GetItem>')
    r = fresh.post(envelope(body), user="carol@example.com", password="carol-pw")
    assert first_code(r) == "ErrorAccessDenied"
    r = fresh.post(envelope(body), user="assistant@example.com", password="assistant-pw")
    assert first_code(r) == "NoError"


@pytest.mark.parametrize("version", ["Exchange2019", "Exchange2007_SP2", "exchange2016", "Exchange2016 "])
def test_unknown_server_version_is_refused_before_validation(sim, version):
    r = sim.post(envelope(GET_INBOX, version=version))
    assert r.status_code == 500 and fault_code(r) == "ErrorInvalidServerVersion"


def test_version_header_optional_and_server_version_reported(sim):
    r = sim.post(envelope(GET_INBOX, version=None))
    assert r.status_code == 200
    svi = ET.fromstring(r.content).find("s:Header/t:ServerVersionInfo", NS)
    assert svi.get("Version") == "Exchange2016" and svi.get("MajorVersion") == "15"


def test_anchor_mailbox_and_timezone_context_are_accepted(sim):
    tz = '<t:TimeZoneContext><t:TimeZoneDefinition Id="W. Europe Standard Time"/></t:TimeZoneContext>'
    r = sim.post(envelope(GET_INBOX, impersonate="alice@example.com", extra_headers=tz),
                 headers={"X-AnchorMailbox": "alice@example.com"})
    assert r.status_code == 200 and first_code(r) == "NoError"


def test_sid_impersonation_is_not_supported(sim):
    hdr = ("<t:ExchangeImpersonation><t:ConnectingSID><t:SID>S-1-5-21-1</t:SID></t:ConnectingSID>"
           "</t:ExchangeImpersonation>")
    r = sim.post(envelope(GET_INBOX, extra_headers=hdr))
    assert fault_code(r) == "ErrorInvalidExchangeImpersonationHeaderData"


def test_account_without_mailbox_gets_per_message_error(sim):
    r = sim.post(envelope(GET_INBOX), user="helpdesk@example.com", password="helpdesk-pw")
    assert r.status_code == 200 and first_code(r) == "ErrorNonExistentMailbox"
