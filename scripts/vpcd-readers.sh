#!/usr/bin/env bash
# Gives pcscd four virtual readers instead of vsmartcard's two, as a print line has several: a second vpcd reader,
# "Virtual PCD B 00 00" / "Virtual PCD B 00 01", on TCP 35965 / 35966, beside "Virtual PCD 00 00" / "00 01" on
# 35963 / 35964.
#
# Why a copy of the driver: Debian's vpcd driver keeps its card connections in one static table indexed by slot
# number, shared by every reader that loads the same library, so a second reader.conf.d entry pointing at the same
# .so fights the first for slots 0 and 1. pcscd loads a driver once per library path and the dynamic loader once per
# file, so the second reader gets its own copy of the unchanged driver (and thus its own table).
#
# Idempotent; needs root (it writes /etc/reader.conf.d and pcscd's driver folder). pcscd reads reader.conf.d only
# when it starts: restart a pcscd that was already running to see the new readers.
set -euo pipefail

drivers=/usr/lib/pcsc/drivers/serial
original=$drivers/libifdvpcd.so
copy=$drivers/libifdvpcd-cccdkit-b.so
conf=/etc/reader.conf.d/cccdkit-vpcd-b

if [ ! -e "$original" ]; then
    echo "error: $original is missing (install vsmartcard-vpcd: scripts/ensure-deps.sh)" >&2
    exit 1
fi
wanted=$(cat <<CONF
# Written by CCCDKit's scripts/vpcd-readers.sh: a second vsmartcard vpcd reader (TCP 35965 and 35966).
FRIENDLYNAME "Virtual PCD B"
DEVICENAME   /dev/null:0x8C7D
LIBPATH      $copy
CHANNELID    0x8C7D
CONF
)
if [ -f "$copy" ] && cmp -s "$(readlink -f "$original")" "$copy" && [ -f "$conf" ] && [ "$(cat "$conf")" = "$wanted" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "note: not root, so pcscd keeps vsmartcard's two virtual readers; the four-reader perso test will say so" >&2
    exit 0
fi
cp "$(readlink -f "$original")" "$copy"
printf '%s\n' "$wanted" >"$conf"
echo "Installed a second vpcd reader for pcscd: \"Virtual PCD B 00 00\" / \"00 01\" on TCP 35965 / 35966"
