# SPDX-License-Identifier: Apache-2.0
"""ews-sim's Microsoft Graph v1.0: tokens, users, folder and message deltas, $value, $batch,
429 throttling and Graph's error documents — over the organisation EWS serves.

Third-party clients prove the wire shapes: MSAL for Python gets the token (client credentials
against the v2.0 endpoint) and plain `requests` walks the deltas by their links.
"""
import base64
import email
import os
import urllib.parse

import msal
import pytest
import requests

import simlib

ALICE = "alice@example.com"
TENANT = "6f1c4e9a-2b7d-4c1e-9a55-0d3c2b1a0f11"
APP = "3c7e1a52-8d4b-4f60-b1e2-5a9c0d7e6f21"
SECRET = "Gr~aph.Secret_1"
READER = "9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"  # User.Read.All only
MFR_SELECT = ("subject,from,sender,toRecipients,ccRecipients,receivedDateTime,sentDateTime,"
              "isRead,hasAttachments,internetMessageId,changeKey")


@pytest.fixture(scope="module")
def sim():
    s = simlib.EwsSim(fixture=os.path.join(simlib.FIXTURES, "org.json"), env={
        "EWS_SIM_GRAPH_APPS": f"{TENANT}:{APP}:{SECRET} {TENANT}:{READER}:r-secret:User.Read.All",
    })
    yield s
    s.stop_clean()


@pytest.fixture
def fresh(sim):
    sim.control("POST", "/reset", expect=200)
    yield sim


def token(sim, client_id=APP, secret=SECRET):
    r = requests.post(f"{sim.url}/{TENANT}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
        "scope": "https://graph.microsoft.com/.default"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


class Graph:
    """A bare Graph client: bearer token, JSON, links followed as given."""

    def __init__(self, sim, tok):
        self.sim, self.s = sim, requests.Session()
        self.s.headers["Authorization"] = f"Bearer {tok}"

    def get(self, path_or_url, expect=200, **kw):
        url = path_or_url if path_or_url.startswith("http") else f"{self.sim.url}/v1.0{path_or_url}"
        r = self.s.get(url, timeout=30, **kw)
        assert r.status_code == expect, f"{url}: {r.status_code} {r.text}"
        return r

    def walk(self, url, page=None):
        """Follows nextLinks to the deltaLink: (every entry, deltaLink, pages)."""
        headers = {"Prefer": f"odata.maxpagesize={page}"} if page else {}
        out, pages = [], 0
        while True:
            doc = self.get(url, headers=headers).json()
            pages += 1
            out += doc["value"]
            if "@odata.deltaLink" in doc:
                assert "@odata.nextLink" not in doc
                return out, doc["@odata.deltaLink"], pages
            url = doc["@odata.nextLink"]


@pytest.fixture
def g(fresh):
    return Graph(fresh, token(fresh))


def error_code(r):
    body = r.json()
    assert set(body) == {"error"} and {"code", "message", "innerError"} <= set(body["error"])
    return body["error"]["code"]


# ---- tokens ----

def test_msal_gets_a_token_by_client_credentials(sim):
    """MSAL for Python talks https to its authority: its HTTP client is pointed at the sim."""
    class ToSim(requests.Session):
        def request(self, method, url, *a, **kw):
            parts = urllib.parse.urlsplit(url)
            if parts.hostname == "login.sim.test":
                # As a TLS-terminating proxy would: the sim's links keep the https authority.
                url = urllib.parse.urlunsplit(("http", f"{sim.host}:{sim.port}", parts.path,
                                               parts.query, ""))
                kw["headers"] = dict(kw.get("headers") or {}, **{
                    "X-Forwarded-Proto": "https", "X-Forwarded-Host": parts.netloc})
            return super().request(method, url, *a, **kw)

    app = msal.ConfidentialClientApplication(
        APP, client_credential=SECRET, authority=f"https://login.sim.test/{TENANT}",
        validate_authority=False, http_client=ToSim())
    got = app.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert got.get("token_type") == "Bearer", got
    assert got["expires_in"] > 0
    g = Graph(sim, got["access_token"])
    assert ALICE in [u["mail"] for u in g.get("/users").json()["value"]]

    wrong = msal.ConfidentialClientApplication(
        APP, client_credential="not-it", authority=f"https://login.sim.test/{TENANT}",
        validate_authority=False, http_client=ToSim())
    bad = wrong.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert bad["error"] == "invalid_client" and "AADSTS7000215" in bad["error_description"]


@pytest.mark.parametrize("form,status,error,code", [
    ({"client_secret": "wrong"}, 401, "invalid_client", 7000215),
    ({"client_id": "00000000-0000-0000-0000-000000000000"}, 400, "unauthorized_client", 700016),
    ({"grant_type": "password"}, 400, "unsupported_grant_type", 70003),
    ({"scope": "Mail.Read"}, 400, "invalid_scope", 1002012),
])
def test_token_request_errors_name_the_cause(sim, form, status, error, code):
    data = {"grant_type": "client_credentials", "client_id": APP, "client_secret": SECRET,
            "scope": "https://graph.microsoft.com/.default"}
    data.update(form)
    r = requests.post(f"{sim.url}/{TENANT}/oauth2/v2.0/token", data=data, timeout=30)
    assert r.status_code == status
    body = r.json()
    assert body["error"] == error and body["error_codes"] == [code]
    assert SECRET not in r.text and "wrong" not in r.text


def test_unknown_tenant_and_bad_tokens(sim):
    r = requests.post(f"{sim.url}/nosuch/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": APP, "client_secret": SECRET,
        "scope": "https://graph.microsoft.com/.default"}, timeout=30)
    assert r.status_code == 400 and r.json()["error_codes"] == [90002]
    r = requests.get(f"{sim.url}/v1.0/users", timeout=30)
    assert r.status_code == 401 and error_code(r) == "InvalidAuthenticationToken"
    r = requests.get(f"{sim.url}/v1.0/users", headers={"Authorization": "Bearer forged"},
                     timeout=30)
    assert r.status_code == 401 and error_code(r) == "InvalidAuthenticationToken"


def test_app_roles_are_checked(sim):
    reader = Graph(sim, token(sim, READER, "r-secret"))
    assert reader.get(f"/users/{ALICE}").json()["mail"] == ALICE
    r = reader.get(f"/users/{ALICE}/mailFolders", expect=403)
    assert error_code(r) == "ErrorAccessDenied"


# ---- folders ----

def test_folder_delta_lists_the_hierarchy_then_changes(g):
    sim = g.sim
    ext = "singleValueExtendedProperties($filter=id eq 'String 0x3613')"
    folders, delta, _ = g.walk(f"/users/{ALICE}/mailFolders/delta?$expand={ext}")
    by_name = {f["displayName"]: f for f in folders}
    root = g.get(f"/users/{ALICE}/mailFolders/msgfolderroot").json()
    inbox = g.get(f"/users/{ALICE}/mailFolders/Inbox").json()
    assert by_name["Inbox"]["id"] == inbox["id"] and inbox["parentFolderId"] == root["id"]
    assert by_name["Projects"]["parentFolderId"] == inbox["id"]
    cls = {p["id"]: p["value"] for p in by_name["Calendar"]["singleValueExtendedProperties"]}
    assert cls == {"String 0x3613": "IPF.Appointment"}
    export = {f["path"]: f for f in sim.export(ALICE)["folders"]}
    assert by_name["Inbox"]["totalItemCount"] == export["/Inbox"]["item_count"]
    assert len(folders) == len(export)

    made = sim.control("POST", f"/mailboxes/{ALICE}/folders", expect=201,
                       json={"parent_path": "/Inbox", "name": "Graph new"}).json()
    sim.control("DELETE", f"/mailboxes/{ALICE}/folders/{by_name['Projects']['id']}",
                expect=200)
    changes, delta2, _ = g.walk(delta)
    assert sorted((c["id"], "@removed" in c) for c in changes) == sorted(
        [(made["folder_id"], False), (by_name["Projects"]["id"], True)])
    assert g.walk(delta2)[0] == []


# ---- messages ----

def msgs_delta(folder):
    return f"/users/{ALICE}/mailFolders/{folder}/messages/delta?$select={MFR_SELECT}"


def test_message_delta_pages_to_the_end_with_select(g):
    for n in range(5):
        g.sim.control("POST", f"/mailboxes/{ALICE}/items", expect=201,
                      json={"type": "message", "subject": f"extra {n}"})
    msgs, _, pages = g.walk(msgs_delta("inbox"), page=2)
    ews = [m for m in g.sim.export(ALICE)["messages"] if m["folder_path"] == "/Inbox"]
    assert sorted(m["id"] for m in msgs) == sorted(m["item_id"] for m in ews)
    assert pages == -(-len(ews) // 2)  # the page that ends on the last change says so
    assert set(msgs[0]) - {"@odata.type", "@odata.etag"} == {"id"} | set(MFR_SELECT.split(","))
    one = next(m for m in ews if m["item_id"] == msgs[0]["id"])
    assert msgs[0]["subject"] == one["subject"]
    assert msgs[0]["receivedDateTime"] == one["received"]


def test_message_delta_after_deltalink_sees_changes_moves_and_deletes(g):
    sim = g.sim
    inbox_msgs, delta, _ = g.walk(msgs_delta("inbox"))
    by_subject = {m["subject"]: m["id"] for m in inbox_msgs}
    folders, _, _ = g.walk(f"/users/{ALICE}/mailFolders/delta")
    projects = next(f["id"] for f in folders if f["displayName"] == "Projects")
    _, pdelta, _ = g.walk(msgs_delta(projects))

    new = sim.control("POST", f"/mailboxes/{ALICE}/items", expect=201,
                      json={"type": "message", "subject": "brand new"}).json()["item_id"]
    sim.control("PATCH", f"/mailboxes/{ALICE}/items/{by_subject['Lunch?']}",
                json={"subject": "Lunch at noon"}, expect=200)
    sim.control("PATCH", f"/mailboxes/{ALICE}/items/{by_subject['Quarterly report']}",
                json={"is_read": True}, expect=200)
    sim.control("PATCH", f"/mailboxes/{ALICE}/items/{by_subject['Private matter']}",
                json={"folder": "/Inbox/Projects"}, expect=200)
    changes, delta2, _ = g.walk(delta)
    got = {c["id"]: c for c in changes}
    assert set(got) == {new, by_subject["Lunch?"], by_subject["Quarterly report"],
                        by_subject["Private matter"]}
    assert got[by_subject["Lunch?"]]["subject"] == "Lunch at noon"
    assert got[by_subject["Quarterly report"]]["isRead"] is True
    assert got[by_subject["Private matter"]]["@removed"] == {"reason": "deleted"}
    moved, _, _ = g.walk(pdelta)
    assert [m["id"] for m in moved] == [by_subject["Private matter"]]

    sim.control("DELETE", f"/mailboxes/{ALICE}/items/{new}", expect=200)
    changes, delta3, _ = g.walk(delta2)
    assert [(c["id"], "@removed" in c) for c in changes] == [(new, True)]
    assert g.walk(delta3)[0] == []


def test_a_token_from_elsewhere_is_refused(g):
    r = g.get(f"/users/{ALICE}/mailFolders/inbox/messages/delta?$deltatoken=AAAA", expect=400)
    assert error_code(r) == "SyncStateInvalid"


def test_message_value_is_its_mime(g):
    msgs, _, _ = g.walk(msgs_delta("inbox"))
    m = msgs[0]
    r = g.get(f"/users/{ALICE}/messages/{m['id']}/$value")
    parsed = email.message_from_bytes(r.content)
    assert parsed["Subject"] == m["subject"]
    r = g.get(f"/users/{ALICE}/messages/AAMkAAAA/$value", expect=404)
    assert error_code(r) == "ErrorItemNotFound"


# ---- $batch ----

def test_batch_answers_each_request_in_order(g):
    msgs, _, _ = g.walk(msgs_delta("inbox"))
    reqs = [{"id": "1", "method": "GET", "url": f"/users/{ALICE}/mailFolders/inbox"},
            {"id": "2", "method": "GET", "url": f"/users/{ALICE}/messages/{msgs[0]['id']}"
                                               "?$select=subject"},
            {"id": "3", "method": "GET", "url": f"/users/{ALICE}/mailFolders/nosuch"},
            {"id": "4", "method": "GET", "url": f"/users/{ALICE}/messages/{msgs[0]['id']}/$value"}]
    r = g.s.post(f"{g.sim.url}/v1.0/$batch", json={"requests": reqs}, timeout=30)
    assert r.status_code == 200, r.text
    out = r.json()["responses"]
    assert [x["id"] for x in out] == ["1", "2", "3", "4"]
    assert [x["status"] for x in out] == [200, 200, 404, 200]
    assert out[0]["body"]["displayName"] == "Inbox"
    assert out[1]["body"]["subject"] == msgs[0]["subject"] and "from" not in out[1]["body"]
    assert out[2]["body"]["error"]["code"] == "ErrorItemNotFound"
    mime = email.message_from_bytes(base64.b64decode(out[3]["body"]))
    assert mime["Subject"] == msgs[0]["subject"]

    too_many = [{"id": str(i), "method": "GET", "url": "/users"} for i in range(21)]
    r = g.s.post(f"{g.sim.url}/v1.0/$batch", json={"requests": too_many}, timeout=30)
    assert r.status_code == 400 and error_code(r) == "BadRequest"


# ---- throttling ----

def test_over_the_apps_concurrency_graph_answers_429_with_retry_after(g):
    sim = g.sim
    sim.control("PUT", "/realism", json={"latency_ms": 400, "max_concurrency": 1,
                                          "busy_backoff_ms": 2500}, expect=200)
    try:
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            rs = list(pool.map(lambda _: g.s.get(f"{sim.url}/v1.0/users/{ALICE}", timeout=30),
                               range(4)))
        codes = sorted(r.status_code for r in rs)
        assert 200 in codes and 429 in codes
        busy = next(r for r in rs if r.status_code == 429)
        assert busy.headers["Retry-After"] == "3" and error_code(busy) == "TooManyRequests"
    finally:
        sim.control("PUT", "/realism", json={"latency_ms": 0, "max_concurrency": 0}, expect=200)
