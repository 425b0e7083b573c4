#!/usr/bin/env python3
"""Concurrent identical exports: one renkeid (build/renkeid, or $RENKEID) filled with N public cases of
about 6 KB of text each, then, for records.csv, records.xlsx and feed.atom?limit=10000 in turn, C
clients ask for the same export at the same moment and read it whole. Prints, for each, the bytes,
the seconds until the last client had its body, the renders counted by renkei_export_renders_total
("-" on a node without it) and the node's private memory (Private_Clean + Private_Dirty of
/proc/PID/smaps_rollup, sampled every 5 ms): before the round and its peak.

    python3 tests/bench/bench_export_concurrent.py [N=2400] [C=8]

Run from the repository root.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import cluster  # noqa: E402
import rk  # noqa: E402

import privatemem  # noqa: E402

TEXT = "地域のDX人材を育てる連携事業の報告です。" * 40


def renders(n, name):
    r = n.get("/metrics")
    if "renkei_export_renders_total" not in r.text:
        return None
    return cluster.metric_sum(n, "renkei_export_renders_total", export=name)


def one_round(n, path, clients):
    name = path.split("/")[-1].split("?")[0]
    before = renders(n, name)
    sizes = []
    barrier = threading.Barrier(clients)

    def client():
        barrier.wait()
        r = n.get(path, timeout=600)
        assert r.status == 200, r
        sizes.append(len(r.body))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    with privatemem.PeakPrivate(n.proc.pid, 0.005, store=True) as mem:
        t0 = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        secs = time.time() - t0
    after = renders(n, name)
    assert len(set(sizes)) == 1, sizes
    print("%-36s %d clients %10d bytes %6.2f s  renders %s  private %d KiB, peak %d KiB (+%d KiB)" % (
        path, clients, sizes[0], secs, "-" if before is None else "%d" % (after - before), mem.base, mem.peak,
        mem.peak - mem.base), flush=True)


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2400
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    n = rk.Node(name="bench-conc", kind="national", prefecture="13",
                extra=["node.map_size=2G", "quota.versions_per_window=0"]).start()
    t0 = time.time()

    def worker(k):
        for i in range(k, count, 4):
            # random hex so that the workbook does not compress to nothing
            n.publish(rk.sample_case(title="事例%05d" % i, summary=TEXT + os.urandom(500).hex()))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("published %d in %.1f s" % (count, time.time() - t0), flush=True)
    for path in ("/v1/export/records.csv", "/v1/export/records.xlsx", "/v1/export/feed.atom?limit=10000"):
        one_round(n, path, clients)
    n.stop()


if __name__ == "__main__":
    main()
