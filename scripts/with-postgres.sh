#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster for the journal's tests: initdb into a temporary folder as an
# unprivileged user (`postgres` when run as root, else the current user), the server on a free loopback port with
# its socket in that folder, torn down (and the folder removed) afterwards, whatever the command's outcome.
# Exports CCCDKIT_POSTGRES_URL (postgres://cccd@127.0.0.1:PORT/cccd, trust authentication on loopback only) and,
# for the tests that restart the server mid-batch, CCCDKIT_POSTGRES_BIN, CCCDKIT_POSTGRES_DATA,
# CCCDKIT_POSTGRES_RUNAS, CCCDKIT_POSTGRES_OPTIONS and CCCDKIT_POSTGRES_LOG. A cluster given by the caller (CCCDKIT_POSTGRES_URL already set) is used as is.
set -euo pipefail
if [ -n "${CCCDKIT_POSTGRES_URL:-}" ]; then exec "$@"; fi
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "error: the PostgreSQL server is not installed (scripts/ensure-deps.sh installs Debian's postgresql)" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    runas=postgres
    as() { runuser -u postgres -- "$@"; }
else
    runas=""
    as() { "$@"; }
fi
dir=$(mktemp -d /tmp/cccdkit-pg.XXXXXX)
chmod 755 "$dir"
[ -n "$runas" ] && chown "$runas" "$dir"
# A free port: the first of 55432… nobody listens on.
port=55432
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
started=""
cleanup() {
    if [ -n "$started" ]; then as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; fi
    rm -rf "$dir"
}
trap cleanup EXIT
as "$bin/initdb" -D "$dir/data" -A trust -U cccd -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}
options="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200"
if ! as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -o "$options" start >/dev/null; then
    cat "$dir/server.log" >&2
    exit 1
fi
started=1
as "$bin/createdb" -h 127.0.0.1 -p "$port" -U cccd cccd
export CCCDKIT_POSTGRES_URL="postgres://cccd@127.0.0.1:$port/cccd"
export CCCDKIT_POSTGRES_BIN="$bin" CCCDKIT_POSTGRES_DATA="$dir/data" CCCDKIT_POSTGRES_RUNAS="$runas"
export CCCDKIT_POSTGRES_OPTIONS="$options" CCCDKIT_POSTGRES_LOG="$dir/server.log"
echo "PostgreSQL for the tests: $CCCDKIT_POSTGRES_URL (throwaway cluster in $dir)" >&2
"$@"
