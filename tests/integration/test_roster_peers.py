"""Peerings drawn from the roster stay spread as a network grows (docs/configuration.md, "Peers
drawn from the roster"), with real renkeid nodes on loopback.

Every joiner exists before anyone is admitted, and the joiners are admitted one after the other, as in
tests/bench/bench_membership.py: while few are admitted, they are every node's only candidates. What a
broken implementation gets wrong: it keeps those first peerings forever (the first admitted members
end up connected with everyone), or it drops them before anything replaces them."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster as cl  # noqa: E402
from rk import Node, run_tests, sample_case, wait_until  # noqa: E402

PEERS = 2
JOINERS = 12


def endorse(node, key, name, url):
    r = node.request("POST", "/v1/records", {"kind": "endorse", "endorse": {
        "key": key, "name": name, "node_kind": "region", "prefecture": "41", "urls": [url]}})
    assert r.status == 201, r


def roster_peerings(node, configured):
    """The keys node is connected with, other than those a configuration links it to (a key may be
    listed twice: under the name it had when it first connected, and under its roster name)."""
    return {p["key"] for p in cl.peers(node) if p.get("connections", 0) > 0 and p.get("key") not in configured}


def roster_dialed(node):
    return [p["name"] for p in cl.peers(node) if p.get("source") == "roster" and p.get("state") == "connected"]


def test_roster_peerings_stay_spread_as_members_join():
    common = ["gossip.peers=%d" % PEERS, "node.log_level=info"]
    c = cl.line(["a", "b"], sync_interval=2, extra={n: list(common) for n in "ab"})
    founders = [c["a"], c["b"]]
    joiners = []
    for i in range(JOINERS):
        boot = founders[i % 2]
        joiners.append(Node("j%02d" % i, prefecture="41", gossip=True, extra=common + [
            "gossip.sync_interval=2", "network.join=yes",
            'peer "%s".key=%s' % (boot.name, boot.key), 'peer "%s".url=%s' % (boot.name, boot.url)]))
    everyone = founders + joiners
    # the keys each node's own or its neighbours' configurations link it to: never counted, never dropped
    configured = {n.name: set() for n in everyone}
    configured["a"].add(c["b"].key)
    configured["b"].add(c["a"].key)
    for i, j in enumerate(joiners):
        boot = founders[i % 2]
        configured[j.name].add(boot.key)
        configured[boot.name].add(j.key)
    try:
        c.start()
        for j in joiners:
            j.start()
        founded = cl.status(c["a"])["roster"]["digest"]
        wait_until(lambda: all(cl.status(j)["roster"]["digest"] == founded for j in joiners), timeout=60,
                   what="every joiner holding the charter")
        for i, j in enumerate(joiners):
            endorse(c["a"], j.key, "参加%02d" % i, j.url)
            endorse(c["b"], j.key, "参加%02d" % i, j.url)
            wait_until(lambda: all((cl.member_entry(n, j.key) or {}).get("status") == "admitted" for n in everyone),
                       timeout=30, what="%s admitted everywhere" % j.name)
            time.sleep(0.6)  # a roster tick: the nodes dial the members admitted so far
        wait_until(lambda: len({cl.status(n)["roster"]["digest"] for n in everyone}) == 1, timeout=30,
                   what="one roster everywhere")

        # PEERS dialed and, since every node keeps its peers among its first 2 x PEERS candidates, about
        # as many drawn by others; the hash ranks are random, so some nodes are drawn by more (at most
        # 10 of 13 in simulations of this test, against 13 and 14 before the band)
        bound = 5 * PEERS

        def spread():
            counts = {n.name: len(roster_peerings(n, configured[n.name])) for n in everyone}
            return max(counts.values()) <= bound, counts

        deadline = time.monotonic() + 60
        ok, counts = spread()
        while not ok and time.monotonic() < deadline:
            time.sleep(0.5)
            ok, counts = spread()
        assert ok, ("roster peerings per node, bound %d" % bound, counts)
        time.sleep(3)  # and they stay there
        ok, counts = spread()
        assert ok, ("roster peerings per node, bound %d" % bound, counts)
        # replaced, not lost: every node dials PEERS members drawn from the roster
        cl.wait_all(lambda n: len(roster_dialed(n)) >= PEERS, everyone, timeout=30,
                    what="%d roster peers dialed" % PEERS)
        # and records still reach every node, from a joiner and from a founder
        for src in (joiners[JOINERS // 2], c["a"]):
            rec = src.publish(sample_case(title="広がった網で届く %s" % src.name))
            cl.wait_record(everyone, rec["id"], rec["version"], timeout=30)
    finally:
        for j in joiners:
            j.stop()
        c.stop()


if __name__ == "__main__":
    run_tests(globals())
