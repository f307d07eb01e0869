# SPDX-License-Identifier: Apache-2.0
"""A requests session for API tests, bound to one server and (optionally) one bearer token.

    api = ApiClient(server.url).with_token(token)
    site = api.post("/api/v1/sites", json={"name": "a"}).json()

Given a Spec, it checks every exchange against the OpenAPI document itself: any response the
spec does not describe raises openapi_check.ContractError. Under pytest, tests/conftest.py
checks every response of every mse-server instead (whichever client made the request), so
the fixtures pass no spec here.
"""
import requests


class ApiClient:
    def __init__(self, base_url, spec=None, coverage=None, token=None, session=None):
        self.base_url = base_url.rstrip("/")
        self.spec = spec
        self.coverage = coverage
        self.token = token
        self.session = session or requests.Session()

    def with_token(self, token):
        """The same server and checks, authenticated with another bearer token (or none)."""
        return ApiClient(self.base_url, self.spec, self.coverage, token, requests.Session())

    def request(self, method, path, headers=None, check=True, **kw):
        headers = dict(headers or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        kw.setdefault("timeout", 60)
        resp = self.session.request(method, self.base_url + path, headers=headers, **kw)
        if check and self.spec:
            self.check(resp)
        return resp

    def check(self, resp):
        req = resp.request
        op = self.spec.check(req.method, req.url, resp.status_code, resp.headers,
                             resp.content.decode("utf-8", "replace"), req.headers, req.body)
        if self.coverage:
            self.coverage.record(op, resp.status_code)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def head(self, path, **kw):
        return self.request("HEAD", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    # ---- conveniences ----

    def token_for(self, client_id, secret):
        """A bearer token for client credentials (the exchange is checked like any other)."""
        r = self.with_token(None).post("/api/v1/oauth/token", auth=(client_id, secret),
                                       data={"grant_type": "client_credentials"})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def as_client(self, client_id, secret):
        return self.with_token(self.token_for(client_id, secret))
