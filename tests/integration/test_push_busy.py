"""Pushes to a listener whose writer is full (docs/protocol.md, "Records (push) → Ack" and "busy"): the
listener answers `busy` with the time its writer needs (retry_after_ms), the dialer sends the same
push again after that wait, so one reconciliation completes the repair, with no `push_failed` and no
record sent twice. The listener's bound is made small with the test-only RENKEI_TEST_PUSH_BACKLOG,
so a few thousand records fill it as 100,000 would fill the built-in one."""

from concurrent.futures import ThreadPoolExecutor

import cluster as cl
from rk import Node, run_tests, sample_case, wait_until

ONLY_B = 2500  # three pushes of at most 1,000 records
ONLY_A = 20


def publish_many(node, tag, n):
    with ThreadPoolExecutor(max_workers=8) as ex:
        list(ex.map(lambda i: node.publish(sample_case(title="%s の事例 %d" % (tag, i))), range(n)))


def reconcile_results(node):
    """{result: count} of renkei_reconcile_total on node."""
    out = {}
    for ln in node.get("/metrics").text.splitlines():
        if ln.startswith("renkei_reconcile_total{"):
            result = ln.split('result="', 1)[1].split('"', 1)[0]
            out[result] = out.get(result, 0) + int(float(ln.rsplit(" ", 1)[1]))
    return out


def test_busy_listener_repair_completes_in_one_reconciliation():
    a = Node("a", gossip=True, extra=["gossip.sync_interval=600", "node.log_level=info"])
    b = Node("b", extra=["gossip.sync_interval=600", "node.log_level=info"])
    a.extra += ['member "b".key=%s' % b.key]
    # each node first holds records of its own, with no peer configured
    a.start()
    publish_many(a, "A", ONLY_A)
    b.start()
    publish_many(b, "B", ONLY_B)
    b.stop()
    a.stop()
    a.start(env={"RENKEI_TEST_PUSH_BACKLOG": "100"})
    b.extra += ['peer "a".key=%s' % a.key, 'peer "a".url=%s' % a.url]
    b.start()
    total = ONLY_A + ONLY_B
    wait_until(lambda: cl.status(a)["records"]["total"] == total and cl.status(b)["records"]["total"] == total,
               timeout=120, interval=0.2, what="both nodes holding all %d records" % total)
    wait_until(lambda: cl.digest(a) == cl.digest(b), timeout=30, what="equal digests")
    # one reconciliation, not abandoned and run again
    wait_until(lambda: reconcile_results(b), timeout=10, what="the reconciliation's result")
    assert reconcile_results(b) == {"ok": 1}, reconcile_results(b)
    # the listener's writer was full: a push was refused as busy or held back for an Ack's wait
    # (when the Ack's estimate holds, no push is refused at all); without that this test proves nothing
    waits = cl.metric_sum(b, "renkei_peer_busy_total", peer="a") + cl.metric_sum(b, "renkei_peer_push_paced_total",
                                                                                 peer="a")
    assert waits >= 1, b.get("/metrics").text
    p = {x["name"]: x for x in cl.peers(b)}["a"]
    assert p["last_sync_result"] == "ok", p
    # every record of B's crossed once: accepted pushes hold each exactly once, and A received no more
    assert cl.metric_sum(b, "renkei_peer_records_sent_total", peer="a") == ONLY_B
    assert cl.metric_sum(a, "renkei_peer_records_received_total", peer="b") == ONLY_B
    assert cl.metric_sum(b, "renkei_peer_records_received_total", peer="a") == ONLY_A
    assert cl.rejections(a) == {}, cl.rejections(a)
    b.stop()
    a.stop()


if __name__ == "__main__":
    run_tests(globals())
