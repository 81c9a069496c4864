#!/usr/bin/env python3
"""End-to-end tests with real daemons on loopback (run by `make test`):

    python3 Tests/e2e/test_daemons.py --xgate .build/debug/xgate [--keep DIR]

Three `xgate serve` processes — 徐汇 (sh-xuhui, a district), the city (sh-city) and 嘉兴 (zj-jiaxing, a G60 partner)
— with a development PKI made by deploy/make-federation.py, talking HTTPS with mutual TLS. curl plays an outside
client as 松江 (sh-songjiang, enrolled but not running), and the `xgate` CLI the operators.

1. Records entered at 徐汇 reach the city, and the partner — started late, so it catches up by pulling.
2. A repair entered at the city reaches 徐汇 and 嘉兴; both acknowledgements show at the city.
3. kill -9 of the city while 徐汇 pushes 3,000 records, then a restart: every record once, none twice.
4. Refusals, each with its documented code and nothing changed: forged signature, unknown client certificate
   (pinned nowhere; and from a foreign CA: no handshake), certificate of one node with a batch signed by another,
   replayed batch, sequence gap, expired key, oversized body, malformed JSON, a kind the agreement does not allow,
   a field it requires masked sent in full, an operator call without the token. The same batch sent twice gets the
   same receipt, byte for byte.
5. Every endpoint of Contracts/openapi.yaml, called with curl; every answer of the whole test is checked against the
   document (status, content type, body schema, signed payload schema) by openapi_conformance.py.
Each step prints ok or fails with what it saw.
"""
import argparse
import base64
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "Tests", "e2e"))
sys.path.insert(0, os.path.join(REPO, "deploy"))
from federation import Failure, LocalFederation  # noqa: E402
from openapi_conformance import OpenAPIConformance  # noqa: E402
NODES = ["sh-city", "sh-xuhui", "zj-jiaxing", "sh-songjiang"]
RUNNING = ["sh-city", "sh-xuhui", "zj-jiaxing"]


def check(condition, message):
    if not condition:
        raise Failure(message)


class Federation(LocalFederation):
    """The local federation of deploy/federation.py, with curl as an outside client checked against openapi.yaml."""

    def __init__(self, xgate, out, nodes=NODES, pull_interval=1, log_level="info"):
        super().__init__(xgate, out, nodes, pull_interval=pull_interval, log_level=log_level)
        self.conformance = OpenAPIConformance()

    def start(self, node, env=None):
        super().start(node, env=env, ready=lambda n: self.curl(n, "GET", "/readyz", cert=None)[0] == 200)

    def curl(self, node, method, path, body=None, cert="sh-songjiang", cacert=None, headers=(), content_type="application/jose+json"):
        """curl as an outside client; returns (HTTP status or None, body bytes, curl exit code). Every answer is checked
        against Contracts/openapi.yaml."""
        pki = os.path.join(self.out, "pki")
        header_file = os.path.join(self.out, "curl-headers.txt")
        command = ["curl", "-sS", "-o", "-", "-D", header_file, "-w", "\n%{http_code}", "--max-time", "60", "-X", method,
                   "--cacert", cacert or os.path.join(pki, "ca.crt")]
        if cert:
            crt, key = (cert if isinstance(cert, tuple) else (os.path.join(pki, f"{cert}.crt"), os.path.join(pki, f"{cert}.key")))
            command += ["--cert", crt, "--key", key]
        for header in headers:
            command += ["-H", header]
        if body is not None:
            command += ["-H", f"Content-Type: {content_type}", "--data-binary", "@-"]
        command.append(self.urls[node] + path)
        result = subprocess.run(command, input=body, capture_output=True)
        if result.returncode != 0:
            return None, result.stderr, result.returncode
        payload, _, status = result.stdout.rpartition(b"\n")
        with open(header_file, errors="replace", newline="") as f:
            block = f.read().strip().split("\r\n\r\n")[-1]
        response_headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in block.split("\r\n")[1:])}
        differences = self.conformance.check(method, path, int(status), response_headers, payload)
        check(not differences, "the answer differs from Contracts/openapi.yaml:\n  " + "\n  ".join(differences))
        return int(status), payload, 0

    def operator(self, node, method, path, body=None, content_type="application/json"):
        """An operator call with curl and the token."""
        with open(self.token_file) as f:
            token = f.read().strip()
        status, payload, _ = self.curl(node, method, path, body, cert=None, headers=[f"Authorization: Bearer {token}"],
                                       content_type=content_type)
        return status, json.loads(payload) if payload.strip() else None

    def sign(self, records_file, sequence, key_node="sh-songjiang", key_file=None, kid=None, batch_id=None, created_at=None,
             allow_invalid=False, sender="sh-songjiang", to="sh-city"):
        key_file = key_file or os.path.join(self.out, "keys", f"{key_node}.key")
        if kid is None:
            with open(os.path.join(self.out, "keys", f"{key_node}.jwk.json")) as f:
                kid = json.load(f)["kid"]
        command = [self.xgate, "batch", "sign", "--contracts", os.path.join(REPO, "Contracts"), "--key", key_file, "--kid", kid,
                   "--from", sender, "--to", to, "--sequence", str(sequence), records_file]
        if batch_id:
            command += ["--batch-id", batch_id]
        if created_at:
            command += ["--created-at", created_at]
        if allow_invalid:
            command.append("--allow-invalid")
        result = subprocess.run(command, capture_output=True)
        check(result.returncode == 0, f"batch sign failed: {result.stderr.decode()}")
        return result.stdout


def wait_for(description, predicate, timeout=60):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.3)
    raise Failure(f"timed out after {timeout} s waiting for {description}")


def held_at(fed, node, owner, source_id):
    store = os.path.join(fed.out, node, "store.sqlite")
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=10) as db:
        return db.execute("SELECT count(*) FROM records WHERE owner = ? AND source_id = ?", (owner, source_id)).fetchone()[0]


def problem(status, body):
    try:
        value = json.loads(body)
    except ValueError:
        raise Failure(f"expected a problem document, got HTTP {status}: {body[:200]!r}")
    return value.get("code")


def step(name, function):
    started = time.time()
    function()
    print(f"ok  {name} ({time.time() - started:.1f} s)")


def make_records(path, count, district="sh-xuhui", prefix="XH-E2E"):
    """Realistic penalties by 上海市徐汇区市场监督管理局 against a real-shaped company with a valid USCC."""
    with open(os.path.join(REPO, "deploy/samples/xuhui-export.ndjson")) as f:
        template = json.loads(f.readline())
    with open(path, "w") as f:
        for i in range(count):
            record = json.loads(json.dumps(template))
            record["sourceId"] = f"{prefix}-{i:06d}"
            record["data"]["decisionNumber"] = f"沪徐市监处〔2026〕{2104260000 + i}号"
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xgate", required=True)
    parser.add_argument("--keep", help="keep the federation's files in this directory")
    args = parser.parse_args()
    out = args.keep or tempfile.mkdtemp(prefix="xgate-e2e-")
    fed = Federation(args.xgate, out)
    samples = os.path.join(REPO, "deploy/samples/xuhui-export.ndjson")
    try:
        fed.old_kid = enrol_old_key(fed)  # before any daemon loads the registry

        # 1. district → city, and the partner catches up by pulling.
        def flow():
            fed.start("sh-city")
            fed.start("sh-xuhui")
            result = fed.cli("sh-xuhui", "push", samples)
            check(result["summary"].get("applied") == 5, f"push at 徐汇: {result}")
            wait_for("the city to hold 徐汇's 5 records", lambda: fed.count("sh-city", owner="sh-xuhui") == 5)
            fed.start("zj-jiaxing")  # down until now: catches up by pulling the city's feed
            wait_for("嘉兴 to hold the 3 legal-person records the agreement shares",
                     lambda: fed.count("zj-jiaxing", owner="sh-xuhui") == 3)
            status = fed.cli("sh-city", "status")
            check(any(p["peer"] == "sh-xuhui" and p["expectedInboundSequence"] >= 2 for p in status["peers"]), f"status: {status}")

        step("a record entered at 徐汇 reaches the city and, by pull, the partner 嘉兴", flow)

        key = "sh-xuhui/administrative-penalty/XH-AMR-CF-2026-00871"

        def repair():
            decided = fed.cli("sh-city", "repair", key, "--reason", "当事人已履行行政处罚决定并公开作出信用承诺，准予信用修复",
                              "--basis", "《上海市社会信用条例》第四十条；《失信行为纠正后的信用信息修复管理办法（试行）》")
            check(decided["status"]["value"] == "repaired", f"repair: {decided}")

            def acknowledged():
                items = fed.cli("sh-city", "corrections")["corrections"]
                mine = {c["peer"]: c for c in items if c["key"]["sourceId"] == "XH-AMR-CF-2026-00871"}
                return all(mine.get(p, {}).get("acknowledgedAt") for p in ("sh-xuhui", "zj-jiaxing"))

            wait_for("徐汇's and 嘉兴's acknowledgements at the city", acknowledged)
            for node in ("sh-xuhui", "zj-jiaxing"):
                record = fed.cli(node, "record", key)
                check(record["status"]["value"] == "repaired", f"{node} shows {record['status']}")

        step("a repair at the city reaches 徐汇 and 嘉兴, and both acknowledgements are visible at the city", repair)

        def long_poll():
            # As a partner's own client would (PROTOCOL §6, `wait`): read 嘉兴's feed to its end, then hold a request.
            def page(cursor, wait=None):
                path = "/v1/feed?limit=1000" + (f"&cursor={cursor}" if cursor else "") + (f"&wait={wait}" if wait else "")
                status, body, _ = fed.curl("sh-city", "GET", path, cert="zj-jiaxing")
                check(status == 200, f"GET {path}: {status} {body[:200]}")
                payload = json.loads(base64.urlsafe_b64decode(json.loads(body)["payload"] + "=="))
                return payload

            cursor, more = None, True
            while more:
                got = page(cursor)
                cursor, more = got["cursor"], got["hasMore"]
            started = time.time()
            idle = page(cursor, wait=2)
            held = time.time() - started
            check(idle["changes"] == [] and idle["cursor"] == cursor, f"an idle long poll answered {idle}")
            check(1.8 <= held < 6, f"an idle long poll with wait=2 was held {held:.1f} s")
            answer = {}

            def hold():
                answer["page"] = page(cursor, wait=20)
                answer["at"] = time.time()

            waiter = threading.Thread(target=hold)
            waiter.start()
            time.sleep(1.0)
            decided_at = time.time()
            fed.cli("sh-city", "repair", "sh-xuhui/administrative-penalty/XH-EPB-CF-2026-00133", "--reason",
                    "当事人已完成整改并作出信用承诺，准予信用修复", "--basis", "《上海市社会信用条例》第四十条")
            waiter.join(timeout=30)
            check("page" in answer, "the long poll did not answer within 30 s")
            ids = [c["key"]["sourceId"] for c in answer["page"]["changes"]]
            check("XH-EPB-CF-2026-00133" in ids, f"the long poll answered without the repair: {answer['page']}")
            latency = answer["at"] - decided_at
            check(latency < 3, f"the long poll answered {latency:.1f} s after the repair was decided (wait=20)")
            print(f"    idle wait=2 held {held:.1f} s; a repair decided during wait=20 answered after {latency * 1000:.0f} ms")

        step("a long poll of the feed is held while nothing is new and answers as soon as a repair is decided", long_poll)

        def crash():
            bulk = os.path.join(out, "bulk.ndjson")
            make_records(bulk, 3000)
            pusher = subprocess.Popen([fed.xgate, "push", bulk, "--config", fed.config("sh-xuhui"), "--token-file", fed.token_file,
                                       "--chunk", "500"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            check(pusher.wait(timeout=300) == 0, "pushing 3,000 records at 徐汇 failed")
            wait_for("the city to start receiving the bulk", lambda: fed.count("sh-city", owner="sh-xuhui") > 5, timeout=120)
            fed.kill9("sh-city")
            held = fed.count("sh-city", owner="sh-xuhui")
            fed.start("sh-city")
            wait_for("all 3,005 records at the city after the restart",
                     lambda: fed.count("sh-city", owner="sh-xuhui") == 3005, timeout=180)
            store = os.path.join(fed.out, "sh-city", "store.sqlite")
            with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
                twice = db.execute("""SELECT count(*) FROM (SELECT source_id FROM record_history WHERE owner = 'sh-xuhui'
                                      AND part = 'content' GROUP BY source_id, version HAVING count(*) > 1)""").fetchone()[0]
                applied = db.execute("""SELECT count(*) FROM lineage WHERE owner = 'sh-xuhui' AND direction = 'inbound'
                                        AND outcome = 'applied' AND source_id LIKE 'XH-E2E-%'""").fetchone()[0]
            check(twice == 0, f"{twice} record versions were applied twice at the city")
            check(applied == 3000, f"{applied} inbound applications of the 3,000 records (expected exactly 3,000)")
            print(f"    killed with {held} of 3,005 records held; after restart 3,005, each applied once")

        step("kill -9 of the city mid-push, then restart: nothing lost, nothing applied twice", crash)

        # 4. Refusals.
        one = os.path.join(out, "songjiang.ndjson")
        with open(samples) as f:
            record = json.loads(f.readline())
        record["sourceId"] = "SJ-E2E-0001"
        with open(one, "w") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")

        def refusals():
            before = fed.count("sh-city", owner="sh-songjiang")
            batch = fed.sign(one, 1)
            # Forged: flip a byte of the signature.
            forged = json.loads(batch)
            signature = bytearray(base64.urlsafe_b64decode(forged["signature"] + "=="))
            signature[0] ^= 1
            forged["signature"] = base64.urlsafe_b64encode(bytes(signature)).rstrip(b"=").decode()
            status, body, _ = fed.curl("sh-city", "POST", "/v1/batches", json.dumps(forged).encode())
            check((status, problem(status, body)) == (401, "signature.invalid"), f"forged: {status} {body[:200]}")
            # A certificate of one node (嘉兴) with a batch signed by another (松江).
            status, body, _ = fed.curl("sh-city", "POST", "/v1/batches", batch, cert="zj-jiaxing")
            check((status, problem(status, body)) == (403, "peer.certificate-mismatch"), f"mismatch: {status} {body[:200]}")
            # A certificate from the federation CA that no peer file pins.
            rogue = make_rogue_certificate(fed.out, same_ca=True)
            status, body, _ = fed.curl("sh-city", "POST", "/v1/batches", batch, cert=rogue)
            check((status, problem(status, body)) == (403, "peer.unknown-certificate"), f"unpinned: {status} {body[:200]}")
            # A certificate from another CA: no TLS handshake at all.
            foreign = make_rogue_certificate(fed.out, same_ca=False)
            status, body, code = fed.curl("sh-city", "POST", "/v1/batches", batch, cert=foreign)
            check(status is None and code != 0, f"foreign CA: expected the handshake to fail, got HTTP {status}")
            # Malformed JSON.
            status, body, _ = fed.curl("sh-city", "POST", "/v1/batches", b"{\"payload\": ")
            check(status == 422 and problem(status, body).startswith("jws."), f"malformed: {status} {body[:200]}")
            # Oversized body (limits.maxBodyBytes, 16 MiB by default).
            status, body, _ = fed.curl("sh-city", "POST", "/v1/batches", b"{" + b" " * (17 * 1024 * 1024) + b"}")
            check((status, problem(status, body)) == (413, "request.too-large"), f"oversized: {status} {body[:200]}")
            # Sequence gap: 5 where 1 is expected.
            status, body, _ = fed.curl("sh-city", "POST", "/v1/batches", fed.sign(one, 5))
            value = json.loads(body)
            check((status, value.get("code"), value.get("expectedSequence")) == (409, "sequence.gap", 1), f"gap: {status} {body[:200]}")
            check(fed.count("sh-city", owner="sh-songjiang") == before, "a refused batch changed the city's store")
            # The real batch, twice: the same receipt, byte for byte.
            status, first, _ = fed.curl("sh-city", "POST", "/v1/batches", batch)
            check(status == 200, f"the valid batch: {status} {first[:300]}")
            status, second, _ = fed.curl("sh-city", "POST", "/v1/batches", batch)
            check(status == 200 and first == second, "resending the same batch did not return the same receipt")
            check(fed.count("sh-city", owner="sh-songjiang") == before + 1, "the valid batch was not applied exactly once")
            # Replayed: the same batch id with a different payload.
            batch_id = json.loads(base64.urlsafe_b64decode(json.loads(batch)["payload"] + "=="))["batchId"]
            other = os.path.join(out, "songjiang-2.ndjson")
            record["sourceId"] = "SJ-E2E-0002"
            with open(other, "w") as f:
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
            status, body, _ = fed.curl("sh-city", "POST", "/v1/batches", fed.sign(other, 1, batch_id=batch_id))
            check((status, problem(status, body)) == (409, "batch.replayed"), f"replayed: {status} {body[:200]}")
            # Expired key: 松江's old key, enrolled with a validity that has ended.
            status, body, _ = fed.curl("sh-city", "POST", "/v1/batches",
                                       fed.sign(other, 2, key_file=os.path.join(fed.out, "old-keys", "sh-songjiang.key"),
                                                kid=fed.old_kid))
            check(status == 401 and problem(status, body) in ("key.expired", "key.not-yet-valid"), f"expired key: {status} {body[:200]}")
            # A kind the agreement does not allow (a district may send every kind to the city; to 嘉兴 it may send none).
            status, body, _ = fed.curl("zj-jiaxing", "POST", "/v1/batches", fed.sign(other, 1, to="zj-jiaxing", allow_invalid=True))
            receipt = json.loads(base64.urlsafe_b64decode(json.loads(body)["payload"] + "==")) if status == 200 else {}
            outcomes = [o.get("code") for o in receipt.get("outcomes", [])]
            check(status == 200 and outcomes == ["agreement.not-permitted"], f"not permitted: {status} {outcomes} {body[:200]}")
            check(held_at(fed, "zj-jiaxing", "sh-songjiang", "SJ-E2E-0002") == 0, "嘉兴 kept a record the agreement does not allow")
            # A field the agreement masks, sent in full: 嘉兴 may send the city legal-person penalties only with the
            # legal representative's ID number masked (partners-to-city).
            status, body, _ = fed.curl("sh-city", "POST", "/v1/batches", sign_records(fed, [jiaxing_penalty()], 1, "zj-jiaxing"),
                                       cert="zj-jiaxing")
            receipt = json.loads(base64.urlsafe_b64decode(json.loads(body)["payload"] + "==")) if status == 200 else {}
            outcomes = [(o.get("code"), o.get("field")) for o in receipt.get("outcomes", [])]
            check(outcomes == [("agreement.field-not-masked", "/content/record/subject/legalRepresentative/idNumber")],
                  f"unmasked field: {status} {outcomes} {body[:200]}")
            check(fed.count("sh-city", owner="zj-jiaxing") == 0, "the city kept a record with a field the agreement masks")
            # An operator call without the token, and with a wrong one.
            status, body, _ = fed.curl("sh-city", "GET", "/v1/operator/status", cert=None)
            check((status, problem(status, body)) == (401, "operator.unauthenticated"), f"operator: {status} {body[:200]}")
            status, body, _ = fed.curl("sh-city", "GET", "/v1/operator/status", cert=None, headers=["Authorization: Bearer wrong-token"])
            check((status, problem(status, body)) == (401, "operator.unauthenticated"), f"operator (wrong token): {status}")
            # Peer endpoints without a client certificate.
            status, body, _ = fed.curl("sh-city", "POST", "/v1/batches", batch, cert=None)
            check((status, problem(status, body)) == (401, "peer.certificate-required"), f"no certificate: {status} {body[:200]}")

        step("forged, unpinned, foreign, mismatched, malformed, oversized, gap, replay, expired key, agreement (kind and field), "
             "operator: refused", refusals)

        def documented_api():
            for path in ("/healthz", "/readyz", "/metrics"):
                status, body, _ = fed.curl("sh-city", "GET", path, cert=None)
                check(status == 200, f"{path}: {status}")
            check(b"xgate_http_requests_total{route=\"batches\",status=\"401\"}" in body, "metrics lack the refusals counted")
            check(b"xgate_batches_refused_total{peer=\"sh-songjiang\",code=\"sequence.gap\"} 1" in body, "refusals by code")
            promtool = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
            check(promtool.returncode == 0, f"promtool check metrics: {promtool.stdout.decode()} {promtool.stderr.decode()}")
            # 嘉兴 pulled the repair and delivered its acknowledgement: it owes the city nothing.
            status, partner, _ = fed.curl("zj-jiaxing", "GET", "/metrics", cert=None)
            check(status == 200 and b"xgate_acknowledgements_owed{peer=\"sh-city\"} 0" in partner,
                  "嘉兴's metrics lack xgate_acknowledgements_owed 0 for the city")
            status, value = fed.operator("sh-city", "GET", "/v1/operator/reports/timeliness?month=2026-11")
            xuhui = [line for line in value.get("lines", []) if line["district"] == "sh-xuhui" and line["department"] is None]
            check(status == 200 and xuhui and xuhui[0]["received"] >= 5, f"timeliness report: {status} {value}")
            status, value = fed.operator("sh-city", "GET", "/v1/operator/reports/timeliness?month=November")
            check((status, value["code"]) == (400, "request.parameter"), f"report month: {status} {value}")
            report = fed.cli("sh-city", "report", "timeliness", "--month", "2026-11")
            check(any(line["district"] == "sh-xuhui" for line in report["lines"]), f"xgate report timeliness: {report}")
            status, value = fed.operator("sh-city", "GET", "/v1/operator/alerts")
            check(status == 200 and isinstance(value["alerts"], list), f"alerts: {status} {value}")
            status, body, _ = fed.curl("sh-city", "GET", "/v1/no-such-thing")
            check(status == 404, f"unknown path: {status}")
            status, body, _ = fed.curl("sh-city", "GET", "/v1/batches")
            check(status == 405, f"wrong method: {status}")
            # 松江 is pushed to by the city: it cannot also read the feed (one path per peer, sync.pulledBy).
            status, body, _ = fed.curl("sh-city", "GET", "/v1/feed?limit=2")
            check((status, problem(status, body)) == (403, "feed.not-subscribed"), f"feed of a pushed peer: {status} {body[:200]}")
            # 嘉兴, which pulls, loads the city's joint lists: a snapshot page, then the feed from its cursor.
            status, body, _ = fed.curl("sh-city", "GET", "/v1/feed/snapshot?limit=2", cert="zj-jiaxing")
            page = json.loads(base64.urlsafe_b64decode(json.loads(body)["payload"] + "=="))
            check(status == 200 and page["snapshot"] and page["to"] == "zj-jiaxing", f"snapshot: {status} {page}")
            status, body, _ = fed.curl("sh-city", "GET", f"/v1/feed?cursor={page['cursor']}&limit=2", cert="zj-jiaxing")
            check(status == 200, f"feed: {status}")
            status, body, _ = fed.curl("sh-city", "GET", f"/v1/feed/snapshot?cursor={page['cursor']}", cert="zj-jiaxing")
            check((status, problem(status, body)) == (400, "request.parameter"), f"snapshot with a cursor: {status} {body[:200]}")
            status, body, _ = fed.curl("sh-city", "GET", "/v1/feed?limit=0", cert="zj-jiaxing")
            check((status, problem(status, body)) == (400, "request.parameter"), f"limit 0: {status} {body[:200]}")
            status, body, _ = fed.curl("sh-city", "GET", "/v1/feed?cursor=v1.bm90LWEtcG9zaXRpb24", cert="zj-jiaxing")
            check((status, problem(status, body)) == (422, "feed.cursor"), f"foreign cursor: {status} {body[:200]}")
            # An acknowledgement signed outside xgate (Python, cryptography), and one that fails its schema.
            acknowledged = {"owner": "sh-xuhui", "kind": "administrative-penalty", "sourceId": "XH-AMR-CF-2026-00871", "statusVersion": 2}
            status, body, _ = fed.curl("sh-city", "POST", "/v1/acknowledgements", sign_ack(fed, [acknowledged]))
            check(status == 200 and isinstance(json.loads(body)["acknowledged"], int), f"acknowledgement: {status} {body[:200]}")
            status, body, _ = fed.curl("sh-city", "POST", "/v1/acknowledgements", sign_ack(fed, [acknowledged]))
            check(status == 200 and json.loads(body) == {"acknowledged": 0}, f"acknowledged again: {status} {body[:200]}")
            status, body, _ = fed.curl("sh-city", "POST", "/v1/acknowledgements", sign_ack(fed, [dict(acknowledged, statusVersion=1)]))
            check((status, problem(status, body)) == (422, "ack.schema"), f"bad acknowledgement: {status} {body[:200]}")
            # The operator endpoints, with curl and the token.
            status, value = fed.operator("sh-city", "GET", "/v1/operator/status")
            check(status == 200 and value["node"] == "sh-city", f"status: {status}")
            status, value = fed.operator("sh-city", "GET", "/v1/operator/log?event=batch.&limit=5")
            check(status == 200 and 0 < len(value["entries"]) <= 5, f"log: {status} {value}")
            status, value = fed.operator("sh-city", "GET", "/v1/operator/log?since=yesterday")
            check((status, value["code"]) == (400, "request.parameter"), f"log since: {status} {value}")
            status, value = fed.operator("sh-city", "GET", "/v1/operator/rejections?limit=3")
            check(status == 200 and any(r["code"] == "agreement.field-not-masked" for r in value["rejections"]), f"rejections: {value}")
            status, value = fed.operator("sh-city", "GET", "/v1/operator/records/sh-xuhui/administrative-penalty/XH-AMR-CF-2026-00871")
            check(status == 200 and value["lineage"], f"record: {status} {value}")
            status, value = fed.operator("sh-city", "GET", "/v1/operator/records/sh-xuhui/administrative-penalty/XH-NOWHERE")
            check((status, value["code"]) == (404, "record.unknown"), f"unknown record: {status} {value}")
            with open(samples) as f:
                line = json.loads(f.readlines()[1])
            line["sourceId"] = "XH-E2E-API-0001"
            status, value = fed.operator("sh-xuhui", "POST", "/v1/operator/records", json.dumps(line, ensure_ascii=False).encode() + b"\n",
                                         content_type="application/x-ndjson")
            check(status == 200 and value["summary"] == {"applied": 1}, f"submit: {status} {value}")
            path = "/v1/operator/records/sh-xuhui/administrative-penalty/XH-E2E-API-0001/status"
            decision = {"status": "revoked", "reason": "行政复议决定撤销原处罚决定", "basis": "徐府复决字〔2026〕第47号"}
            status, value = fed.operator("sh-xuhui", "POST", path, json.dumps(dict(decision, urgent=True)).encode())
            check((status, value["code"]) == (400, "request.field"), f"unknown member: {status} {value}")
            status, value = fed.operator("sh-xuhui", "POST", path, json.dumps(decision).encode())
            check(status == 200 and value["status"]["value"] == "revoked", f"revoke: {status} {value}")
            status, value = fed.operator("sh-xuhui", "POST", path, json.dumps(dict(decision, status="repaired")).encode())
            check((status, value["code"]) == (422, "status.transition"), f"repair after revocation: {status} {value}")
            status, value = fed.operator("sh-city", "GET", "/v1/operator/conflicts")
            check(status == 200 and value["conflicts"] == [], f"conflicts: {status} {value}")
            status, value = fed.operator("sh-city", "POST", "/v1/operator/conflicts/sh-xuhui/administrative-penalty/XH-NOWHERE/resolve",
                                         json.dumps({"digest": "sha256:" + "0" * 64}).encode())
            check(status == 404, f"resolve unknown: {status} {value}")
            status, value = fed.operator("sh-city", "GET", "/v1/operator/corrections?pending=true")
            check(status == 200 and all(c["acknowledgedAt"] is None for c in value["corrections"]), f"pending: {status} {value}")
            status, value = fed.operator("sh-city", "GET", "/v1/operator/corrections?pending=maybe")
            check((status, value["code"]) == (400, "request.parameter"), f"pending=maybe: {status} {value}")
            status, value = fed.operator("sh-city", "POST", "/v1/operator/requeue", json.dumps({"peer": "zj-jiaxing", "sequence": 1}).encode())
            check((status, value["code"]) == (422, "batch.not-dead"), f"requeue: {status} {value}")
            missing = fed.conformance.unexercised()
            check(not missing, f"operations in openapi.yaml never called: {missing}")
            print(f"    {fed.conformance.checked} answers matched Contracts/openapi.yaml; every documented operation called")

        step("every endpoint of Contracts/openapi.yaml answers as documented (curl)", documented_api)

        def shutdown():
            held = fed.count("sh-city")
            for node in RUNNING:
                fed.stop(node)
            # A stopped node's store is one file: the WAL was folded into it, so copying the file alone keeps everything.
            for node in RUNNING:
                wal = os.path.join(fed.out, node, "store.sqlite-wal")
                check(not os.path.exists(wal) or os.path.getsize(wal) == 0, f"{node} stopped with {os.path.getsize(wal)} bytes of WAL")
            copy = os.path.join(fed.out, "city-copy.sqlite")
            shutil.copyfile(os.path.join(fed.out, "sh-city", "store.sqlite"), copy)
            with sqlite3.connect(copy) as db:
                copied = db.execute("SELECT count(*) FROM records").fetchone()[0]
            check(copied == held, f"a copy of the stopped city's file holds {copied} records, the city held {held}")
            print(f"    each store checkpointed on stop: a copy of the city's file alone holds its {held} records")

        step("SIGTERM stops every daemon with exit 0 and leaves each store as one file", shutdown)

        def audit():
            store = os.path.join(fed.out, "sh-city", "store.sqlite")
            result = subprocess.run([fed.xgate, "audit", "verify", "--store", store, "--json"], capture_output=True, text=True)
            verdict = json.loads(result.stdout or "{}")
            check(result.returncode == 0 and verdict.get("intact") and verdict["entries"] > 10, f"audit verify: {result.stdout}")
            with sqlite3.connect(store) as db:
                actions = {row[0] for row in db.execute("SELECT DISTINCT action FROM audit_log")}
            for node in ("sh-xuhui", "zj-jiaxing"):
                with sqlite3.connect(os.path.join(fed.out, node, "store.sqlite")) as db:
                    actions |= {row[0] for row in db.execute("SELECT DISTINCT action FROM audit_log")}
            check({"batch.received", "batch.delivered", "status.decided", "feed.served", "acknowledgement.received", "feed.pulled",
                   "records.submitted"} <= actions, f"the audit logs lack kinds of entries: {sorted(actions)}")
            # Alter one entry (as someone with write access to the file would), then remove another in a copy.
            altered = os.path.join(fed.out, "audit-altered.sqlite")
            removed = os.path.join(fed.out, "audit-removed.sqlite")
            for copy in (altered, removed):
                shutil.copy(store, copy)
            with sqlite3.connect(altered) as db:
                db.execute("UPDATE audit_log SET actor = 'sh-pudong' WHERE seq = 3")
            with sqlite3.connect(removed) as db:
                db.execute("DELETE FROM audit_log WHERE seq = 5")
            for copy, expected in ((altered, "entry 3"), (removed, "entries 5…5 are missing")):
                result = subprocess.run([fed.xgate, "audit", "verify", "--store", copy], capture_output=True, text=True)
                check(result.returncode == 1 and expected in result.stdout, f"tampered log not caught ({expected}): {result.stdout}")
            head = verdict["head"]
            with sqlite3.connect(removed) as db:
                db.execute("DELETE FROM audit_log WHERE seq >= 5")  # now a clean cut: only --expect-head can tell
            result = subprocess.run([fed.xgate, "audit", "verify", "--store", removed, "--expect-head", head], capture_output=True, text=True)
            check(result.returncode == 1 and "expected head" in result.stdout, f"a cut log not caught: {result.stdout}")
            older = os.path.join(fed.out, "audit-older.sqlite")
            shutil.copy(store, older)
            with sqlite3.connect(older) as db:
                db.execute("DELETE FROM grdb_migrations WHERE rowid = (SELECT max(rowid) FROM grdb_migrations)")
                applied = db.execute("SELECT count(*) FROM grdb_migrations").fetchone()[0]
            result = subprocess.run([fed.xgate, "audit", "verify", "--store", older], capture_output=True, text=True)
            check(result.returncode == 74 and "older xgate" in result.stderr, f"a store of an older schema: {result.returncode} {result.stderr}")
            with sqlite3.connect(older) as db:
                check(db.execute("SELECT count(*) FROM grdb_migrations").fetchone()[0] == applied, "audit verify migrated the store it read")
            print(f"    {verdict['entries']} entries intact; an altered entry, a removed entry and a cut tail each caught (exit 1); "
                  "an older store refused (exit 74), not migrated")

        step("the city's hash-chained audit log verifies, and xgate audit verify catches tampering", audit)
        print("e2e: all daemon tests passed")
    except Failure as failure:
        print(f"FAIL: {failure}")
        for node in RUNNING:
            path = os.path.join(out, f"{node}.log")
            if os.path.exists(path):
                print(f"--- last lines of {path}")
                with open(path, errors="replace") as f:
                    print("".join(f.readlines()[-15:]))
        fed.stop_all()
        sys.exit(1)
    finally:
        fed.stop_all()
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


def now_text():
    import datetime
    return datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))).replace(microsecond=0).isoformat()


def sign_ack(fed, items, node="sh-songjiang", to="sh-city"):
    """An acknowledgement (urn:xgate:schema:acknowledgement:1)."""
    import uuid
    return fed.sign_document(node, "xgate-ack+json", {"protocol": "xgate/1", "ackId": str(uuid.uuid4()), "from": node, "to": to,
                                                       "createdAt": now_text(), "acknowledgements": items})


def sign_records(fed, records, sequence, node, to="sh-city"):
    """A batch of new records signed in Python: nothing masked on the way, unlike `xgate batch sign`."""
    import uuid
    at = now_text()
    changes = [{"key": {"owner": node, "kind": r["kind"], "sourceId": r["sourceId"]},
                "content": {"version": 1, "author": node, "at": at, "record": r},
                "status": {"version": 1, "value": "active", "from": None, "author": node, "at": at}} for r in records]
    return fed.sign_document(node, "xgate-batch+json", {"protocol": "xgate/1", "batchId": str(uuid.uuid4()), "from": node, "to": to,
                                                         "sequence": sequence, "createdAt": at, "changes": changes})


def jiaxing_penalty():
    """A penalty by 嘉兴市南湖区市场监督管理局 against a 嘉兴 company (valid USCCs, a valid ID number for the legal
    representative — which partners-to-city requires masked)."""
    sys.path.insert(0, os.path.join(REPO, "Tests", "interop"))
    from check_examples import id_check_character, organisation_code_check, uscc_check_character

    def uscc(prefix, division, body8):
        first17 = prefix + division + body8 + organisation_code_check(body8)
        return first17 + uscc_check_character(first17)

    person = "33040219780312152"
    record = {"kind": "administrative-penalty", "sourceId": "JX-NH-CF-2026-00412", "schemaVersion": 1,
              "subject": {"type": "legal-person", "name": "嘉兴南湖禾丰食品有限公司", "uscc": uscc("91", "330402", "MA2JX7Q3"),
                          "legalRepresentative": {"name": "沈建国", "idNumber": person + id_check_character(person)}},
              "data": {"decisionNumber": "嘉南市监处〔2026〕412号", "violationType": "生产经营标签不符合规定的预包装食品",
                       "violationFacts": "经查，当事人于2026年9月生产的预包装食品标签未标注生产日期，共计860件。",
                       "basis": "《中华人民共和国食品安全法》第一百二十五条第一款第（二）项",
                       "penaltyCategories": ["warning", "fine"], "penaltyContent": "警告，并处罚款人民币壹万元整。",
                       "fineAmount": "1", "decisionDate": "2026-11-05", "severity": "general", "area": "food",
                       "authority": {"name": "嘉兴市南湖区市场监督管理局", "uscc": uscc("11", "330402", "MB1C4258")},
                       "dataSource": {"name": "嘉兴市南湖区市场监督管理局", "uscc": uscc("11", "330402", "MB1C4258")}}}
    return record


def enrol_old_key(fed):
    """A second key for 松江 whose validity ended in 2026-06 (must be enrolled before the daemons start)."""
    old = os.path.join(fed.out, "old-keys")
    os.makedirs(old, exist_ok=True)
    subprocess.run([fed.xgate, "keys", "generate", "--node", "sh-songjiang", "--out", old], check=True, capture_output=True)
    subprocess.run([fed.xgate, "peers", "add-key", "--contracts", os.path.join(REPO, "Contracts"), "--peers",
                    os.path.join(fed.out, "Peers"), "--node", "sh-songjiang", "--jwk", os.path.join(old, "sh-songjiang.jwk.json"),
                    "--not-before", "2026-01-01T00:00:00+08:00", "--not-after", "2026-06-30T23:59:59+08:00"],
                   check=True, capture_output=True)
    with open(os.path.join(old, "sh-songjiang.jwk.json")) as f:
        return json.load(f)["kid"]


def make_rogue_certificate(out, same_ca):
    """A client certificate pinned for no node: signed by the federation's CA, or by a CA of its own."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    if same_ca:
        with open(os.path.join(out, "pki", "ca.key"), "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), None)
        with open(os.path.join(out, "pki", "ca.crt"), "rb") as f:
            issuer = x509.load_pem_x509_certificate(f.read()).subject
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not the federation CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rogue")]))
            .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .sign(ca_key, hashes.SHA256()))
    name = "rogue-same-ca" if same_ca else "rogue-foreign-ca"
    crt, pem = os.path.join(out, f"{name}.crt"), os.path.join(out, f"{name}.key")
    with open(crt, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(pem, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return crt, pem


if __name__ == "__main__":
    main()
