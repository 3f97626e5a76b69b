"""A small OpenAPI 3.0 request checker for the contract tests.

Why our own: neither jsonschema nor openapi-core is installed, and a request
check needs only a little of either: find the operation by method and path,
then check path and query parameters and the JSON body against the schemas
(type, required, enum, pattern, lengths, bounds, formats, $ref, all/any/oneOf).
Returns a list of problems; an empty list means the request fits the spec.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit


def load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def _template_re(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    body = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{body}$")


def find_operation(spec: Mapping[str, Any], method: str, path: str) -> tuple[str, dict[str, Any], dict[str, str]] | None:
    """(template, operation, path params) for a concrete path, literal templates first."""
    matches = []
    for template, item in spec["paths"].items():
        m = _template_re(template).match(path)
        if m and method.lower() in item:
            matches.append((template.count("{"), template, item[method.lower()], m.groupdict()))
    if not matches:
        return None
    _, template, op, params = min(matches, key=lambda x: x[0])
    return template, op, params


class Checker:
    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            schema = self.spec["components"]["schemas"][name]
        return schema

    # ---------------------------------------------------------------- values

    def value(self, value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
        schema = self.resolve(schema)
        if value is None:
            return [] if schema.get("nullable") or not schema else [f"{where}: null is not allowed"]
        for key in ("allOf",):
            if key in schema:
                return [p for sub in schema[key] for p in self.value(value, sub, where)]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                results = [self.value(value, sub, where) for sub in schema[key]]
                return [] if any(not r for r in results) else [f"{where}: fits none of {key}: " + "; ".join(r[0] for r in results if r)]
        problems: list[str] = []
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            if not isinstance(value, dict):
                return [f"{where}: expected an object, got {type(value).__name__}"]
            props = schema.get("properties", {})
            for name in schema.get("required", []):
                if name not in value:
                    problems.append(f"{where}: lacks required field `{name}`")
            extra = schema.get("additionalProperties", True)
            for name, item in value.items():
                if name in props:
                    problems += self.value(item, props[name], f"{where}.{name}")
                elif extra is False or (props and "additionalProperties" not in schema):
                    # Not named by the schema: the platform ignores or rejects it; either way our bug.
                    problems.append(f"{where}: field `{name}` is not in the schema")
                elif isinstance(extra, dict) and extra:
                    problems += self.value(item, extra, f"{where}.{name}")
            return problems
        if kind == "array":
            if not isinstance(value, list):
                return [f"{where}: expected an array, got {type(value).__name__}"]
            for i, item in enumerate(value):
                problems += self.value(item, schema.get("items", {}), f"{where}[{i}]")
            if "minItems" in schema and len(value) < schema["minItems"]:
                problems.append(f"{where}: fewer than {schema['minItems']} items")
            return problems
        if kind == "string":
            if not isinstance(value, str):
                return [f"{where}: expected a string, got {type(value).__name__}"]
            problems += self._string(value, schema, where)
        elif kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                return [f"{where}: expected an integer, got {value!r}"]
            problems += self._bounds(value, schema, where)
        elif kind == "number":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                return [f"{where}: expected a number, got {value!r}"]
            problems += self._bounds(value, schema, where)
        elif kind == "boolean" and not isinstance(value, bool):
            return [f"{where}: expected a boolean, got {value!r}"]
        if "enum" in schema and value not in schema["enum"]:
            problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
        return problems

    @staticmethod
    def _bounds(value: float, schema: Mapping[str, Any], where: str) -> list[str]:
        out = []
        if "minimum" in schema and value < schema["minimum"]:
            out.append(f"{where}: {value} < minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            out.append(f"{where}: {value} > maximum {schema['maximum']}")
        return out

    @staticmethod
    def _string(value: str, schema: Mapping[str, Any], where: str) -> list[str]:
        out = []
        if "minLength" in schema and len(value) < schema["minLength"]:
            out.append(f"{where}: {value!r} is shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            out.append(f"{where}: {value!r} is longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            out.append(f"{where}: {value!r} does not match {schema['pattern']}")
        fmt = schema.get("format")
        if fmt == "uuid":
            try:
                uuid.UUID(value)
            except ValueError:
                out.append(f"{where}: {value!r} is not a uuid")
        elif fmt == "date-time":
            try:
                datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                out.append(f"{where}: {value!r} is not a date-time")
        return out

    def text_param(self, raw: Sequence[str], schema: Mapping[str, Any], where: str) -> list[str]:
        """A path or query parameter, given as text, converted by the schema's type."""
        schema = self.resolve(schema)
        kind = schema.get("type")
        if kind == "array":
            return [p for i, r in enumerate(raw) for p in self.text_param([r], schema.get("items", {}), f"{where}[{i}]")]
        if len(raw) > 1:
            return [f"{where}: given {len(raw)} times"]
        text = raw[0]
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", text):
                return [f"{where}: {text!r} is not an integer"]
            return self.value(int(text), schema, where)
        if kind == "boolean":
            return [] if text in ("true", "false") else [f"{where}: {text!r} is not true/false"]
        if kind == "number":
            try:
                return self.value(float(text), schema, where)
            except ValueError:
                return [f"{where}: {text!r} is not a number"]
        return self.value(text, schema, where)

    # ---------------------------------------------------------------- requests

    def request(self, method: str, path: str, query: Mapping[str, Sequence[str]], body: bytes | Any = b"") -> list[str]:
        found = find_operation(self.spec, method, path)
        if found is None:
            return [f"{method} {path}: no such operation in the spec"]
        template, op, path_params = found
        where = f"{method} {template}"
        problems: list[str] = []
        params = {(p["in"], p["name"]): p for p in op.get("parameters", [])}
        for name, text in path_params.items():
            spec_p = params.get(("path", name))
            if spec_p is None:
                problems.append(f"{where}: path parameter {name} is not declared")
            else:
                problems += self.text_param([text], spec_p.get("schema", {}), f"{where} path {name}")
        for (loc, name), p in params.items():
            if loc == "query" and p.get("required") and name not in query:
                problems.append(f"{where}: lacks required query parameter `{name}`")
        for name, values in query.items():
            spec_p = params.get(("query", name))
            if spec_p is None:
                problems.append(f"{where}: query parameter `{name}` is not in the spec")
            else:
                problems += self.text_param(list(values), spec_p.get("schema", {}), f"{where} query {name}")
        rb = op.get("requestBody")
        data: Any
        if isinstance(body, (bytes, bytearray)):
            data = json.loads(body) if body else None
        else:
            data = body
        if rb is None:
            if data is not None:
                problems.append(f"{where}: sends a body the operation does not take")
        elif data is None:
            if rb.get("required"):
                problems.append(f"{where}: lacks its required JSON body")
        else:
            schema = rb.get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                problems.append(f"{where}: the operation takes no JSON body")
            else:
                problems += self.value(data, schema, f"{where} body")
        return problems

    def url(self, method: str, url: str, body: Any = None, *, base: str = "") -> list[str]:
        parts = urlsplit(url)
        path = parts.path[len(base):] if base and parts.path.startswith(base) else parts.path
        return self.request(method, path, parse_qs(parts.query, keep_blank_values=True), body)
