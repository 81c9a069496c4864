#!/usr/bin/env python3
"""Check xgate's published contracts (Contracts/schemas) against their examples.

Run from the repository root:

    python3 Tests/interop/check_examples.py [--xgate .build/debug/xgate]

What it checks:

1. Schemas: every Contracts/schemas/**/*.schema.json is a valid draft 2020-12 schema, has an
   absolute URN $id matching its file name (urn:xgate:schema:<name>:<major>, records
   urn:xgate:schema:record:<kind>:<major>), and keeps the contract conventions: no relative
   cross-file $ref, no $anchor / $dynamicRef / unevaluated* / oneOf / anyOf, no format other
   than date and date-time, a description on every property and $defs entry, closed objects.
   All are loaded into one referencing.Registry by $id and every $ref must resolve.
   Contracts/catalogue.json is validated and must cover exactly the kinds with schemas.
2. Examples: every Contracts/examples/**/*.json is a wrapper
       {"description", "schema", "schemaValid", "expectedErrors"?, "instance"}
   The instance is validated against the schema (Python jsonschema, format assertions on);
   the verdict must equal schemaValid and every expected {"instanceLocation", "keyword"}
   must appear among the errors (instance pointer of error.absolute_path, error.validator).
   Expected {"instanceLocation", "rule"} entries are xgate's domain checks; this script
   carries its own implementation of them (GB 32100 / GB 11714 / GB 11643 check characters,
   division codes, key mismatch) and requires that a schema-valid example raises exactly the
   expected domain errors, and that a schema-invalid example raises none (so that it fails for
   one reason only). Records embedded in change and batch examples must be valid against their
   record schema.
3. With --xgate PATH: runs `PATH check examples --contracts Contracts --json <files>` once
   and compares the Swift implementation's verdicts and errors with this script's.

Prints each failure with its file and reason, then `examples: N passed, M failed`; exits 1
on any failure.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS = ROOT / "Contracts"
SCHEMAS = CONTRACTS / "schemas"
EXAMPLES = CONTRACTS / "examples"

# --------------------------------------------------------------------------------------------
# Identifier checks (the domain rules xgate applies on top of the schemas)
# --------------------------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]  # 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28
USCC_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_SHAPE = re.compile(r"^[0-9]{6}([0-9]{8}|\*{8})[0-9]{3}[0-9X]$")

# GB/T 2260 codes known to this script: a subset of the standard, enough for the examples.
# Current Shanghai codes, retired ones that still appear inside older identifiers, the
# provinces, and the Yangtze River Delta / G60 partner cities. xgate's own table is complete;
# an example that uses a code missing here fails, so add real codes here when needed.
DIVISIONS = {
    # Shanghai: the city, its 16 districts, and retired codes (南市, 卢湾, 闸北, 南汇, 崇明县, 县)
    "310000", "310100", "310101", "310104", "310105", "310106", "310107", "310109", "310110",
    "310112", "310113", "310114", "310115", "310116", "310117", "310118", "310120", "310151",
    "310102", "310103", "310108", "310119", "310200", "310230",
    # provinces and province-level cities
    "110000", "120000", "130000", "140000", "150000", "210000", "220000", "230000", "320000",
    "330000", "340000", "350000", "360000", "370000", "410000", "420000", "430000", "440000",
    "450000", "460000", "500000", "510000", "520000", "530000", "540000", "610000", "620000",
    "630000", "640000", "650000", "710000", "810000", "820000",
    # G60 and Yangtze River Delta cities used by the examples
    "330100", "330400", "330500", "330700", "320500", "341800", "340200", "340100", "320100",
    "330402", "320505",
    # Beijing 东城/朝阳 (GB 11643 worked example 11010519491231002X)
    "110101", "110105",
}


def uscc_check_character(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def organisation_code_check(body8: str) -> str:
    """GB 11714 check character of an organisation code body (digits, A-Z = 10-35)."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, ORG_WEIGHTS))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def id_check_character(first17: str) -> str:
    check = (12 - sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS)) % 11) % 11
    return "X" if check == 10 else str(check)


def uscc_problems(code: str) -> list[str]:
    """Rule codes violated by a USCC of valid shape (empty if it is correct)."""
    problems = []
    if uscc_check_character(code[:17]) != code[17]:
        problems.append("uscc.check-character")
    if organisation_code_check(code[8:16]) != code[16]:
        problems.append("uscc.organisation-code-check")
    if code[2:8] not in DIVISIONS:
        problems.append("uscc.division")
    return problems


def id_problems(number: str) -> list[str]:
    """Rule codes violated by a full resident identity number of valid shape."""
    if "*" in number:
        return []  # a masked number (110105********002X) is not checked beyond its shape
    problems = []
    if number[:6] not in DIVISIONS:
        problems.append("id.division")
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        if birth.year < 1900 or birth > datetime.date.today():
            raise ValueError("out of range")
    except ValueError:
        problems.append("id.birth-date")
    if id_check_character(number[:17]) != number[17]:
        problems.append("id.check-digit")
    return problems


def pointer(parts) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def domain_errors(instance) -> set[tuple[str, str]]:
    """(instanceLocation, rule) pairs for every identifier problem and key mismatch."""
    found: set[tuple[str, str]] = set()

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                here = path + [key]
                if key == "uscc" and isinstance(value, str) and USCC_SHAPE.match(value):
                    found.update((pointer(here), rule) for rule in uscc_problems(value))
                elif key == "idNumber" and isinstance(value, str) and ID_SHAPE.match(value):
                    # a subject's idNumber is a resident identity number unless idType says otherwise
                    if node.get("idType", "resident-id") == "resident-id":
                        found.update((pointer(here), rule) for rule in id_problems(value))
                walk(value, here)
            # a change: content.record's kind and sourceId must equal the key's (reported at the record)
            key_, content = node.get("key"), node.get("content")
            if isinstance(key_, dict) and isinstance(content, dict) and isinstance(content.get("record"), dict):
                record = content["record"]
                if any(field in record and field in key_ and record[field] != key_[field] for field in ("kind", "sourceId")):
                    found.add((pointer(path + ["content", "record"]), "key.mismatch"))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, path + [index])

    walk(instance, [])
    return found


# --------------------------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------------------------

FORBIDDEN_KEYWORDS = {"$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor",
                      "unevaluatedProperties", "unevaluatedItems", "oneOf", "anyOf"}
ALLOWED_FORMATS = {"date", "date-time"}
REF_PATTERN = re.compile(r"^(#/.*|urn:xgate:schema:[a-z0-9-]+(:[a-z0-9-]+)?:[0-9]+(#(/.*)?)?)$")
# objects deliberately left open: the record inside a change is validated on its own
OPEN_OBJECTS = {("urn:xgate:schema:change:1", "/properties/content/properties/record")}
# keywords whose subschemas are constraints on an already-described object, not new fields
CONDITIONAL = {"if", "then", "else", "not", "contains", "allOf"}


def expected_id(path: Path) -> str | None:
    rel = path.relative_to(SCHEMAS)
    match = re.fullmatch(r"([a-z0-9-]+)\.v([0-9]+)\.schema\.json", rel.name)
    if not match:
        return None
    name, major = match.groups()
    if rel.parent == Path("."):
        return f"urn:xgate:schema:{name}:{major}"
    if rel.parent == Path("records"):
        return f"urn:xgate:schema:record:{name}:{major}"
    return None


def lint(schema_id: str, schema: dict) -> list[str]:
    """Convention problems of one schema, as messages."""
    problems = []

    def walk(node, path, in_conditional):
        if isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{path}/{index}", in_conditional)
            return
        if not isinstance(node, dict):
            return
        for key in FORBIDDEN_KEYWORDS & node.keys():
            problems.append(f"{path or '/'}: keyword {key} is not allowed")
        if "format" in node and node["format"] not in ALLOWED_FORMATS:
            problems.append(f"{path}: format {node['format']!r} is not allowed")
        if "$ref" in node and not REF_PATTERN.match(node["$ref"]):
            problems.append(f"{path}: $ref {node['$ref']!r} is neither local (#/...) nor an absolute xgate URN")
        if ("properties" in node and "$ref" not in node and not in_conditional
                and (schema_id, path) not in OPEN_OBJECTS and node.get("additionalProperties") is not False):
            problems.append(f"{path or '/'}: object is not closed (additionalProperties false)")
        for key, value in node.items():
            child = f"{path}/{key}"
            if key in ("properties", "$defs") and isinstance(value, dict):
                for name, sub in value.items():
                    where = f"{child}/{name}"
                    if not in_conditional and not (isinstance(sub, dict) and sub.get("description")):
                        problems.append(f"{where}: no description")
                    walk(sub, where, in_conditional)
            elif key in ("enum", "const", "required", "examples", "default"):
                continue
            else:
                walk(value, child, in_conditional or key in CONDITIONAL and key != "allOf")
        # allOf entries hold if/then branches; their property schemas are constraints too
    walk(schema, "", False)
    return problems


def all_refs(node, path=""):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield path, value
            elif key not in ("enum", "const"):
                yield from all_refs(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from all_refs(value, f"{path}/{index}")


def load_schemas(failures: list[str]) -> tuple[dict[str, dict], Registry]:
    schemas: dict[str, dict] = {}
    for path in sorted(SCHEMAS.rglob("*.schema.json")):
        rel = path.relative_to(ROOT)
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            failures.append(f"{rel}: not readable JSON: {error}")
            continue
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as error:  # SchemaError
            failures.append(f"{rel}: not a valid draft 2020-12 schema: {error.message if hasattr(error, 'message') else error}")
            continue
        if schema.get("$schema") != "https://json-schema.org/draft/2020-12/schema":
            failures.append(f"{rel}: $schema is not draft 2020-12")
        schema_id = schema.get("$id")
        if schema_id != expected_id(path):
            failures.append(f"{rel}: $id {schema_id!r} does not match the file name (expected {expected_id(path)!r})")
        if schema_id in schemas:
            failures.append(f"{rel}: duplicate $id {schema_id}")
            continue
        failures.extend(f"{rel}: {problem}" for problem in lint(schema_id, schema))
        schemas[schema_id] = schema
    registry = Registry().with_resources(
        (schema_id, Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema_id, schema in schemas.items())
    for schema_id, schema in schemas.items():
        resolver = registry.resolver(base_uri=schema_id)
        for where, ref in all_refs(schema):
            try:
                resolver.lookup(ref)
            except Exception as error:
                failures.append(f"{schema_id}: $ref {ref!r} at {where or '/'} does not resolve: {error}")
    return schemas, registry


def validator_for(schema_id: str, schemas, registry) -> Draft202012Validator:
    return Draft202012Validator(schemas[schema_id], registry=registry,
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def python_errors(validator, instance) -> set[tuple[str, str]]:
    return {(pointer(error.absolute_path), error.validator if error.validator is not None else "false")
            for error in validator.iter_errors(instance)}


def check_catalogue(schemas, registry, failures: list[str]) -> None:
    path = CONTRACTS / "catalogue.json"
    rel = path.relative_to(ROOT)
    try:
        catalogue = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        failures.append(f"{rel}: not readable JSON: {error}")
        return
    schema_id = "urn:xgate:schema:catalogue:1"
    if schema_id not in schemas:
        failures.append(f"{rel}: no schema {schema_id}")
        return
    for error in validator_for(schema_id, schemas, registry).iter_errors(catalogue):
        failures.append(f"{rel}: {pointer(error.absolute_path) or '/'}: {error.message}")
    entries = catalogue.get("kinds", []) if isinstance(catalogue, dict) else []
    kinds = [entry.get("kind") for entry in entries if isinstance(entry, dict)]
    if len(kinds) != len(set(kinds)):
        failures.append(f"{rel}: a kind is listed twice")
    # The catalogue decides which kinds exist; each must have its record schema at every listed version.
    for entry in entries:
        for version in entry.get("schemaVersions", []) if isinstance(entry, dict) else []:
            schema_id = f"urn:xgate:schema:record:{entry.get('kind')}:{version}"
            if schema_id not in schemas:
                failures.append(f"{rel}: kind {entry.get('kind')} version {version} has no schema {schema_id}")
    for entry in entries:
        for version in entry.get("schemaVersions", []) if isinstance(entry, dict) else []:
            if f"urn:xgate:schema:record:{entry.get('kind')}:{version}" not in schemas:
                failures.append(f"{rel}: no schema for {entry.get('kind')} version {version}")


# --------------------------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------------------------

WRAPPER_KEYS = {"description", "schema", "schemaValid", "expectedErrors", "instance"}


def embedded_records(schema_id: str, instance):
    """(pointer, record) of the records carried by a change or a batch instance."""
    changes = []
    if schema_id == "urn:xgate:schema:change:1":
        changes = [("", instance)]
    elif schema_id == "urn:xgate:schema:batch:1" and isinstance(instance, dict):
        changes = [(f"/changes/{i}", c) for i, c in enumerate(instance.get("changes", []))]
    for where, change in changes:
        if isinstance(change, dict) and isinstance(change.get("content"), dict):
            record = change["content"].get("record")
            if isinstance(record, dict):
                yield f"{where}/content/record", record


def check_example(path: Path, schemas, registry) -> tuple[list[str], dict | None]:
    """Problems of one example file, and what Python found (for the --xgate comparison)."""
    problems: list[str] = []
    try:
        wrapper = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [f"not readable JSON: {error}"], None
    if not isinstance(wrapper, dict):
        return ["not a wrapper object"], None
    extra = wrapper.keys() - WRAPPER_KEYS
    missing = {"description", "schema", "schemaValid", "instance"} - wrapper.keys()
    if extra or missing:
        return [f"wrapper keys: unexpected {sorted(extra)}, missing {sorted(missing)}"], None
    schema_id, schema_valid = wrapper["schema"], wrapper["schemaValid"]
    expected = wrapper.get("expectedErrors") or []
    if not isinstance(wrapper["description"], str) or not wrapper["description"].strip():
        problems.append("description is empty")
    if not isinstance(schema_valid, bool):
        return problems + ["schemaValid is not a boolean"], None
    if schema_id not in schemas:
        return problems + [f"unknown schema {schema_id!r}"], None

    # where the file lives must agree with what it says
    rel = path.relative_to(EXAMPLES)
    folder, verdict_dir = rel.parts[0], rel.parts[1] if len(rel.parts) > 2 else None
    folder_id = (f"urn:xgate:schema:record:{folder[len('record-'):]}:" if folder.startswith("record-")
                 else f"urn:xgate:schema:{folder}:")
    if not schema_id.startswith(folder_id):
        problems.append(f"schema {schema_id} does not belong in folder {folder}/")
    if verdict_dir == "valid" and (not schema_valid or expected):
        problems.append("a valid/ example must be schemaValid with no expectedErrors")
    elif verdict_dir == "invalid" and not expected:
        problems.append("an invalid/ example must list its expectedErrors")
    elif verdict_dir not in ("valid", "invalid"):
        problems.append("example is not in a valid/ or invalid/ folder")

    keyword_expected, rule_expected = set(), set()
    for entry in expected:
        if not isinstance(entry, dict) or not isinstance(entry.get("instanceLocation"), str):
            problems.append(f"bad expectedErrors entry {entry!r}")
        elif ("keyword" in entry) == ("rule" in entry):
            problems.append(f"expectedErrors entry needs exactly one of keyword, rule: {entry!r}")
        elif "keyword" in entry:
            keyword_expected.add((entry["instanceLocation"], entry["keyword"]))
        else:
            rule_expected.add((entry["instanceLocation"], entry["rule"]))
    if keyword_expected and schema_valid:
        problems.append("a schema-valid example cannot expect schema keywords")
    if rule_expected and not schema_valid:
        problems.append("domain rules are expected only of schema-valid examples")

    instance = wrapper["instance"]
    errors = python_errors(validator_for(schema_id, schemas, registry), instance)
    if bool(errors) == schema_valid:
        problems.append(f"schemaValid is {str(schema_valid).lower()} but Python found "
                        + (f"{len(errors)} error(s): {sorted(errors)}" if errors else "no error"))
    for item in sorted(keyword_expected - errors):
        problems.append(f"expected error {item} not found; Python found {sorted(errors)}")

    found_rules = domain_errors(instance)
    if schema_valid and found_rules != rule_expected:
        problems.append(f"domain errors {sorted(found_rules)} differ from expected {sorted(rule_expected)}")
    if not schema_valid and found_rules:
        problems.append(f"a schema-invalid example should fail for one reason, but also has domain errors {sorted(found_rules)}")

    if schema_valid:
        for where, record in embedded_records(schema_id, instance):
            record_id = f"urn:xgate:schema:record:{record.get('kind')}:{record.get('schemaVersion')}"
            if record_id not in schemas:
                problems.append(f"{where}: no schema {record_id}")
                continue
            for location, keyword in sorted(python_errors(validator_for(record_id, schemas, registry), record)):
                problems.append(f"{where}: embedded record invalid against {record_id}: {location} {keyword}")

    return problems, {"schema": schema_id, "valid": not errors, "errors": errors,
                      "keywords": keyword_expected, "rules": rule_expected}


def compare_with_xgate(binary: str, files: list[Path], python: dict[str, dict], failures: dict[str, list[str]]) -> None:
    names = [str(f.relative_to(ROOT)) for f in files]
    command = [binary, "check", "examples", "--contracts", "Contracts", "--json", *names]
    try:
        run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as error:
        for name in names:
            failures.setdefault(name, []).append(f"xgate could not be run: {error}")
        return
    try:
        reports = json.loads(run.stdout)
        if not isinstance(reports, list):
            raise ValueError("not an array")
    except ValueError as error:
        detail = f"xgate output is not a JSON array ({error}); exit {run.returncode}; stderr: {run.stderr.strip()[:500]}"
        for name in names:
            failures.setdefault(name, []).append(detail)
        return
    by_file = {r.get("file"): r for r in reports if isinstance(r, dict)}
    for name in names:
        ours = python.get(name)
        if ours is None:
            continue  # the file already failed before validation
        report = by_file.get(name)
        problems = failures.setdefault(name, [])
        if report is None:
            problems.append("xgate: no report for this file")
            continue
        if report.get("schema") != ours["schema"]:
            problems.append(f"xgate: schema {report.get('schema')!r} differs from {ours['schema']!r}")
        if report.get("schemaValid") is not ours["valid"]:
            problems.append(f"xgate: schemaValid {report.get('schemaValid')} differs from Python's {ours['valid']}")
        swift_errors = {(e.get("instanceLocation"), e.get("keyword")) for e in report.get("errors") or []}
        if swift_errors != ours["errors"]:
            problems.append(f"xgate: errors differ: only xgate {sorted(swift_errors - ours['errors'])}, "
                            f"only Python {sorted(ours['errors'] - swift_errors)}")
        for item in sorted(ours["keywords"] - swift_errors):
            problems.append(f"xgate: expected error {item} not reported")
        swift_rules = {(e.get("instanceLocation"), e.get("rule")) for e in report.get("domainErrors") or []}
        for item in sorted(ours["rules"] - swift_rules):
            problems.append(f"xgate: expected domain error {item} not reported (reported {sorted(swift_rules)})")
        if ours["valid"] and not ours["rules"] and swift_rules:
            problems.append(f"xgate: unexpected domain errors {sorted(swift_rules)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xgate", metavar="PATH", help="also compare with `PATH check examples`")
    args = parser.parse_args()

    schema_failures: list[str] = []
    schemas, registry = load_schemas(schema_failures)
    check_catalogue(schemas, registry, schema_failures)
    for failure in schema_failures:
        print(f"FAIL schema {failure}")
    print(f"schemas: {len(schemas)} loaded, {len(schema_failures)} problem(s)")

    files = sorted(EXAMPLES.rglob("*.json"))
    failures: dict[str, list[str]] = {}
    python: dict[str, dict] = {}
    for path in files:
        name = str(path.relative_to(ROOT))
        problems, result = check_example(path, schemas, registry)
        if problems:
            failures[name] = problems
        if result is not None:
            python[name] = result

    if args.xgate:
        compare_with_xgate(args.xgate, files, python, failures)

    failed = sorted(name for name, problems in failures.items() if problems)
    for name in failed:
        for problem in failures[name]:
            print(f"FAIL {name}: {problem}")
    print(f"examples: {len(files) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed or schema_failures or not files else 0


if __name__ == "__main__":
    sys.exit(main())
