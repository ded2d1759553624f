#!/usr/bin/env bash
# The main job, end to end on the embedded defaults, through the real PC/SC stack: a test PKI; the sample
# Vietnamese record validated and prepared into a signed card image; the card served by the software chip in
# vsmartcard's virtual reader inside pcscd; `cccd read` reads and verifies it as a bank or hospital terminal
# would (PACE-CAN, Chip and Active Authentication, Passive Authentication against the test CSCA).
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
echo "== A check-in desk reads only DG1 and DG13 (--fields basic), as JSON:"
$cccd read --reader "Virtual PCD 00 00" --can 000000 --trust "$out/pki/csca.crt" --fields basic --json | grep -E '"(fullName|idNumber|placeOfResidence|apdus|genuine)"'
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
