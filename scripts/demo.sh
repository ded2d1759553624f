#!/usr/bin/env bash
# The main job, as far as the toolchain reaches today: inspect the Vietnamese card's EF.CardAccess and the
# first commands a reader sends to it.
set -euo pipefail
cccd=.build/debug/cccd
echo "== cccd $($cccd --version)"
echo "== EF.CardAccess of the Vietnamese CCCD (TA v1, CA ECDH-AES-128, PACE ECDH-GM-AES-128 on brainpoolP256r1):"
$cccd tlv 3134300d060804007f0007020202020101300f060a04007f000702020302020201013012060a04007f0007020204020202010202010d
echo "== SELECT EF.CardAccess by FID (the card answers SELECT MF with 6D00):"
$cccd apdu 00A4020C02011C
$cccd apdu --status 6D00
