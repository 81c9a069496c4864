#!/usr/bin/env python3
"""Makes a local federation on loopback: a development PKI, signing keys, a registry and one configuration per node.

    python3 deploy/make-federation.py --xgate .build/debug/xgate --out /tmp/fed \
        --nodes sh-city,sh-xuhui,zj-jiaxing [--base-port 19443] [--peers Peers] [--contracts Contracts]

Writes, under OUT:
  pki/ca.crt, pki/ca.key            a development certificate authority (EC P-256, 0600 key), valid 2 years
  pki/<node>.crt, pki/<node>.key    each node's TLS certificate (CN and SAN = node id, localhost, 127.0.0.1),
                                    used as server certificate and as client certificate towards peers
  pki/operator.token                the operator bearer token (0600); the configs hold only its SHA-256
  keys/<node>.key, .jwk.json        each node's Ed25519 signing key (`xgate keys generate`, 0600)
  Peers/                            a copy of the registry in which each listed node has its new key (the
                                    sample development key removed), its certificate pin (sha256/<SPKI hash>)
                                    and the endpoint https://127.0.0.1:<port>
  <node>/xgate.yaml                 the node's configuration; its store goes to <node>/store.sqlite

Nodes not listed keep their sample registry entries and no pin, and their endpoint becomes a closed loopback port
(https://127.0.0.1:1): pushes to them are refused at once and retried with backoff, as to any node that is down. Re-running with
the same OUT reuses the PKI, keys and stores (--fresh removes OUT first). Everything here is for development only:
production nodes get certificates from the federation's CA and enrol their own keys (deploy/OPERATIONS.md, "Enrol a new node").
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import ipaddress


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def make_ca(pki):
    crt, key = os.path.join(pki, "ca.crt"), os.path.join(pki, "ca.key")
    if os.path.exists(crt):
        with open(key, "rb") as f:
            ca_key = serialization.load_pem_private_key(f.read(), None)
        with open(crt, "rb") as f:
            return x509.load_pem_x509_certificate(f.read()), ca_key
    ca_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xgate development federation"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "xgate development CA (开发测试用)")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=730))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(ca_key, hashes.SHA256()))
    write_private(key, pem_key(ca_key))
    with open(crt, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert, ca_key


def make_node_certificate(pki, node, ca_cert, ca_key, days=365):
    crt, key = os.path.join(pki, f"{node}.crt"), os.path.join(pki, f"{node}.key")
    if os.path.exists(crt):
        with open(crt, "rb") as f:
            return x509.load_pem_x509_certificate(f.read())
    node_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xgate development federation"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, node)]))
            .issuer_name(ca_cert.subject).public_key(node_key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(node), x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    write_private(key, pem_key(node_key))
    with open(crt, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert


def pin(cert):
    """The pin of PROTOCOL.md §2.2: sha256/ + base64 of the SHA-256 of the DER SubjectPublicKeyInfo."""
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256/" + base64.b64encode(hashlib.sha256(spki).digest()).decode()


CONFIG = """# xgate node configuration for {node} (development federation made by deploy/make-federation.py).
# Every key is documented in README, "Configuration"; relative paths are relative to this file.
# Environment variables override keys: XGATE_ + the key path in capitals joined by "_" (XGATE_SERVER_LISTEN, ...).
node:
  id: {node}
  signingKey: ../keys/{node}.key
paths:
  contracts: {contracts}
  peers: ../Peers
store:
  path: store.sqlite
server:
  listen: 127.0.0.1:{port}
  certificate: ../pki/{node}.crt
  privateKey: ../pki/{node}.key
  clientCA: ../pki/ca.crt
client:
  trustRoots: ../pki/ca.crt
  timeoutSeconds: 30
operator:
  tokenSHA256: {token_hash}
sync:
  pushIntervalMilliseconds: 200
  pullIntervalSeconds: {pull_interval}
  pullFrom: [{pull_from}]
  pulledBy: [{pulled_by}]
log:
  level: {log_level}
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--xgate", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--nodes", required=True, help="comma-separated node ids")
    parser.add_argument("--base-port", type=int, default=19443)
    parser.add_argument("--peers", default="Peers")
    parser.add_argument("--contracts", default="Contracts")
    parser.add_argument("--pull-interval", type=int, default=2)
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()

    nodes = [n.strip() for n in args.nodes.split(",") if n.strip()]
    out = os.path.abspath(args.out)
    if args.fresh and os.path.exists(out):
        shutil.rmtree(out)
    pki, keys = os.path.join(out, "pki"), os.path.join(out, "keys")
    for d in (out, pki, keys):
        os.makedirs(d, exist_ok=True)
    ca_cert, ca_key = make_ca(pki)

    token_path = os.path.join(pki, "operator.token")
    if not os.path.exists(token_path):
        write_private(token_path, (secrets.token_urlsafe(32) + "\n").encode())
    with open(token_path) as f:
        token_hash = hashlib.sha256(f.read().strip().encode()).hexdigest()

    registry = os.path.join(out, "Peers")
    if not os.path.exists(registry):
        shutil.copytree(args.peers, registry)
    with open(os.path.join(registry, "README.txt"), "w") as f:
        f.write("A development registry made by deploy/make-federation.py for a local federation. Not for production.\n")

    roles = {}
    for index, node in enumerate(nodes):
        path = os.path.join(registry, "nodes", f"{node}.json")
        if not os.path.exists(path):
            sys.exit(f"make-federation: {node} is not in {args.peers}/nodes")
        with open(path) as f:
            peer = json.load(f)
        roles[node] = peer["roles"]
        cert = make_node_certificate(pki, node, ca_cert, ca_key)
        if not os.path.exists(os.path.join(keys, f"{node}.key")):
            subprocess.run([args.xgate, "keys", "generate", "--node", node, "--out", keys], check=True,
                           stdout=subprocess.DEVNULL)
        with open(os.path.join(keys, f"{node}.jwk.json")) as f:
            jwk = json.load(f)
        peer["keys"] = [{"jwk": jwk, "notBefore": "2026-01-01T00:00:00+08:00", "notAfter": "2028-12-31T23:59:59+08:00"}]
        peer["tls"] = {"pins": [pin(cert)]}
        peer["endpoint"] = f"https://127.0.0.1:{args.base_port + index}"
        peer["note"] = "DEVELOPMENT (开发测试用): local federation made by deploy/make-federation.py."
        with open(path, "w") as f:
            json.dump(peer, f, ensure_ascii=False, indent=2)
            f.write("\n")

    # Nodes of the registry that run nowhere here: their endpoint is a closed loopback port, so a push to them is
    # refused at once (and retried with backoff) instead of waiting for a DNS lookup of a host that does not exist.
    for name in sorted(os.listdir(os.path.join(registry, "nodes"))):
        node = name[:-len(".json")]
        if not name.endswith(".json") or node in nodes:
            continue
        path = os.path.join(registry, "nodes", name)
        with open(path) as f:
            peer = json.load(f)
        if "endpoint" in peer:
            peer["endpoint"] = "https://127.0.0.1:1"
            with open(path, "w") as f:
                json.dump(peer, f, ensure_ascii=False, indent=2)
                f.write("\n")

    city = [n for n in nodes if "city" in roles[n]]
    # Partner cities pull the city's feed; the city pushes to everyone else (districts, and 松江, a district and a
    # G60 partner, which serves POST /v1/batches like any district). Each peer gets the city's records by one path.
    pullers = [n for n in nodes if "partner" in roles[n] and "district" not in roles[n]]
    for index, node in enumerate(nodes):
        directory = os.path.join(out, node)
        os.makedirs(directory, exist_ok=True)
        pull_from = ", ".join(city) if node in pullers else ""
        pulled_by = ", ".join(pullers) if node in city else ""
        with open(os.path.join(directory, "xgate.yaml"), "w") as f:
            f.write(CONFIG.format(node=node, port=args.base_port + index, contracts=os.path.abspath(args.contracts),
                                  token_hash=token_hash, pull_from=pull_from, pulled_by=pulled_by, pull_interval=args.pull_interval,
                                  log_level=args.log_level))
    print(json.dumps({"out": out, "nodes": {n: f"https://127.0.0.1:{args.base_port + i}" for i, n in enumerate(nodes)},
                      "operatorToken": token_path}, ensure_ascii=False))


if __name__ == "__main__":
    main()
