# SPDX-License-Identifier: Apache-2.0
"""Checks real HTTP exchanges against api-spec/openapi.yaml (OpenAPI 3.1).

Every response is matched to the operation its method and path select; its status must be
documented there, its headers documented (and the required ones present), and its body valid
against the documented schema (JSON Schema 2020-12, with the spec's strict
additionalProperties/unevaluatedProperties). A request the server accepted (2xx) must itself
match the documented request body. Exercised operations are recorded so that a later check
can fail when a documented operation was never exercised.
"""
import datetime
import json
import os
import re
import threading
import urllib.parse
import uuid

import yaml
from jsonschema import Draft202012Validator, RefResolver

# A JSON string literal, escapes included.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Headers any HTTP response may carry; everything else must be in the spec.
TRANSPORT_HEADERS = {"content-type", "content-length", "date", "connection", "keep-alive",
                     "transfer-encoding", "server"}

FORMATS = Draft202012Validator.FORMAT_CHECKER


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value):
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time")
    datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@FORMATS.checks("uuid", raises=ValueError)
def _uuid(value):
    if isinstance(value, str):
        uuid.UUID(value)
        if len(value) != 36:
            raise ValueError(f"{value!r} is not a canonical UUID")
    return True


class ContractError(AssertionError):
    """A response (or accepted request) that the spec does not describe."""


class Operation:
    def __init__(self, method, template, op, path_item):
        self.method = method
        self.template = template
        self.op = op
        self.id = op.get("operationId", f"{method.upper()} {template}")
        self.parameters = list(path_item.get("parameters", [])) + list(op.get("parameters", []))
        segs = template.strip("/").split("/")
        self.literals = sum(1 for s in segs if not s.startswith("{"))
        pattern = "".join("/" + ("[^/]+" if s.startswith("{") else re.escape(s)) for s in segs)
        self.regex = re.compile("^" + pattern + "$")


class Spec:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        Draft202012Validator.check_schema({"$ref": "#/components/schemas/Problem"})
        self.resolver = RefResolver(base_uri="", referrer=self.doc)
        self.operations = []
        for template, item in self.doc.get("paths", {}).items():
            for method in METHODS:
                if method in item:
                    self.operations.append(Operation(method, template, item[method], item))
        # Literal segments win over placeholders, as in the server's router.
        self.operations.sort(key=lambda o: -o.literals)
        self._validators = {}
        self._lock = threading.Lock()

    # ---- lookups ----

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node and len(node) == 1:
            _, node = self.resolver.resolve(node["$ref"])
        return node

    def match(self, method, path):
        """(operation, path_known): the operation for method+path (HEAD uses GET)."""
        m = "get" if method.lower() == "head" else method.lower()
        known = False
        for op in self.operations:
            if op.regex.match(path):
                known = True
                if op.method == m:
                    return op, True
        return None, known

    def validate(self, schema, instance, what):
        key = json.dumps(schema, sort_keys=True)
        with self._lock:
            v = self._validators.get(key)
            if v is None:
                v = Draft202012Validator(schema, resolver=self.resolver, format_checker=FORMATS)
                self._validators[key] = v
        errors = sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            detail = "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                               for e in errors[:5])
            raise ContractError(f"{what}: {detail}\n{json.dumps(instance)[:2000]}")

    # ---- checking exchanges ----

    def check(self, method, url, status, headers, body, request_headers=None,
              request_body=None):
        """Checks one exchange; returns the operation id (or a pseudo id) it exercised."""
        path = urllib.parse.urlsplit(url).path
        op, known = self.match(method, path)
        where = f"{method} {path} → {status}"
        if op is None:
            want = 405 if known else 404
            extra = self.doc.get("x-any-operation-responses", {})
            if str(status) in extra:
                resp = self.deref(extra[str(status)])
                self._check_headers(where, resp, headers)
                self._check_body(where, method, resp, headers, body)
                return f"unmatched:{status}"
            if status != want:
                raise ContractError(f"{where}: undocumented route (expected {want})")
            self._check_problem(where, headers, body)
            if want == 405 and "allow" not in {k.lower() for k in headers}:
                raise ContractError(f"{where}: 405 without Allow")
            return f"unmatched:{want}"
        resp = self._response_for(op, status)
        if resp is None:
            raise ContractError(f"{where}: status {status} is not documented for {op.id}")
        self._check_headers(where, resp, headers)
        self._check_body(where, method, resp, headers, body)
        if 200 <= status < 300 and request_body is not None:
            self._check_request(where, op, request_headers or {}, request_body)
        return op.id

    def _response_for(self, op, status):
        responses = op.op.get("responses", {})
        for key in (str(status), f"{str(status)[0]}XX"):
            if key in responses:
                return self.deref(responses[key])
        extra = self.doc.get("x-any-operation-responses", {})
        if str(status) in extra:
            return self.deref(extra[str(status)])
        return None

    def _check_headers(self, where, resp, headers):
        documented = {k.lower(): self.deref(v) for k, v in resp.get("headers", {}).items()}
        present = {k.lower(): v for k, v in headers.items()}
        for name, spec in documented.items():
            if spec.get("required") and name not in present:
                raise ContractError(f"{where}: required header {name} missing")
        for name, value in present.items():
            if name in TRANSPORT_HEADERS:
                continue
            if name not in documented:
                raise ContractError(f"{where}: header {name} is not documented")
            schema = documented[name].get("schema", {})
            if schema.get("type") == "integer":
                try:
                    value = int(value)
                except ValueError:
                    raise ContractError(f"{where}: header {name}: {value!r} is not an integer")
            self.validate(schema, value, f"{where}: header {name}")

    def _check_body(self, where, method, resp, headers, body):
        content = resp.get("content")
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        if not content:
            if body:
                raise ContractError(f"{where}: undocumented body {body[:200]!r}")
            return
        if method.upper() == "HEAD":
            return
        media = (ctype or "").split(";")[0].strip().lower()
        if media not in content:  # a media range ("image/*", "*/*") documents any such type
            media = next((r for r in (media.split("/")[0] + "/*", "*/*") if r in content), media)
        if media not in content:
            raise ContractError(f"{where}: content type {ctype!r} is not documented "
                                f"({', '.join(content)})")
        schema = content[media].get("schema")
        if schema is None or "contentMediaType" in schema:
            return  # binary content: its media type was the check
        if media == "application/json" or media.endswith("+json"):
            try:
                instance = json.loads(body)
            except ValueError as e:
                raise ContractError(f"{where}: body is not JSON ({e}): {body[:200]!r}")
            # One format everywhere: compact, no whitespace outside strings (issue 22).
            if re.search(r"\s", _JSON_STRING.sub('""', body)):
                raise ContractError(f"{where}: JSON is not compact: {body[:200]!r}")
        else:
            instance = body  # text (YAML, HTML, scripts): validated as a string
        self.validate(schema, instance, f"{where}: body")

    def _check_problem(self, where, headers, body):
        problem = {"content": {"application/problem+json": {
            "schema": {"$ref": "#/components/schemas/Problem"}}}}
        self._check_body(where, "GET", problem, headers, body)

    def _check_request(self, where, op, headers, body):
        rb = self.deref(op.op.get("requestBody", {})) if op.op.get("requestBody") else None
        if not body:
            return
        if rb is None:
            raise ContractError(f"{where}: accepted a body the spec does not document")
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        media = ctype.split(";")[0].strip().lower()
        content = rb.get("content", {})
        if media not in content:
            raise ContractError(f"{where}: accepted a {media!r} body; documented: "
                                f"{', '.join(content)}")
        if not (media.endswith("json") or media == "application/x-www-form-urlencoded"):
            return  # raw content (attachments): its media type was checked above
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        if media == "application/x-www-form-urlencoded":
            instance = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        else:
            instance = json.loads(body)
        self.validate(content[media]["schema"], instance, f"{where}: accepted request body")

    def operation_ids(self):
        return sorted(op.id for op in self.operations)


class Coverage:
    """Appends exercised (operation, status) pairs to a file of this process."""

    def __init__(self, directory):
        self.directory = directory
        self.seen = set()
        self._lock = threading.Lock()
        self.path = None
        if directory:
            os.makedirs(directory, exist_ok=True)
            self.path = os.path.join(directory, f"exercised-{os.getpid()}.jsonl")

    def record(self, operation, status):
        key = (operation, status)
        with self._lock:
            if key in self.seen:
                return
            self.seen.add(key)
            if self.path:
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(json.dumps({"operation": operation, "status": status}) + "\n")
