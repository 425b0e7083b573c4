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
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import cluster as cl  # noqa: E402
from rk import sample_case  # noqa: E402


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


class Watcher(threading.Thread):
    """Long-polls one node's change feed and notes when each record id first appears."""

    def __init__(self, node, seen, lock, stop):
        super().__init__(daemon=True)
        self.node, self.seen, self.lock, self.stop_ev = node, seen, lock, stop
        self.after = cl.status(node).get("last_seq", 0)

    def run(self):
        while not self.stop_ev.is_set():
            try:
                r = self.node.get("/v1/changes?after=%d&limit=1000&wait=2" % self.after, timeout=10)
            except OSError:
                time.sleep(0.05)
                continue
            if r.status != 200:
                time.sleep(0.05)
                continue
            now = time.monotonic()
            body = r.json()
            with self.lock:
                for ch in body.get("changes", []):
                    self.seen.setdefault(ch["id"], {}).setdefault(self.node.name, now)
            self.after = body.get("next", self.after)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=47)
    ap.add_argument("--records", type=int, default=100)
    ap.add_argument("--gap", type=float, default=0.2, help="seconds between publishes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30)
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

    seen, lock, stop = {}, threading.Lock(), threading.Event()
    watchers = [Watcher(c[n], seen, lock, stop) for n in names]
    for w in watchers:
        w.start()
    time.sleep(0.5)
    lat, missing = [], 0
    try:
        for i in range(args.records):
            src = c[rng.choice(names)]
            start = time.monotonic()
            rec = src.publish(sample_case(title="伝播 %d" % i))
            deadline = start + args.timeout
            while time.monotonic() < deadline:
                with lock:
                    got = seen.get(rec["id"], {})
                    if len(got) == len(names):
                        lat.append(max(got.values()) - start)
                        break
                time.sleep(0.002)
            else:
                missing += 1
            time.sleep(args.gap)
    finally:
        stop.set()
        for w in watchers:
            w.join(timeout=5)
        c.stop()
    if not lat:
        print("no record reached every node", flush=True)
        return 1
    ms = [x * 1000 for x in lat]
    print("records: %d published, %d reached all %d nodes, %d did not within %.0fs" % (
        args.records, len(lat), len(names), missing, args.timeout))
    print("time until stored on every node (ms): p50 %.1f  p90 %.1f  p99 %.1f  max %.1f" % (
        pct(ms, 50), pct(ms, 90), pct(ms, 99), max(ms)))
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
