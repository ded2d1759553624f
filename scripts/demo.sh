#!/usr/bin/env bash
# The main job, end to end on the embedded defaults: a test PKI, the sample Vietnamese record validated and
# prepared into a signed card image, the card run by the software chip and read as a bank or hospital terminal
# would (PACE-CAN, Chip and Active Authentication, Passive Authentication against the test CSCA).
set -euo pipefail
cccd=.build/debug/cccd
out=out/demo
rm -rf "$out"
mkdir -p "$out"
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
echo "== A terminal reads it: PACE with the CAN (last 6 digits of the ID), CA, AA, every file, then verifies:"
$cccd read --card "$out/card.json" --can 000000 --trust "$out/pki/csca.crt" --out "$out/files"
echo "(raw files and the portrait are in $out/files)"
echo
echo "== With the MRZ key on a chip without extended length:"
$cccd read --card "$out/card.json" --id 001090000000 --dob 900101 --doe 300101 --trust "$out/pki/csca.crt" --no-extended-length | head -1
echo
echo "== A wrong CAN is refused by the chip (exit code 3 = access denied):"
set +e
$cccd read --card "$out/card.json" --can 000001
echo "exit code $?"
echo
echo "== A clone (chip keys that do not match DG14/DG15) fails Chip and Active Authentication (exit code 4):"
$cccd sample-card --clone --out "$out/clone.json" >/dev/null
$cccd read --card "$out/clone.json" --can 000000 | grep -E "Verdict|Chip Auth|Active Auth"
echo "exit code ${PIPESTATUS[0]}"
set -e
