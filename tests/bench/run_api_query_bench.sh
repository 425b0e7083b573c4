#!/usr/bin/env bash
# Queries of bench_api against a renkeid holding N records that were never published through the API:
# the store is filled once by bench_fill --api (bench_api's own records, bench_case.h) and cached, so
# the 1,000,000-record query figure takes minutes to rerun rather than the hours of a million
# publishes. The query mix, connections and output are run_api_bench.sh's.
#
# usage: tests/bench/run_api_query_bench.sh [BUILD_DIR=build] [records=1000000] [connections=64] [query_seconds=10]
# RENKEID_OPTS adds renkeid options, e.g. RENKEID_OPTS="-o api.record_cache=0". PERF=1 records a perf
# profile of the daemon during the queries (report in /tmp/rk-apiquery-perf.txt): its shares, unlike
# requests/s, hardly depend on what else runs.
#
# The filled store is kept in /tmp/rk-apiquery-cache-fF-N, F being the store format of this source
# tree (STORE_FORMAT in lib/), so a tree with another format fills a new one (a daemon refuses a store
# of another format). Delete the directory to fill again. It differs from a published store in its
# versions (random over the year before the fill, not the publishing order) and in having been
# written in transactions of 10,000 records (fewer free pages in the LMDB file). The daemon runs on the
# cached directory itself: queries write nothing, and its peer state is empty either way.
set -euo pipefail
here=$(dirname "$0")
. "$here/bench_node.sh"
build=${1:-build}
records=${2:-1000000}
conns=${3:-64}
secs=${4:-10}
for b in renkeid tests/bench/bench_fill tests/bench/bench_api; do
    [ -x "$build/$b" ] || { echo "run_api_query_bench: $build/$b is missing; build $build first" >&2; exit 2; }
done
format=$(grep -rhoE '^#define (RK_)?STORE_FORMAT [0-9]+' "$here/../../lib" | awk '{print $3}' | head -1)
[ -n "$format" ] || { echo "run_api_query_bench: STORE_FORMAT not found under lib/" >&2; exit 2; }
cache=/tmp/rk-apiquery-cache-f$format-$records
if [ ! -f "$cache/complete" ]; then
    rm -rf "$cache"
    mkdir -p "$cache"
    echo "filling $cache with $records records of bench_api (store format $format)"
    "$build/tests/bench/bench_fill" --api 1 "$cache/data" "$cache/node.key" "$records" 32
    touch "$cache/complete"
fi
dir=$(mktemp -d /tmp/rk-apiquery-XXXXXX)
pid=
cleanup() {
    if [ -n "${perf_pid:-}" ]; then wait "$perf_pid" 2>/dev/null || true; fi
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
bench_node_ini bench "$cache/data" "$dir/api.sock" "$cache/node.key" >"$dir/renkei.ini"
# shellcheck disable=SC2086 # RENKEID_OPTS is a list of words
"$build/renkeid" -c "$dir/renkei.ini" ${RENKEID_OPTS:-} >/dev/null 2>"$dir/renkeid.log" &
pid=$!
for _ in $(seq 600); do
    [ -S "$dir/api.sock" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "run_api_query_bench: renkeid exited; log:" >&2; tail -20 "$dir/renkeid.log" >&2; exit 1; }
    sleep 0.1
done
perf_pid=
if [ -n "${PERF:-}" ]; then
    (perf record -p "$pid" -o "$dir/perf.data" -- sleep "$secs" >/dev/null 2>&1 &&
        perf report -i "$dir/perf.data" --sort dso,symbol --stdio 2>/dev/null |
        grep -v '^$' | head -80 >/tmp/rk-apiquery-perf.txt) &
    perf_pid=$!
fi
"$build/tests/bench/bench_api" "$dir/api.sock" "$records" "$conns" "$secs" 0
echo "daemon RSS: $(awk '/VmRSS/{print $2" "$3}' /proc/$pid/status), private outside the LMDB map: $(bench_private_kb "$pid") kB"
du -sh "$cache/data" | awk '{print "data dir: "$1}'
