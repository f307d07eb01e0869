# SPDX-License-Identifier: Apache-2.0
"""Runs ews-sim for tests: start on a kernel-chosen port, talk SOAP and the control API, and
check at the end that every response the simulator sent was valid against the EWS schemas.

Any test suite that uses ews-sim (this one, the worker's end-to-end tests) should start it
through EwsSim: responses are validated inside the simulator (EWS_SIM_VALIDATE_RESPONSES=1)
and stop_clean() fails the test when one was not, when the process leaked or crashed.
"""
import base64
import os
import re
import sys

import requests

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import harness  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_DIR = os.path.join(harness.SOURCE_DIR, "ewssim", "schema")
FIXTURES = os.path.join(HERE, "fixtures")
DEMO_FIXTURE = os.path.join(harness.SOURCE_DIR, "ewssim", "fixtures", "demo.json")
SERVICE_USER = "svc@example.com"
SERVICE_PASSWORD = "svc-secret-1"

NS = {
    "s": "http://schemas.xmlsoap.org/soap/envelope/",
    "m": "http://schemas.microsoft.com/exchange/services/2006/messages",
    "t": "http://schemas.microsoft.com/exchange/services/2006/types",
    "e": "http://schemas.microsoft.com/exchange/services/2006/errors",
}


class EwsSim(harness.Process):
    """An ews-sim process with response validation on."""

    def __init__(self, fixture=None, generate=None, env=None, seed=None, timeout=60):
        full = {
            "EWS_SIM_LISTEN": "127.0.0.1:0",
            "EWS_SIM_SCHEMA_DIR": SCHEMA_DIR,
            "EWS_SIM_VALIDATE_RESPONSES": "1",
            "EWS_SIM_THREADS": "2",
            "EWS_SIM_SERVICE_ACCOUNT": f"{SERVICE_USER}:{SERVICE_PASSWORD}",
            "EWS_SIM_FIXTURE": fixture,
            "EWS_SIM_GENERATE": generate,
            "EWS_SIM_SEED": seed,
            "EWS_SIM_CONTROL_TOKEN": None,
        }
        full.update(env or {})
        super().__init__([harness.binary("ews-sim")], full,
                         r"ews-sim listening on http://([0-9.]+):(\d+)", "ews-sim", timeout)
        self.host, self.port = self.match.group(1), int(self.match.group(2))
        self.url = f"http://{self.host}:{self.port}"
        self.ews_url = self.url + "/EWS/Exchange.asmx"
        self.http = requests.Session()

    # ---- control API ----
    def control(self, method, path, json=None, expect=None, **kw):
        r = self.http.request(method, self.url + "/_sim" + path, json=json, timeout=60, **kw)
        if expect is not None:
            assert r.status_code == expect, f"{method} {path}: {r.status_code} {r.text}"
        return r

    def get(self, path):
        return self.control("GET", path, expect=200).json()

    def stats(self):
        return self.get("/stats")

    def export(self, address):
        return self.get(f"/mailboxes/{address}/export")

    def assert_schema_clean(self):
        violations = self.stats()["schema_violations"]
        assert violations == 0, f"ews-sim sent {violations} schema-invalid responses:\n" + \
            "\n".join(l for l in self.output().splitlines() if "violates the EWS schema" in l)

    def stop_clean(self, timeout=60):
        """Asserts zero schema violations, then SIGTERM, exit code 0 and no sanitizer report."""
        try:
            self.assert_schema_clean()
        finally:
            rc = self.stop(timeout=timeout)
            self.assert_clean_exit(rc)

    # ---- EWS ----
    def post(self, body, user=SERVICE_USER, password=SERVICE_PASSWORD, headers=None):
        h = {"Content-Type": "text/xml; charset=utf-8"}
        h.update(headers or {})
        auth = (user, password) if user is not None else None
        if isinstance(body, str):
            body = body.encode()
        return self.http.post(self.ews_url, data=body, headers=h, auth=auth, timeout=60)


def envelope(body, version="Exchange2016", impersonate=None, extra_headers=""):
    """A SOAP envelope around an operation element (string using m: and t: prefixes)."""
    hdr = f'<t:RequestServerVersion Version="{version}"/>' if version else ""
    if impersonate:
        hdr += ("<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>"
                f"{impersonate}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>")
    return ('<?xml version="1.0" encoding="utf-8"?>'
            f'<s:Envelope xmlns:s="{NS["s"]}" xmlns:m="{NS["m"]}" xmlns:t="{NS["t"]}">'
            f"<s:Header>{hdr}{extra_headers}</s:Header><s:Body>{body}</s:Body></s:Envelope>")


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def strip_xml_decl(text):
    return re.sub(r"^<\?xml[^>]*\?>\s*", "", text)
