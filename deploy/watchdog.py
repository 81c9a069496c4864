#!/usr/bin/env python3
"""Runs a command with a time limit, passing its output through, and names what was still running when it hung.

    python3 deploy/watchdog.py --minutes 15 -- swift test --skip-build

`make test` runs the Swift tests under it: a test that never returns (a deadlock, a wait on a server that never
answers) would otherwise hold CI until its own limit and leave no clue. When the limit passes, the watchdog prints
every Swift Testing test (and parameterised case) that had started and not finished — read from the `◇ … started`,
`✔ … passed` and `✘ … failed` lines — sends SIGQUIT then SIGKILL to the command's process group, and exits 124.
Otherwise it exits with the command's status.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time

STARTED = re.compile(r"^◇ (Test .*?) started\.")
CASE = re.compile(r"^◇ Test case passing (.*?) to (.*?) started\.")
ENDED = re.compile(r"^[✔✘] (Test .*?) (?:passed|failed)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")

    running = {}  # test name → start time
    cases = {}  # test name → the arguments of its cases started most recently
    lock = threading.Lock()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)

    def pump():
        for raw in process.stdout:
            sys.stdout.buffer.write(raw)
            sys.stdout.buffer.flush()
            line = raw.decode("utf-8", "replace").strip()
            with lock:
                if match := CASE.match(line):
                    cases[match.group(2)] = match.group(1)
                elif match := STARTED.match(line):
                    running[match.group(1)] = time.time()
                elif match := ENDED.match(line):
                    name = match.group(1).split(" with ")[0]
                    running.pop(name, None)
                    cases.pop(name.removeprefix("Test "), None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        status = process.wait(timeout=args.minutes * 60)
    except subprocess.TimeoutExpired:
        now = time.time()
        with lock:
            hung = sorted(running.items(), key=lambda item: item[1])
            print(f"\nwatchdog: `{' '.join(command)}` still running after {args.minutes:g} min; tests started and not finished:")
            for name, since in hung:
                case = cases.get(name.removeprefix("Test "))
                print(f"watchdog:   {name}" + (f" (last case: {case})" if case else "") + f", running {now - since:.0f} s")
            if not hung:
                print("watchdog:   none (the hang is outside a test, or before the first one started)")
        for sig, pause in ((signal.SIGQUIT, 5), (signal.SIGKILL, 0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(pause)
        process.wait()
        reader.join(timeout=5)
        sys.stdout.flush()
        return 124
    reader.join(timeout=5)
    return status


if __name__ == "__main__":
    sys.exit(main())
