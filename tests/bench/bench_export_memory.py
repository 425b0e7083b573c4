#!/usr/bin/env python3
"""Private memory of a node serving its largest exports to a slow client: one renkeid (build/renkeid,
or $RENKEID) on a store of N public cases of about 1 KiB written by bench_fill ($BENCH_FILL, default
build/tests/bench/bench_fill), then, for feed.json?limit=10000, feed.atom?limit=10000, records.csv
and records.xlsx in turn, one client on the API socket asks for the export and reads it 64 KiB
every 20 ms. Prints, for each, the bytes, the seconds until the client had the body, and the node's
private memory (Private_Clean + Private_Dirty of every mapping of /proc/PID/smaps but LMDB's
data.mdb, as docs/benchmarks.md measures it), sampled every 10 ms: before the request and its peak.

    python3 tests/bench/bench_export_memory.py [N=100000]

Run from the repository root.
"""
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import rk  # noqa: E402

import privatemem  # noqa: E402

BENCH_FILL = os.environ.get("BENCH_FILL", "build/tests/bench/bench_fill")
EXPORTS = ("/v1/export/feed.json?limit=10000", "/v1/export/feed.atom?limit=10000", "/v1/export/records.csv",
           "/v1/export/records.xlsx")


def read_slowly(n, path):
    """The body's length, read 64 KiB every 20 ms on a connection closed afterwards."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(120)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.connect(n.socket)
    try:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % path.encode())
        data = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            time.sleep(0.02)
    finally:
        s.close()
    head, _, body = bytes(data).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head[:200]
    return len(body)


def one(n, path):
    with privatemem.PeakPrivate(n.proc.pid, 0.01) as mem:
        t0 = time.time()
        size = read_slowly(n, path)
    print("%-36s %11d bytes %6.1f s  private %6d KiB, peak %6d KiB (+%d KiB)" % (
        path, size, time.time() - t0, mem.base, mem.peak, mem.peak - mem.base), flush=True)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    n = rk.Node(name="bench-expmem", kind="national", prefecture="13", extra=["node.map_size=4G"])
    t0 = time.time()
    subprocess.run([BENCH_FILL, os.path.join(n.dir, "data"), n.key_file, str(count), "4"], check=True,
                   stdout=subprocess.DEVNULL)
    print("filled %d records in %.1f s" % (count, time.time() - t0), flush=True)
    n.start()
    try:
        for path in EXPORTS:
            one(n, path)
    finally:
        n.stop()


if __name__ == "__main__":
    main()
