#!/usr/bin/env bash
# Runs a command with pcscd (and vsmartcard's vpcd driver) available: starts `pcscd --foreground` in the
# background when none is running, and stops only the pcscd it started, by PID. Needs root to start pcscd.
set -euo pipefail
started=""
# A live pcscd (not a zombie) with its socket means the service is up.
if ! { ps -C pcscd -o stat= 2>/dev/null | grep -qv Z && [ -S /run/pcscd/pcscd.comm ]; }; then
    if ! command -v pcscd >/dev/null 2>&1; then
        echo "error: pcscd is not installed (run scripts/ensure-deps.sh)" >&2
        exit 1
    fi
    mkdir -p /run/pcscd
    pcscd --foreground >/tmp/cccdkit-pcscd.log 2>&1 &
    started=$!
    # Wait until the service answers (its socket appears).
    for _ in $(seq 1 50); do
        [ -S /run/pcscd/pcscd.comm ] && break
        sleep 0.1
    done
fi
cleanup() { if [ -n "$started" ]; then kill "$started" 2>/dev/null || true; wait "$started" 2>/dev/null || true; fi; }
trap cleanup EXIT
"$@"
