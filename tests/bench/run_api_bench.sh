#!/usr/bin/env bash
# Starts a throw-away renkeid and runs bench_api against it.
# usage: tests/bench/run_api_bench.sh [BUILD_DIR=build] [records=100000] [connections=64] [query_seconds=10]
set -euo pipefail
build=${1:-build}
records=${2:-100000}
conns=${3:-64}
secs=${4:-10}
dir=$(mktemp -d /tmp/rk-bench-XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cat >"$dir/renkei.ini" <<INI
[node]
name = bench
kind = region
data_dir = $dir/data
map_size = 32G
log_level = warn

[api]
socket = $dir/api.sock

# a benchmark measures throughput, not the write policy: one author publishes everything
[quota]
records_per_author = 0
versions_per_window = 0
INI
"$build/renkeid" -c "$dir/renkei.ini" 2>"$dir/renkeid.log" &
pid=$!
for _ in $(seq 100); do [ -S "$dir/api.sock" ] && break; sleep 0.1; done
"$build/tests/bench/bench_api" "$dir/api.sock" "$records" "$conns" "$secs"
# Private memory outside LMDB's map: the data.mdb mapping is page cache, not the daemon's own memory.
private_kb=$(awk '/^[0-9a-f]+-[0-9a-f]+ /{inmap = ($NF ~ /data\.mdb$/)} /^Private_(Clean|Dirty):/{if (!inmap) s += $2} END{print s}' /proc/$pid/smaps)
echo "daemon RSS: $(awk '/VmRSS/{print $2" "$3}' /proc/$pid/status), private outside the LMDB map: ${private_kb} kB"
du -sh "$dir/data" | awk '{print "data dir: "$1}'
