#!/usr/bin/env python3
"""Export benchmark: one renkeid (build/renkeid, or $RENKEID) filled with N public cases through the
API, then one request to each export; prints each answer's size, time and the daemon's peak RSS
(VmHWM), which shows that the CSV and the workbook stream while a feed page is held in memory.

    python3 tests/bench/bench_export.py [N=20050]

Run from the repository root. N above 20,000 shows the cut: Renkei-Truncated and a next link.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import rk  # noqa: E402


def peak(n):
    with open("/proc/%d/status" % n.proc.pid) as f:
        for line in f:
            if line.startswith("VmHWM"):
                return line.split(":")[1].strip()
    return "?"


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20050
    n = rk.Node(name="bench", extra=["node.map_size=2G"]).start()
    t0 = time.time()

    def worker(k):
        for i in range(k, count, 4):
            rec = rk.sample_case(title="事例%05d" % i, prefecture="%02d" % (i % 47 + 1))
            rec["visibility"] = "public"
            n.publish(rec)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("published %d in %.1f s, peak RSS %s" % (count, time.time() - t0, peak(n)))
    for path in ("/v1/export/records.csv", "/v1/export/records.xlsx", "/v1/export/feed.atom",
                 "/v1/export/feed.json?limit=10000", "/v1/export/catalog.jsonld", "/metrics"):
        t = time.time()
        r = n.get(path, timeout=600)
        print("%-36s %d %10d bytes %6.2f s  truncated=%s next=%s  peak RSS %s" % (
            path, r.status, len(r.body), time.time() - t, r.headers.get("renkei-truncated", "-"),
            "yes" if r.headers.get("link") else "no", peak(n)))
    n.stop()


if __name__ == "__main__":
    main()
