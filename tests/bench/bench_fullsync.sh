#!/usr/bin/env bash
# Full sync of N records into an empty node, between two real renkeid processes on loopback.
#
# usage: tests/bench/bench_fullsync.sh [N=1000000] [BUILD_DIR=build-bench] [TIMEOUT_S=1800]
#
# Node A's data dir is prepared once with bench_fill (N sealed ~1 KiB case records whose author is A's
# key) and cached in /tmp/rk-fullsync-cache-N; later runs reuse it if this build's store opens it
# (`bench_fill --check`), and fill it again otherwise, e.g. after a store format change (delete the
# directory to rebuild by hand; CACHE=DIR uses another directory, to alternate builds of two formats).
# A runs on the cached data dir (the records do not change; only A's peer state is written). Then an
# empty node B starts and dials A; each lists the other in its roster. The script polls B's
# /v1/status once a second until records.total reaches N (or TIMEOUT_S passes) and samples both
# daemons' private memory outside LMDB's map (bench_private_kb in bench_node.sh). Prints the sync
# time, the verified ingest rate (N / time) and the peak private memory of each node. Both daemons are killed and B's directory
# removed on exit. Set KEEP=1 to keep B's directory and logs, VERBOSE=1 to print progress, PERF=S to
# record a perf profile of B for S seconds from 5 s after its start (report in PERF_REPORT, by default
# /tmp/rk-fullsync-perf.txt); PERF_NODE=A records the sending node A instead.
# COMPRESS=yes or no sets [gossip] compress on both nodes (unset: the daemon's default).
# Also prints the CPU time B's and A's threads used, by thread name (user + system, from /proc/PID/task;
# threads that used none are left out): unlike the wall time, it hardly depends on what else shares
# the machine.
set -euo pipefail
. "$(dirname "$0")/bench_node.sh"
n=${1:-1000000}
build=${2:-build-bench}
timeout_s=${3:-1800}
for b in renkeid renkei tests/bench/bench_fill; do
    [ -x "$build/$b" ] || { echo "bench_fullsync: $build/$b is missing; build $build first" >&2; exit 2; }
done
cache=${CACHE:-/tmp/rk-fullsync-cache-$n}
work=$(mktemp -d /tmp/rk-fullsync-XXXXXX)
pid_a=
pid_b=
cleanup() {
    for p in $pid_b $pid_a; do
        kill "$p" 2>/dev/null || true
    done
    for p in $pid_b $pid_a; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

if [ -f "$cache/complete" ] && ! "$build/tests/bench/bench_fill" --check "$cache/data"; then
    echo "the cached node A in $cache is not a store this build opens: filling it again"
    rm -f "$cache/complete"
fi
if [ ! -f "$cache/complete" ]; then
    rm -rf "$cache"
    mkdir -p "$cache"
    echo "preparing node A: $n records in $cache"
    "$build/tests/bench/bench_fill" "$cache/data" "$cache/node.key" "$n"
    touch "$cache/complete"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_a=$(free_port)
key_a=$("$build/renkei" pubkey "$cache/node.key")
key_b=$("$build/renkei" keygen --out "$work/b.key" | awk '{print $NF}')

{
    bench_node_ini bench-a "$cache/data" "$work/a.sock" "$cache/node.key"
    cat <<INI

[gossip]
listen = tcp://127.0.0.1:$port_a
${COMPRESS:+compress = $COMPRESS}

[member "bench-b"]
key = $key_b
INI
} >"$work/a.ini"
{
    bench_node_ini bench-b "$work/b-data" "$work/b.sock" "$work/b.key"
    cat <<INI

[gossip]
${COMPRESS:+compress = $COMPRESS}

[peer "bench-a"]
key = $key_a
url = tcp://127.0.0.1:$port_a
INI
} >"$work/b.ini"

total() { curl -s --max-time 5 --unix-socket "$1" http://localhost/v1/status | jq -r '.records.total // empty' 2>/dev/null || true; }
wait_up() {
    for _ in $(seq 600); do
        [ -n "$(total "$1")" ] && return 0
        kill -0 "$2" 2>/dev/null || { echo "bench_fullsync: renkeid exited; log:" >&2; tail -20 "$3" >&2; exit 1; }
        sleep 0.1
    done
    echo "bench_fullsync: renkeid did not come up in 60 s" >&2
    exit 1
}

"$build/renkeid" -c "$work/a.ini" 2>"$work/a.log" &
pid_a=$!
wait_up "$work/a.sock" "$pid_a" "$work/a.log"
have_a=$(total "$work/a.sock")
[ "$have_a" = "$n" ] || { echo "bench_fullsync: node A holds $have_a records, expected $n" >&2; exit 1; }
echo "node A up with $have_a records, private memory $(bench_private_kb "$pid_a") kB"

t0=$(date +%s.%N)
"$build/renkeid" -c "$work/b.ini" 2>"$work/b.log" &
pid_b=$!
if [ -n "${PERF:-}" ]; then
    perf_pid=$pid_b
    [ "${PERF_NODE:-B}" = A ] && perf_pid=$pid_a
    (sleep 5; perf record -g -p "$perf_pid" -o "$work/perf.data" -- sleep "$PERF" >/dev/null 2>&1 &&
        perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio 2>/dev/null |
        grep -v '^$' | head -80 >"${PERF_REPORT:-/tmp/rk-fullsync-perf.txt}") &
fi
peak_a=0
peak_b=0
got=0
deadline=$(( $(date +%s) + timeout_s ))
while :; do
    kill -0 "$pid_b" 2>/dev/null || { echo "bench_fullsync: node B exited; log:" >&2; tail -20 "$work/b.log" >&2; exit 1; }
    m=$(bench_private_kb "$pid_a"); [ "$m" -gt "$peak_a" ] && peak_a=$m
    m=$(bench_private_kb "$pid_b"); [ "$m" -gt "$peak_b" ] && peak_b=$m
    mem_b=$m
    got=$(total "$work/b.sock")
    got=${got:-0}
    now=$(date +%s.%N)
    [ "$got" -ge "$n" ] && break
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "bench_fullsync: timed out after $timeout_s s with $got of $n records on B" >&2
        exit 1
    fi
    [ -n "${VERBOSE:-}" ] && printf '  %6.0f s  %d records  B private %d kB\n' "$(echo "$now - $t0" | bc)" "$got" "$mem_b"
    sleep 1
done
secs=$(echo "$now - $t0" | bc)
# CPU seconds per thread name; threads that have exited are counted in B's total only.
tck=$(getconf CLK_TCK)
cpu_threads_of() {
    for t in /proc/"$1"/task/*; do
        printf '%s %s\n' "$(tr ' ' '_' <"$t/comm")" "$(sed 's/^.*) //' "$t/stat" | awk '{print $12 + $13}')"
    done | awk -v hz="$tck" '{s[$1] += $2} END {for (k in s) if (s[k] > 0) printf " %s %.2f s,", k, s[k] / hz}'
}
cpu_threads=$(cpu_threads_of "$pid_b")
cpu_threads_a=$(cpu_threads_of "$pid_a")
cpu_of() { sed 's/^.*) //' "/proc/$1/stat" | awk -v hz="$tck" '{printf "%.1f", ($12 + $13 + $14 + $15) / hz}'; }
cpu_total=$(cpu_of "$pid_b")
cpu_a=$(cpu_of "$pid_a")
rss_b=$(awk '/VmRSS/{print $2}' "/proc/$pid_b/status")
echo "full sync: $n records into an empty node in $secs s (from B's start; status polled once a second)"
echo "verified ingest from a peer: $(echo "$n / $secs" | bc) records/s"
echo "B's CPU time: $cpu_total s in all (${cpu_threads%,}); A's (serving): $cpu_a s (${cpu_threads_a%,})"
echo "peak private memory outside the LMDB map: B $peak_b kB ($((peak_b / 1024)) MiB), A $peak_a kB ($((peak_a / 1024)) MiB)"
echo "B at the end: RSS $rss_b kB, data dir $(du -sh "$work/b-data" | cut -f1)"
echo "B's largest private mappings now (kB, mapping):"
awk '/^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6 ? $NF : "[anon]") }
     /^Private_(Clean|Dirty):/ { s[name] += $2 }
     END { for (k in s) if (s[k] > 0) print s[k], k }' "/proc/$pid_b/smaps" | sort -rn | head -5 | sed 's/^/  /'
curl -s --max-time 5 --unix-socket "$work/b.sock" http://localhost/metrics | grep -E '^renkei_(rejections_total|reconcile_total|commit_batch_items_total|commit_duration_seconds_(count|sum))' || true
