#!/usr/bin/env python3
"""A real local federation on loopback: `make run` and `make smoke`.

    python3 deploy/federation.py run   --xgate .build/debug/xgate [--data out/federation] [--fresh] [--records N]
    python3 deploy/federation.py smoke --xgate .build/debug/xgate [--data DIR] [--fresh] [--records N]

Six `xgate serve` processes — the city (sh-city), three districts (松江 sh-songjiang, 浦东新区 sh-pudong, 徐汇 sh-xuhui)
and two G60 partners (嘉兴 zj-jiaxing, 苏州 js-suzhou) — each with its own SQLite store under the data directory, HTTPS
with mutual TLS from a development PKI made on the spot (deploy/make-federation.py). Then:

1. seeds realistic records through each node's operator API: licences from 上海市松江区市场监督管理局, penalties from
   上海市浦东新区市场监督管理局 and 上海市徐汇区市场监督管理局, and the dishonest judgment debtor list (失信被执行人名单)
   of 上海市第一中级人民法院 at the city — Chinese names, USCCs with correct check characters;
2. shows them flowing to the city and on to the partners, with progress;
3. repairs (信用修复) one of 徐汇's penalties at the city and waits until every holder has acknowledged it;
4. `run`: prints each node's address and the operator token, and waits for Ctrl-C, which stops every process cleanly;
   `smoke`: stops everything and exits 0, its last line
   `smoke: N nodes, R records, repair acknowledged by K/K holders in T ms` — or exits 1 naming the step that failed.

Running again with the same --data reuses the PKI, keys and stores (the seed adds nothing twice: the same records
come back as duplicates); --fresh starts from nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODES = ["sh-city", "sh-songjiang", "sh-pudong", "sh-xuhui", "zj-jiaxing", "js-suzhou"]
NAMES = {"sh-city": "上海市公共信用信息服务平台", "sh-songjiang": "松江区", "sh-pudong": "浦东新区", "sh-xuhui": "徐汇区",
         "zj-jiaxing": "嘉兴", "js-suzhou": "苏州"}


class Failure(Exception):
    """A step that did not happen; the message says which."""


def stop_daemon(process, name, timeout=30):
    """SIGTERM (unless it has exited already), and the daemon must exit 0 within `timeout` seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise Failure(f"{name} did not stop within {timeout} s of SIGTERM")
    if code != 0:
        raise Failure(f"{name} exited {code} on SIGTERM, expected 0")


class LocalFederation:
    """Daemons of a federation made by deploy/make-federation.py under one directory, started and stopped as processes."""

    def __init__(self, xgate, out, nodes, pull_interval=10, log_level="info", fresh=True, base_port=None):
        self.xgate = os.path.abspath(xgate)
        self.out = out
        self.processes = {}
        port = base_port or 21443 + (os.getpid() % 400) * 15
        command = [sys.executable, os.path.join(REPO, "deploy/make-federation.py"), "--xgate", self.xgate, "--out", out,
                   "--nodes", ",".join(nodes), "--base-port", str(port), "--contracts", os.path.join(REPO, "Contracts"),
                   "--peers", os.path.join(REPO, "Peers"), "--pull-interval", str(pull_interval), "--log-level", log_level]
        if fresh:
            command.append("--fresh")
        made = subprocess.run(command, check=True, capture_output=True, text=True)
        self.urls = json.loads(made.stdout.strip().splitlines()[-1])["nodes"]
        self.token_file = os.path.join(out, "pki", "operator.token")

    def config(self, node):
        return os.path.join(self.out, node, "xgate.yaml")

    def start(self, node, env=None, ready=None):
        """Starts a daemon and waits until it answers /readyz (`ready` checks that; default: a successful CLI status)."""
        log = open(os.path.join(self.out, f"{node}.log"), "ab")
        # Its own session: Ctrl-C reaches this script, which stops the daemons in order, not every process at once.
        self.processes[node] = subprocess.Popen([self.xgate, "serve", "--config", self.config(node)], stdout=log, stderr=log,
                                                env=dict(os.environ, **(env or {})), start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.processes[node].poll() is not None:
                raise Failure(f"{node} exited with {self.processes[node].returncode} at start; see {self.out}/{node}.log")
            if (ready or self.answers)(node):
                return
            time.sleep(0.2)
        raise Failure(f"{node} did not become ready; see {self.out}/{node}.log")

    def answers(self, node):
        result = subprocess.run([self.xgate, "status", "--config", self.config(node), "--token-file", self.token_file, "--json"],
                                capture_output=True)
        return result.returncode == 0

    def kill9(self, node):
        self.processes[node].send_signal(signal.SIGKILL)
        self.processes[node].wait()

    def stop(self, node):
        """SIGTERM, and the daemon must exit 0 within 30 s."""
        process = self.processes.get(node)
        if process:
            stop_daemon(process, node)

    def stop_all(self):
        """SIGTERM to every daemon at once (each also closes its client connections to the others), then wait."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for node in list(self.processes):
            try:
                self.stop(node)
            except Failure as failure:
                print(f"warning: {failure}")

    def cli(self, node, *args, expect=0):
        result = subprocess.run([self.xgate, *args, "--config", self.config(node), "--token-file", self.token_file, "--json"],
                                capture_output=True, text=True)
        if result.returncode != expect:
            raise Failure(f"xgate {' '.join(args)} at {node}: exit {result.returncode}, expected {expect}: {result.stderr.strip()}")
        return json.loads(result.stdout) if result.returncode == 0 and result.stdout.strip() else result

    def sign_document(self, node, typ, payload):
        """A JWS of `payload` signed with `node`'s key by Python's cryptography, not xgate (as a Java or Python partner
        would); `typ` is xgate-batch+json, xgate-ack+json …"""
        import base64
        from cryptography.hazmat.primitives import serialization
        with open(os.path.join(self.out, "keys", f"{node}.key"), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        with open(os.path.join(self.out, "keys", f"{node}.jwk.json")) as f:
            kid = json.load(f)["kid"]

        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        protected = b64(json.dumps({"alg": "EdDSA", "kid": kid, "typ": typ}, separators=(",", ":")).encode())
        encoded = b64(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
        signature = b64(key.sign(f"{protected}.{encoded}".encode()))
        return json.dumps({"protected": protected, "payload": encoded, "signature": signature}).encode()

    def post_as(self, sender, node, path, body):
        """POSTs a signed document to `node` over mutual TLS with `sender`'s certificate; returns (status, parsed answer)."""
        import ssl
        import urllib.error
        import urllib.request
        pki = os.path.join(self.out, "pki")
        context = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
        context.load_cert_chain(os.path.join(pki, f"{sender}.crt"), os.path.join(pki, f"{sender}.key"))
        request = urllib.request.Request(self.urls[node] + path, data=body, method="POST",
                                         headers={"Content-Type": "application/jose+json"})
        try:
            with urllib.request.urlopen(request, context=context, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def count(self, node, owner=None, status=None):
        """Records held by a node (read-only; WAL readers never block the daemon)."""
        path = os.path.join(self.out, node, "store.sqlite")
        if not os.path.exists(path):
            return 0
        query, args = "SELECT count(*) FROM records WHERE 1 = 1", []
        if owner:
            query, args = query + " AND owner = ?", args + [owner]
        if status:
            query, args = query + " AND status = ?", args + [status]
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(query, args).fetchone()[0]


# ------------------------------------------------------------------------------------------------------------------
# Realistic records
# ------------------------------------------------------------------------------------------------------------------

sys.path.insert(0, os.path.join(REPO, "Tests", "interop"))
from check_examples import organisation_code_check, uscc_check_character  # noqa: E402  (GB 11714, GB 32100)

ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc(prefix: str, division: str, rng: random.Random) -> str:
    """A USCC with correct check characters: registration authority and type, division, organisation code + check."""
    body = "MA" + "".join(rng.choice(ORG_ALPHABET) for _ in range(6))
    first17 = prefix + division + body + organisation_code_check(body)
    return first17 + uscc_check_character(first17)


def example(path):
    with open(os.path.join(REPO, "Contracts", "examples", path)) as f:
        return json.load(f)["instance"]


AUTHORITIES = {
    "sh-songjiang": ("上海市松江区市场监督管理局", "310117"),
    "sh-pudong": ("上海市浦东新区市场监督管理局", "310115"),
    "sh-xuhui": ("上海市徐汇区市场监督管理局", "310104"),
}
COMPANY_WORDS = ["九亭", "泗泾", "洞泾", "佘山", "车墩", "新桥", "张江", "金桥", "川沙", "三林", "陆家嘴", "漕河泾", "徐家汇",
                 "华泾", "龙华", "康健", "田林", "枫林", "凌云", "虹梅"]
COMPANY_TRADES = [("餐饮管理", "有限公司"), ("食品", "有限公司"), ("供应链管理", "有限公司"), ("科技", "有限公司"),
                  ("建筑工程", "有限公司"), ("商贸", "有限公司"), ("医药", "有限公司"), ("物业管理", "有限公司")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["建国", "伟", "芳", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明华", "立新", "思远"]


def company(node, rng):
    name = "上海" + rng.choice(COMPANY_WORDS) + "".join(rng.sample("鑫辰汇源联泰华盛嘉瑞博远", 2)) + "".join(rng.choice(COMPANY_TRADES))
    return {"type": "legal-person", "name": name, "uscc": uscc("91", AUTHORITIES[node][1], rng),
            "legalRepresentative": {"name": rng.choice(SURNAMES) + rng.choice(GIVEN)}}


def district_records(node, count, rng):
    """Licences (松江) or penalties (浦东, 徐汇), dated in the weeks before today."""
    authority_name, division = AUTHORITIES[node]
    authority = {"name": authority_name, "uscc": uscc("11", division, random.Random(division))}
    short = {"sh-songjiang": "松", "sh-pudong": "浦", "sh-xuhui": "徐"}[node]
    code = {"sh-songjiang": "SJ", "sh-pudong": "PD", "sh-xuhui": "XH"}[node]
    records = []
    for i in range(count):
        day = 2 + i % 18
        if node == "sh-songjiang":
            record = example("record-administrative-licence/valid/food-business-licence.json")
            record["sourceId"] = f"SJ-AMR-XK-2026-{i + 1:05d}"
            record["data"].update(decisionNumber=f"沪松市监食许〔2026〕第{i + 1:05d}号", decisionDate=f"2026-11-{day:02d}",
                                  validFrom=f"2026-11-{day:02d}", validTo=f"2031-11-{day - 1:02d}",
                                  licenceNumber=f"JY1310117{i + 1:07d}",
                                  content="经营项目：预包装食品销售、热食类食品制售；经营场所：上海市松江区九亭镇某路某号。")
        else:
            record = example("record-administrative-penalty/valid/fine-and-confiscation-legal-person.json")
            record["sourceId"] = f"{code}-AMR-CF-2026-{i + 1:06d}"
            record["data"].update(decisionNumber=f"沪市监{short}处〔2026〕{i + 1:06d}号", decisionDate=f"2026-11-{day:02d}")
        record["subject"] = company(node, rng)
        record["data"]["authority"] = authority
        record["data"]["dataSource"] = authority
        records.append(record)
    return records


def debtor_records(count, rng):
    """The dishonest judgment debtor list of 上海市第一中级人民法院 (entered at the city)."""
    court = {"name": "上海市第一中级人民法院", "uscc": uscc("11", "310000", random.Random("court"))}
    records = []
    for i in range(count):
        record = example("record-dishonest-judgment-debtor/valid/legal-person-partial.json")
        record["sourceId"] = f"SH1ZY-SX-2026-{i + 1:05d}"
        record["subject"] = company(rng.choice(list(AUTHORITIES)), rng)
        record["data"].update(caseNumber=f"（2026）沪01执{1200 + i}号", court=court, executionBasisUnit=court["name"],
                              executionBasisNumber=f"（2025）沪01民初{3400 + i}号", publishDate="2026-11-10")
        record["data"]["obligation"] = f"被告{record['subject']['name']}于判决生效之日起十日内支付货款人民币{(i + 3) * 37000:,}元及利息。"
        records.append(record)
    return records


# ------------------------------------------------------------------------------------------------------------------
# The demo
# ------------------------------------------------------------------------------------------------------------------

def say(text):
    print(text, flush=True)


def submit(fed, node, records):
    path = os.path.join(fed.out, f"seed-{node}.ndjson")
    with open(path, "w") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    result = fed.cli(node, "push", path, "--chunk", "1000")
    applied = result["summary"].get("applied", 0)
    duplicate = result["summary"].get("duplicate", 0)
    rejected = result["summary"].get("rejected", 0)
    if rejected:
        raise Failure(f"seeding {node}: {rejected} records rejected: {json.dumps(result['results'][:3], ensure_ascii=False)}")
    return applied, duplicate


def wait(description, predicate, timeout=120, progress=None):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        if predicate():
            return
        if progress:
            line = progress()
            if line != last:
                say("  " + line)
                last = line
        time.sleep(0.5)
    raise Failure(f"timed out after {timeout} s waiting for {description}")


def demo(fed, records_per_district):
    rng = random.Random(2026)
    seeds = {node: district_records(node, records_per_district, rng) for node in AUTHORITIES}
    debtors = debtor_records(max(10, records_per_district // 4), rng)
    say("\n== 1. seeding records through each node's operator API")
    for node, records in seeds.items():
        applied, duplicate = submit(fed, node, records)
        say(f"  {NAMES[node]} ({node}): {len(records)} records, {applied} new, {duplicate} already held")
    applied, duplicate = submit(fed, "sh-city", debtors)
    say(f"  上海市第一中级人民法院 at the city: {len(debtors)} dishonest judgment debtors, {applied} new, {duplicate} already held")
    total = sum(len(r) for r in seeds.values()) + len(debtors)

    say("\n== 2. flowing: districts → city → partners (嘉兴, 苏州) and the joint lists back to the districts")
    shared = len(seeds["sh-pudong"]) + len(seeds["sh-xuhui"]) + len(seeds["sh-songjiang"]) + len(debtors)

    def progress():
        return " · ".join(f"{NAMES[n]} {fed.count(n)}" for n in NODES)

    wait("the city to hold every district record and the list",
         lambda: fed.count("sh-city") >= total, progress=progress)
    wait("嘉兴 and 苏州 to hold what the agreements share", lambda: all(fed.count(p) >= shared for p in ("zj-jiaxing", "js-suzhou")),
         progress=progress)
    say("  " + progress())

    source_id = seeds["sh-xuhui"][0]["sourceId"]
    key = f"sh-xuhui/administrative-penalty/{source_id}"
    say(f"\n== 3. a repair (信用修复) at the city of {key}")
    started = time.time()
    record = fed.cli("sh-city", "record", key)
    if record["status"]["value"] != "repaired":
        fed.cli("sh-city", "repair", key, "--reason", "当事人已履行行政处罚决定并公开作出信用承诺，准予信用修复",
                "--basis", "《上海市社会信用条例》第四十条；沪信修〔2026〕第15号")

    def tracked():
        return [c for c in fed.cli("sh-city", "corrections")["corrections"] if c["key"]["sourceId"] == source_id]

    def holders():
        # The nodes of this federation the city sent the record to. The sample registry names more partners (安徽,
        # 浙江, 江苏 provinces and cities) that run nowhere here: the record and its repair wait in their queues.
        return [c for c in tracked() if c["peer"] in NODES]

    def acknowledged():
        here = holders()
        return here and all(c["acknowledgedAt"] for c in here)

    wait("every holder here to acknowledge the repair", acknowledged, timeout=120,
         progress=lambda: ", ".join(f"{c['peer']} {'acknowledged' if c['acknowledgedAt'] else 'waiting'}" for c in holders()))
    elapsed = (time.time() - started) * 1000
    here = holders()
    waiting = [c["peer"] for c in tracked() if c["peer"] not in NODES]
    for partner in ("zj-jiaxing", "js-suzhou"):
        shown = fed.cli(partner, "record", key)["status"]["value"]
        if shown != "repaired":
            raise Failure(f"{partner} shows {shown}, not repaired")
    say(f"  acknowledged by {', '.join(NAMES[c['peer']] + ' (' + c['peer'] + ')' for c in here)}: 嘉兴 and 苏州 show it repaired "
        f"({elapsed:.0f} ms)")
    if waiting:
        say(f"  queued for {len(waiting)} more partners of the registry that are not running here ({', '.join(waiting)})")
    return total, len(here), elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["run", "smoke"])
    parser.add_argument("--xgate", default=os.path.join(REPO, ".build/debug/xgate"))
    parser.add_argument("--data", default=os.path.join(REPO, "out", "federation"))
    parser.add_argument("--fresh", action="store_true", help="remove the data directory first")
    parser.add_argument("--records", type=int, default=40, help="records per district (default 40)")
    parser.add_argument("--base-port", type=int, default=18443)
    args = parser.parse_args()

    fresh = args.fresh or not os.path.exists(os.path.join(args.data, "pki", "ca.crt"))
    say(f"xgate local federation: {len(NODES)} daemons on loopback, HTTPS with mutual TLS; data in {args.data}"
        + (" (fresh)" if fresh else " (reused; --fresh starts over)"))
    fed = LocalFederation(args.xgate, args.data, NODES, pull_interval=5, fresh=fresh, base_port=args.base_port)
    interrupted = []
    signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    try:
        step = "starting the daemons"
        for node in NODES:
            fed.start(node)
            say(f"  {NAMES[node]:<14} {node:<13} {fed.urls[node]}")
        step = "the demo"
        total, holders, elapsed = demo(fed, args.records)
        if args.mode == "smoke":
            fed.stop_all()
            say(f"smoke: {len(NODES)} nodes, {total} records, repair acknowledged by {holders}/{holders} holders in {elapsed:.0f} ms")
            return 0
        with open(fed.token_file) as f:
            token = f.read().strip()
        say("\n== the federation is running")
        for node in NODES:
            say(f"  {NAMES[node]:<14} {fed.urls[node]}/console   (API {fed.urls[node]}/v1/operator/status)")
        say(f"  operator token: {token}   (file {fed.token_file}; CA certificate {os.path.join(args.data, 'pki', 'ca.crt')})")
        say(f"  CLI: {args.xgate} status --config {fed.config('sh-city')} --token-file {fed.token_file}")
        say("  Ctrl-C stops every daemon.")
        while not interrupted:
            for node, process in fed.processes.items():
                if process.poll() is not None:
                    raise Failure(f"{node} exited with {process.returncode}; see {args.data}/{node}.log")
            time.sleep(0.5)
        say("\nstopping …")
        fed.stop_all()
        say("every daemon stopped; run again to continue with the same data, or with --fresh to start over")
        return 0
    except Failure as failure:
        say(f"{args.mode}: FAILED during {step}: {failure}")
        for node in NODES:
            path = os.path.join(args.data, f"{node}.log")
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    lines = f.readlines()[-5:]
                say(f"--- {path} (last lines)\n" + "".join(lines))
        fed.stop_all()
        return 1
    finally:
        fed.stop_all()


if __name__ == "__main__":
    sys.exit(main())
