#!/usr/bin/env bash
# Starts a throw-away renkeid and runs bench_api against it.
# usage: tests/bench/run_api_bench.sh [BUILD_DIR=build] [records=100000] [connections=64] [query_seconds=10]
# RENKEID_OPTS adds renkeid options, e.g. RENKEID_OPTS="-o api.record_cache=0".
set -euo pipefail
. "$(dirname "$0")/bench_node.sh"
build=${1:-build}
records=${2:-100000}
conns=${3:-64}
secs=${4:-10}
dir=$(mktemp -d /tmp/rk-bench-XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
bench_node_ini bench "$dir/data" "$dir/api.sock" >"$dir/renkei.ini"
# shellcheck disable=SC2086 # RENKEID_OPTS is a list of words
"$build/renkeid" -c "$dir/renkei.ini" ${RENKEID_OPTS:-} 2>"$dir/renkeid.log" &
pid=$!
for _ in $(seq 100); do [ -S "$dir/api.sock" ] && break; sleep 0.1; done
"$build/tests/bench/bench_api" "$dir/api.sock" "$records" "$conns" "$secs"
private_kb=$(bench_private_kb "$pid")
echo "daemon RSS: $(awk '/VmRSS/{print $2" "$3}' /proc/$pid/status), private outside the LMDB map: ${private_kb} kB"
du -sh "$dir/data" | awk '{print "data dir: "$1}'
