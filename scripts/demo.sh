#!/usr/bin/env bash
# The main job, as far as the toolchain reaches today: write the synthetic sample Vietnamese card, run it in the
# software chip and read it as a bank or hospital terminal would: PACE with the CAN (last 6 digits of the ID),
# Chip Authentication (DG14), Active Authentication (DG15), then every file.
set -euo pipefail
cccd=.build/debug/cccd
out=out/demo
mkdir -p "$out"
echo "== cccd $($cccd --version)"
$cccd sample-card --out "$out/sample-card.json"
echo
echo "== Read with PACE-CAN (CAN = last 6 digits of the ID), then CA, AA and every file:"
$cccd read --card "$out/sample-card.json" --can 000000 --out "$out/files"
echo
echo "== The same card with the MRZ key (PACE-MRZ) on a chip without extended length (223-byte AES reads):"
$cccd read --card "$out/sample-card.json" --id 001090000000 --dob 900101 --doe 300101 --no-extended-length | head -1
echo
echo "== A wrong CAN is refused by the chip (exit code 3 = access denied):"
set +e
$cccd read --card "$out/sample-card.json" --can 000001
echo "exit code $?"
echo
echo "== A clone (chip keys that do not match DG14/DG15) fails Chip and Active Authentication (exit code 4):"
$cccd sample-card --clone --out "$out/clone.json" >/dev/null
$cccd read --card "$out/clone.json" --can 000000 | grep -E "Authentication"
echo "exit code ${PIPESTATUS[0]}"
set -e
