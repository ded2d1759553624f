#!/usr/bin/env bash
# The main job, end to end on the embedded defaults, through the real PC/SC stack: a test PKI; the sample
# Vietnamese record validated and prepared into a signed card image; the card served by the software chip in
# vsmartcard's virtual reader inside pcscd; `cccd read` reads and verifies it as a bank or hospital terminal
# would (PACE-CAN, Chip and Active Authentication, Passive Authentication against the test CSCA), and an inspection
# system reads the fingerprints behind EAC Terminal Authentication.
# Run through scripts/with-pcscd.sh (make demo does), which starts pcscd when none is running.
set -euo pipefail
cccd=.build/debug/cccd
out=out/demo
rm -rf "$out"
mkdir -p "$out"
emulator=""
stop_emulator() { if [ -n "$emulator" ]; then kill -TERM "$emulator" 2>/dev/null || true; wait "$emulator" 2>/dev/null || true; emulator=""; fi; }
trap stop_emulator EXIT

echo "== cccd $($cccd --version)"
echo
echo "== A print centre checks its batch before spending cards (exit code 2 = some records invalid):"
set +e
$cccd validate --batch Vectors/sample-card/batch.jsonl
echo "exit code $?"
set -e
echo
echo "== A test CSCA and document signer:"
$cccd pki init --out "$out/pki"
echo
echo "== The sample record becomes a signed card image (profile Profiles/vn-cccd-2021.yaml):"
$cccd prepare --profile Profiles/vn-cccd-2021.yaml --signer "$out/pki" --record Vectors/sample-card/record.json --out "$out/card.json"
echo
echo "== The software chip goes into the virtual reader (vpcd, 'Virtual PCD 00 00'):"
$cccd emulate --card "$out/card.json" --vpcd 127.0.0.1:35963 2>"$out/emulator.log" &
emulator=$!
for _ in $(seq 1 50); do
    $cccd readers 2>/dev/null | grep -q "00 00: card present" && break
    sleep 0.2
done
$cccd readers
echo
echo "== A terminal reads it through pcscd: PACE with the CAN (last 6 digits of the ID), CA, AA, every file, verdicts:"
$cccd read --reader "Virtual PCD 00 00" --can 000000 --trust "$out/pki/csca.crt" --out "$out/files"
echo "(raw files and the portrait are in $out/files)"
echo
echo "== An inspection system (police, immigration) also reads the fingerprints: EAC Terminal Authentication with"
echo "   the TEST chain pki init wrote (eac/terminal), then DG3, covered by Passive Authentication:"
$cccd read --reader "Virtual PCD 00 00" --can 000000 --trust "$out/pki/csca.crt" --terminal "$out/pki/eac/terminal" \
    --out "$out/files-eac" | grep -E "APDUs|Files|Terminal Auth|Verdict"
echo "(fingerprints: $(cd "$out/files-eac" && ls finger-* | tr '\n' ' '))"
echo
echo "== A check-in desk reads only DG1 and DG13 (--fields basic), as JSON:"
$cccd read --reader "Virtual PCD 00 00" --can 000000 --trust "$out/pki/csca.crt" --fields basic --json | grep -E '"(fullName|idNumber|placeOfResidence|apdus|genuine)"'
echo
echo "== A bank's server reads the same card through a customer's phone (cccd relay): the phone only relays APDUs"
echo "   (here the reference client bridges the virtual reader, with 80 ms of phone-network round trip per APDU);"
echo "   PACE, CA, AA and every read run on the server, which signs the report; the bank's back end verifies it:"
$cccd relay keygen --out "$out/relay" >/dev/null
$cccd relay serve --listen 127.0.0.1:0 --token-secret "$out/relay/token.secret" --report-key "$out/relay/report.key" \
    --trust "$out/pki/csca.crt" --audit "$out/relay/audit.db" >"$out/relay/serve.out" 2>"$out/relay/serve.err" &
relay=$!
for _ in $(seq 1 100); do grep -q "ws://" "$out/relay/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o "ws://[^ ]*" "$out/relay/serve.out")
token=$($cccd relay token --token-secret "$out/relay/token.secret" --client demo-customer --can 000000)
$cccd relay client --url "$url" --token "$token" --can 000000 --reader "Virtual PCD 00 00" --latency 80 \
    --out "$out/relay/report.jws"
$cccd relay verify --key "$out/relay/report.pub.pem" "$out/relay/report.jws" --portrait "$out/relay/face" |
    grep -o '"verdict":"[^"]*"' | sed 's/^/the signed report verifies with the pinned key: /'
kill -TERM "$relay" 2>/dev/null || true
wait "$relay" 2>/dev/null || true
echo
echo "== A wrong CAN is refused by the chip (exit code 3 = access denied):"
set +e
$cccd read --reader "Virtual PCD 00 00" --can 000001
echo "exit code $?"
set -e
stop_emulator
echo
echo "== A clone (chip keys that do not match DG14/DG15), in the software chip, fails CA and AA (exit code 4):"
$cccd sample-card --clone --out "$out/clone.json" >/dev/null
set +e
$cccd read --card "$out/clone.json" --can 000000 --trust "$out/sample-pki/csca.crt" | grep -E "Verdict|Chip Auth|Active Auth"
echo "exit code ${PIPESTATUS[0]}"
set -e
echo
# Four virtual readers (TCP 35963-35966) when scripts/vpcd-readers.sh has run before pcscd started, else two.
chips=$($cccd readers 2>/dev/null | grep -cE "^Virtual PCD (B )?00 0[01]:" || true)
[ "$chips" -ge 4 ] && chips=4 || chips=2
echo "== A print line: $chips blank chips (serial + SCP03 transport keys) in $chips virtual readers, personalized in"
echo "   parallel by cccd perso over GlobalPlatform SCP03, locked, read back, journalled:"
$cccd sample-card --records "$chips" --seed 9 --out "$out/batch.jsonl" >/dev/null
echo 00112233445566778899AABBCCDDEEFF >"$out/transport.key"
blank=()
for i in $(seq 0 $((chips - 1))); do
    $cccd emulate --blank --transport-key "$out/transport.key" --serial "434344454D4F0000000$i" \
        --save "$out/issued-$i.json" --vpcd "127.0.0.1:3596$((3 + i))" 2>"$out/blank-$i.log" &
    blank+=($!)
done
stop_blank() { for p in "${blank[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
trap 'stop_emulator; stop_blank' EXIT
for _ in $(seq 1 50); do
    [ "$($cccd readers 2>/dev/null | grep -c "card present")" -ge "$chips" ] && break
    sleep 0.2
done
$cccd perso --batch "$out/batch.jsonl" --signer "$out/pki" --journal "$out/perso.db" --readers all \
    --transport-key "$out/transport.key"
$cccd journal --journal "$out/perso.db"
echo
echo "== The first card, read by a terminal in its reader (the CAN is the last 6 digits of its ID):"
can=$(sed -n 's/.*"can" *: *"\([0-9]*\)".*/\1/p' "$out/issued-0.json" | head -1)
$cccd read --reader "Virtual PCD 00 00" --can "$can" --trust "$out/pki/csca.crt" | head -4
stop_blank
