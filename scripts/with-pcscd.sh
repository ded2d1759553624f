#!/usr/bin/env bash
# Runs a command with pcscd (and vsmartcard's vpcd driver) available: starts `pcscd --foreground --apdu` in the
# background when none is running, and stops only the pcscd it started, by PID. Needs root to start pcscd.
# Its readers: "Virtual PCD 00 00" / "00 01" (vpcd on TCP 35963 / 35964) and, once scripts/vpcd-readers.sh has run
# (make deps does), "Virtual PCD B 00 00" / "00 01" (TCP 35965 / 35966). Its log, APDUs included, is $CCCDKIT_PCSCD_LOG when this script started it (tests grep it for secrets).
set -euo pipefail
started=""
# A live pcscd (not a zombie) with its socket means the service is up.
if ! { ps -C pcscd -o stat= 2>/dev/null | grep -qv Z && [ -S /run/pcscd/pcscd.comm ]; }; then
    if ! command -v pcscd >/dev/null 2>&1; then
        echo "error: pcscd is not installed (run scripts/ensure-deps.sh)" >&2
        exit 1
    fi
    mkdir -p /run/pcscd
    : >/tmp/cccdkit-pcscd.log
    pcscd --foreground --apdu >/tmp/cccdkit-pcscd.log 2>&1 &
    started=$!
    # Wait until the service answers (its socket appears).
    for _ in $(seq 1 50); do
        [ -S /run/pcscd/pcscd.comm ] && break
        sleep 0.1
    done
fi
if [ -n "$started" ]; then export CCCDKIT_PCSCD_LOG=/tmp/cccdkit-pcscd.log; fi
cleanup() { if [ -n "$started" ]; then kill "$started" 2>/dev/null || true; wait "$started" 2>/dev/null || true; fi; }
trap cleanup EXIT
"$@"
