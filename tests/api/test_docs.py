# SPDX-License-Identifier: Apache-2.0
"""The spec and the interactive docs are served by the server itself, with nothing external;
like every route they need a token, unless the operator opens them with MSE_DOCS_PUBLIC."""
import hashlib
import json
import os
import re

import pytest
import requests
import yaml

import harness
from admin_helpers import problem

SPEC = os.path.join(harness.SOURCE_DIR, "api-spec", "openapi.yaml")
DOCS = ["/api/v1/openapi.yaml", "/api/v1/openapi.json", "/docs", "/docs/init.js"]


@pytest.fixture(scope="module")
def public_server(database):
    srv = harness.Server(database.conninfo, env={"MSE_DOCS_PUBLIC": "true"})
    yield srv
    srv.stop_clean()


def test_spec_and_docs_need_a_token_by_default(anon, api):
    for path in DOCS:
        r = anon.get(path)
        problem(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Bearer"), path
        assert api.get(path).status_code == 200, path


def test_public_docs_are_served_without_a_token(public_server):
    for path in DOCS:
        assert requests.get(public_server.url + path).status_code == 200, path


def test_spec_yaml_is_the_repository_file(public_server):
    r = requests.get(public_server.url + "/api/v1/openapi.yaml")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/yaml"
    with open(SPEC, "rb") as f:
        assert r.content == f.read()
    assert r.headers["ETag"] == '"%s"' % hashlib.sha256(r.content).hexdigest()


def test_spec_json_equals_yaml(public_server):
    r = requests.get(public_server.url + "/api/v1/openapi.json")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    with open(SPEC, encoding="utf-8") as f:
        assert r.json() == yaml.safe_load(f)


def test_conditional_get_answers_304(public_server):
    first = requests.get(public_server.url + "/api/v1/openapi.json")
    again = requests.get(public_server.url + "/api/v1/openapi.json",
                         headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_docs_page_loads_only_local_assets(public_server):
    r = requests.get(public_server.url + "/docs")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs, "the page references its scripts and styles"
    for ref in refs:
        assert ref.startswith("/docs/"), f"{ref} is not served by MSE"
        asset = requests.get(public_server.url + ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 0
    init = requests.get(public_server.url + "/docs/init.js").text
    assert "/api/v1/openapi.json" in init
    # Swagger UI would call an online validator unless told not to.
    assert "validatorUrl: null" in init


def test_unknown_doc_asset_is_404(public_server):
    r = requests.get(public_server.url + "/docs/nope.js")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    assert json.loads(r.text)["status"] == 404


def test_spec_server_is_the_serving_server(public_server):
    """"Try it out" in /docs sends requests to the spec's server: it must be this one, at
    whatever address it listens, so the entry is relative, not a fixed host."""
    spec = requests.get(public_server.url + "/api/v1/openapi.json").json()
    assert [s["url"] for s in spec["servers"]] == ["/"]
    base = requests.compat.urljoin(public_server.url + "/api/v1/openapi.json",
                                   spec["servers"][0]["url"])
    assert requests.get(requests.compat.urljoin(base, "healthz")).status_code == 200
