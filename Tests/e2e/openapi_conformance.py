"""Checks real answers of a running xgate daemon against Contracts/openapi.yaml.

Used by test_daemons.py: every HTTP exchange the test makes with curl is passed to `OpenAPIConformance.check`, which
fails unless the document describes it exactly:

- the path matches a documented path template and the method a documented operation (otherwise the answer must be
  `404 request.not-found`, or `405 request.method` for a documented path);
- the status is one the operation lists (no `default` responses are used);
- the Content-Type is one the response lists, and the body validates against its schema (JSON Schema 2020-12 with
  formats asserted, `$ref`s resolved inside the document);
- for signed answers (`application/jose+json`) the protected header's `typ` is the documented `x-xgate-jws-typ` and
  the decoded payload validates against the Contracts schema named by `x-xgate-payload-schema`;
- documented response headers (`Retry-After`) are present.

`unexercised()` names the operations the test never called, so a documented route the server lacks cannot hide.
"""

from __future__ import annotations

import base64
import json
import re
import sys
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "Tests" / "interop"))
from check_examples import load_schemas  # noqa: E402  (the Contracts schemas, by $id)

SPEC_URI = "urn:xgate:openapi"
METHODS = ("get", "post", "put", "patch", "delete")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


class OpenAPIConformance:
    def __init__(self, spec_path: Path = REPO / "Contracts" / "openapi.yaml"):
        self.spec = yaml.safe_load(spec_path.read_text())
        failures: list[str] = []
        _, contracts = load_schemas(failures)
        if failures:
            raise ValueError("Contracts schemas do not load: " + "; ".join(failures))
        self.registry = contracts.with_resource(SPEC_URI, Resource.from_contents(self.spec, default_specification=DRAFT202012))
        self.templates = []
        for template in self.spec["paths"]:
            pattern = "^" + re.sub(r"\\\{[A-Za-z]+\\\}", "[^/]+", re.escape(template)) + "$"
            self.templates.append((template, re.compile(pattern)))
        self.exercised: set[tuple[str, str]] = set()
        self.checked = 0

    def resolve(self, node: dict, pointer: str) -> tuple[dict, str]:
        while "$ref" in node:
            pointer = node["$ref"][1:]
            node = self.spec
            for token in pointer.strip("/").split("/"):
                node = node[token.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def validate(self, pointer: str, instance) -> list[str]:
        validator = Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self.registry, format_checker=FormatChecker())
        return [f"{'/'.join(map(str, e.absolute_path)) or '/'}: {e.message}" for e in validator.iter_errors(instance)]

    def check(self, method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> list[str]:
        """The ways this exchange differs from the document (empty when it conforms)."""
        self.checked += 1
        method = method.lower()
        path = path.split("?", 1)[0]
        where = f"{method.upper()} {path} → {status}"
        content_type = headers.get("content-type", "").split(";")[0].strip()
        template = next((t for t, pattern in self.templates if pattern.match(path)), None)
        operation = self.spec["paths"][template].get(method) if template else None
        if operation is None:
            expected = (405, "request.method") if template else (404, "request.not-found")
            code = self.problem_code(body) if content_type == "application/problem+json" else None
            if (status, code) != expected:
                return [f"{where}: not in openapi.yaml, and not answered {expected[0]} {expected[1]} (got {code})"]
            return []
        self.exercised.add((method, template))
        responses = operation["responses"]
        base = f"/paths/{escape(template)}/{method}/responses"
        if str(status) not in responses:
            return [f"{where}: status {status} is not documented for {method.upper()} {template} ({', '.join(responses)})"]
        response, pointer = self.resolve(responses[str(status)], f"{base}/{status}")
        problems = []
        for header in response.get("headers", {}):
            if header.lower() not in headers:
                problems.append(f"{where}: documented header {header} missing")
        content = response.get("content", {})
        if content_type not in content:
            return problems + [f"{where}: Content-Type {content_type!r} not documented ({', '.join(content)})"]
        media = content[content_type]
        media_pointer = f"{pointer}/content/{escape(content_type)}"
        if content_type == "text/plain":
            return problems
        try:
            value = json.loads(body)
        except ValueError as error:
            return problems + [f"{where}: body is not JSON: {error}"]
        problems += [f"{where}: {error}" for error in self.validate(f"{media_pointer}/schema", value)]
        if "x-xgate-payload-schema" in media and isinstance(value, dict) and "payload" in value:
            header = json.loads(unb64url(value["protected"]))
            if header.get("typ") != media["x-xgate-jws-typ"]:
                problems.append(f"{where}: JWS typ {header.get('typ')!r}, documented {media['x-xgate-jws-typ']!r}")
            payload = json.loads(unb64url(value["payload"]))
            schema = media["x-xgate-payload-schema"]
            validator = Draft202012Validator({"$ref": schema}, registry=self.registry, format_checker=FormatChecker())
            for error in validator.iter_errors(payload):
                problems.append(f"{where}: payload against {schema}: /{'/'.join(map(str, error.absolute_path))}: {error.message}")
        return problems

    @staticmethod
    def problem_code(body: bytes):
        try:
            return json.loads(body).get("code")
        except (ValueError, AttributeError):
            return None

    def unexercised(self) -> list[str]:
        return [f"{method.upper()} {template}" for template, item in self.spec["paths"].items() for method in METHODS
                if method in item and (method, template) not in self.exercised]
