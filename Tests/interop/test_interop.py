#!/usr/bin/env python3
"""Interoperability: a stock JOSE library (joserfc) and plain `cryptography` on one side, `xgate` on the other.

Working only from Contracts/ (PROTOCOL.md and the schemas), Python
  1. verifies a batch signed by `xgate batch sign`, and validates its payload with `jsonschema`;
  2. produces a batch from a key registered in a temporary Peers/ directory, which `xgate batch verify` accepts,
     and which it refuses after one byte of the payload changes, or when the key belongs to another node;
  3. verifies the receipt `xgate receipt sign` returns, and its binding to the batch (payloadDigest).

    python3 Tests/interop/test_interop.py --xgate .build/debug/xgate
Prints `interop: N passed, M failed` and exits non-zero on any failure.
"""
import argparse
import base64
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import uuid
import warnings

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives import serialization
from joserfc import jws
from joserfc.jwk import OKPKey
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

ROOT = pathlib.Path(__file__).resolve().parents[2]
# joserfc warns that RFC 9864 deprecates the polymorphic "EdDSA" in favour of "Ed25519"; xgate accepts both and
# writes "EdDSA" for older libraries (PROTOCOL.md §3). The warning is expected here.
warnings.filterwarnings("ignore", message="EdDSA is deprecated")
results = []


def check(name, condition, detail=""):
    results.append((name, bool(condition)))
    print(("ok   " if condition else "FAIL ") + name + ("" if condition else f": {detail}"))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def thumbprint(x: str) -> str:
    """RFC 7638 thumbprint of an Ed25519 JWK (members crv, kty, x in lexicographic order, no white space)."""
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def registry():
    resources = []
    for path in (ROOT / "Contracts" / "schemas").rglob("*.schema.json"):
        schema = json.loads(path.read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


def validator(registry, schema_id):
    schema = registry.contents(schema_id)
    return Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


def run(xgate, *args):
    return subprocess.run([xgate, *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "XGATE_CONTRACTS": str(ROOT / "Contracts")})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xgate", required=True)
    xgate = str((ROOT / parser.parse_args().xgate).resolve())
    schemas = registry()
    work = pathlib.Path(tempfile.mkdtemp(prefix="xgate-interop-"))
    try:
        peers = work / "Peers"
        shutil.copytree(ROOT / "Peers", peers)
        kids = {}
        for node in ("sh-xuhui", "sh-city"):
            generated = run(xgate, "keys", "generate", "--node", node, "--out", str(work / "keys"))
            kids[node] = generated.stdout.strip()
            enrolled = run(xgate, "peers", "add-key", "--peers", str(peers), "--node", node, "--jwk",
                           str(work / "keys" / f"{node}.jwk.json"), "--replace",
                           "--not-before", "2026-01-01T00:00:00+08:00", "--not-after", "2027-12-31T23:59:59+08:00")
            check(f"xgate enrols a key for {node}", enrolled.returncode == 0, enrolled.stderr)

        # 1. xgate signs; joserfc and cryptography verify with the public key from the peer file.
        signed = run(xgate, "batch", "sign", "--key", str(work / "keys/sh-xuhui.key"), "--kid", kids["sh-xuhui"],
                     "--from", "sh-xuhui", "--to", "sh-city", "--sequence", "7", "deploy/samples/xuhui-export.ndjson")
        check("xgate batch sign succeeds", signed.returncode == 0, signed.stderr)
        batch_jws = json.loads(signed.stdout)
        peer = json.loads((peers / "nodes/sh-xuhui.json").read_text())
        jwk = peer["keys"][0]["jwk"]
        verified = jws.deserialize_json(batch_jws, OKPKey.import_key(jwk), algorithms=["EdDSA"])
        check("joserfc verifies xgate's batch", verified.payload is not None)
        header = verified.headers()
        check("protected header is alg EdDSA, typ xgate-batch+json, kid <node>:<RFC 7638 thumbprint>",
              header.get("alg") == "EdDSA" and header.get("typ") == "xgate-batch+json"
              and header.get("kid") == f"sh-xuhui:{thumbprint(jwk['x'])}", header)
        public = Ed25519PublicKey.from_public_bytes(unb64url(jwk["x"]))
        public.verify(unb64url(batch_jws["signature"]), (batch_jws["protected"] + "." + batch_jws["payload"]).encode())
        check("cryptography verifies xgate's batch signature over protected.payload", True)
        payload = json.loads(unb64url(batch_jws["payload"]))
        errors = list(validator(schemas, "urn:xgate:schema:batch:1").iter_errors(payload))
        check("the payload is a valid urn:xgate:schema:batch:1 document", not errors, errors[:1])
        for i, change in enumerate(payload["changes"]):
            record = change["content"]["record"]
            schema_id = f"urn:xgate:schema:record:{record['kind']}:{record['schemaVersion']}"
            errors = list(validator(schemas, schema_id).iter_errors(record))
            check(f"change {i}: its record is valid against {schema_id}", not errors, errors[:1])

        # 2. Python produces a batch as a partner (嘉兴, zj-jiaxing) with its own key; xgate verifies it.
        private = Ed25519PrivateKey.generate()
        x = b64url(private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        kid = f"zj-jiaxing:{thumbprint(x)}"
        (work / "jiaxing.jwk.json").write_text(json.dumps({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid}))
        enrolled = run(xgate, "peers", "add-key", "--peers", str(peers), "--node", "zj-jiaxing",
                       "--jwk", str(work / "jiaxing.jwk.json"), "--replace",
                       "--not-before", "2026-01-01T00:00:00+08:00", "--not-after", "2027-12-31T23:59:59+08:00")
        check("xgate enrols a key made by Python", enrolled.returncode == 0, enrolled.stderr)
        record = {
            "kind": "administrative-penalty", "sourceId": "JX-NH-AMR-2026-0311", "schemaVersion": 1,
            "subject": {"type": "legal-person", "name": "嘉兴南湖丝绸制品有限公司", "uscc": "91330402MA2BCX5L3R",
                        "legalRepresentative": {"name": "沈国良"}},
            "data": {"decisionNumber": "嘉南市监处〔2026〕311号", "violationType": "产品质量不合格",
                     "violationFacts": "当事人生产的真丝围巾经抽检纤维含量不符合标注，违反《中华人民共和国产品质量法》第二十六条。",
                     "basis": "《中华人民共和国产品质量法》第四十九条", "penaltyCategories": ["fine", "confiscation-of-illegal-gains"],
                     "penaltyContent": "罚款人民币叁万元，没收违法所得人民币捌仟元。", "fineAmount": "3", "confiscatedAmount": "0.8",
                     "decisionDate": "2026-11-02", "severity": "general",
                     "authority": {"name": "嘉兴市南湖区市场监督管理局", "uscc": "11330402MB1A2Y6C1T"},
                     "dataSource": {"name": "嘉兴市南湖区市场监督管理局", "uscc": "11330402MB1A2Y6C1T"}},
        }
        fix_identifiers(record)
        at = "2026-11-20T09:30:00+08:00"
        document = {
            "protocol": "xgate/1", "batchId": str(uuid.uuid4()), "from": "zj-jiaxing", "to": "sh-city", "sequence": 1,
            "createdAt": at,
            "changes": [{"key": {"owner": "zj-jiaxing", "kind": record["kind"], "sourceId": record["sourceId"]},
                         "content": {"version": 1, "author": "zj-jiaxing", "at": at, "record": record},
                         "status": {"version": 1, "value": "active", "from": None, "author": "zj-jiaxing", "at": at}}],
        }
        errors = list(validator(schemas, "urn:xgate:schema:batch:1").iter_errors(document))
        check("Python's batch is valid against the published schema", not errors, errors[:1])
        payload_bytes = json.dumps(document, ensure_ascii=False).encode()
        key = OKPKey.import_key({"kty": "OKP", "crv": "Ed25519", "x": x,
                                 "d": b64url(private.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                                   serialization.NoEncryption()))})
        python_jws = jws.serialize_json({"protected": {"alg": "EdDSA", "kid": kid, "typ": "xgate-batch+json"}},
                                        payload_bytes, key, algorithms=["EdDSA"])
        (work / "python-batch.json").write_text(json.dumps(python_jws))
        result = run(xgate, "batch", "verify", "--peers", str(peers), str(work / "python-batch.json"))
        check("xgate batch verify accepts a batch signed by joserfc", result.returncode == 0, result.stdout + result.stderr)

        tampered = dict(python_jws)
        raw = bytearray(payload_bytes)
        raw[raw.index(b'"fineAmount": "3"') + len(b'"fineAmount": "')] = ord("9")
        tampered["payload"] = b64url(bytes(raw))
        (work / "tampered.json").write_text(json.dumps(tampered))
        result = run(xgate, "batch", "verify", "--peers", str(peers), str(work / "tampered.json"))
        check("xgate refuses it after one byte of the payload changed (exit 10, signature.invalid)",
              result.returncode == 10 and "signature.invalid" in result.stderr, (result.returncode, result.stderr))

        document["from"] = "zj-hangzhou"
        forged = jws.serialize_json({"protected": {"alg": "EdDSA", "kid": kid, "typ": "xgate-batch+json"}},
                                    json.dumps(document).encode(), key, algorithms=["EdDSA"])
        (work / "forged.json").write_text(json.dumps(forged))
        result = run(xgate, "batch", "verify", "--peers", str(peers), str(work / "forged.json"))
        check("xgate refuses a batch whose sender is not the key's node (exit 11, key.sender-mismatch)",
              result.returncode == 11 and "key.sender-mismatch" in result.stderr, (result.returncode, result.stderr))

        # 3. The city's receipt for the Python batch, verified by joserfc and bound to the batch by its digest.
        receipt = run(xgate, "receipt", "sign", "--key", str(work / "keys/sh-city.key"), "--kid", kids["sh-city"],
                      "--peers", str(peers), str(work / "python-batch.json"))
        check("xgate receipt sign answers Python's batch", receipt.returncode == 0, receipt.stderr)
        receipt_jws = json.loads(receipt.stdout)
        city_jwk = json.loads((peers / "nodes/sh-city.json").read_text())["keys"][0]["jwk"]
        verified = jws.deserialize_json(receipt_jws, OKPKey.import_key(city_jwk), algorithms=["EdDSA"])
        receipt_doc = json.loads(verified.payload)
        errors = list(validator(schemas, "urn:xgate:schema:receipt:1").iter_errors(receipt_doc))
        check("the receipt verifies with joserfc and is a valid urn:xgate:schema:receipt:1 document",
              verified.headers().get("typ") == "xgate-receipt+json" and not errors, errors[:1])
        check("the receipt binds the batch: payloadDigest is SHA-256 of the exact payload bytes",
              receipt_doc["payloadDigest"] == "sha256:" + hashlib.sha256(payload_bytes).hexdigest()
              and receipt_doc["batchId"] == json.loads(payload_bytes)["batchId"], receipt_doc)
        check("the receipt has one applied outcome", [o["outcome"] for o in receipt_doc["outcomes"]] == ["applied"],
              receipt_doc["outcomes"])

        # 4. The joserfc snippet of PROTOCOL.md §3.6, run exactly as printed, in a directory laid out as it says
        #    (keys/ from `xgate keys generate`, Peers/ with the key enrolled), with a batch of 1,000 realistic records.
        snippet_dir = work / "snippet"
        snippet_peers = snippet_dir / "Peers"
        shutil.copytree(ROOT / "Peers", snippet_peers)
        generated = run(xgate, "keys", "generate", "--node", "zj-jiaxing", "--out", str(snippet_dir / "keys"))
        check("xgate keys generate writes the files the snippet reads",
              generated.returncode == 0 and (snippet_dir / "keys/zj-jiaxing.jwk.json").exists(), generated.stderr)
        enrolled = run(xgate, "peers", "add-key", "--peers", str(snippet_peers), "--node", "zj-jiaxing",
                       "--jwk", str(snippet_dir / "keys/zj-jiaxing.jwk.json"), "--replace",
                       "--not-before", "2026-01-01T00:00:00+08:00", "--not-after", "2027-12-31T23:59:59+08:00")
        check("the snippet's key is enrolled", enrolled.returncode == 0, enrolled.stderr)
        text = (ROOT / "Contracts/PROTOCOL.md").read_text(encoding="utf-8")
        section = text[text.index("### 3.6"):text.index("**Java (Nimbus JOSE+JWT).**")]
        code = section[section.index("```python") + len("```python"):]
        code = code[:code.index("```")]
        changes = []
        for n in range(1000):
            one = json.loads(json.dumps(record, ensure_ascii=False))
            one["sourceId"] = f"JX-NH-AMR-2026-{n:04d}"
            one["data"]["decisionNumber"] = f"嘉南市监处〔2026〕{n + 1}号"
            changes.append({"key": {"owner": "zj-jiaxing", "kind": one["kind"], "sourceId": one["sourceId"]},
                            "content": {"version": 1, "author": "zj-jiaxing", "at": at, "record": one},
                            "status": {"version": 1, "value": "active", "from": None, "author": "zj-jiaxing", "at": at}})
        namespace = {"changes": changes}
        previous = os.getcwd()
        os.chdir(snippet_dir)
        try:
            exec(compile(code, "PROTOCOL.md §3.6", "exec"), namespace)
        except Exception as error:  # the snippet as printed must run
            check("the §3.6 snippet runs as printed", False, f"{type(error).__name__}: {error}")
        finally:
            os.chdir(previous)
        if "signed" in namespace:
            size = len(namespace["payload"])
            check(f"the §3.6 snippet signs and verifies a 1,000-record batch ({size:,} payload bytes)", size > 1_000_000, size)
            (work / "snippet-batch.json").write_text(json.dumps(namespace["signed"]))
            result = run(xgate, "batch", "verify", "--peers", str(snippet_peers), str(work / "snippet-batch.json"))
            check("xgate batch verify accepts the snippet's batch", result.returncode == 0, result.stdout[-300:] + result.stderr[-300:])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"interop: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


def fix_identifiers(record):
    """Gives the sample's USCCs correct GB 32100 and GB 11714 check characters (the bodies above are illustrative)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

    def uscc(code):
        body = code[8:16]
        s = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, [3, 7, 9, 10, 5, 8, 4, 2]))
        org = {10: "X", 11: "0"}.get(11 - s % 11, str(11 - s % 11))
        first17 = code[:16] + org
        total = sum(alphabet.index(c) * w for c, w in zip(first17, [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]))
        return first17 + alphabet[(31 - total % 31) % 31]

    record["subject"]["uscc"] = uscc(record["subject"]["uscc"])
    for unit in ("authority", "dataSource"):
        record["data"][unit]["uscc"] = uscc(record["data"][unit]["uscc"])


if __name__ == "__main__":
    sys.exit(main())
