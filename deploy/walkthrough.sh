#!/usr/bin/env bash
# The offline walkthrough behind `make run`: what a district and the city do with xgate before any network exists.
# Generates keys for 徐汇区 (sh-xuhui) and the city (sh-city), enrols them in a copy of the registry, validates the
# district's export, signs a batch, verifies it as the city would, and shows the city's signed receipt.
set -euo pipefail

XGATE=${XGATE:-.build/debug/xgate}
OUT=${OUT:-out/walkthrough}
export XGATE_CONTRACTS=${XGATE_CONTRACTS:-Contracts}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" >&2; "$@"; }

rm -rf "$OUT" && mkdir -p "$OUT"
cp -r Peers "$OUT/Peers"

step "1. Keys for a district (徐汇区, sh-xuhui) and the city (sh-city): private keys mode 0600, public JWKs"
for node in sh-xuhui sh-city; do
  printf '$ %s\n' "$XGATE keys generate --node $node --out $OUT/keys" >&2
  "$XGATE" keys generate --node "$node" --out "$OUT/keys" > "$OUT/$node.kid"
  cat "$OUT/$node.kid"
  run "$XGATE" peers add-key --peers "$OUT/Peers" --node "$node" --jwk "$OUT/keys/$node.jwk.json" --replace \
      --not-before 2026-01-01T00:00:00+08:00 --not-after 2027-12-31T23:59:59+08:00
done
ls -l "$OUT/keys"
run "$XGATE" peers check --peers "$OUT/Peers"

step "2. Validate the district's export: identifiers and every field against Contracts/"
run "$XGATE" check uscc "$(python3 -c 'import json,sys; print(json.loads(open("deploy/samples/xuhui-export.ndjson").readline())["subject"]["uscc"])')" 91310104MA1FL3K294 91350100M0001TGQXM \
    || echo "(exit $? — not every code is valid; a Fujian trial code is flagged for review, not dropped)"
run "$XGATE" check id 11010519491231002X
echo "-- an export with two mistakes (one line per problem: file:index field rule message):"
run "$XGATE" check record deploy/samples/xuhui-export-with-errors.ndjson || echo "(exit $? — the bad records are named; fix them at the department)"
echo "-- the corrected export:"
run "$XGATE" check record deploy/samples/xuhui-export.ndjson

step "3. Sign a batch sh-xuhui → sh-city (JWS JSON serialization, EdDSA/Ed25519)"
run "$XGATE" batch sign --key "$OUT/keys/sh-xuhui.key" --kid "$(cat "$OUT/sh-xuhui.kid")" \
    --from sh-xuhui --to sh-city --sequence 1 deploy/samples/xuhui-export.ndjson > "$OUT/batch.jws.json"
python3 - "$OUT/batch.jws.json" <<'PY'
import base64, json, sys
jws = json.load(open(sys.argv[1]))
pad = lambda s: s + "=" * (-len(s) % 4)
print("protected header:", base64.urlsafe_b64decode(pad(jws["protected"])).decode())
payload = json.loads(base64.urlsafe_b64decode(pad(jws["payload"])))
print("payload: batch %s, %s → %s, sequence %d, %d changes; first change key %s"
      % (payload["batchId"], payload["from"], payload["to"], payload["sequence"], len(payload["changes"]), payload["changes"][0]["key"]))
PY

step "4. The city verifies it: signature, key validity, sender, schema, every record, the sharing agreement"
run "$XGATE" batch verify --peers "$OUT/Peers" "$OUT/batch.jws.json"

step "5. The city's signed receipt, one outcome per change, and its verification by the district"
run "$XGATE" receipt sign --key "$OUT/keys/sh-city.key" --kid "$(cat "$OUT/sh-city.kid")" --peers "$OUT/Peers" \
    "$OUT/batch.jws.json" > "$OUT/receipt.jws.json"
python3 - "$OUT/receipt.jws.json" <<'PY'
import base64, json, sys
jws = json.load(open(sys.argv[1]))
payload = json.loads(base64.urlsafe_b64decode(jws["payload"] + "=" * (-len(jws["payload"]) % 4)))
print(json.dumps(payload, ensure_ascii=False, indent=2))
PY
run "$XGATE" receipt verify --peers "$OUT/Peers" --batch "$OUT/batch.jws.json" "$OUT/receipt.jws.json"

step "6. Tampering is refused: one byte of the payload changed"
python3 - "$OUT/batch.jws.json" "$OUT/tampered.jws.json" <<'PY'
import base64, json, sys
jws = json.load(open(sys.argv[1]))
raw = bytearray(base64.urlsafe_b64decode(jws["payload"] + "=" * (-len(jws["payload"]) % 4)))
i = raw.index(b'"fineAmount":"2.5"') + len(b'"fineAmount":"')
raw[i] = ord("9")   # a fine of 2.5 becomes 9.5 (万元)
jws["payload"] = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
json.dump(jws, open(sys.argv[2], "w"))
PY
if "$XGATE" batch verify --peers "$OUT/Peers" "$OUT/tampered.jws.json"; then
  echo "tampered batch was accepted: this must not happen" >&2; exit 1
else
  echo "(exit $? — signature.invalid)"
fi

step "Done. Files are in $OUT/. Next: Contracts/PROTOCOL.md for integrators; 'make test' for the proofs."
