#!/usr/bin/env python3
"""Membership benchmark (issue 9, done when 7): N renkeid nodes on loopback where only the founding
members are configured and every other node joins through one bootstrap peer.

The founders (default 4) dial each other in a ring and name each other; each joiner's configuration
names one founder (round robin) as its [peer] and sets [network] join = yes. Every joiner is then
endorsed, with its listen URL, by two founders (threshold 2), all endorsements published as fast as
the founders take them. Measured:

- roster: the time from the first endorsement until every node computes the same roster digest with
  N members (GET /v1/status, polled on every node);
- propagation afterwards: records published one at a time at random nodes, the time from the start of
  the publish until the record is stored on every node (each node's /v1/changes long-polled on its own
  thread, as in bench_propagation.py), p50 and p99;
- bytes: renkei_peer_bytes_total{direction} of every node at the end, per node (mean and max).

    RENKEID=build/renkeid RENKEI=build/renkei python3 tests/bench/bench_membership.py \\
        [--nodes 100] [--founders 4] [--records 50] [--gap 0.2] [--peers 4] [--seed 1]
"""

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import cluster as cl  # noqa: E402
from benchnet import add_propagation_args, propagate, report  # noqa: E402
from rk import Node  # noqa: E402


def bytes_of(node):
    return cl.metric_sum(node, "renkei_peer_bytes_total", direction="in") + \
        cl.metric_sum(node, "renkei_peer_bytes_total", direction="out")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--founders", type=int, default=4)
    ap.add_argument("--peers", type=int, default=4, help="[gossip] peers on every node")
    add_propagation_args(ap, records=50, timeout=60)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    fnames = ["f%d" % i for i in range(args.founders)]
    common = ["node.log_level=warn", "gossip.sync_interval=30", "gossip.peers=%d" % args.peers]
    ring = [(fnames[i], fnames[(i + 1) % len(fnames)]) for i in range(len(fnames))] if len(fnames) > 1 else []
    c = cl.Cluster(fnames, ring, extra={n: list(common) for n in fnames})
    joiners = []
    for i in range(args.nodes - args.founders):
        boot = c[fnames[i % len(fnames)]]
        ov = common + ["network.join=yes", 'peer "%s".key=%s' % (boot.name, boot.key),
                       'peer "%s".url=%s' % (boot.name, boot.url)]
        joiners.append(Node("j%03d" % i, gossip=True, extra=ov))
    everyone = [c[n] for n in fnames] + joiners
    t0 = time.time()
    try:
        c.start()
        for j in joiners:
            j.start()
        print("started %d nodes (%d founders, %d joiners) in %.1fs" % (len(everyone), len(fnames), len(joiners),
                                                                      time.time() - t0), flush=True)
        # every joiner has learned the charter from its bootstrap peer
        founded = cl.status(c[fnames[0]])["roster"]["digest"]
        deadline = time.time() + 120
        while time.time() < deadline and any(cl.status(j)["roster"]["digest"] != founded for j in joiners):
            time.sleep(0.5)
        print("charter learned by every joiner after %.1fs" % (time.time() - t0), flush=True)

        t1 = time.monotonic()
        for i, j in enumerate(joiners):
            for k in (0, 1):
                f = c[fnames[(i + k) % len(fnames)]]
                r = f.request("POST", "/v1/records", {"kind": "endorse", "endorse": {
                    "key": j.key, "name": "参加%03d" % i, "node_kind": "region", "urls": [j.url]}})
                assert r.status == 201, r
        published = time.monotonic() - t1
        done = None
        deadline = time.monotonic() + args.timeout * 5
        while time.monotonic() < deadline:
            rosters = [cl.status(n)["roster"] for n in everyone]
            if len({r["digest"] for r in rosters}) == 1 and rosters[0]["members"] == len(everyone):
                done = time.monotonic() - t1
                break
            time.sleep(0.5)
        if done is None:
            behind = sum(1 for r in rosters if r["members"] != len(everyone))
            print("rosters not identical after %.0fs (%d nodes short of %d members)" % (
                time.monotonic() - t1, behind, len(everyone)), flush=True)
            return 1
        print("%d endorsements published in %.1fs; every roster identical (%d members) %.1fs after the first"
              % (2 * len(joiners), published, len(everyone), done), flush=True)
        time.sleep(2)
        conns = [sum(1 for p in cl.peers(n) if p.get("connections", 0) > 0) for n in everyone]
        print("peers connected per node: min %d, mean %.1f, max %d" % (min(conns), sum(conns) / len(conns),
                                                                        max(conns)), flush=True)

        lat, missing = propagate(everyone, rng, args.records, args.gap, args.timeout, "参加後の伝播", settle=1,
                                 poll=0.005)
        report(lat, missing, args.records, len(everyone), args.timeout, (50, 99))
        b = [bytes_of(n) for n in everyone]
        print("peer bytes per node (in + out, whole run): mean %.0f KiB, max %.0f KiB (%s)" % (
            sum(b) / len(b) / 1024, max(b) / 1024, "founder" if b.index(max(b)) < len(fnames) else "joiner"))
        return 0 if missing == 0 else 1
    finally:
        for j in joiners:
            j.stop()
        c.stop()


if __name__ == "__main__":
    sys.exit(main())
