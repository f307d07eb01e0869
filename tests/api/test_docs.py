# SPDX-License-Identifier: Apache-2.0
"""The spec and the interactive docs are served by the server itself, with nothing external."""
import hashlib
import json
import os
import re

import requests
import yaml

import harness

SPEC = os.path.join(harness.SOURCE_DIR, "api-spec", "openapi.yaml")


def test_spec_yaml_is_the_repository_file(server):
    r = requests.get(server.url + "/api/v1/openapi.yaml")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/yaml"
    with open(SPEC, "rb") as f:
        assert r.content == f.read()
    assert r.headers["ETag"] == '"%s"' % hashlib.sha256(r.content).hexdigest()


def test_spec_json_equals_yaml(server):
    r = requests.get(server.url + "/api/v1/openapi.json")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    with open(SPEC, encoding="utf-8") as f:
        assert r.json() == yaml.safe_load(f)


def test_conditional_get_answers_304(server):
    first = requests.get(server.url + "/api/v1/openapi.json")
    again = requests.get(server.url + "/api/v1/openapi.json",
                         headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""


def test_docs_page_loads_only_local_assets(server):
    r = requests.get(server.url + "/docs")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs, "the page references its scripts and styles"
    for ref in refs:
        assert ref.startswith("/docs/"), f"{ref} is not served by MSE"
        asset = requests.get(server.url + ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 0
    init = requests.get(server.url + "/docs/init.js").text
    assert "/api/v1/openapi.json" in init
    # Swagger UI would call an online validator unless told not to.
    assert "validatorUrl: null" in init


def test_unknown_doc_asset_is_404(server):
    r = requests.get(server.url + "/docs/nope.js")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    assert json.loads(r.text)["status"] == 404
