#!/usr/bin/env bash
# Installs what xgate needs on a fresh Debian machine, only where it is missing: the C libraries the design names
# (SQLite, OpenSSL, curl headers), curl (the outside client of the daemon tests), the sqlite3 CLI (the engine benchmark's storage ceiling),
# prometheus (promtool checks /metrics), chromium and a CJK font (the console's headless-browser test) and the Python packages
# the outside checks use (schemathesis among them), PostgreSQL 15 (the city's database and the replication baseline of
# bench-e2e) and HAProxy (the city's one address in front of its instances). Packages are installed with their services
# kept stopped and PostgreSQL's default cluster not made: the project runs its own, under a directory of its own
# (deploy/postgres/pgcluster.py), on loopback. Safe to run repeatedly.
set -euo pipefail

packages=(libsqlite3-dev libssl-dev libcurl4-openssl-dev sqlite3 curl prometheus chromium fonts-wqy-zenhei postgresql-15 haproxy)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # No package may start a system service here (policy-rc.d answers 101, "not allowed"), and postgresql-common makes
  # no default cluster: a machine's own services are not ours to start.
  policy_made=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
    policy_made=1
  fi
  $sudo mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $sudo tee /etc/postgresql-common/createcluster.d/xgate.conf >/dev/null
  status=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null || status=$?
  [ -z "$policy_made" ] || $sudo rm -f /usr/sbin/policy-rc.d
  if [ "$status" -ne 0 ]; then
    echo "install-deps: apt-get install ${missing[*]} failed (exit $status)" >&2
    exit "$status"
  fi
fi

python_missing=()
python3 -c 'import jsonschema, referencing' 2>/dev/null || python_missing+=(jsonschema)
python3 -c 'import cryptography' 2>/dev/null || python_missing+=(cryptography)
python3 -c 'import joserfc' 2>/dev/null || python_missing+=(joserfc)
python3 -c 'import yaml' 2>/dev/null || python_missing+=(pyyaml)
python3 -c 'import openapi_spec_validator' 2>/dev/null || python_missing+=(openapi-spec-validator)
python3 -c 'import websocket' 2>/dev/null || python_missing+=(websocket-client)
python3 -c 'import schemathesis' 2>/dev/null || python_missing+=(schemathesis)
if [ ${#python_missing[@]} -gt 0 ]; then
  echo "install-deps: pip install ${python_missing[*]}"
  python3 -m pip install -q "${python_missing[@]}"
fi

if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
  echo "install-deps: no Swift toolchain found (expected swift on PATH or /opt/swift/usr/bin/swift)" >&2
  exit 1
fi
