"""Pushes to a listener whose writer is full (docs/protocol.md, "Records (push) → Ack" and "busy"): the
listener answers `busy` with the time its writer needs (retry_after_ms), the dialer sends the same
push again after that wait, so one reconciliation completes the repair, with no `push_failed` and no
record sent twice. The listener's bound is made small with the test-only RENKEI_TEST_PUSH_BACKLOG,
so a few thousand records fill it as 100,000 would fill the built-in one."""

import cluster as cl
from rk import run_tests, wait_until

ONLY_B = 2500  # three pushes of at most 1,000 records
ONLY_A = 20


def test_busy_listener_repair_completes_in_one_reconciliation():
    a, b = cl.own_records_pair(ONLY_A, ONLY_B)
    a.start(env={"RENKEI_TEST_PUSH_BACKLOG": "100"})
    b.start()
    total = ONLY_A + ONLY_B
    wait_until(lambda: cl.status(a)["records"]["total"] == total and cl.status(b)["records"]["total"] == total,
               timeout=120, interval=0.2, what="both nodes holding all %d records" % total)
    wait_until(lambda: cl.digest(a) == cl.digest(b), timeout=30, what="equal digests")
    # one reconciliation, not abandoned and run again
    wait_until(lambda: cl.reconcile_results(b), timeout=10, what="the reconciliation's result")
    assert cl.reconcile_results(b) == {"ok": 1}, cl.reconcile_results(b)
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
