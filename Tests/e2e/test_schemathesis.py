#!/usr/bin/env python3
"""Contracts/openapi.yaml against a real daemon, by schemathesis (run by `make test`):

    python3 Tests/e2e/test_schemathesis.py --xgate .build/debug/xgate [--keep DIR] [--max-examples N]

The city (sh-city) and 徐汇 (sh-xuhui) run as `xgate serve` over mutual TLS with a development PKI made by
deploy/make-federation.py; 松江 (sh-songjiang) is enrolled but not running, so its certificate is an outside peer's.
徐汇 enters the sample export (deploy/samples/xuhui-export.ndjson), the city repairs one of those records, and 松江
pushes the city a batch with one invalid change, so the log, corrections, rejections and feed hold something.

Then schemathesis (property-based testing from the OpenAPI document) calls every operation of the city: operators'
(`/v1/operator/…`) with the bearer token, peers' (`/v1/batches`, `/v1/feed`, `/v1/feed/snapshot`,
`/v1/acknowledgements`) with 松江's client certificate, the probes without credentials, verifying the server against
the federation CA. Phases: the document's examples, coverage (boundary values, every documented constraint broken
one at a time, methods the path does not have), and fuzzing. Every answer is checked: no 5xx, a documented status, the
documented content type, headers and body schema; data breaking the document refused (4xx), data the document allows
accepted; operator calls without the token refused; a 405 naming the allowed methods (`Allow`).

Deterministic: schemathesis' deterministic generation (Hypothesis derandomized, so no seed) and no example database.
Bounded: a few fuzzing examples per operation, 2 workers, a per-request timeout and a hard limit on the whole run
(about 2–3 minutes on 2 cores). Exit 0 with `schemathesis: N operations, M test cases, 0 findings in T s`; otherwise
each distinct finding (operation, check, the request as a curl line, the answer's status and body) and exit 1. The
daemons are stopped (SIGTERM) in every case.
"""
import argparse
import base64
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "deploy"))
from federation import Failure, LocalFederation  # noqa: E402

NODES = ["sh-city", "sh-xuhui", "sh-songjiang"]
RUNNING = ["sh-city", "sh-xuhui"]
SAMPLES = os.path.join(REPO, "deploy/samples/xuhui-export.ndjson")
REPAIRED = "sh-xuhui/administrative-penalty/XH-AMR-CF-2026-00871"
# schemathesis sends far more than the 50 requests a second (burst 100) operators may make together: the 429s that
# would follow are documented, but they would hide every other answer. The limits are raised for this test only.
# The contract is fuzzed here, not the connection guard (test_hardening.py floods that): schemathesis opens a connection
# per session and leaves the old ones idle, and a keep-alive connection the guard closes for a newcomer at the moment
# the client reuses it is an aborted request schemathesis reports as a runtime error, not a finding. So the budgets are
# wide here, and the request rate is not limited.
LIMITS = {"XGATE_LIMITS_REQUESTSPERSECOND": "100000", "XGATE_LIMITS_BURST": "100000",
          "XGATE_LIMITS_ANONYMOUSCONNECTIONS": "900", "XGATE_LIMITS_CONNECTIONSPERADDRESS": "900",
          "XGATE_LIMITS_CONNECTIONSPERPEER": "900", "XGATE_LIMITS_IDLETIMEOUTSECONDS": "600"}
RUN_LIMIT_SECONDS = 240  # the whole schemathesis run; a run that takes longer is a failure of its own


def wait_for(description, predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.3)
    raise Failure(f"timed out after {timeout} s waiting for {description}")


def seed(fed, out):
    """Something in every list the GET operations return: records, a correction, log entries, a rejection."""
    result = fed.cli("sh-xuhui", "push", SAMPLES)
    if result["summary"].get("applied", 0) + result["summary"].get("duplicate", 0) != 5:
        raise Failure(f"push at 徐汇: {result}")
    wait_for("the city to hold 徐汇's 5 records", lambda: fed.count("sh-city", owner="sh-xuhui") == 5)
    fed.cli("sh-city", "repair", REPAIRED, "--reason", "当事人已履行行政处罚决定并公开作出信用承诺，准予信用修复",
            "--basis", "《上海市社会信用条例》第四十条")
    # 松江 pushes the city one valid and one invalid change (a wrong USCC check character): a rejection at the city.
    with open(SAMPLES) as f:
        record = json.loads(f.readline())
    good, bad = json.loads(json.dumps(record)), json.loads(json.dumps(record))
    good["sourceId"], bad["sourceId"] = "SJ-ST-0001", "SJ-ST-0002"
    uscc = bad["subject"]["uscc"]
    bad["subject"]["uscc"] = uscc[:-1] + ("0" if uscc[-1] != "0" else "1")
    records = os.path.join(out, "songjiang.ndjson")
    with open(records, "w") as f:
        for r in (good, bad):
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "keys", "sh-songjiang.jwk.json")) as f:
        kid = json.load(f)["kid"]
    signed = subprocess.run([fed.xgate, "batch", "sign", "--contracts", os.path.join(REPO, "Contracts"),
                             "--key", os.path.join(out, "keys", "sh-songjiang.key"), "--kid", kid, "--from", "sh-songjiang",
                             "--to", "sh-city", "--sequence", "1", "--allow-invalid", records], capture_output=True)
    if signed.returncode != 0:
        raise Failure(f"batch sign: {signed.stderr.decode()}")
    status, body = fed.post_as("sh-songjiang", "sh-city", "/v1/batches", signed.stdout)
    if status != 200:
        raise Failure(f"松江's batch to the city: {status} {body[:300]!r}")


def write_config(fed, out, args):
    """schemathesis.toml: where, with which credentials, which checks, how much."""
    pki = os.path.join(out, "pki")
    with open(fed.token_file) as f:
        token = f.read().strip()

    owner, kind, source_id = REPAIRED.split("/")

    def q(value):
        return json.dumps(value)  # a TOML basic string

    lines = [
        f"base-url = {q(fed.urls['sh-city'])}",
        f"tls-verify = {q(os.path.join(pki, 'ca.crt'))}",
        "workers = 2",
        "request-timeout = 20",
        "continue-on-failure = true",
        "",
        "[generation]",
        f"max-examples = {args.max_examples}",
        "deterministic = true",      # Hypothesis derandomized: the same cases every run (no seed needed)
        'database = "none"',         # no .hypothesis directory, nothing carried over from an earlier run
        "",
        "[phases]",
        "stateful.enabled = false",  # the document has no links; nothing for a state machine to chain
        "",
        # 413 is a refusal too (`request.too-many-records` for more than maxItems records, documented as TooLarge).
        "[checks.negative_data_rejection]",
        'expected-statuses = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]',
        "",
        # The operator token for every operation whose security is `operatorToken` (and ignored_auth drops it).
        "[auth.openapi.operatorToken]",
        f"bearer = {q(token)}",
        "",
        # mutualTLS is not something schemathesis can negotiate from the document: 松江's certificate for the peer
        # operations only (operators' and probes' calls go without one, as an operator's or a prober's would).
        "[[operations]]",
        'include-tag = "peers"',
        f"request-cert = {q(os.path.join(pki, 'sh-songjiang.crt'))}",
        f"request-cert-key = {q(os.path.join(pki, 'sh-songjiang.key'))}",
        "",
        # positive_data_acceptance expects 2xx (or 401/403/404/409) for data the document allows. Some operations
        # cannot meet that with generated data, whatever the daemon does, so the refusals their descriptions give for
        # it are expected too (everything else the check still catches, e.g. a 400 for a schema-valid parameter):
        # a batch or an acknowledgement is a JWS whose Ed25519 signature, key id and payload (x-xgate-payload-schema)
        # random strings never satisfy (401 signature/key, 422 jws.* / payload.*); a feed cursor is opaque and only
        # one the node issued is valid (422 feed.cursor); a status decision must be an allowed transition (422
        # status.transition, below); only a dead batch can be requeued and a random peer is unknown (422
        # batch.not-dead / peer.unknown). use_after_free, ensure_resource_availability and object_level_authorization
        # stay on but have nothing to do here: no links, no DELETE, one operator identity.
        "[[operations]]",
        'include-operation-id-regex = "^(pushBatch|acknowledgeCorrections)$"',
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "409", "413", "422"]',
        "",
        "[[operations]]",
        'include-operation-id = "pullFeed"',
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "422"]',
        "",
        # A record that exists (徐汇's, repaired at the city), so the record view and status decisions answer 200 and
        # their bodies are checked too; random keys would only ever get 404.
        "[[operations]]",
        'include-operation-id-regex = "^(record|decideStatus)$"',
        f'parameters = {{ "path.owner" = "{owner}", "path.kind" = "{kind}", "path.sourceId" = "{source_id}" }}',
        "",
        # A valid decision is not always an allowed transition of the record's status (PROTOCOL.md §6.3): 422
        # status.transition is the documented answer to, say, `active` after `repaired`; 404 for another record.
        "[[operations]]",
        'include-operation-id = "decideStatus"',
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "422"]',
        "",
        "[[operations]]",
        'include-operation-id = "requeue"',
        'checks.positive_data_acceptance.expected-statuses = ["2xx", "404", "422"]',
        "",
    ]
    path = os.path.join(out, "schemathesis.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def run_schemathesis(config, out):
    """The CLI, with an NDJSON event log (every case, check and answer) and the JSON verdict."""
    reports = os.path.join(out, "schemathesis-report")
    shutil.rmtree(reports, ignore_errors=True)  # a --keep directory used before: only this run's reports
    verdict_path, events_path = os.path.join(reports, "verdict.json"), os.path.join(reports, "events.ndjson")
    command = [sys.executable, "-m", "schemathesis.cli", "--config-file", config, "run", os.path.join(REPO, "Contracts/openapi.yaml"),
               "--report", "ndjson,json", "--report-ndjson-path", events_path, "--report-json-path", verdict_path, "--no-color"]
    started = time.time()
    try:
        # cwd: schemathesis writes nothing into the repository
        done = subprocess.run(command, cwd=out, capture_output=True, text=True, timeout=RUN_LIMIT_SECONDS)
    except subprocess.TimeoutExpired:
        raise Failure(f"schemathesis did not finish within {RUN_LIMIT_SECONDS} s")
    elapsed = time.time() - started
    if not os.path.exists(verdict_path) or not os.path.exists(events_path):
        raise Failure(f"schemathesis left no report (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    with open(verdict_path) as f:
        verdict = json.load(f)
    with open(events_path) as f:
        events = [json.loads(line) for line in f if line.strip()]
    return verdict, events, elapsed, done


def body_text(value, limit=None):
    if value is None:
        return ""
    if isinstance(value, dict) and "$base64" in value:
        value = base64.b64decode(value["$base64"]).decode("utf-8", "replace")
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if limit is None or len(text) <= limit else text[:limit] + "…"


def curl_line(fed, out, request, peer):
    """The request as a curl command that can be pasted (credentials from the federation's files)."""
    pki = os.path.join(out, "pki")
    parts = ["curl", "-sS", "-i", "--cacert", os.path.join(pki, "ca.crt")]
    if peer:
        parts += ["--cert", os.path.join(pki, "sh-songjiang.crt"), "--key", os.path.join(pki, "sh-songjiang.key")]
    parts += ["-X", request["method"]]
    bearer = False
    for name, value in request.get("headers", {}).items():
        if name.lower() == "authorization":
            bearer = True
            continue
        parts += ["-H", f"{name}: {value[0] if isinstance(value, list) else value}"]
    body = request.get("body")
    if body is not None:
        text = body_text(body)
        parts += ["--data-binary", text if len(text) <= 300 else text[:300] + f"…[{len(text)} characters]"]
    parts.append(request["uri"])
    line = " ".join(shlex.quote(part) for part in parts)
    if bearer:
        line += f' -H "Authorization: Bearer $(cat {shlex.quote(fed.token_file)})"'
    return line


def cause_of(check, failure, interaction):
    """What a finding is about, so that one cause shown by many generated requests is reported once: for a refusal
    missing, the request component the data broke (a parameter, the body); for an answer that should not have come,
    its status and problem code; otherwise schemathesis' message."""
    message = " ".join((failure.get("message") or "").split())
    if check == "negative_data_rejection" and "Invalid component: " in message:
        return message.split("Invalid component: ", 1)[1].split(" - ", 1)[0]
    response = (interaction or {}).get("response")
    if check in ("positive_data_acceptance", "status_code_conformance") and response:
        try:
            code = json.loads(body_text(response.get("content"))).get("code")
        except (ValueError, AttributeError):
            code = None
        return f"{response['status_code']} {code or ''}".strip()
    return message


def findings_of(events):
    """Each failed check once per (operation, check, cause), with the shortest request that showed it."""
    found = {}
    for event in events:
        scenario = event.get("ScenarioFinished")
        if not scenario:
            continue
        recorder = scenario.get("recorder", {})
        interactions = recorder.get("interactions", {})
        for case_id, checks in recorder.get("checks", {}).items():
            for check in checks:
                if check.get("status") != "failure":
                    continue
                failure = check.get("failure_info", {}).get("failure", {})
                interaction = interactions.get(failure.get("case_id") or case_id) or interactions.get(case_id)
                operation = failure.get("operation") or recorder.get("label")
                key = (operation, check["name"], cause_of(check["name"], failure, interaction))
                size = len(json.dumps(interaction["request"])) if interaction else 1 << 30
                if key not in found or size < found[key][0]:
                    found[key] = (size, failure, interaction)
    return {key: (failure, interaction) for key, (_, failure, interaction) in found.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xgate", required=True)
    parser.add_argument("--keep", help="keep the federation's files and schemathesis' reports in this directory")
    parser.add_argument("--max-examples", type=int, default=150, help="fuzzing cases per operation (default 150)")
    args = parser.parse_args()
    out = os.path.abspath(args.keep or tempfile.mkdtemp(prefix="xgate-schemathesis-"))
    fed = LocalFederation(args.xgate, out, NODES, pull_interval=1)
    code = 1
    try:
        for node in RUNNING:
            # The city pushes to its districts and only the peers in sync.pulledBy may read its feed (403
            # feed.not-subscribed otherwise): 松江, whose certificate schemathesis presents, pulls here, so the feed
            # operations are exercised rather than refused.
            env = dict(LIMITS, XGATE_SYNC_PULLEDBY="sh-songjiang") if node == "sh-city" else LIMITS
            fed.start(node, env=env)
        seed(fed, out)
        config = write_config(fed, out, args)
        verdict, events, elapsed, done = run_schemathesis(config, out)
        findings = findings_of(events)
        errors = verdict.get("errors") or []
        operations = (verdict.get("operations") or {}).get("tested", 0)
        cases = verdict["test_cases"]["generated"]
        if not findings and not errors and done.returncode == 0:
            print(f"schemathesis: {operations} operations, {cases} test cases, 0 findings in {elapsed:.0f} s")
            code = 0
        else:
            peers = {"POST /v1/batches", "GET /v1/feed", "GET /v1/feed/snapshot", "POST /v1/acknowledgements"}
            for (operation, check, cause), (failure, interaction) in sorted(findings.items()):
                print(f"FINDING {operation} · {check} · {failure.get('title')} ({cause})")
                message = " ".join((failure.get("message") or "").split())
                if message:
                    print("  " + message[:400])
                if interaction:
                    print("  " + curl_line(fed, out, interaction["request"], operation in peers))
                    response = interaction.get("response")
                    if response:
                        print(f"  → {response['status_code']} {body_text(response.get('content'), 300)}")
            for error in errors:
                print(f"ERROR {error['title']} ({error['count']}×)")
            if errors:
                # The verdict names an error only by its title; the CLI's own account (the operation, the exception,
                # the request that raised it) is in its output, from its ERRORS section on.
                text = done.stdout
                start = text.find("ERRORS")
                print(text[start:start + 4000] if start >= 0 else text[-4000:])
            if not findings and not errors:
                print(f"schemathesis exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
            print(f"schemathesis: {operations} operations, {cases} test cases, {len(findings)} findings in {elapsed:.0f} s"
                  + (f" (reports in {out}/schemathesis-report)" if args.keep else ""))
    except Failure as failure:
        print(f"FAIL: {failure}")
    finally:
        fed.stop_all()
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
