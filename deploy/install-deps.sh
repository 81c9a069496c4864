#!/usr/bin/env bash
# Installs what xgate needs on a fresh Debian machine, only where it is missing: the C libraries the design names
# (SQLite, OpenSSL, curl headers), curl (the outside client of the daemon tests), the sqlite3 CLI (the engine benchmark's storage ceiling),
# prometheus (promtool checks /metrics), chromium and a CJK font (the console's headless-browser test) and the Python packages
# the outside checks use (schemathesis among them). Safe to run repeatedly.
set -euo pipefail

packages=(libsqlite3-dev libssl-dev libcurl4-openssl-dev sqlite3 curl prometheus chromium fonts-wqy-zenhei)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
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
