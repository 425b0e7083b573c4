"""Catch-up ranges (docs/protocol.md, "Catch-up ranges"): an empty node takes its peer's whole set in
item order instead of reconciling it, so it never lists the peer's items nor asks for each record by
hash, and every record arrives exactly once. A listener that predates ranges (simulated with the
test-only RENKEI_TEST_NO_RANGES=1) answers a range Fetch with an empty Records, and the dialer then
reconciles as before. Asserted by counters, not by times."""

import cluster as cl
from rk import Node, run_tests, sample_case, wait_until

N = 1200  # three range Fetches of at most 500 records: the cursor must move between them


def empty_peer_of(a, name):
    b = Node(name, extra=["gossip.sync_interval=600", "node.log_level=info"])
    b.extra += ['peer "a".key=%s' % a.key, 'peer "a".url=%s' % a.url]
    return b


def caught_up(a, b):
    wait_until(lambda: cl.status(b)["records"]["total"] == N, timeout=120, interval=0.2,
               what="%s holding all %d records" % (b.name, N))
    wait_until(lambda: cl.digest(a) == cl.digest(b), timeout=30, what="equal digests")
    # the reconciliation after the ranges (or instead of them) has run and found nothing more
    wait_until(lambda: cl.metric_sum(b, "renkei_reconcile_total", result="ok", peer="a") >= 1, timeout=30,
               what="a reconciliation")


def test_empty_node_takes_ranges_and_falls_back_on_an_older_listener():
    a = Node("a", gossip=True, extra=["gossip.sync_interval=600"])
    b = empty_peer_of(a, "b")
    c = empty_peer_of(a, "c")
    a.extra += ['member "b".key=%s' % b.key, 'member "c".key=%s' % c.key]
    a.start()
    cl.publish_many(a, "追いつき", N)

    b.start()
    caught_up(a, b)
    # every record came in a range, once: no hash list was fetched after a listing of A's items
    assert cl.metric_sum(b, "renkei_catchup_records_total", peer="a") == N
    assert cl.metric_sum(b, "renkei_peer_records_received_total", peer="a") == N
    assert cl.rejections(b) == {}, cl.rejections(b)
    b.stop()

    a.stop()
    a.start(env={"RENKEI_TEST_NO_RANGES": "1"})
    c.start()
    caught_up(a, c)
    assert cl.metric_sum(c, "renkei_catchup_records_total") == 0
    assert cl.metric_sum(c, "renkei_peer_records_received_total", peer="a") == N
    c.stop()
    a.stop()


def range_fetch(peer, rset, after=b"", rmax=0):
    msg = cl.pb_uint(2, 1) + cl.pb_uint(3, rset) + (cl.pb_bytes(4, after) if after else b"")
    return peer.request(cl.REQ_FETCH, msg + (cl.pb_uint(5, rmax) if rmax else b""))


def test_range_fetch_on_the_wire():
    """The listener's side: the cursor moves through the set in item order and ends; the members'
    set needs a member; a cursor of the wrong length is refused."""
    a = Node("a", gossip=True).start()
    try:
        for i in range(3):
            a.publish(sample_case(title="範囲の事例 %d" % i))
        with cl.RawPeer(a.port) as p:
            f, rs = range_fetch(p, 0, rmax=2)  # the public set needs no handshake, as for Reconcile
            assert f == cl.REP_RECORDS, (f, rs)
            assert len(rs.get(1, [])) == 2 and len(rs[2][0]) == 40 and not rs.get(3), rs
            first_last = rs[2][0]
            f, rs = range_fetch(p, 0, after=first_last, rmax=2)
            assert len(rs.get(1, [])) == 1 and rs[2][0] > first_last and rs.get(3) == [1], rs
            f, rs = range_fetch(p, 0, after=rs[2][0])
            assert f == cl.REP_RECORDS and not rs.get(1) and not rs.get(2) and rs.get(3) == [1], rs
            f, err = range_fetch(p, 1)
            assert f == cl.REP_ERROR and err[1][0] == b"forbidden", (f, err)
            f, err = range_fetch(p, 0, after=b"short")
            assert f == cl.REP_ERROR and err[1][0] == b"bad_field", (f, err)
    finally:
        a.stop()


if __name__ == "__main__":
    run_tests(globals())
