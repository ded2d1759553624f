#!/usr/bin/env bash
# The main job, as far as the toolchain reaches today: write the synthetic sample Vietnamese card, run it in the
# software chip and read it back over BAC with secure messaging, extended length on and off.
set -euo pipefail
cccd=.build/debug/cccd
out=out/demo
mkdir -p "$out"
echo "== cccd $($cccd --version)"
$cccd sample-card --out "$out/sample-card.json"
echo
echo "== Read over BAC (key from the 12-digit ID: document number = last 9 digits), extended length:"
$cccd read --card "$out/sample-card.json" --id 001090000000 --dob 900101 --doe 300101 --out "$out/files"
echo
echo "== The same card on a chip without extended length (231-byte protected reads):"
$cccd read --card "$out/sample-card.json" --id 001090000000 --dob 900101 --doe 300101 --no-extended-length | head -1
echo
echo "== A wrong date of birth is refused by the chip (exit code 3 = access denied):"
set +e
$cccd read --card "$out/sample-card.json" --id 001090000000 --dob 900102 --doe 300101
echo "exit code $?"
set -e
echo
echo "== The Vietnamese EF.CardAccess (TA v1, CA ECDH-AES-128, PACE ECDH-GM-AES-128 on brainpoolP256r1):"
$cccd tlv 3134300d060804007f0007020202020101300f060a04007f000702020302020201013012060a04007f0007020204020202010202010d
