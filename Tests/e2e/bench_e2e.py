#!/usr/bin/env python3
"""End-to-end benchmark with real daemons on loopback (`make bench-e2e`; release build):

    python3 Tests/e2e/bench_e2e.py --xgate .build/release/xgate --bench-engine .build/release/xgate-bench-engine \
        [--records 20000] [--corrections 100] [--keep DIR]

Eleven `xgate serve` processes over HTTPS with mutual TLS (a development PKI from deploy/make-federation.py): 徐汇
(sh-xuhui), the city (sh-city) and nine partner cities of the Yangtze River Delta and the G60 corridor.

1. Ingest, district → city: RECORDS realistic penalties are entered at 徐汇 while the city is down, then the city
   starts and 徐汇 pushes them (signed batches of 1,000, a window of them in flight, each answered by a signed receipt). The rate is
   measured at the city, from the first record it holds to the last (its store polled every 20 ms). The city relays
   every record to the partners that an agreement names (queued; the partners are still down).
2. The engine's ceiling in the same run: xgate-bench-engine --city-only applies the same number of records, signed
   徐汇 → city, in process (the city's pipelined receive, relaying, of batches made beforehand), and the sqlite3 CLI's
   records + history ceiling; and the same two nodes' work in one process (徐汇's engine makes, signs and sends its
   batches from its store, the city's applies them, 徐汇 takes the receipts): what the daemons, HTTPS and mutual TLS
   cost, told apart from what making the batches costs on the same cores. Run after the daemons stop, so that nothing
   else competes for the two cores.
3. Corrections: the nine partners start and receive the records; then CORRECTIONS repairs (信用修复) are entered at 徐汇
   one after another, each timed from the operator's request until all nine partners hold the repaired status
   (their stores polled every 5 ms): 徐汇 → city → nine partners, each hop a signed batch and a signed receipt.
4. Peak memory (VmHWM) of the city daemon over both phases, and the city's store bytes per record it relayed (the
   store's files after the daemons stopped, divided by the records: each is stored once, whatever number of peers).
5. The peer baseline (Tests/e2e/pg_replication.py): PostgreSQL 15 logical replication between two clusters made and
   removed under .build/, of the same records (the same NDJSON lines, byte for byte), in transactions of 1,000 rows.
6. Ingest again with the city as 2 instances on one PostgreSQL database behind HAProxy (the city of make smoke-ha, on
   the cluster XGATE_TEST_POSTGRES names: make bench-e2e runs under deploy/postgres/pgcluster.py run), the same
   records from the same 徐汇, the rate measured in the database; each instance's peak memory. --no-postgres leaves
   out 5 and 6.

The last lines:
    e2e ingest R rec/s, engine ceiling C rec/s, ratio X.XX
    e2e ingest R rec/s, district → city in process D rec/s, ratio Y.YY
    e2e ingest R rec/s, postgres logical replication P rows/s, ratio R/P
    e2e ingest, city on PostgreSQL (2 instances) Q rec/s, city on SQLite R rec/s, ratio Q/R
    e2e ingest, city on PostgreSQL (2 instances) Q rec/s, postgres logical replication P rows/s, ratio Q/P
    correction to 9 partners p50 A ms p99 B ms
"""
import argparse
import json
import math
import os
import shutil
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_daemons import REPO, Failure, Federation, make_records, wait_for  # noqa: E402
from pg_replication import replicate  # noqa: E402

PARTNERS = ["zj-jiaxing", "zj-hangzhou", "zj-huzhou", "zj-jinhua", "js-suzhou", "js-province", "ah-hefei", "ah-wuhu",
            "ah-xuancheng"]
NODES = ["sh-city", "sh-xuhui"] + PARTNERS


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class Stores:
    """Read-only connections to the nodes' SQLite stores (WAL: readers never block the daemon's writer)."""

    def __init__(self, fed):
        self.fed = fed
        self.connections = {}

    def connection(self, node):
        if node not in self.connections:
            path = os.path.join(self.fed.out, node, "store.sqlite")
            self.connections[node] = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        return self.connections[node]

    def count(self, node, owner="sh-xuhui"):
        return self.connection(node).execute("SELECT count(*) FROM records WHERE owner = ?", (owner,)).fetchone()[0]

    def status(self, node, source_id):
        row = self.connection(node).execute(
            "SELECT status FROM records WHERE owner = 'sh-xuhui' AND kind = 'administrative-penalty' AND source_id = ?",
            (source_id,)).fetchone()
        return row[0] if row else None


def ingest_rate(count, records, where):
    """Polls `count()` every 20 ms until it reaches `records`: the rate from the first record held to the last, the
    records counted in it (those after the first reading that held any) and its seconds."""
    first = None
    while True:
        held = count()
        now = time.time()
        if first is None and held > 0:
            first = (now, held)
        if held >= records:
            return (records - first[1]) / (now - first[0]), records - first[1], now - first[0]
        if now - (first[0] if first else now) > 600:
            raise Failure(f"{where} holds {held} of {records} records after 10 minutes")
        time.sleep(0.02)


def ingest_city_on_postgres(args, bulk, cluster):
    """Phase 1 again with the city as two `xgate serve` instances on one PostgreSQL database (`store.url`) behind
    HAProxy at the city's address (test_ha.City), the same 徐汇 and the same records: entered while the city is down,
    then both instances start and 徐汇 pushes (HAProxy spreads its connections over both). The rate is measured at the
    database, from the first record it holds to the last (polled every 20 ms). Returns (rec/s, peak MB per instance)."""
    from test_ha import City  # noqa: E402 — the city of make smoke-ha
    from test_instances import psql  # noqa: E402
    out = tempfile.mkdtemp(prefix="xgate-bench-e2e-pg-", dir=os.path.join(REPO, ".build"))
    fed = Federation(args.xgate, out, nodes=NODES, pull_interval=10, log_level="notice")
    psql(cluster, "DROP DATABASE IF EXISTS xgate_bench WITH (FORCE)")
    psql(cluster, "CREATE DATABASE xgate_bench")
    city = City(fed, cluster.rpartition("/")[0] + "/xgate_bench")
    try:
        fed.start("sh-xuhui", env={"XGATE_ENGINE_RETRYBASESECONDS": "1"})
        fed.cli("sh-xuhui", "push", bulk, "--chunk", "5000")
        city.proxy.start()
        city.start("a")
        city.start("b")
        rate, counted, seconds = ingest_rate(lambda: city.sql("SELECT count(*) FROM records WHERE owner = 'sh-xuhui'")[0][0],
                                             args.records, "the city on PostgreSQL")
        peaks = {name: peak_rss_mb(process.pid) for name, process in sorted(city.processes.items())}
        print(f"ingest at the city on PostgreSQL (2 instances behind HAProxy): {args.records:,} records, {counted:,} "
              f"of them in {seconds:.2f} s after the first batch → {rate:,.0f} rec/s; peak memory (VmHWM) "
              + ", ".join(f"instance {name} {mb:.0f} MB" for name, mb in peaks.items()))
        return rate, peaks
    finally:
        for name in list(city.processes):
            city.stop(name)
        city.proxy.stop()
        fed.stop_all()
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


def operator_post(fed, node, path, body):
    with open(fed.token_file) as f:
        token = f.read().strip()
    context = ssl.create_default_context(cafile=os.path.join(fed.out, "pki", "ca.crt"))
    request = urllib.request.Request(fed.urls[node] + path, data=json.dumps(body, ensure_ascii=False).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, context=context, timeout=60) as response:
        return response.status, json.loads(response.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--xgate", required=True)
    parser.add_argument("--bench-engine", required=True)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--corrections", type=int, default=100)
    parser.add_argument("--keep", help="keep the federation's files in this directory")
    parser.add_argument("--ingest-only", action="store_true", help="stop after the ingest figure (for profiling)")
    parser.add_argument("--no-postgres", action="store_true",
                        help="leave out the city on PostgreSQL and the PostgreSQL logical replication baseline")
    args = parser.parse_args()
    if args.records % 1000:
        sys.exit("--records must be a multiple of 1000")
    out = args.keep or tempfile.mkdtemp(prefix="xgate-bench-e2e-", dir=os.path.join(REPO, ".build"))
    fed = Federation(args.xgate, out, nodes=NODES, pull_interval=10, log_level="notice")
    print(f"bench-e2e: {len(NODES)} daemons on loopback, HTTPS with mutual TLS; files in {out}; {os.cpu_count()} cores")
    try:
        # 1. Ingest.
        bulk = os.path.join(out, "bulk.ndjson")
        make_records(bulk, args.records, prefix="XH-BENCH")
        fed.start("sh-xuhui", env={"XGATE_ENGINE_RETRYBASESECONDS": "1", **({"XGATE_ENGINE_WINDOW": os.environ["BENCH_E2E_WINDOW"]} if "BENCH_E2E_WINDOW" in os.environ else {})})
        started = time.time()
        fed.cli("sh-xuhui", "push", bulk, "--chunk", "5000")
        print(f"entered {args.records:,} records at 徐汇 in {time.time() - started:.1f} s (the city is down: they wait in 徐汇's queue)")
        fed.start("sh-city", env={"XGATE_LOG_LEVEL": os.environ.get("BENCH_E2E_LOG_LEVEL", "notice")})
        stores = Stores(fed)
        ingest, counted, seconds = ingest_rate(lambda: stores.count("sh-city"), args.records, "the city")
        print(f"ingest at the city: {args.records:,} records, {counted:,} of them in {seconds:.2f} s after the "
              f"first batch → {ingest:,.0f} rec/s; peak memory (VmHWM) of the city daemon so far "
              f"{peak_rss_mb(fed.processes['sh-city'].pid):.0f} MB")
        if args.ingest_only:
            return

        # 3. Corrections.
        for partner in PARTNERS:
            fed.start(partner)
        started = time.time()
        shared = args.records  # every record is a legal-person penalty: city-to-partners shares it (ID numbers masked)
        wait_for("every partner to hold the records", lambda: all(stores.count(p) >= shared for p in PARTNERS), timeout=1800)

        def relayed():  # the city's pushes done too (a partner may hold everything by pull first)
            peers = {p["peer"]: p for p in fed.cli("sh-city", "status")["peers"]}
            return all(peers.get(p, {}).get("queueDepth") == 0 and peers.get(p, {}).get("batchesInFlight") == 0 for p in PARTNERS)

        wait_for("the city's queues to the partners to drain", relayed, timeout=1800)
        print(f"the city relayed {shared:,} records to each of {len(PARTNERS)} partners in {time.time() - started:.1f} s")
        totals, arrivals, at_city = [], [], []
        for i in range(args.corrections):
            source_id = f"XH-BENCH-{i:06d}"
            started = time.perf_counter()
            status, value = operator_post(fed, "sh-xuhui", f"/v1/operator/records/sh-xuhui/administrative-penalty/{source_id}/status",
                                          {"status": "repaired", "reason": "当事人已履行行政处罚决定并作出信用承诺，准予信用修复",
                                           "basis": f"沪徐信修〔2026〕第{i + 1}号"})
            if status != 200:
                raise Failure(f"repair {source_id}: {status} {value}")
            waiting = set(PARTNERS)
            city_pending = True
            while waiting:
                if city_pending and stores.status("sh-city", source_id) == "repaired":
                    city_pending = False
                    at_city.append((time.perf_counter() - started) * 1000)
                for partner in list(waiting):
                    if stores.status(partner, source_id) == "repaired":
                        waiting.discard(partner)
                        arrivals.append((time.perf_counter() - started) * 1000)
                if time.perf_counter() - started > 120:
                    raise Failure(f"repair {source_id} had not reached {sorted(waiting)} after 120 s")
                time.sleep(0.005)
            totals.append((time.perf_counter() - started) * 1000)
            if totals[-1] > 1000:
                print(f"  slow: {source_id} took {totals[-1]:.0f} ms (sent at {time.strftime('%H:%M:%S', time.gmtime(time.time() - totals[-1] / 1000))} UTC)")
        city_peak = peak_rss_mb(fed.processes["sh-city"].pid)
        partner_peak = max(peak_rss_mb(fed.processes[p].pid) for p in PARTNERS)
        print(f"corrections: {args.corrections} repairs at 徐汇, each timed until all {len(PARTNERS)} partners hold it: "
              f"p50 {percentile(totals, 50):.0f} ms, p90 {percentile(totals, 90):.0f} ms, p99 {percentile(totals, 99):.0f} ms, "
              f"max {max(totals):.0f} ms")
        print(f"  per partner arrival ({len(arrivals)}): p50 {percentile(arrivals, 50):.0f} ms, p99 {percentile(arrivals, 99):.0f} ms; "
              f"at the city (徐汇 → city, {len(at_city)}): p50 {percentile(at_city, 50):.0f} ms, p99 {percentile(at_city, 99):.0f} ms")
        print(f"peak memory (VmHWM): city daemon {city_peak:.0f} MB over ingest and corrections; largest partner daemon "
              f"{partner_peak:.0f} MB")
    except Failure as failure:
        print(f"FAIL: {failure}")
        fed.stop_all()
        sys.exit(1)
    finally:
        fed.stop_all()

    store_files = [os.path.join(out, "sh-city", name) for name in ("store.sqlite", "store.sqlite-wal")]
    store_bytes = sum(os.path.getsize(path) for path in store_files if os.path.exists(path))
    print(f"the city's store: {store_bytes:,} bytes for {args.records:,} records relayed to {len(PARTNERS)} partners → "
          f"{store_bytes / args.records:,.0f} bytes per relayed record")

    # 2. The engine in process, the same number of records, nothing else running.
    engine = subprocess.run([args.bench_engine, "--no-million", "--runs", "1", "--batches", str(args.records // 1000), "--city-only",
                             "--dir", os.path.join(REPO, ".build")], capture_output=True, text=True)
    if engine.returncode != 0:
        print(engine.stdout, engine.stderr)
        sys.exit("bench-e2e: xgate-bench-engine failed")
    lines = engine.stdout.strip().splitlines()
    line = lines[-1]  # "city pipelined R rec/s, sqlite3 ceiling C rec/s"
    ceiling = float(line.replace(",", "").split()[2])
    # "district → city in process (…) D rec/s": 徐汇's engine making and sending, the city's applying, one process
    pair_line = next(l for l in lines if l.startswith("district → city in process"))
    pair = float(pair_line.split()[-2])
    print(f"engine in process (xgate-bench-engine --city-only, {args.records:,} records): {line}; {pair_line}")
    # 5. PostgreSQL logical replication of the same lines, nothing else running.
    if args.no_postgres:
        baseline = None
    else:
        baseline = replicate(bulk, os.path.join(REPO, ".build", "pg-baseline"))
        print(f"postgres logical replication of the same {baseline['rows']:,} records ({baseline['bytes']:,} bytes): "
              f"{baseline['rate']:,.0f} rows/s, {baseline['seconds']:.2f} s from the publisher's first commit to the subscriber's last")
    # 1 again, the city on PostgreSQL (2 instances), nothing else running.
    on_postgres = None
    if not args.no_postgres:
        cluster = os.environ.get("XGATE_TEST_POSTGRES", "")
        if not cluster:
            sys.exit("bench-e2e: XGATE_TEST_POSTGRES is not set (run it under deploy/postgres/pgcluster.py run, as make bench-e2e does, "
                     "or pass --no-postgres)")
        try:
            on_postgres, _ = ingest_city_on_postgres(args, bulk, cluster)
        except Failure as failure:
            print(f"FAIL: {failure}")
            sys.exit(1)
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    print(f"e2e ingest {ingest:.0f} rec/s, engine ceiling {ceiling:.0f} rec/s, ratio {ingest / ceiling:.2f}")
    print(f"e2e ingest {ingest:.0f} rec/s, district → city in process {pair:.0f} rec/s, ratio {ingest / pair:.2f}")
    if baseline:
        print(f"e2e ingest {ingest:.0f} rec/s, postgres logical replication {baseline['rate']:.0f} rows/s, ratio {ingest / baseline['rate']:.2f}")
    if on_postgres:
        print(f"e2e ingest, city on PostgreSQL (2 instances) {on_postgres:.0f} rec/s, city on SQLite {ingest:.0f} rec/s, "
              f"ratio {on_postgres / ingest:.2f}")
        if baseline:
            print(f"e2e ingest, city on PostgreSQL (2 instances) {on_postgres:.0f} rec/s, postgres logical replication "
                  f"{baseline['rate']:.0f} rows/s, ratio {on_postgres / baseline['rate']:.2f}")
    print(f"correction to {len(PARTNERS)} partners p50 {percentile(totals, 50):.0f} ms p99 {percentile(totals, 99):.0f} ms")


if __name__ == "__main__":
    main()
