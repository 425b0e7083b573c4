# bench_node.sh: what the shell benchmarks share about a throw-away renkeid. Sourced, not run.
#
# bench_node_ini NAME DATA_DIR SOCKET [KEY_FILE] prints the [node], [api] and [quota] sections of a
# benchmark node's configuration (append the rest); bench_private_kb PID prints the daemon's private
# memory outside LMDB's map in kB: Private_Clean + Private_Dirty summed over every mapping of
# /proc/PID/smaps except data.mdb, whose pages are the page cache's, not the daemon's own.

bench_node_ini() {
    cat <<INI
[node]
name = $1
kind = region
data_dir = $2
${4:+key_file = $4}
map_size = 32G
log_level = warn

[api]
socket = $3

# a benchmark measures throughput, not the write policy: one author publishes everything
[quota]
records_per_author = 0
versions_per_window = 0
INI
}

bench_private_kb() {
    awk '/^[0-9a-f]+-[0-9a-f]+ / { skip = ($NF ~ /\/data\.mdb$/) }
         /^Private_(Clean|Dirty):/ { if (!skip) s += $2 }
         END { print s + 0 }' "/proc/$1/smaps" 2>/dev/null || echo 0
}
