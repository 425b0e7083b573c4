#!/usr/bin/env bash
# Starts a throw-away renkeid and runs bench_api against it: the publishes first, then the queries.
# usage: tests/bench/run_api_bench.sh [BUILD_DIR=build] [records=100000] [connections=64] [query_seconds=10]
# RENKEID_OPTS adds renkeid options, e.g. RENKEID_OPTS="-o api.record_cache=0".
# Between the two phases it prints the daemon's CPU time for the publishes, in all and by thread name
# (user + system from /proc/PID/task; threads that exited count in the total only), per record: a
# figure that depends much less on what else runs on the machine than the rate does; then the
# records per commit, the flushes and the writer's time per record (CPU and disk waits) from
# /metrics, which bounds the rate from above whatever the client does. PERF=FILE also
# records the daemon during the publishes with `perf record -g --call-graph dwarf` into FILE.
set -euo pipefail
. "$(dirname "$0")/bench_node.sh"
build=${1:-build}
records=${2:-100000}
conns=${3:-64}
secs=${4:-10}
dir=$(mktemp -d /tmp/rk-bench-XXXXXX)
perf_pid=
trap '[ -n "$perf_pid" ] && kill -INT "$perf_pid" 2>/dev/null; kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
bench_node_ini bench "$dir/data" "$dir/api.sock" >"$dir/renkei.ini"
# shellcheck disable=SC2086 # RENKEID_OPTS is a list of words
"$build/renkeid" -c "$dir/renkei.ini" ${RENKEID_OPTS:-} 2>"$dir/renkeid.log" &
pid=$!
for _ in $(seq 100); do [ -S "$dir/api.sock" ] && break; sleep 0.1; done
tck=$(getconf CLK_TCK)
cpu_total() { sed 's/^.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}'; }
# name, CPU ticks and context switches (each a sleep and wake-up, or a preemption) of every thread
cpu_threads() {
    for t in /proc/"$pid"/task/*; do
        printf '%s %s %s\n' "$(tr ' ' '_' <"$t/comm")" "$(sed 's/^.*) //' "$t/stat" | awk '{print $12 + $13}')" \
            "$(awk '/ctxt_switches/{s += $2} END {print s + 0}' "$t/status")"
    done
}
before_total=$(cpu_total)
before_threads=$(cpu_threads)
if [ -n "${PERF:-}" ]; then
    perf record -g --call-graph dwarf -o "$PERF" -p "$pid" 2>"$dir/perf.log" &
    perf_pid=$!
    sleep 0.5
fi
load0=$(cut -d' ' -f1-3 /proc/loadavg)
"$build/tests/bench/bench_api" "$dir/api.sock" "$records" "$conns" 0
load1=$(cut -d' ' -f1-3 /proc/loadavg)
if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    perf_pid=
fi
after_total=$(cpu_total)
after_threads=$(cpu_threads)
awk -v hz="$tck" -v n="$records" -v t0="$before_total" -v t1="$after_total" '
    NR == FNR { before[$1] += $2; sw0[$1] += $3; next }
    { after[$1] += $2; sw1[$1] += $3 }
    END {
        printf "publish: daemon CPU %.2f s (%.0f us per record); by thread:", (t1 - t0) / hz, (t1 - t0) / hz * 1e6 / n
        for (k in after) {
            d = after[k] - before[k]
            if (d > 0) printf " %s %.2f s (%.0f us),", k, d / hz, d / hz * 1e6 / n
        }
        printf "\npublish: context switches per record by thread:"
        for (k in after)
            if (sw1[k] > sw0[k]) printf " %s %.2f,", k, (sw1[k] - sw0[k]) / n
        printf "\n"
    }' <(echo "$before_threads") <(echo "$after_threads") | sed 's/,$//'
echo "load average before and after the publishes: $load0 / $load1"
curl -s --max-time 5 --unix-socket "$dir/api.sock" http://localhost/metrics |
    awk -v n="$records" '/^renkei_commit_duration_seconds_count /{c = $2} /^renkei_commit_duration_seconds_sum /{s = $2}
        /^renkei_store_flushes_total /{f = $2}
        END {printf "publish: %d commits (%.1f records each), %d flushes, writer busy %.0f us per record\n", c, n / (c ? c : 1), f, s * 1e6 / n}'
if [ "$secs" != 0 ]; then
    "$build/tests/bench/bench_api" "$dir/api.sock" "$records" "$conns" "$secs" 0
fi
private_kb=$(bench_private_kb "$pid")
echo "daemon RSS: $(awk '/VmRSS/{print $2" "$3}' /proc/$pid/status), private outside the LMDB map: ${private_kb} kB"
du -sh "$dir/data" | awk '{print "data dir: "$1}'
