#!/usr/bin/env bash
# Counts the instructions bench_api's queries cost a renkeid, and how they split between the loop
# thread and the others, with callgrind: figures that do not depend on what else the machine runs,
# where requests/s on a shared machine do. The daemon runs under valgrind, publishing is left out of
# the count (counters zeroed after it), then one connection queries for SECONDS.
# usage: tests/bench/profile_api_queries.sh [BUILD_DIR=build] [records=2000] [seconds=20] [OUT=callgrind file]
# RENKEID_OPTS adds renkeid options, e.g. RENKEID_OPTS="-o api.record_cache=0" to count the rendering
# of every record (the JSON cache off), as when queries spread over far more records than it holds.
set -euo pipefail
. "$(dirname "$0")/bench_node.sh"
build=${1:-build}
records=${2:-2000}
secs=${3:-20}
dir=$(mktemp -d /tmp/rk-profile-XXXXXX)
out=${4:-$dir/callgrind.out}
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$pid" ] && wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
bench_node_ini bench "$dir/data" "$dir/api.sock" >"$dir/renkei.ini"
# shellcheck disable=SC2086 # RENKEID_OPTS is a list of words
valgrind --tool=callgrind --callgrind-out-file="$out" "$build/renkeid" -c "$dir/renkei.ini" ${RENKEID_OPTS:-} \
    2>"$dir/valgrind.log" &
pid=$!
for _ in $(seq 600); do [ -S "$dir/api.sock" ] && break; sleep 0.1; done
"$build/tests/bench/bench_api" "$dir/api.sock" "$records" 8 1 | grep '^publish'
callgrind_control -z "$pid" >/dev/null 2>&1
queries=$("$build/tests/bench/bench_api" "$dir/api.sock" "$records" 1 "$secs" 0 | sed -n 's/^query: \([0-9]*\) requests.*/\1/p')
callgrind_control -d "$pid" >/dev/null 2>&1
kill "$pid"
wait "$pid" 2>/dev/null || true
pid=
# the dump after zeroing is the second part of the output
report=$(callgrind_annotate --inclusive=yes --threshold=100 "$out.1" 2>/dev/null)
total=$(echo "$report" | awk '/PROGRAM TOTALS/{gsub(",", "", $1); print $1}')
loop=$(echo "$report" | awk '/\?\?\?:main \[/{gsub(",", "", $1); print $1; exit}')
echo "queries: $queries, instructions: $total, per query: $((total / queries))"
echo "loop thread (main): $((100 * ${loop:-0} / total)) % of the instructions"
echo "$report" | grep -E '\?\?\?:(api_job_work|json_dump_callback|rk_record_to_json|rk_jsoncache_get|rk_store_load|rk_store_query|json_delete|mdb_get) ' |
    sed 's/ \[.*//'
