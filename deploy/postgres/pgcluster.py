#!/usr/bin/env python3
"""PostgreSQL 15 clusters of our own, under a directory we name, on loopback only (Debian's postgresql-15).

    python3 deploy/postgres/pgcluster.py init  DIR [--port 55432] [--logical]
    python3 deploy/postgres/pgcluster.py start DIR
    python3 deploy/postgres/pgcluster.py stop  DIR
    python3 deploy/postgres/pgcluster.py psql  DIR -- -c 'SELECT 1'
    python3 deploy/postgres/pgcluster.py remove DIR
    python3 deploy/postgres/pgcluster.py run   DIR [--port 0] -- COMMAND ...

`run` makes a fresh cluster in DIR (on a free port unless one is given), starts it, runs COMMAND with
`XGATE_TEST_POSTGRES=postgresql://postgres@127.0.0.1:PORT/postgres` in its environment, then stops and removes the
cluster and exits with COMMAND's status: how `make test` gives the Swift tests a real PostgreSQL on a fresh machine.

A cluster is `DIR/data` (initdb as the `postgres` user: PostgreSQL refuses to run as root), its Unix socket in
`DIR/run`, its log in `DIR/log`, its port in `DIR/port`. It listens on 127.0.0.1 only, trusts local connections
(a test cluster: nothing but this machine reaches it) and never touches the system's own clusters
(/etc/postgresql, pg_ctlcluster). `--logical` sets wal_level=logical and track_commit_timestamp=on (the replication
baseline of `make bench-e2e`). The module is imported by the benchmarks and tests too (`Cluster`).
"""
import argparse
import os
import pwd
import shutil
import subprocess
import sys
import time

BIN = "/usr/lib/postgresql/15/bin"


class ClusterError(Exception):
    pass


def _owner():
    """The account the server runs as: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        raise ClusterError("no postgres account: install postgresql-15 (make deps, deploy/install-deps.sh)")


def _as_owner(command, **kwargs):
    owner = _owner()
    if owner is not None:
        command = ["runuser", "-u", owner.pw_name, "--"] + command
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


class Cluster:
    def __init__(self, directory):
        self.directory = os.path.abspath(directory)
        self.data = os.path.join(self.directory, "data")
        self.run = os.path.join(self.directory, "run")
        self.log = os.path.join(self.directory, "log")

    @property
    def port(self):
        with open(os.path.join(self.directory, "port")) as f:
            return int(f.read())

    def dsn(self, database="postgres"):
        return f"host=127.0.0.1 port={self.port} dbname={database} user=postgres"

    def init(self, port, logical=False):
        if not os.path.exists(os.path.join(BIN, "initdb")):
            raise ClusterError(f"{BIN}/initdb not found: install postgresql-15 (make deps, deploy/install-deps.sh)")
        if os.path.exists(self.data):
            raise ClusterError(f"{self.data} exists: remove it first (pgcluster.py remove {self.directory})")
        os.makedirs(self.run, exist_ok=True)
        owner = _owner()
        # The server's account must reach the directory: every parent traversable, the cluster's own directory its.
        for path in (self.directory, self.run):
            if owner is not None:
                os.chown(path, owner.pw_uid, owner.pw_gid)
        os.chmod(self.directory, 0o700)
        parent = os.path.dirname(self.directory)
        while parent and parent != "/":
            mode = os.stat(parent).st_mode
            if owner is not None and not mode & 0o001:
                raise ClusterError(f"{parent} is not traversable by {owner.pw_name} (mode {oct(mode & 0o777)}): pick another directory")
            parent = os.path.dirname(parent)
        result = _as_owner([os.path.join(BIN, "initdb"), "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                            "--locale", "C.UTF-8", "--no-sync"])
        if result.returncode != 0:
            raise ClusterError(f"initdb {self.data}: {result.stderr.strip()}")
        settings = [f"port = {port}", "listen_addresses = '127.0.0.1'", f"unix_socket_directories = '{self.run}'",
                    "max_connections = 200", "shared_buffers = 256MB", "fsync = on", "synchronous_commit = on"]
        if logical:
            settings += ["wal_level = logical", "track_commit_timestamp = on", "max_wal_senders = 10",
                         "max_replication_slots = 10"]
        conf = os.path.join(self.data, "postgresql.auto.conf")
        with open(conf, "a") as f:
            f.write("\n".join(settings) + "\n")
        with open(os.path.join(self.directory, "port"), "w") as f:
            f.write(str(port))

    def start(self):
        result = _as_owner([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60", "start"])
        if result.returncode != 0:
            tail = open(self.log).read()[-2000:] if os.path.exists(self.log) else ""
            raise ClusterError(f"pg_ctl start {self.data}: {result.stderr.strip()} {tail}")

    def stop(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            _as_owner([os.path.join(BIN, "pg_ctl"), "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop"])

    def remove(self):
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def psql(self, *args, sql=None, database="postgres", check=True):
        """Runs psql against the cluster (tuples only, unaligned); returns its standard output."""
        command = [os.path.join(BIN, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                   "-p", str(self.port), "-U", "postgres", "-d", database] + list(args)
        result = subprocess.run(command, input=sql, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise ClusterError(f"psql on port {self.port}: {result.stderr.strip()[:2000]}")
        return result.stdout


def free_port():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def traversable(directory):
    """Whether the server's account can reach `directory` (every parent searchable by others, when we are root)."""
    if _owner() is None:
        return True
    parent = os.path.dirname(os.path.abspath(directory))
    while parent and parent != "/":
        if os.path.exists(parent) and not os.stat(parent).st_mode & 0o001:
            return False
        parent = os.path.dirname(parent)
    return True


def run(directory, port, command):
    if not traversable(directory):
        # A checkout under /root (mode 0700) cannot hold a cluster the postgres account runs: take one under /tmp.
        import tempfile
        fallback = tempfile.mkdtemp(prefix="xgate-pg-")
        os.chmod(fallback, 0o711)
        print(f"pgcluster: {directory} is not reachable by the postgres account; using {fallback}", flush=True)
        directory = os.path.join(fallback, "cluster")
    cluster = Cluster(directory)
    cluster.remove()
    cluster.init(port or free_port())
    cluster.start()
    url = f"postgresql://postgres@127.0.0.1:{cluster.port}/postgres"
    print(f"pgcluster: {cluster.data} on 127.0.0.1:{cluster.port} for: {' '.join(command)}", flush=True)
    try:
        return subprocess.run(command, env=dict(os.environ, XGATE_TEST_POSTGRES=url)).returncode
    finally:
        cluster.remove()
        if os.path.basename(cluster.directory) == "cluster" and os.path.basename(os.path.dirname(cluster.directory)).startswith("xgate-pg-"):
            shutil.rmtree(os.path.dirname(cluster.directory), ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["init", "start", "stop", "psql", "remove", "run"])
    parser.add_argument("directory")
    parser.add_argument("--port", type=int, default=None, help="the port (init: 55432 unless given; run: a free one)")
    parser.add_argument("--logical", action="store_true")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    cluster = Cluster(args.directory)
    try:
        if args.action == "init":
            cluster.init(args.port or 55432, logical=args.logical)
            print(f"pgcluster: {cluster.data}, port {cluster.port} on 127.0.0.1 (not started)")
        elif args.action == "start":
            cluster.start()
            print(f"pgcluster: started {cluster.data} on 127.0.0.1:{cluster.port}")
        elif args.action == "stop":
            cluster.stop()
        elif args.action == "remove":
            cluster.remove()
        elif args.action == "run":
            command = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
            if not command:
                raise ClusterError("run: name the command after --")
            sys.exit(run(args.directory, args.port, command))
        elif args.action == "psql":
            rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
            sys.stdout.write(cluster.psql(*rest))
    except ClusterError as error:
        print(f"pgcluster: {error}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
