#!/usr/bin/env bash
# make fuzz: every fuzz target under libFuzzer with AddressSanitizer and leak detection.
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_MIN_RUNS  executions per target at the least (default 1000000): a target that has not made them in
#                  FUZZ_SECONDS goes on, from its corpus, until it has (for at most 4 x FUZZ_SECONDS more)
#   FUZZ_WORKERS   libFuzzer processes per target, sharing its corpus (default: the number of cores)
#   FUZZ_TARGETS   comma-separated target names (default: all; `cccd-fuzz list` names them)
#
# Builds Fuzz/ (cccd-fuzz) into .build-fuzz with -sanitize=fuzzer,address on every Swift module, then runs each
# target from its seeds (Vectors/, the sample card; regenerated each run) and its corpus (.build-fuzz/corpus/T,
# kept between runs). Prints per target: executions, exec/s, coverage (libFuzzer's cov and ft), corpus size,
# findings. A crash, leak, out-of-memory, timeout (over 2 s) or slow input (over 1 s) is written to
# .build-fuzz/findings/T/; fix it, then put the input under Tests/Fixtures/fuzz/T/ so the suite replays it.
# Exit status 1 when any target had a finding. The report is also in .build-fuzz/fuzz-report.json.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-60}
min_runs=${FUZZ_MIN_RUNS:-1000000}
workers=${FUZZ_WORKERS:-$(nproc)}
scratch=$root/.build-fuzz

echo "== building cccd-fuzz (libFuzzer + AddressSanitizer, release)"
swift build --package-path Fuzz --scratch-path "$scratch" -c release \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library \
    -Xlinker --export-dynamic -Xswiftc -use-ld=lld 2>&1 | grep -Ev '^\[|prohibited flag' || true
bin=$scratch/release/cccd-fuzz
[ -x "$bin" ] || { echo "fuzz: the build failed" >&2; exit 2; }

if [ -n "${FUZZ_TARGETS:-}" ]; then
    targets=$(echo "$FUZZ_TARGETS" | tr ',' ' ')
else
    targets=$("$bin" list | awk '{print $1}')
fi

# One target: FUZZ_WORKERS libFuzzer processes on one shared corpus, each for the whole time.
run_one() {
    local t=$1
    local seeds=$scratch/seeds/$t corpus=$scratch/corpus/$t findings=$scratch/findings/$t dir=$scratch/logs/$t
    rm -rf "$seeds" "$dir"
    mkdir -p "$seeds" "$corpus" "$findings" "$dir"
    "$bin" seeds "$t" "$seeds" >/dev/null || { echo "no seeds" >"$dir/fuzz-0.log"; return; }
    ls "$findings" | wc -l >"$dir/before"
    local max_len=4096
    case $t in
    tlv | command-apdu | response-apdu | dg1 | dg11 | dg12 | ef-com | security-infos) max_len=1024 ;;
    emulator-*) max_len=2048 ;;
    esac
    # AddressSanitizer with LeakSanitizer: libFuzzer checks for leaks after every input that allocated more than
    # it freed. A short allocation stack, a small quarantine and no fill of new blocks keep the rate up (bounds,
    # double frees and leaks are caught as ever; a use after free only within the last megabyte freed); to study
    # a finding, replay it with ASan's defaults: `cccd-fuzz run T FILE`.
    fuzz() {  # folder, then libFuzzer options
        local where=$1
        shift
        mkdir -p "$where"
        (cd "$where" && ASAN_OPTIONS=detect_leaks=1:malloc_context_size=2:quarantine_size_mb=1:max_malloc_fill_size=0:allocator_may_return_null=1 \
            SWIFT_BACKTRACE=enable=no \
            "$bin" run "$t" -jobs="$workers" -workers="$workers" -timeout=2 -report_slow_units=1 \
            -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len="$max_len" -print_final_stats=1 \
            -artifact_prefix="$findings/" "$@" "$corpus" "$seeds" >driver.log 2>&1)
    }
    local began
    began=$(date +%s)
    fuzz "$dir" -max_total_time="$seconds"
    local done
    done=$(executions "$dir")
    if [ "$done" -lt "$min_runs" ] && ! grep -qs 'ERROR:' "$dir"/fuzz-*.log; then
        fuzz "$dir/more" -runs=$(((min_runs - done + workers - 1) / workers)) -max_total_time=$((4 * seconds))
    fi
    echo $(($(date +%s) - began)) >"$dir/seconds"
}

# Executions of a target's run so far (every worker's final stats, both phases).
executions() {
    cat "$1"/fuzz-*.log "$1"/more/fuzz-*.log 2>/dev/null | grep -o 'stat::number_of_executed_units: [0-9]*' |
        awk '{n += $2} END {print n + 0}'
}

start=$(date +%s)
count=$(echo $targets | wc -w)
echo "== fuzzing $count targets, ${seconds}s each on $workers cores (about $((count * seconds / 60 + 1)) minutes)"
for t in $targets; do
    run_one "$t"
    printf '.'
done
echo

status=0
report="["
printf '%-16s %12s %8s %9s %6s %7s %8s %s\n' target executions seconds exec/s cov ft corpus findings
for t in $targets; do
    dir=$scratch/logs/$t
    logs=$(ls "$dir"/fuzz-*.log "$dir"/more/fuzz-*.log 2>/dev/null)
    execs=$(executions "$dir")
    took=$(cat "$dir/seconds" 2>/dev/null || echo 0)
    rate=$((execs / (took > 0 ? took : 1)))
    cov=0 ft=0
    for log in $logs; do
        last=$(grep -E '#[0-9]+.*cov: ' "$log" | tail -1)
        c=$(echo "$last" | grep -o 'cov: [0-9]*' | awk '{print $2}')
        f=$(echo "$last" | grep -o 'ft: [0-9]*' | awk '{print $2}')
        [ "${c:-0}" -gt "$cov" ] && cov=$c
        [ "${f:-0}" -gt "$ft" ] && ft=$f
    done
    corp=$(ls "$scratch/corpus/$t" 2>/dev/null | wc -l)
    before=$(cat "$dir/before" 2>/dev/null || echo 0)
    after=$(ls "$scratch/findings/$t" 2>/dev/null | wc -l)
    new=$((after - before))
    what=$(cat $logs /dev/null | grep -Eo 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): [a-z-]+( [a-z-]+)?|Fatal error: .*|Slowest unit: .*' | sort -u | head -2 | tr '\n' ' ')
    if [ "$new" -gt 0 ] || [ -n "$what" ] || [ -z "$logs" ]; then status=1; fi
    printf '%-16s %12s %8s %9s %6s %7s %8s %s\n' "$t" "$execs" "$took" "$rate" "$cov" "$ft" "$corp" \
        "$new${what:+  $what}"
    report+=$(printf '{"target":"%s","executions":%s,"seconds":%s,"execPerSecond":%s,"coverage":%s,"features":%s,"corpus":%s,"newFindings":%s},' \
        "$t" "$execs" "$took" "$rate" "$cov" "$ft" "$corp" "$new")
done
report="${report%,}]"
echo "$report" >"$scratch/fuzz-report.json"
echo
echo "$(($(date +%s) - start)) s; logs in .build-fuzz/logs, findings in .build-fuzz/findings, report in .build-fuzz/fuzz-report.json"
[ $status = 0 ] && echo "no crash, leak, timeout or slow input" || echo "FINDINGS: fix them and add each input under Tests/Fixtures/fuzz/<target>/"
exit $status
