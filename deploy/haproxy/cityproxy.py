#!/usr/bin/env python3
"""HAProxy (Debian's haproxy) as the city's one address in front of its xgate instances, under a directory we name.

    python3 deploy/haproxy/cityproxy.py config DIR --listen 127.0.0.1:18443 --server 127.0.0.1:18450 --server 127.0.0.1:18451
    python3 deploy/haproxy/cityproxy.py start  DIR
    python3 deploy/haproxy/cityproxy.py stop   DIR

TCP passthrough (`mode tcp`): HAProxy forwards bytes and never sees inside TLS, so mutual TLS still ends at xgate and
the client certificate still names the peer to the instance that answers. Connections are spread over the instances
(`balance leastconn`); a TCP check every 500 ms takes an instance out after two failed connects and back after one
good one, and a connection that cannot reach a dead instance is sent to another (`option redispatch`, `retries 3`).
A request in flight on a connection whose instance dies fails; the peer's client sends it again (batches and their
receipts are idempotent: PROTOCOL.md §4.3).

`DIR/haproxy.cfg` is the configuration (the same shape as deploy/haproxy/haproxy.cfg, the reference deployment's),
`DIR/haproxy.pid` the running process, `DIR/haproxy.log` its output. The module is imported by the tests (`Proxy`).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

CONFIG = """\
# Made by deploy/haproxy/cityproxy.py: the city's one address in front of its xgate instances (TCP passthrough).
global
    maxconn 4096

defaults
    mode tcp
    timeout connect 2s
    # A feed long poll is held up to limits.maxFeedWaitSeconds (30 s): idle timeouts stay well above it.
    timeout client 120s
    timeout server 120s
    retries 3
    option redispatch

frontend city
    bind {listen}
    default_backend instances

backend instances
    balance leastconn
    default-server check inter 500ms fall 2 rise 1
{servers}
"""


def haproxy():
    path = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(path):
        raise SystemExit("cityproxy: haproxy is not installed (make deps, deploy/install-deps.sh)")
    return path


class Proxy:
    def __init__(self, directory):
        self.directory = os.path.abspath(directory)
        self.config = os.path.join(self.directory, "haproxy.cfg")
        self.pidfile = os.path.join(self.directory, "haproxy.pid")
        self.logfile = os.path.join(self.directory, "haproxy.log")
        self.process = None

    def write(self, listen, servers):
        os.makedirs(self.directory, exist_ok=True)
        lines = "\n".join(f"    server instance-{i + 1} {address}" for i, address in enumerate(servers))
        with open(self.config, "w") as f:
            f.write(CONFIG.format(listen=listen, servers=lines))
        check = subprocess.run([haproxy(), "-c", "-q", "-f", self.config], capture_output=True, text=True)
        if check.returncode != 0:
            raise SystemExit(f"cityproxy: {self.config} is not valid: {check.stdout}{check.stderr}")

    def start(self):
        """Starts HAProxy in the foreground of a child process (-db) of its own session; returns once it listens."""
        log = open(self.logfile, "ab")
        self.process = subprocess.Popen([haproxy(), "-db", "-f", self.config], stdout=log, stderr=log, start_new_session=True)
        with open(self.pidfile, "w") as f:
            f.write(f"{self.process.pid}\n")
        listen = self.listen()
        host, port = listen.rsplit(":", 1)
        deadline = time.time() + 10
        import socket
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"cityproxy: haproxy exited with {self.process.returncode}; see {self.logfile}")
            with socket.socket() as s:
                s.settimeout(0.5)
                if s.connect_ex((host, int(port))) == 0:
                    return
            time.sleep(0.1)
        raise SystemExit(f"cityproxy: haproxy does not listen on {listen}; see {self.logfile}")

    def listen(self):
        with open(self.config) as f:
            for line in f:
                if line.strip().startswith("bind "):
                    return line.split()[1]
        raise SystemExit(f"cityproxy: no bind line in {self.config}")

    def stop(self):
        """SIGUSR1 (soft stop: no new connections, open ones finish), then SIGTERM after 5 s."""
        pid = self.process.pid if self.process else None
        if pid is None and os.path.exists(self.pidfile):
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
        if pid is None:
            return
        for sig, wait in ((signal.SIGUSR1, 5), (signal.SIGTERM, 5), (signal.SIGKILL, 2)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.time() + wait
            while time.time() < deadline:
                if self.process is not None:
                    if self.process.poll() is not None:
                        break
                else:
                    try:
                        os.kill(pid, 0)
                    except ProcessLookupError:
                        break
                time.sleep(0.1)
            else:
                continue
            break
        if os.path.exists(self.pidfile):
            os.remove(self.pidfile)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["config", "start", "stop"])
    parser.add_argument("directory")
    parser.add_argument("--listen", help="the city's address (config)")
    parser.add_argument("--server", action="append", default=[], help="an instance's address (config; repeat)")
    args = parser.parse_args()
    proxy = Proxy(args.directory)
    if args.action == "config":
        if not args.listen or not args.server:
            parser.error("config needs --listen and at least one --server")
        proxy.write(args.listen, args.server)
        print(proxy.config)
    elif args.action == "start":
        # The haproxy started runs in a session of its own and outlives this command; `stop` ends it by its pid file.
        proxy.start()
        print(f"haproxy {proxy.process.pid} on {proxy.listen()}")
    else:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
