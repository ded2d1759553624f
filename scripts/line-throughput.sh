#!/usr/bin/env bash
# Throughput of a line of stations on one PostgreSQL queue (or one SQLite file): for 1, 2 and 3 stations (each a
# `cccd perso --station` process with one emulated blank chip), the same batch of N synthetic records, release build.
# Prints cards/min per line size. Usage: scripts/line-throughput.sh [N=300] [postgres|sqlite]
# Runs inside scripts/with-postgres.sh (a throwaway cluster) when no CCCDKIT_POSTGRES_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-300}
kind=${2:-postgres}
if [ "$kind" = postgres ] && [ -z "${CCCDKIT_POSTGRES_URL:-}" ]; then
    exec bash scripts/with-postgres.sh bash "$0" "$n" "$kind"
fi
swift build -c release --product cccd >/dev/null
cccd=$PWD/.build/release/cccd
work=$(mktemp -d /tmp/cccdkit-throughput.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$cccd" pki init --out pki >/dev/null 2>&1
"$cccd" sample-card --records "$n" --seed 42 --out batch.jsonl >/dev/null
echo "$(nproc) cores; $n records per run; profile vn-cccd-2021 (RSA-2048 AA, brainpoolP256r1 CA); journal: $kind"
for stations in 1 2 3; do
    if [ "$kind" = postgres ]; then
        db="tp_${stations}_$$"
        port=$(sed -E 's#.*:([0-9]+)/.*#\1#' <<<"$CCCDKIT_POSTGRES_URL")
        "$CCCDKIT_POSTGRES_BIN/createdb" -h 127.0.0.1 -p "$port" -U cccd "$db"
        journal="${CCCDKIT_POSTGRES_URL%/*}/$db"
    else
        journal="$work/line-$stations.db"
    fi
    "$cccd" perso --batch batch.jsonl --journal "$journal" --load-only >/dev/null
    start=$(date +%s.%N)
    pids=()
    for s in $(seq 1 "$stations"); do
        "$cccd" perso --batch batch.jsonl --signer pki --journal "$journal" --station "S$s" --emulated 1 \
            --out "out-$stations-$s" --json >"st-$stations-$s.json" 2>/dev/null &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
    end=$(date +%s.%N)
    issued=$("$cccd" journal --journal "$journal" --json | grep -c '"status" : "issued"')
    awk -v s="$stations" -v i="$issued" -v a="$start" -v b="$end" \
        'BEGIN { printf "%d station(s): %d issued in %.1f s = %.1f cards/min\n", s, i, b - a, i * 60 / (b - a) }'
done
