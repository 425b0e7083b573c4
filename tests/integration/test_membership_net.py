"""Membership over the network (docs/membership.md, "How nodes agree"; docs/protocol.md, "Roster"),
with real renkeid nodes on loopback.

What a broken implementation would get wrong: a joining node that builds its own charter (or takes
one from anybody) instead of its bootstrap peer's, or forgets it on restart; two founding nodes with
different charters that mix their membership records silently; a node that meets a peer with a
different roster and leaves the membership records to the next periodic reconciliation; members that
must be wired by hand instead of dialing the listen URLs the roster publishes; a URL from a record
that reaches NNG's parser unchecked."""

import contextlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster as cl  # noqa: E402
from rk import Node, run_tests, sample_case, wait_until  # noqa: E402


members = cl.members
entry = cl.member_entry


def roster(node):
    return cl.status(node)["roster"]


def peer(node, name):
    for p in cl.peers(node):
        if p["name"] == name:
            return p
    return None


def endorse(node, key, name, url=None, prefecture="41"):
    args = ["--json", "member", "endorse", "--key", key, "--name", name, "--kind", "region", "--prefecture", prefecture]
    if url:
        args += ["--url", url]
    return json.loads(node.cli(*args).stdout)


def joiner(name, bootstrap, extra=None, prefecture="41"):
    """A node that joins through one configured peer, listening on its own port."""
    ov = ["gossip.sync_interval=2", "node.log_level=info", "network.join=yes",
          'peer "%s".key=%s' % (bootstrap.name, bootstrap.key), 'peer "%s".url=%s' % (bootstrap.name, bootstrap.url)]
    return Node(name, prefecture=prefecture, gossip=True, extra=ov + (extra or []))


@contextlib.contextmanager
def founders_and_joiner():
    """a, b and c found the network in a line; d joins through c. All four run inside the block and
    are stopped after it, whatever happened."""
    c = cl.line(["a", "b", "c"], sync_interval=2)
    d = joiner("d", c["c"])
    try:
        c.start()
        d.start()
        yield c, d
    finally:
        d.stop()
        c.stop()


def test_joining_node_learns_and_keeps_the_charter():
    c = cl.line(["a", "b", "c"], sync_interval=2, extra={n: ["network.threshold=2"] for n in "abc"})
    d = joiner("d", c["c"])
    try:
        c.start()
        founders = roster(c["a"])
        # before its first handshake a joining node has no charter: nobody is a member
        d.start()
        wait_until(lambda: roster(d)["digest"] == founders["digest"], timeout=20, what="d's roster equal to a's")
        assert roster(d)["members"] == 3 and roster(d)["threshold"] == 2, roster(d)
        names = sorted(m["name"] for m in members(d)["members"] if m["status"] == "founding")
        assert names == ["a", "b", "c"], names  # as c's configuration names them
        assert os.path.exists(os.path.join(d.dir, "data", "charter"))
        assert "learned the charter" in d.log()
        assert peer(d, "c")["charter_mismatch"] is False
        # the charter survives a restart with the bootstrap peer gone
        c.stop(["c"])
        d.stop()
        d.start()
        assert roster(d)["digest"] == founders["digest"], (roster(d), founders)
    finally:
        d.stop()
        c.stop()


def test_different_charters_exchange_no_membership_records():
    tmp = cl.temp_dir()
    _, x_key = cl.keypair(tmp, "x")
    c = cl.line(["a", "b"], sync_interval=2, extra={"a": ["network.threshold=1"]})
    try:
        c.start()
        a, b = c["a"], c["b"]
        wait_until(lambda: peer(a, "b") and peer(a, "b")["charter_mismatch"], timeout=20, what="mismatch seen by a")
        wait_until(lambda: peer(b, "a") and peer(b, "a")["charter_mismatch"], timeout=20, what="mismatch seen by b")
        # both digests are in the log, once
        log = a.log()
        assert log.count("has a different charter") == 1, log
        ours, theirs = roster(a), roster(b)
        assert ours["threshold"] == 1 and theirs["threshold"] == 2
        # other records still flow; membership records do not, either way
        case = a.publish(sample_case(title="憲章が違っても事例は届く"))
        cl.wait_record([b], case["id"], case["version"], timeout=20)
        e = endorse(a, x_key, "佐賀県")
        e2 = endorse(b, x_key, "佐賀県")
        time.sleep(5)  # two sync intervals
        assert cl.get_record(b, e["id"]) is None and cl.get_record(a, e2["id"]) is None
        assert entry(a, x_key)["status"] == "admitted"  # threshold 1 at a
        assert entry(b, x_key)["status"] == "pending"
    finally:
        c.stop()


def test_different_rosters_exchange_membership_records_first():
    tmp = cl.temp_dir()
    keys = [cl.keypair(tmp, "k%d" % i)[1] for i in range(3)]
    c = cl.line(["a", "b"], sync_interval=600)  # no periodic reconciliation during the test
    try:
        c.start(["b"])
        b = c["b"]
        recs = [endorse(b, k, "町%d" % i) for i, k in enumerate(keys)]
        c.start(["a"])
        a = c["a"]
        for r in recs:
            cl.wait_record([a], r["id"], r["version"], timeout=20)
        wait_until(lambda: roster(a)["digest"] == roster(b)["digest"], timeout=20, what="same roster")
        # the exchange is counted after its fetched records are stored, so the rosters can match first
        wait_until(
            lambda: cl.metric_sum(a, "renkei_roster_exchanges_total", result="ok") >= 1,
            timeout=10,
            what="a roster exchange counted as ok",
        )
        assert "roster exchange with peer=b: fetched 3" in a.log(), a.log()
        assert peer(a, "b")["roster_digest"] == roster(b)["digest"], peer(a, "b")
    finally:
        c.stop()


def test_members_dial_the_urls_the_roster_publishes():
    tmp = cl.temp_dir()
    _, bad_key = cl.keypair(tmp, "bad")
    with founders_and_joiner() as (c, d):
        a, b, cc = c["a"], c["b"], c["c"]
        endorse(a, d.key, "佐賀県", url=d.url)
        endorse(b, d.key, "佐賀県", url=d.url)
        # a URL NNG 1.5 would read past the end of: skipped and counted, never dialed
        endorse(a, bad_key, "悪いURL", url="tcp://127.0.0.1:7@")
        endorse(b, bad_key, "悪いURL", url="tcp://127.0.0.1:7@")
        for n in (a, b):
            wait_until(lambda: peer(n, "佐賀県") and peer(n, "佐賀県")["state"] == "connected", timeout=30,
                       what="%s dialing d from the roster" % n.name)
            p = peer(n, "佐賀県")
            assert p["source"] == "roster" and p["url"] == d.url and p["key"] == d.key, p
            wait_until(lambda: cl.metric_sum(n, "renkei_roster_bad_urls_total") >= 1, timeout=20, what="bad URL counted")
            assert peer(n, "悪いURL") is None
        # c lists a and b as members without URLs, so d is the one member it can dial from the roster
        wait_until(lambda: peer(cc, "佐賀県") and peer(cc, "佐賀県")["state"] == "connected", timeout=30,
                   what="c dialing d from the roster")
        assert peer(cc, "佐賀県")["source"] == "roster", peer(cc, "佐賀県")
        assert [p["name"] for p in cl.peers(cc) if p.get("source") == "roster"] == ["佐賀県"], cl.peers(cc)


def test_done_when_2_roster_peerings_keep_a_joiner_connected():
    """Issue 9, done when 2: d, configured with c only, gets at least two peerings drawn from the
    roster without anyone configuring them, and with c stopped still receives what a publishes."""
    with founders_and_joiner() as (c, d):
        a, b = c["a"], c["b"]
        endorse(a, d.key, "佐賀県", url=d.url)
        endorse(b, d.key, "佐賀県", url=d.url)
        wait_until(lambda: entry(d, d.key) and entry(d, d.key)["status"] == "admitted", timeout=20,
                   what="d admitted on d")

        def roster_peerings():
            # peerings nobody configured: the founders dial d at the URL its endorsements publish
            return [p for p in cl.peers(d) if p["name"] in ("a", "b") and p["state"] == "connected"
                    and p["member"]]

        wait_until(lambda: len(roster_peerings()) >= 2, timeout=30, what="two roster peerings on d")
        for n in (a, b):
            assert peer(n, "佐賀県")["source"] == "roster", cl.peers(n)
        c.stop(["c"])
        case = a.publish(sample_case(title="桑名市の事例、cが止まっても佐賀県へ"))
        cl.wait_record([d], case["id"], case["version"], timeout=20)
        net = a.publish(dict(sample_case(title="会員向けの事例"), visibility="network"))
        cl.wait_record([d], net["id"], net["version"], timeout=20)  # d is a member: network records too


def test_done_when_5_partition_admits_on_both_sides():
    """Issue 9, done when 5: {a, b} and {c, e} are cut off from each other and each side admits a
    different new member (x through a, y through e); when the link returns every node computes the
    same roster and digest, and both new members' records are everywhere."""
    c = cl.line(["a", "b", "c", "e"], sync_interval=2)
    x = joiner("x", c["a"], prefecture="34")
    y = joiner("y", c["e"], prefecture="41")
    founders = [c[n] for n in ("a", "b", "c", "e")]
    try:
        c.start()
        cl.wait_connected(founders)
        # cut b -> c: b keeps c as a member (same charter) but no longer dials it
        b = c["b"]
        b.stop()
        link = ['peer "c".key=%s' % c["c"].key, 'peer "c".url=%s' % c["c"].url]
        b.extra = [o for o in b.extra if o not in link] + ['member "c".key=%s' % c["c"].key]
        b.start()
        x.start()
        y.start()
        for side, new, name, url in (((c["a"], b), x, "広島県", x.url), ((c["c"], c["e"]), y, "佐賀県", y.url)):
            for n in side:
                endorse(n, new.key, name, url=url, prefecture="34" if new is x else "41")
            wait_until(lambda: entry(new, new.key) and entry(new, new.key)["status"] == "admitted", timeout=30,
                       what="%s admitted on its own side" % new.name)
        rx = x.publish(sample_case(title="広島県の事例", prefecture="34"))
        ry = y.publish(sample_case(title="佐賀県の事例", prefecture="41"))
        cl.wait_record([c["a"], b], rx["id"], rx["version"], timeout=20)
        cl.wait_record([c["c"], c["e"]], ry["id"], ry["version"], timeout=20)
        # cut off: each side knows only its own admission
        assert entry(c["a"], y.key) is None and entry(c["e"], x.key) is None
        assert roster(c["a"])["digest"] != roster(c["e"])["digest"]
        # the link returns
        b.stop()
        b.extra = [o for o in b.extra if o != 'member "c".key=%s' % c["c"].key] + link
        b.start()
        everyone = founders + [x, y]
        wait_until(lambda: len({roster(n)["digest"] for n in everyone}) == 1, timeout=40, what="one roster digest")
        for n in everyone:
            r = roster(n)
            assert r["members"] == 6, (n.name, r)
            assert entry(n, x.key)["status"] == "admitted" and entry(n, y.key)["status"] == "admitted", n.name
        cl.wait_record(everyone, rx["id"], rx["version"], timeout=30)
        cl.wait_record(everyone, ry["id"], ry["version"], timeout=30)
    finally:
        for n in (x, y):
            n.stop()
        c.stop()


def test_done_when_1_joiner_admitted_by_endorsements_everywhere():
    """Issue 9, done when 1: a, b, c found the network in a line; d, configured with only c, publishes
    a case that a does not hold; `renkei member endorse` on a and on b, with no configuration edit or
    restart, makes d `admitted` on every node within seconds, and the case d published before its
    admission reaches a, b and c."""
    with founders_and_joiner() as (c, d):
        a, b, cc = c["a"], c["b"], c["c"]
        wait_until(lambda: roster(d)["digest"] == roster(a)["digest"], timeout=20, what="d learned the roster")
        r = d.request("POST", "/v1/records", sample_case(title="佐賀県 SAGA Smart Samurai", prefecture="41"))
        assert r.status == 202 and r.json()["status"] == "pending_admission", r
        early = r.json()
        time.sleep(3)  # more than a sync interval
        assert cl.get_record(a, early["id"]) is None
        t0 = time.time()
        endorse(a, d.key, "佐賀県", url=d.url)
        endorse(b, d.key, "佐賀県", url=d.url)
        for n in (a, b, cc, d):
            wait_until(lambda: (entry(n, d.key) or {}).get("status") == "admitted", timeout=10,
                       what="d admitted on %s" % n.name)
        admitted_in = time.time() - t0
        cl.wait_record([a, b, cc], early["id"], early["version"], timeout=10)
        assert admitted_in < 10, admitted_in
        assert len({roster(n)["digest"] for n in (a, b, cc, d)}) == 1


def test_founding_member_keeps_the_charter_after_rotating_its_key():
    """A founding member that rotates its key and restarts with the new one, and a node whose
    configuration then names it by the new key, still hold the charter the others hold: the
    configured key is mapped back through the stored rotation to the founding key."""
    c = cl.line(["a", "b", "c"], sync_interval=2)
    try:
        c.start()
        a, b, cc = c["a"], c["b"], c["c"]
        cl.wait_connected([a, b])
        before = roster(a)
        new_file = os.path.join(cc.dir, "new.key")
        out = json.loads(cc.cli("--json", "key", "rotate", "--out", new_file).stdout)
        new_key = out["new_key"]
        for n in (a, b, cc):
            wait_until(lambda: (entry(n, cc.key) or {}).get("status") == "rotated", timeout=20,
                       what="c's rotation on %s" % n.name)
        # c restarts with its new key, b names c by the new key (a names it as before)
        cc.stop()
        cc.extra.append("node.key_file=%s" % new_file)
        cc.start()
        b.stop()
        b.extra = [o for o in b.extra if not o.startswith('peer "c".key=')] + ['peer "c".key=%s' % new_key]
        b.start()
        wait_until(lambda: peer(b, "c") and peer(b, "c")["state"] == "connected", timeout=20, what="b connected to c")
        cl.wait_connected([a])
        for n, other in ((a, "b"), (b, "a"), (b, "c"), (cc, "b")):
            assert peer(n, other)["charter_mismatch"] is False, (n.name, other, cl.peers(n))
        for n in (a, b, cc):
            assert "has a different charter" not in n.log(), n.name
        case = cc.publish(sample_case(title="新しい鍵での事例"))
        cl.wait_record([a, b], case["id"], case["version"], timeout=20)
        assert len({roster(n)["digest"] for n in (a, b, cc)}) == 1
        assert roster(a)["members"] == before["members"] == 3
        assert entry(a, new_key)["status"] == "founding", entry(a, new_key)
    finally:
        c.stop()


if __name__ == "__main__":
    run_tests(globals())
