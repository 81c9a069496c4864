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
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "deploy"))
from federation import NODES, Failure, LocalFederation  # noqa: E402

REPAIRED = "sh-xuhui/administrative-penalty/XH-AMR-CF-2026-000001"
# Each page, and text it must show (from the smoke federation's data).
PAGES = [
    ("/console", "peers", ["Peers", "sh-xuhui", "zj-jiaxing", "Queue depth", "Circuit"]),
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
