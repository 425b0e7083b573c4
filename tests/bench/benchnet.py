"""benchnet: what the network benchmarks (bench_propagation.py, bench_membership.py) share: the time
from the start of a publish until the record is stored on every node, measured by one thread per
node long-polling that node's /v1/changes, so a node's store time is seen within milliseconds.

Not a benchmark itself; the benchmarks import it (their folder is on sys.path when they run)."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import cluster as cl  # noqa: E402
from rk import sample_case  # noqa: E402


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


def add_propagation_args(ap, records, timeout):
    """The options of the propagation measurement, with this benchmark's defaults."""
    ap.add_argument("--records", type=int, default=records)
    ap.add_argument("--gap", type=float, default=0.2, help="seconds between publishes")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=timeout)


def propagate(nodes, rng, records, gap, timeout, title, settle=0.5, poll=0.002):
    """Publishes `records` cases one at a time, each at a random node of `nodes`, `gap` seconds apart,
    and waits up to `timeout` seconds for each to be stored on every node. Returns the seconds each
    record took to reach them all and how many did not within the timeout."""
    seen, lock, stop = {}, threading.Lock(), threading.Event()
    watchers = [Watcher(n, seen, lock, stop) for n in nodes]
    for w in watchers:
        w.start()
    time.sleep(settle)  # every watcher has its first long poll open
    lat, missing = [], 0
    try:
        for i in range(records):
            src = rng.choice(nodes)
            start = time.monotonic()
            rec = src.publish(sample_case(title="%s %d" % (title, i)))
            deadline = start + timeout
            while time.monotonic() < deadline:
                with lock:
                    got = seen.get(rec["id"], {})
                    if len(got) == len(nodes):
                        lat.append(max(got.values()) - start)
                        break
                time.sleep(poll)
            else:
                missing += 1
            time.sleep(gap)
    finally:
        stop.set()
        for w in watchers:
            w.join(timeout=5)
    return lat, missing


def report(lat, missing, records, nodes, timeout, percentiles):
    """Prints how many records reached every one of `nodes` nodes and, if any did, the percentiles of
    the time they took (ms)."""
    print("records: %d published, %d reached all %d nodes, %d did not within %.0fs" % (
        records, len(lat), nodes, missing, timeout))
    if lat:
        ms = [x * 1000 for x in lat]
        print("time until stored on every node (ms): %s  max %.1f" % (
            "  ".join("p%d %.1f" % (p, pct(ms, p)) for p in percentiles), max(ms)))
