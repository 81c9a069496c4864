#!/usr/bin/env python3
"""The city as two instances on PostgreSQL behind HAProxy, one of them killed again and again (`make smoke-ha`, and
`make test`):

    python3 deploy/postgres/pgcluster.py run .build/pg-ha -- \\
        python3 Tests/e2e/test_ha.py --xgate .build/debug/xgate [--records 3000] [--kills 5] [--keep DIR]

The federation: the city (sh-city) as two `xgate serve` processes on one PostgreSQL database (`store.url`; a database
`xgate_ha` on the cluster of $XGATE_TEST_POSTGRES), each on its own port, behind HAProxy (deploy/haproxy/cityproxy.py,
TCP passthrough) at the city's one address — the address in every peer's registry; three districts (徐汇 sh-xuhui,
浦东新区 sh-pudong, 松江 sh-songjiang) that push licences and penalties to it; two G60 partners (嘉兴 zj-jiaxing,
苏州 js-suzhou) that pull its feed, all on SQLite.

1. The districts take `--records` records in all (their departments' exports, through `xgate push`) and push them
   to the city, which relays them to the partners; then the city repairs (信用修复) some of 徐汇's penalties. While all
   this flows, one city instance is killed with kill -9 at a random instant, `--kills` times (the first two kills one
   of each, the others picked at random), and started again after a random pause, beside the takeover. After each
   kill the time until every lease the dead instance held names a live one is measured (takeover).
2. Then, checked in PostgreSQL: every district record at the city exactly once, with one content version (nothing
   applied twice), the city's inbox from each district 1, 2, 3 … without a gap or a repeat; at each partner exactly
   the records the agreement city-to-partners gives it (every district record: licences and penalties of legal
   persons), its inbox from the city without a gap; every repair shown as repaired at both partners and at 徐汇 and
   acknowledged by every holder; both instances applied batches of one district at least (the per-instance counters
   of /metrics: one sender's batches were answered by either instance, in order).
3. Backup and restore: `pg_dump` of the city's database; more records at 徐汇 reach the city; the instances stop, the
   database is restored from the dump (it no longer holds them), the instances start: 徐汇's next batch is answered
   `sequence.gap`, 徐汇 sends again from the sequence the city expects, and the city holds every record once again.

`make test` runs it with 3,000 records (about 100 s of pushing in a debug build on two cores; `--records 20000` for
the issue's figure).

The last line: `smoke-ha: 2 city instances on PostgreSQL, N records, K kill -9, 0 lost, 0 applied twice, takeover max T s`
— or FAIL naming what was seen, exit 1.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "deploy"))
sys.path.insert(0, os.path.join(REPO, "deploy", "haproxy"))
sys.path.insert(0, os.path.join(REPO, "Tests", "e2e"))
from cityproxy import Proxy  # noqa: E402
from federation import Failure, LocalFederation, district_records, stop_daemon  # noqa: E402
from test_instances import psql, psql_rows  # noqa: E402

DISTRICTS = ["sh-xuhui", "sh-pudong", "sh-songjiang"]
PARTNERS = ["zj-jiaxing", "js-suzhou"]
NODES = ["sh-city"] + DISTRICTS + PARTNERS
PG_BIN = "/usr/lib/postgresql/15/bin"
# Retries of failed pushes start at 1 s (not the default 5): a push that met a dying instance is sent again soon.
FAST = {"XGATE_ENGINE_RETRYBASESECONDS": "1"}
# The districts send batches of 100 changes (not 1,000): many batches per sender, so that both instances answer
# batches of one sender, and a kill loses less work in flight.
DISTRICT = dict(FAST, XGATE_ENGINE_MAXCHANGESPERBATCH="100")


def check(condition, message):
    if not condition:
        raise Failure(message)


def say(text):
    print(text, flush=True)


class City:
    """The city's instances on one PostgreSQL database, behind HAProxy at the address the registry gives the city."""

    def __init__(self, fed, url):
        self.fed = fed
        self.url = url
        port = int(fed.urls["sh-city"].rsplit(":", 1)[1])
        self.address = f"127.0.0.1:{port}"
        self.instances = {"a": f"127.0.0.1:{port + 7}", "b": f"127.0.0.1:{port + 8}"}
        self.processes = {}
        self.incarnations = {name: 0 for name in self.instances}
        self.proxy = Proxy(os.path.join(fed.out, "haproxy"))
        self.proxy.write(self.address, list(self.instances.values()))
        self.lock = threading.Lock()

    def env(self, name):
        return dict(os.environ, XGATE_STORE_PATH="", XGATE_STORE_URL=self.url, XGATE_SERVER_LISTEN=self.instances[name], **FAST)

    def start(self, name):
        log = open(os.path.join(self.fed.out, f"sh-city-{name}.log"), "ab")
        process = subprocess.Popen([self.fed.xgate, "serve", "--config", self.fed.config("sh-city")], stdout=log, stderr=log,
                                   env=self.env(name), start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            check(process.poll() is None, f"city instance {name} exited with {process.returncode}; see sh-city-{name}.log")
            status = subprocess.run([self.fed.xgate, "status", "--config", self.fed.config("sh-city"), "--token-file",
                                     self.fed.token_file, "--json"], capture_output=True, env=self.env(name))
            if status.returncode == 0:
                with self.lock:
                    self.processes[name] = process
                    self.incarnations[name] += 1
                return process
            time.sleep(0.2)
        raise Failure(f"city instance {name} did not become ready within 60 s")

    def kill9(self, name):
        with self.lock:
            process = self.processes.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait()
        return process.pid

    def stop(self, name):
        with self.lock:
            process = self.processes.pop(name, None)
        if process:
            stop_daemon(process, f"city instance {name}", timeout=60)

    def sql(self, query):
        return psql_rows(self.url, query)

    def leases(self):
        return {name: (holder, expires) for name, holder, expires in self.sql("SELECT name, holder, expires_at_s FROM leases")}

    def batches_in(self, name):
        """The instance's counter xgate_batches_in_total per sender, read from its own /metrics (not through HAProxy)."""
        pki = os.path.join(self.fed.out, "pki")
        context = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
        context.load_cert_chain(os.path.join(pki, "sh-xuhui.crt"), os.path.join(pki, "sh-xuhui.key"))
        context.check_hostname = False
        with urllib.request.urlopen(f"https://{self.instances[name]}/metrics", context=context, timeout=10) as answer:
            text = answer.read().decode()
        counts = {}
        for match in re.finditer(r'^xgate_batches_in_total\{([^}]*)\} (\d+)', text, re.M):
            peer = re.search(r'peer="([^"]+)"', match.group(1))
            if peer:
                counts[peer.group(1)] = counts.get(peer.group(1), 0) + int(match.group(2))
        return counts


def sqlite_rows(fed, node, query):
    path = os.path.join(fed.out, node, "store.sqlite")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        return db.execute(query).fetchall()


def contiguous(sequences):
    return sequences == list(range(1, len(sequences) + 1))


def push_export(fed, node, records, name):
    path = os.path.join(fed.out, f"{name}.ndjson")
    with open(path, "w") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    result = fed.cli(node, "push", path, "--chunk", "1000")
    check(result["summary"].get("applied") == len(records), f"{node} took {result['summary']} of {len(records)} records")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--xgate", required=True)
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--repairs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    parser.add_argument("--keep", help="keep the federation's files in this directory")
    args = parser.parse_args()
    cluster = os.environ.get("XGATE_TEST_POSTGRES", "")
    if not cluster:
        say("FAIL: XGATE_TEST_POSTGRES is not set (run it under deploy/postgres/pgcluster.py run)")
        return 2
    rng = random.Random(args.seed)
    say(f"smoke-ha: seed {args.seed} (--seed {args.seed} replays the kill schedule)")
    out = args.keep or tempfile.mkdtemp(prefix="xgate-ha-")
    if args.keep:
        shutil.rmtree(out, ignore_errors=True)
    fed = LocalFederation(args.xgate, out, NODES, pull_interval=1, log_level="info")
    base = cluster.rpartition("/")[0]
    psql(cluster, "DROP DATABASE IF EXISTS xgate_ha WITH (FORCE)")
    psql(cluster, "CREATE DATABASE xgate_ha")
    city = City(fed, base + "/xgate_ha")
    started = time.time()
    try:
        city.proxy.start()
        city.start("a")
        city.start("b")
        for node in DISTRICTS + PARTNERS:
            fed.start(node, env=DISTRICT if node in DISTRICTS else FAST)
        say(f"ok  the city: 2 instances on PostgreSQL ({city.instances['a']}, {city.instances['b']}) behind HAProxy at "
            f"{city.address}; 3 districts and 2 partners on SQLite ({time.time() - started:.1f} s)")

        # 1. The districts' exports, the repairs, and kill -9 at random instants.
        per = [args.records // len(DISTRICTS) + (1 if i < args.records % len(DISTRICTS) else 0) for i in range(len(DISTRICTS))]
        exports = {node: district_records(node, count, random.Random(node)) for node, count in zip(DISTRICTS, per)}
        keys = {(node, "administrative-licence" if node == "sh-songjiang" else "administrative-penalty", r["sourceId"])
                for node in DISTRICTS for r in exports[node]}
        repaired = [("sh-xuhui", "administrative-penalty", r["sourceId"]) for r in exports["sh-xuhui"][:args.repairs]]
        takeovers, kills, errors, samples = [], [], [], {name: {} for name in city.instances}
        done = threading.Event()

        def sample():
            # The per-instance counters, summed over each instance's lives (a restart starts them at 0). A reading taken
            # across a restart is dropped: it could be the new life's, kept as the old one's.
            for name in list(city.processes):
                life = city.incarnations[name]
                try:
                    counts = city.batches_in(name)
                except Exception:
                    continue
                with city.lock:
                    if city.incarnations[name] == life and name in city.processes:
                        samples[name][life] = counts

        sampling = threading.Event()

        def sampler():
            # Every half second, not only before a kill: an instance's counters die with it, and a fast ingest answers
            # many batches between two kills.
            while not sampling.wait(0.5):
                sample()

        def killer():
            try:
                time.sleep(rng.uniform(1, 4))
                while len(kills) < args.kills:
                    victim = rng.choice(sorted(city.processes))
                    if len(kills) == 1:
                        # The second kill is of the other instance: each dies at least once, and both die while the
                        # districts still push (a district's connections move to the survivor and stay there, so an
                        # instance answers a sender's batches only after the other one died).
                        victim = "b" if kills[0][0] == "a" else "a"
                    sample()
                    held_before = {n for n, (holder, _) in city.leases().items()
                                   if holder.endswith(f":{city.processes[victim].pid}")}
                    pid = city.kill9(victim)
                    killed = time.time()
                    kills.append((victim, pid, round(killed - started, 1)))
                    # The victim restarts beside the takeover, not before it: the takeover is the other instance's
                    # (or the restarted one's), timed from the kill whatever the restart takes.
                    delay = rng.uniform(0.2, 5)
                    ready = []

                    def restart():
                        try:
                            time.sleep(delay)
                            city.start(victim)
                            ready.append(time.time() - killed)
                        except Exception as error:  # noqa: BLE001 — reported by the main thread
                            errors.append(error)

                    restarting = threading.Thread(target=restart, daemon=True)
                    restarting.start()
                    deadline = killed + 60
                    while True:
                        leases = city.leases()
                        left = [n for n in held_before if leases.get(n, ("",))[0].endswith(f":{pid}")]
                        if not left:
                            break
                        check(time.time() < deadline, f"leases {left} of the killed instance {victim} were not taken over within 60 s")
                        time.sleep(0.2)
                    takeovers.append(time.time() - killed)
                    restarting.join(timeout=90)
                    check(victim in city.processes, f"city instance {victim} did not restart")
                    say(f"  kill -9 of instance {victim} (pid {pid}) at {killed - started:.1f} s: its {len(held_before)} leases "
                        f"held again {takeovers[-1]:.1f} s after (it was ready again after {ready[0] if ready else float('nan'):.1f} s)")
                    time.sleep(rng.uniform(1, 6))
            except Exception as error:  # noqa: BLE001 — reported by the main thread
                errors.append(error)
            finally:
                done.set()

        thread = threading.Thread(target=killer, daemon=True)
        thread.start()
        threading.Thread(target=sampler, daemon=True).start()
        for node in DISTRICTS:
            push_export(fed, node, exports[node], f"export-{node}")
        say(f"  {sum(per)} records taken by the districts ({', '.join(f'{n} {c}' for n, c in zip(DISTRICTS, per))}), "
            f"{time.time() - started:.1f} s")

        def at_city():
            return city.sql("SELECT count(*) FROM records WHERE owner IN ('sh-xuhui', 'sh-pudong', 'sh-songjiang')")[0][0]

        def wait(description, predicate, timeout):
            deadline = time.time() + timeout
            while time.time() < deadline:
                if errors:
                    raise errors[0]
                if predicate():
                    return
                time.sleep(1)
            raise Failure(f"timed out after {timeout} s waiting for {description}")

        wait(f"the city to hold the {args.records} district records", lambda: at_city() >= args.records, 1200)
        say(f"  the city holds {at_city()} district records ({time.time() - started:.1f} s)")

        # 2. What every node holds.
        def partner_keys(partner):
            return set(sqlite_rows(fed, partner, "SELECT owner, kind, source_id FROM records WHERE owner IN "
                                   "('sh-xuhui', 'sh-pudong', 'sh-songjiang')"))

        wait("both partners to hold every district record",
             lambda: all(len(partner_keys(p)) >= len(keys) for p in PARTNERS), 900)
        # The repairs come once every holder has the records: a record repaired before it reached a partner in another
        # region is never sent there (the outbound rule), which is right but would make the partners' sets differ.
        for owner, kind, source_id in repaired:
            key = f"{owner}/{kind}/{source_id}"
            for attempt in range(10):
                try:
                    if fed.cli("sh-city", "record", key)["status"]["value"] != "repaired":
                        fed.cli("sh-city", "repair", key, "--reason", "当事人已履行行政处罚决定并公开作出信用承诺，准予信用修复",
                                "--basis", "《上海市社会信用条例》第四十条；沪信修〔2026〕第15号")
                    break
                except Failure:
                    # The instance that answered through HAProxy was killed mid-request: ask again (the repair is
                    # looked up first, so it is never made twice).
                    time.sleep(1)
            else:
                raise Failure(f"the repair of {key} was not taken after 10 attempts")
        say(f"  {len(repaired)} repairs (信用修复) of 徐汇 penalties made at the city through HAProxy, after every holder had them")
        done.wait(timeout=600)
        if errors:
            raise errors[0]
        check(len(kills) >= args.kills, f"only {len(kills)} kills happened")
        sample()
        sampling.set()

        def repairs_acknowledged():
            rows = city.sql("SELECT source_id, peer, acknowledged_at FROM corrections WHERE owner = 'sh-xuhui' AND peer IN ("
                            + ",".join(f"'{n}'" for n in NODES) + ")")
            holders = {}
            for source_id, peer, acknowledged in rows:
                holders.setdefault(source_id, []).append((peer, acknowledged))
            return all(k[2] in holders and all(a not in ("", None) for _, a in holders[k[2]]) for k in repaired) and holders

        wait("every holder to acknowledge every repair", repairs_acknowledged, 600)
        holders = repairs_acknowledged()

        stored = city.sql("SELECT owner, kind, source_id FROM records WHERE owner IN ('sh-xuhui', 'sh-pudong', 'sh-songjiang')")
        check(len(stored) == len(set(stored)) == len(keys) and set(stored) == keys,
              f"the city holds {len(stored)} district records ({len(set(stored))} distinct), expected exactly the {len(keys)} made")
        versions = city.sql("SELECT count(*), count(DISTINCT (owner, kind, source_id)) FROM record_history "
                            "WHERE part = 'content' AND owner IN ('sh-xuhui', 'sh-pudong', 'sh-songjiang')")[0]
        check(versions == (len(keys), len(keys)), f"content versions at the city {versions}, expected one per record ({len(keys)})")
        for district in DISTRICTS:
            inbox = [row[0] for row in city.sql(f"SELECT sequence FROM inbox WHERE sender = '{district}' ORDER BY sequence")]
            check(contiguous(inbox), f"the city's inbox from {district} has a gap or a repeat: {inbox[:5]} … ({len(inbox)})")
            dead = city.sql(f"SELECT count(*) FROM outbound_batches WHERE peer = '{district}' AND state = 'dead'")[0][0]
            check(dead == 0, f"{dead} dead batches from the city to {district}")
        for partner in PARTNERS:
            held = partner_keys(partner)
            check(held == keys, f"{partner} holds {len(held)} district records, {len(held - keys)} not made and "
                  f"{len(keys - held)} missing (the agreement gives it all {len(keys)})")
            inbox = [row[0] for row in sqlite_rows(fed, partner, "SELECT sequence FROM inbox WHERE sender = 'sh-city' ORDER BY sequence")]
            check(inbox == [] or contiguous(inbox), f"{partner}'s inbox from the city has a gap or a repeat")
            statuses = dict(((o, k, s), v) for o, k, s, v in sqlite_rows(
                fed, partner, "SELECT owner, kind, source_id, status FROM records WHERE owner = 'sh-xuhui'"))
            wrong = [k for k in repaired if statuses.get(k) != "repaired"]
            check(not wrong, f"{partner} does not show {len(wrong)} repairs: {wrong[:3]}")
        xuhui = dict(((o, k, s), v) for o, k, s, v in sqlite_rows(fed, "sh-xuhui", "SELECT owner, kind, source_id, status FROM records"))
        check(all(xuhui.get(k) == "repaired" for k in repaired), "徐汇 does not show every repair of its penalties")
        per_instance = {name: {} for name in city.instances}
        for name, lives in samples.items():
            for counts in lives.values():
                for peer, count in counts.items():
                    per_instance[name][peer] = per_instance[name].get(peer, 0) + count
        # Which instance answers a district's connection is HAProxy's choice (leastconn) and the kills': one sender's
        # batches answered by both instances is required of at least one district, not of each.
        shared = [d for d in DISTRICTS if all(per_instance[name].get(d, 0) > 0 for name in city.instances)]
        check(shared, f"no district's batches were answered by both instances: {per_instance}")
        say(f"ok  every district record at the city once ({len(keys)}, one content version each), inboxes without gaps; "
            f"both partners hold exactly the {len(keys)} the agreement gives them; {len(repaired)} repairs acknowledged by "
            f"{sorted({p for h in holders.values() for p, _ in h})}; batches answered per instance "
            + "; ".join(f"{name}: " + ", ".join(f"{d} {per_instance[name].get(d, 0)}" for d in DISTRICTS) for name in city.instances))

        # 3. pg_dump, more records, restore: the city lost them, 徐汇 sends them again from the sequence it expects.
        dump = os.path.join(out, "city.dump")
        result = subprocess.run([f"{PG_BIN}/pg_dump", "-Fc", "-f", dump, city.url], capture_output=True, text=True)
        check(result.returncode == 0, f"pg_dump: {result.stderr.strip()}")
        inbox_at_dump = city.sql("SELECT max(sequence) FROM inbox WHERE sender = 'sh-xuhui'")[0][0]
        later = district_records("sh-xuhui", len(exports["sh-xuhui"]) + 60, random.Random("later"))[len(exports["sh-xuhui"]):]
        push_export(fed, "sh-xuhui", later, "export-later")
        later_keys = {("sh-xuhui", "administrative-penalty", r["sourceId"]) for r in later}
        wait("the later 60 records at the city", lambda: at_city() >= len(keys) + len(later), 300)
        for name in list(city.processes):
            city.stop(name)
        restore = time.time()
        psql(cluster, "DROP DATABASE xgate_ha WITH (FORCE)")
        psql(cluster, "CREATE DATABASE xgate_ha")
        result = subprocess.run([f"{PG_BIN}/pg_restore", "--exit-on-error", "-d", city.url, dump], capture_output=True, text=True)
        check(result.returncode == 0, f"pg_restore: {result.stderr.strip()}")
        check(at_city() == len(keys), f"after the restore the city holds {at_city()} district records, expected {len(keys)}")
        city.start("a")
        city.start("b")
        # 徐汇 has nothing new to send: one more record makes its next batch, which the restored city answers with
        # sequence.gap (it expects the sequence after the dump); 徐汇 then sends the lost batches again.
        extra = district_records("sh-xuhui", len(exports["sh-xuhui"]) + 61, random.Random("later"))[-1:]
        extra[0]["sourceId"] = "XH-AMR-CF-2026-RESTORE"
        push_export(fed, "sh-xuhui", extra, "export-extra")
        wait("the city to recover 徐汇's records lost with the restore", lambda: at_city() >= len(keys) + len(later) + 1, 300)
        recovered = time.time() - restore
        stored = set(city.sql("SELECT owner, kind, source_id FROM records WHERE owner IN ('sh-xuhui', 'sh-pudong', 'sh-songjiang')"))
        expected = keys | later_keys | {("sh-xuhui", "administrative-penalty", "XH-AMR-CF-2026-RESTORE")}
        check(stored == expected, f"after the restore the city holds {len(stored)} district records, expected {len(expected)}")
        inbox = [row[0] for row in city.sql("SELECT sequence FROM inbox WHERE sender = 'sh-xuhui' ORDER BY sequence")]
        check(contiguous(inbox), f"the city's inbox from 徐汇 after the restore has a gap or a repeat: {inbox[-5:]}")
        gaps = sqlite_rows(fed, "sh-xuhui", "SELECT count(*) FROM sync_log WHERE peer = 'sh-city' AND event = 'sequence.gap'")[0][0]
        check(gaps >= 1, "徐汇's sync log shows no sequence.gap from the restored city")
        say(f"ok  pg_dump at 徐汇's batch {inbox_at_dump}, 60 more records, restore: 徐汇 was answered sequence.gap and sent again "
            f"from there; the city holds all {len(expected)} once, inbox 1 … {len(inbox)} ({recovered:.1f} s after the restore)")

        for name in list(city.processes):
            city.stop(name)
        fed.stop_all()
        city.proxy.stop()
        say(f"smoke-ha: 2 city instances on PostgreSQL, {len(keys)} records, {len(kills)} kill -9, 0 lost, 0 applied twice, "
            f"takeover max {max(takeovers):.1f} s")
    except Failure as failure:
        say(f"FAIL: {failure} (files in {out})")
        for name, process in list(city.processes.items()):
            process.kill()
        fed.stop_all()
        city.proxy.stop()
        return 1
    if not args.keep:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
