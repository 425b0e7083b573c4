#!/usr/bin/env python3
"""Propagation benchmark: N renkeid nodes on loopback (default 47) joined in a random connected peer
graph of degree 3-4, every roster listing every node. Records are published one at a time at random
nodes; each node's /v1/changes is long-polled by its own thread, so the time a record is stored on
a node is seen within milliseconds. Prints p50/p90/p99/max of the time from the start of the publish
request until the record is stored on every node.

    RENKEID=build/daemon/renkeid RENKEI=build/cli/renkei python3 tests/bench/bench_propagation.py \
        [--nodes 47] [--records 100] [--gap 0.2] [--seed 1]
"""

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import cluster as cl  # noqa: E402
from benchnet import add_propagation_args, propagate, report  # noqa: E402


def random_graph(n, rng):
    """Edges (dialer, listener) of a connected graph whose degrees are 3 or 4 (for n >= 5)."""
    order = list(range(n))
    rng.shuffle(order)
    deg = [0] * n
    edges = set()

    def add(a, b):
        if a == b or (a, b) in edges or (b, a) in edges:
            return False
        edges.add((a, b) if rng.random() < 0.5 else (b, a))
        deg[a] += 1
        deg[b] += 1
        return True

    for i in range(n):  # a ring keeps it connected
        add(order[i], order[(i + 1) % n])
    for _ in range(100 * n):
        low = [v for v in range(n) if deg[v] < 3]
        if not low:
            break
        a = rng.choice(low)
        cands = [v for v in range(n) if v != a and deg[v] < 4]
        if cands:
            add(a, rng.choice(cands))
    return sorted(edges)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=47)
    add_propagation_args(ap, records=100, timeout=30)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    names = ["n%02d" % i for i in range(args.nodes)]
    edges = [(names[a], names[b]) for a, b in random_graph(args.nodes, rng)]
    degs = {n: 0 for n in names}
    for a, b in edges:
        degs[a] += 1
        degs[b] += 1
    print("graph: %d nodes, %d links, degree %d..%d" % (len(names), len(edges), min(degs.values()), max(degs.values())),
          flush=True)
    c = cl.Cluster(names, edges, sync_interval=60, extra={n: ["node.log_level=warn"] for n in names})
    t0 = time.time()
    c.start()
    cl.wait_connected(c.running(), timeout=120)
    print("started and connected in %.1fs" % (time.time() - t0), flush=True)

    try:
        lat, missing = propagate([c[n] for n in names], rng, args.records, args.gap, args.timeout, "伝播")
    finally:
        c.stop()
    if not lat:
        print("no record reached every node", flush=True)
        return 1
    report(lat, missing, args.records, len(names), args.timeout, (50, 90, 99))
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
