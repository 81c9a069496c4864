#!/usr/bin/env python3
"""The web console in a real browser (headless Chromium, Debian's chromium package), against real daemons.

    python3 Tests/console/test_console.py --xgate .build/debug/xgate --data .build/smoke [--shots .build/console-shots]

Uses the federation `make smoke` left in DATA (records seeded, a repair acknowledged): starts the city daemon on it,
starts Chromium with the DevTools protocol, signs in through the login form with the operator token, loads every page,
checks its key content (a batch reached from the sync log with its receipt; the charts), saves a screenshot of each,
and checks that a signed-out browser is sent back to the login.
Each page prints ok or the test fails saying which page lacked what.
"""
import argparse
import base64
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

import websocket

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "deploy"))
from federation import NODES, Failure, LocalFederation  # noqa: E402

REPAIRED = "sh-xuhui/administrative-penalty/XH-AMR-CF-2026-000001"
CONFLICTED = "sh-xuhui/administrative-penalty/XH-AMR-CF-2026-000002"
# Each page, and text it must show (from the smoke federation's data).
PAGES = [
    ("/console", "peers", ["Peers", "sh-xuhui", "zj-jiaxing", "Queue depth", "Acks owed", "Circuit"]),
    ("/console/log?event=batch.", "log", ["Sync log", "batch.received", "sh-xuhui"]),
    ("/console/corrections", "corrections", ["Corrections", "repaired", "zj-jiaxing", "js-suzhou"]),
    (f"/console/records/{REPAIRED}", "record", ["Lineage", "repaired", "from", "zj-jiaxing"]),
    ("/console/rejections", "rejections", ["Rejected records", "Export as CSV"]),
    ("/console/conflicts", "conflicts", ["Conflicts"]),
    ("/console/reports/timeliness?month=2026-11", "timeliness", ["Timeliness 2026-11", "上海市徐汇区市场监督管理局", "及时率"]),
    ("/console/charts", "charts", ["Throughput", "Lag and queue", "records in / min"]),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """Chromium over the DevTools protocol: navigate, evaluate, screenshot."""

    def __init__(self, profile):
        self.port = free_port()
        self.process = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--ignore-certificate-errors",
             f"--remote-debugging-port={self.port}", f"--user-data-dir={profile}", "--window-size=1400,1000", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list", timeout=2) as r:
                    targets = [t for t in json.load(r) if t.get("type") == "page"]
                if targets:
                    break
            except OSError:
                pass
            if time.time() > deadline:
                raise Failure("Chromium did not open its DevTools port")
            time.sleep(0.3)
        self.socket = websocket.create_connection(targets[0]["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0
        self.call("Page.enable")

    def call(self, method, **params):
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise Failure(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def open(self, url):
        self.call("Page.navigate", url=url)
        deadline = time.time() + 30
        while time.time() < deadline:
            time.sleep(0.2)
            if self.evaluate("document.readyState") == "complete" and self.evaluate("location.href") != "about:blank":
                return
        raise Failure(f"{url} did not load")

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.socket.close()
        finally:
            self.process.terminate()
            self.process.wait(timeout=10)


def conflict(fed, browser, base, shots):
    """A second version 1 of one of 徐汇's penalties, with another fine — what a second 徐汇 gateway started on an old
    copy of its store would send — signed in Python and pushed to the city over mutual TLS as 徐汇. The conflicts page
    shows both versions side by side; the operator keeps the other one with the form, and it becomes version 2."""
    key = CONFLICTED.split("/")
    held = fed.cli("sh-city", "record", CONFLICTED)["state"]
    record = json.loads(json.dumps(held["content"]["record"]))
    old_fine = record["data"]["penaltyContent"]
    fine = float(record["data"]["fineAmount"]) + 1
    record["data"]["fineAmount"] = f"{fine:g}"
    record["data"]["penaltyContent"] = re.sub(r"罚款人民币[\d,]+元", f"罚款人民币{int(fine * 10000):,}元", old_fine)
    new_fine = record["data"]["penaltyContent"]
    if new_fine == old_fine:
        raise Failure(f"the sample penalty's content has no fine to change: {old_fine}")
    with sqlite3.connect(f"file:{os.path.join(fed.out, 'sh-city', 'store.sqlite')}?mode=ro", uri=True) as db:
        row = db.execute("SELECT next_sequence FROM channels WHERE peer = 'sh-xuhui' AND direction = 'inbound'").fetchone()
    at = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(time.time() + 8 * 3600))
    change = {"key": {"owner": key[0], "kind": key[1], "sourceId": key[2]},
              "content": {"version": held["content"]["version"], "author": "sh-xuhui", "at": at, "record": record},
              "status": held["statusHistory"][0]}
    batch = fed.sign_document("sh-xuhui", "xgate-batch+json", {"protocol": "xgate/1", "batchId": str(uuid.uuid4()), "from": "sh-xuhui",
                                                      "to": "sh-city", "sequence": row[0] if row else 1, "createdAt": at,
                                                      "changes": [change]})
    status, answer = fed.post_as("sh-xuhui", "sh-city", "/v1/batches", batch)
    if status != 200:
        raise Failure(f"the conflicting batch was refused: {status} {answer[:300]!r}")
    payload = json.loads(base64.urlsafe_b64decode(json.loads(answer)["payload"] + "=="))
    if payload["outcomes"][0]["outcome"] != "conflict":
        raise Failure(f"the second version 1 was not a conflict: {payload['outcomes']}")

    browser.open(base + "/console/conflicts")
    text = browser.evaluate("document.body.innerText") or ""
    for expected in (key[2], "Held", "Other", "Fields that differ", "/data/fineAmount", "/data/penaltyContent",
                     old_fine.split("；")[-1], new_fine.split("；")[-1]):
        if expected not in text:
            raise Failure(f"the conflicts page lacks {expected!r}: {text[:400]!r}")
    if "/data/decisionNumber" in text or "/subject" in text:
        raise Failure("the conflicts page lists fields that are the same in both versions as different")
    browser.screenshot(os.path.join(shots, "conflict.png"))
    chosen = browser.evaluate(
        "(() => { const f = [...document.querySelectorAll('form[action=\"/console/conflicts/resolve\"]')]"
        f".find(f => f.parentElement.innerText.includes({json.dumps(new_fine.split('；')[-1])}));"
        " if (!f) return false; f.submit(); return true; })()")
    if not chosen:
        raise Failure("no override form next to the incoming version")
    deadline = time.time() + 15
    while "No conflicts." not in (browser.evaluate("document.body.innerText") or ""):
        if time.time() > deadline:
            raise Failure(f"after the override the page shows: {(browser.evaluate('document.body.innerText') or '')[:300]!r}")
        time.sleep(0.2)
    resolved = fed.cli("sh-city", "record", CONFLICTED)["state"]
    content = resolved["content"]
    if content["version"] != held["content"]["version"] + 1 or content["record"]["data"]["penaltyContent"] != new_fine \
            or resolved.get("conflicts"):
        raise Failure(f"the override did not become the next version: {content['version']} {content['record']['data']}")
    browser.open(base + f"/console/records/{CONFLICTED}")
    text = browser.evaluate("document.body.innerText") or ""
    for expected in ("one of 2 rival copies of version 1 (a conflict)", "resolves the conflict of version 1, keeping"):
        if expected not in text:
            raise Failure(f"the record's history lacks {expected!r}: {text[:400]!r}")
    browser.screenshot(os.path.join(shots, "record-after-conflict.png"))
    print(f"ok  /console/conflicts: both versions side by side; keeping the incoming one made it version {content['version']}; "
          "the record's history shows both copies and the override")


def charts(browser, base):
    """The charts read samples the store kept across restarts (the smoke run's daemons took one as they stopped)."""
    browser.open(base + "/console/charts?hours=24")
    text = browser.evaluate("document.body.innerText") or ""
    found = re.search(r"(\d+) samples? in the last 24 h", text)
    lines = browser.evaluate("document.querySelectorAll('svg polyline').length")
    if not found or int(found.group(1)) < 1 or not lines:
        raise Failure(f"the charts show no kept sample ({lines} lines): {text[:300]!r}")
    print(f"ok  /console/charts?hours=24: {found.group(1)} sample(s) kept from earlier runs, {lines} lines drawn")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xgate", required=True)
    parser.add_argument("--data", required=True, help="the directory of a federation made by make smoke")
    parser.add_argument("--shots", default=os.path.join(REPO, ".build", "console-shots"))
    args = parser.parse_args()
    if not shutil.which("chromium"):
        sys.exit("test_console: chromium is not installed (deploy/install-deps.sh installs it)")
    os.makedirs(args.shots, exist_ok=True)
    fed = LocalFederation(args.xgate, args.data, NODES, fresh=False, base_port=18443, log_level="notice")
    profile = tempfile.mkdtemp(prefix="xgate-chromium-")
    browser = None
    try:
        fed.start("sh-city")
        base = fed.urls["sh-city"]
        with open(fed.token_file) as f:
            token = f.read().strip()
        browser = Browser(profile)
        browser.open(base + "/console")
        if "/console/login" not in browser.evaluate("location.href"):
            raise Failure("an unsigned browser was not sent to the login page")
        browser.screenshot(os.path.join(args.shots, "login.png"))
        # Sign in through the form, as an operator would.
        browser.evaluate(f"document.querySelector('input[name=token]').value = {json.dumps(token)};"
                         "document.querySelector('form').submit(); true")
        deadline = time.time() + 15
        while not browser.evaluate("location.pathname === '/console' && document.readyState === 'complete'"):
            if time.time() > deadline:
                raise Failure(f"signing in did not reach /console (at {browser.evaluate('location.href')})")
            time.sleep(0.2)
        print("ok  signed in through the login form")
        for path, name, expected in PAGES:
            browser.open(base + path)
            text = browser.evaluate("document.body.innerText") or ""
            missing = [e for e in expected if e not in text]
            if missing:
                raise Failure(f"{path} lacks {missing}; it shows: {text[:300]!r}")
            browser.screenshot(os.path.join(args.shots, f"{name}.png"))
            print(f"ok  {path}: {', '.join(expected)}")
        # A batch from the sync log: its receipt and each record's outcome.
        browser.open(base + "/console/log?event=batch.received")
        link = browser.evaluate("(document.querySelector('a[href^=\"/console/batches/\"]') || {}).href || ''")
        if not link:
            raise Failure("the sync log links no batch")
        browser.open(link)
        text = browser.evaluate("document.body.innerText") or ""
        for expected in ("Received from", "Receipt this node returned", "applied", "Records ("):
            if expected not in text:
                raise Failure(f"the batch page {link} lacks {expected!r}: {text[:300]!r}")
        browser.screenshot(os.path.join(args.shots, "batch.png"))
        print(f"ok  a batch from the sync log: its receipt and per-record outcomes ({link.rsplit('/', 1)[-1]})")

        conflict(fed, browser, base, args.shots)
        charts(browser, base)

        browser.open(base + "/console")
        browser.evaluate("document.querySelector('form[action=\"/console/logout\"]').submit(); true")
        time.sleep(1)
        browser.open(base + "/console/corrections")
        if "/console/login" not in browser.evaluate("location.href"):
            raise Failure("after signing out the console still answered")
        print(f"ok  signed out: back to the login page; screenshots in {args.shots}")
        print("console: all pages passed in headless Chromium")
    except Failure as failure:
        print(f"FAIL: {failure}")
        sys.exit(1)
    finally:
        if browser:
            browser.close()
        fed.stop_all()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
