#!/usr/bin/env python3
"""Two instances of the city on one store (run by `make test`, once on SQLite and once on PostgreSQL):

    python3 Tests/e2e/test_instances.py --xgate .build/debug/xgate [--keep DIR] [--postgres URL]

Two `xgate serve` processes of sh-city on one store — one SQLite file, or with `--postgres` one PostgreSQL database
(`store.url`; a database `xgate_instances` is made on the cluster the URL names, e.g. the one `pgcluster.py run`
starts) — each on its own port, and 徐汇 (sh-xuhui), to which the city pushes the joint-punishment list of
上海市第一中级人民法院 (dishonest judgment debtors).

1. Instance A takes the work: the lease `push:sh-xuhui` names it, and B, started after, leaves the channel alone.
2. The list is entered at A while 徐汇 is down: A signs batches and keeps them; then A is killed with kill -9.
3. 徐汇 starts. B takes the channel over once A's lease has expired and delivers A's batches (the same sequences):
   every record once at 徐汇, its inbox from the city 1, 2, 3 … without a gap or a repeat; the takeover is timed.
4. A restarts and waits; B stops with SIGTERM, giving its leases up, and A takes the channel at once: a second list
   entered at A reaches 徐汇.
Each step prints ok or fails with what it saw.
"""
import argparse
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "deploy"))
sys.path.insert(0, os.path.join(REPO, "Tests", "e2e"))
from federation import Failure, LocalFederation, debtor_records  # noqa: E402
from test_daemons import wait_for  # noqa: E402
import random  # noqa: E402

NODES = ["sh-city", "sh-xuhui"]
RETRY = {"XGATE_ENGINE_RETRYBASESECONDS": "1"}


def check(condition, message):
    if not condition:
        raise Failure(message)


class Instances(LocalFederation):
    """The federation, with a second instance of the city (same configuration and store, its own port)."""

    def __init__(self, xgate, out, postgres=None):
        super().__init__(xgate, out, NODES, pull_interval=1, log_level="info")
        port = int(self.urls["sh-city"].rsplit(":", 1)[1])
        self.second = f"127.0.0.1:{port + 7}"
        self.postgres = None
        if postgres:
            base, _, _ = postgres.rpartition("/")
            psql(postgres, "DROP DATABASE IF EXISTS xgate_instances")
            psql(postgres, "CREATE DATABASE xgate_instances")
            self.postgres = base + "/xgate_instances"

    def start_instance(self, name, listen=None):
        env = dict(RETRY, **({"XGATE_SERVER_LISTEN": listen} if listen else {}))
        if self.postgres:
            env.update({"XGATE_STORE_PATH": "", "XGATE_STORE_URL": self.postgres})
        log = open(os.path.join(self.out, f"sh-city-{name}.log"), "ab")
        process = subprocess.Popen([self.xgate, "serve", "--config", self.config("sh-city")], stdout=log, stderr=log,
                                   env=dict(os.environ, **env), start_new_session=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            check(process.poll() is None, f"city instance {name} exited with {process.returncode}; see sh-city-{name}.log")
            status = subprocess.run([self.xgate, "status", "--config", self.config("sh-city"), "--token-file", self.token_file,
                                     "--json"], capture_output=True, env=dict(os.environ, **env))
            if status.returncode == 0:
                return process
            time.sleep(0.2)
        raise Failure(f"city instance {name} did not become ready")

    def store(self, node):
        return sqlite3.connect(f"file:{os.path.join(self.out, node, 'store.sqlite')}?mode=ro", uri=True, timeout=10)

    def city(self, sql):
        """The rows of a query of the city's store (SQLite or PostgreSQL), as tuples of text and numbers."""
        if not self.postgres:
            with self.store("sh-city") as db:
                return db.execute(sql).fetchall()
        return psql_rows(self.postgres, sql)

    def lease(self, name):
        rows = self.city(f"SELECT holder, expires_at_s, epoch FROM leases WHERE name = '{name}'")
        return rows[0] if rows else None

    def inbox_from_city(self):
        with self.store("sh-xuhui") as db:
            return [row[0] for row in db.execute("SELECT sequence FROM inbox WHERE sender = 'sh-city' ORDER BY sequence")]

    def debtors_at_xuhui(self):
        with self.store("sh-xuhui") as db:
            return db.execute("SELECT count(*) FROM records WHERE kind = 'dishonest-judgment-debtor'").fetchone()[0]


def psql(url, sql):
    result = subprocess.run(["/usr/lib/postgresql/15/bin/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"psql {sql!r}: {result.stderr.strip()}")
    return result.stdout


def psql_rows(url, sql):
    """The rows of a query, as tuples of text and numbers (psql's unaligned output; NULL reads as '')."""
    lines = psql(url, sql).splitlines()
    return [tuple(int(v) if v.lstrip("-").isdigit() else v for v in line.split("|")) for line in lines if line]


def submit(fed, records, name):
    path = os.path.join(fed.out, f"{name}.ndjson")
    with open(path, "w") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    result = fed.cli("sh-city", "push", path)
    check(result["summary"].get("applied") == len(records), f"the city took {result['summary']} of {len(records)} records")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xgate", required=True)
    parser.add_argument("--keep", help="keep the federation's files in this directory")
    parser.add_argument("--postgres", help="the city on PostgreSQL: a URL of the cluster (default: $XGATE_TEST_POSTGRES)",
                        nargs="?", const=os.environ.get("XGATE_TEST_POSTGRES", ""))
    args = parser.parse_args()
    if args.postgres == "":
        print("FAIL: --postgres without a URL and no XGATE_TEST_POSTGRES (run it under deploy/postgres/pgcluster.py run)")
        sys.exit(2)
    out = args.keep or tempfile.mkdtemp(prefix="xgate-instances-")
    fed = Instances(args.xgate, out, postgres=args.postgres)
    kind = "PostgreSQL" if args.postgres else "SQLite"
    processes = {}
    try:
        started = time.time()
        lists = debtor_records(120, random.Random(13))
        processes["a"] = fed.start_instance("a")
        a_pid = processes["a"].pid
        submit(fed, lists[:80], "list-1")  # 徐汇 is down: A's batches wait in the store
        wait_for("A to hold the channel to 徐汇", lambda: (fed.lease("push:sh-xuhui") or ("",))[0].endswith(f":{a_pid}"), 15)
        processes["b"] = fed.start_instance("b", listen=fed.second)
        time.sleep(2)
        holder, _, epoch = fed.lease("push:sh-xuhui")
        check(holder.endswith(f":{a_pid}") and epoch == 1, f"B must leave A's channel alone; the lease names {holder}, epoch {epoch}")
        wait_for("A to make its batches to 徐汇 before it dies", lambda: fed.city(
            "SELECT count(*) FROM outbound_batches WHERE peer = 'sh-xuhui' AND state = 'pending'")[0][0] >= 1, 30)
        print(f"ok  instance A holds push:sh-xuhui (epoch 1); B, on the same {kind} store, leaves it alone ({time.time() - started:.1f} s)")

        processes["a"].send_signal(signal.SIGKILL)
        processes["a"].wait()
        killed = time.time()
        fed.start("sh-xuhui", env=RETRY)
        wait_for("徐汇 to hold the 80 records of the list", lambda: fed.debtors_at_xuhui() >= 80, 60)
        takeover = time.time() - killed
        holder, _, epoch = fed.lease("push:sh-xuhui")
        check(holder.endswith(f":{processes['b'].pid}") and epoch == 2, f"B must hold the channel now (epoch 2): {holder}, {epoch}")
        inbox = fed.inbox_from_city()
        check(inbox == list(range(1, len(inbox) + 1)), f"徐汇's inbox from the city has a gap or a repeat: {inbox}")
        check(fed.debtors_at_xuhui() == 80, f"徐汇 holds {fed.debtors_at_xuhui()} debtors, expected 80")
        check(takeover < 20, f"the takeover took {takeover:.1f} s")
        print(f"ok  kill -9 of A: B took the channel over and delivered A's batches ({len(inbox)} in its inbox from the city), 80 records once each, "
              f"takeover {takeover:.1f} s after the kill (lease 10 s)")

        processes["a"] = fed.start_instance("a")
        processes["b"].send_signal(signal.SIGTERM)
        check(processes["b"].wait(timeout=30) == 0, "B must exit 0 on SIGTERM")
        stopped = time.time()
        submit(fed, lists[80:], "list-2")
        wait_for("徐汇 to hold the whole list", lambda: fed.debtors_at_xuhui() >= 120, 30)
        handover = time.time() - stopped
        holder, _, epoch = fed.lease("push:sh-xuhui")
        check(holder.endswith(f":{processes['a'].pid}") and epoch == 3, f"A must hold the channel again (epoch 3): {holder}, {epoch}")
        inbox = fed.inbox_from_city()
        check(inbox == list(range(1, len(inbox) + 1)) and fed.debtors_at_xuhui() == 120, f"after the handover: inbox {inbox}")
        print(f"ok  SIGTERM of B gave its leases up: A took the channel and the next 40 records reached 徐汇 {handover:.1f} s after the stop")
        print(f"instances: 2 city instances on one {kind} store, 120 records, 1 kill -9, 0 lost, 0 applied twice, takeover {takeover:.1f} s")
    except Failure as failure:
        print(f"FAIL: {failure} (files in {out})")
        for process in processes.values():
            if process.poll() is None:
                process.kill()
        fed.stop_all()
        sys.exit(1)
    for process in processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    fed.stop_all()
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
