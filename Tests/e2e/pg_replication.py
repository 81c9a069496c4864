#!/usr/bin/env python3
"""The peer baseline of `make bench-e2e`: PostgreSQL 15 logical replication of the same records between two clusters.

    python3 Tests/e2e/pg_replication.py --records FILE.ndjson [--dir .build/pg-baseline] [--chunk 1000]

Two clusters (deploy/postgres/pgcluster.py) are made under DIR, on loopback: a publisher and a subscriber
(CREATE PUBLICATION / CREATE SUBSCRIPTION, copy_data = false). Every line of FILE — the same NDJSON records the
benchmark enters at 徐汇, byte for byte — becomes a row (source_id, body) inserted at the publisher in transactions of
CHUNK rows (a batch's worth), one COPY each. Timed as the e2e ingest is: from the publisher's first commit until the
subscriber has committed the last row (both read from track_commit_timestamp, one clock), the rows of the first
commit left out. Both clusters are removed afterwards. Prints one line:

    postgres logical replication P rows/s (N rows, B bytes, T s)

and, imported, `replicate(path, directory, chunk)` returns the figures. Replication signs, validates, authorises and
merges nothing: it ships the publisher's WAL decoded into row changes and applies them.
"""
import argparse
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "postgres"))
from pgcluster import Cluster  # noqa: E402

TABLE = "CREATE TABLE records (source_id text PRIMARY KEY, body text NOT NULL);"


def copy_escape(text):
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def replicate(path, directory, chunk=1000, port=55440):
    with open(path, encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    rows = [(json.loads(line)["sourceId"], line) for line in lines]
    shutil.rmtree(directory, ignore_errors=True)
    publisher, subscriber = Cluster(os.path.join(directory, "publisher")), Cluster(os.path.join(directory, "subscriber"))
    try:
        publisher.init(port, logical=True)
        subscriber.init(port + 1, logical=True)
        publisher.start()
        subscriber.start()
        publisher.psql("-c", TABLE)
        publisher.psql("-c", "CREATE PUBLICATION bench FOR TABLE records;")
        subscriber.psql("-c", TABLE)
        subscriber.psql("-c", f"CREATE SUBSCRIPTION bench CONNECTION '{publisher.dsn()}' PUBLICATION bench WITH (copy_data = false);")
        deadline = time.time() + 60
        while subscriber.psql("-c", "SELECT count(*) FROM pg_stat_subscription WHERE pid IS NOT NULL;").strip() in ("", "0"):
            if time.time() > deadline:
                raise RuntimeError("the subscription's apply worker did not start within 60 s")
            time.sleep(0.2)
        script = []
        for start in range(0, len(rows), chunk):
            script.append("COPY records (source_id, body) FROM STDIN;")
            script.extend(f"{copy_escape(source_id)}\t{copy_escape(body)}" for source_id, body in rows[start:start + chunk])
            script.append("\\.")
        publisher.psql(sql="\n".join(script) + "\n")
        deadline = time.time() + 600
        while int(subscriber.psql("-c", "SELECT count(*) FROM records;").strip()) < len(rows):
            if time.time() > deadline:
                raise RuntimeError("the subscriber did not hold every row within 600 s")
            time.sleep(0.05)
        first = publisher.psql("-c", "SELECT extract(epoch FROM min(pg_xact_commit_timestamp(xmin))) FROM records;").strip()
        first_rows = publisher.psql(
            "-c", "SELECT count(*) FROM records WHERE xmin = (SELECT xmin FROM records ORDER BY "
                  "pg_xact_commit_timestamp(xmin) LIMIT 1);").strip()
        last = subscriber.psql("-c", "SELECT extract(epoch FROM max(pg_xact_commit_timestamp(xmin))) FROM records;").strip()
        held = int(subscriber.psql("-c", "SELECT count(*) FROM records;").strip())
        same = publisher.psql("-c", "SELECT md5(string_agg(body, '' ORDER BY source_id)) FROM records;").strip() == \
            subscriber.psql("-c", "SELECT md5(string_agg(body, '' ORDER BY source_id)) FROM records;").strip()
        if not same or held != len(rows):
            raise RuntimeError(f"the subscriber holds {held} rows of {len(rows)}, same bytes: {same}")
        seconds = float(last) - float(first)
        return {"rows": len(rows), "bytes": sum(len(body.encode()) for _, body in rows), "seconds": seconds,
                "rate": (len(rows) - int(first_rows)) / seconds}
    finally:
        publisher.remove()
        subscriber.remove()
        shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", required=True)
    parser.add_argument("--dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".build", "pg-baseline"))
    parser.add_argument("--chunk", type=int, default=1000)
    args = parser.parse_args()
    figures = replicate(args.records, os.path.abspath(args.dir), args.chunk)
    print(f"postgres logical replication {figures['rate']:.0f} rows/s ({figures['rows']:,} rows, {figures['bytes']:,} bytes, "
          f"{figures['seconds']:.2f} s)")


if __name__ == "__main__":
    main()
