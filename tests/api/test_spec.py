# SPDX-License-Identifier: Apache-2.0
"""api-spec/openapi.yaml is self-consistent: valid schemas, resolvable references, unique
operation ids, and the answers every protected or changing operation can give documented."""
import json

from jsonschema import Draft202012Validator

METHODS = ("get", "put", "post", "delete", "patch")


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def test_schemas_are_valid_json_schema_2020_12(spec):
    for schema in spec.doc["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_every_reference_resolves(spec):
    refs = set(_refs(spec.doc))
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
        spec.resolver.resolve(ref)


def test_operation_ids_are_unique_and_protected_routes_document_401_and_403(spec):
    ids = [op.id for op in spec.operations]
    assert len(ids) == len(set(ids))
    for op in spec.operations:
        responses = op.op["responses"]
        assert "default" not in responses, op.id  # every status is named
        security = op.op.get("security", spec.doc["security"])
        protected = any(s not in ({}, {"clientBasic": []}) for s in security)
        if protected:
            for status in ("401", "403", "429", "503"):
                assert status in responses, (op.id, status)
        if op.method in ("patch", "delete") and "{id}" in op.template:
            assert "412" in responses, op.id
            names = [spec.deref(p).get("name") for p in op.parameters]
            assert "If-Match" in names, op.id
        # Worker writes are made idempotent by the protocol itself (fencing tokens, batch ids);
        # a schedule's preview and a planning estimate store nothing, so repeating them is
        # harmless.
        if op.method == "post" and protected and "worker" not in op.op.get("tags", []) \
                and op.id not in ("previewSchedule", "estimatePlanning"):
            names = [spec.deref(p).get("name") for p in op.parameters]
            assert "Idempotency-Key" in names, op.id
        if op.method in ("post", "patch") and protected and op.op.get("requestBody"):
            assert {"415", "422"} <= set(responses), op.id
        for status, resp in responses.items():
            resp = spec.deref(resp)
            assert "X-Request-Id" in resp.get("headers", {}), (op.id, status)
            if status.startswith("4") or status.startswith("5"):
                media = set(resp.get("content", {}))
                assert media in ({"application/problem+json"}, {"application/json"}), (op.id,
                                                                                         status)
        # Single resources (paths ending in a placeholder) carry an ETag; lists do not.
        if op.method == "get" and op.template.endswith("}"):
            ok = spec.deref(responses["200"])
            assert "ETag" in ok["headers"], op.id


def test_response_schemas_are_strict(spec):
    """Every object a response body can hold closes its properties (directly, or through the
    unevaluatedProperties of a schema that extends it)."""
    def strict(schema, seen, closed_above=False):
        if set(schema) == {"$ref"}:
            schema = spec.deref(schema)
        key = json.dumps(schema, sort_keys=True) + str(closed_above)
        if key in seen:
            return
        seen.add(key)
        closes = schema.get("additionalProperties") is False or \
            schema.get("unevaluatedProperties") is False
        if "properties" in schema:
            assert closes or closed_above, schema
        if "$ref" in schema:  # a base this schema extends
            strict(spec.deref({"$ref": schema["$ref"]}), seen, closes or closed_above)
        if "items" in schema:
            strict(schema["items"], seen)
        for v in schema.get("properties", {}).values():
            strict(v, seen)
        for k in ("oneOf", "anyOf", "allOf"):
            for v in schema.get(k, []):
                strict(v, seen, (closes or closed_above) and k == "allOf")

    seen = set()
    for op in spec.operations:
        for resp in op.op["responses"].values():
            for media in spec.deref(resp).get("content", {}).values():
                if "schema" in media:
                    strict(media["schema"], seen)
