"""Pushes run beside fetches (docs/protocol.md, "Reconcile → Reconcile"; daemon/peer_flow.c): the records a
reconciliation finds the listener lacks are pushed while the dialer still fetches what it lacks, so
both nodes' writers work at once instead of one after the other. Driven by the test-only
RENKEI_TEST_FETCH_GATE: while its file exists, the dialer sends no Fetch. The listener must then
store every pushed record before the dialer has received a single record; when the gate opens, the
repair completes in the same reconciliation, each record crossing once. When pushes wait for the
fetches (as before), the listener gets nothing while the gate is closed and the test fails. The gate
also makes a reconciliation outlast [gossip] sync_interval, after which the next one must still wait
the interval (from the first one's end) rather than run at once and push again what the listener
has not stored yet."""

import os
import time

import cluster as cl
from rk import run_tests, wait_until

# B holds more than the 1,024 records under which a node takes catch-up ranges instead of
# reconciling (docs/protocol.md, "Catch-up ranges"); two pushes of at most 1,000 records
ONLY_B = 1300
ONLY_A = 150


def test_pushes_are_stored_while_fetches_are_held():
    a, b = cl.own_records_pair(ONLY_A, ONLY_B)
    a.start()
    gate = os.path.join(cl.temp_dir(), "fetch-gate")
    with open(gate, "w", encoding="utf-8"):
        pass
    b.start(env={"RENKEI_TEST_FETCH_GATE": gate})
    total = ONLY_A + ONLY_B
    # with every Fetch held, A stores all that B pushed
    wait_until(lambda: cl.status(a)["records"]["total"] == total, timeout=60, interval=0.2,
               what="A holding B's %d pushed records while B's fetches are held" % ONLY_B)
    assert cl.metric_sum(b, "renkei_peer_records_received_total", peer="a") == 0
    assert cl.status(b)["records"]["total"] == ONLY_B
    assert cl.reconcile_results(b) == {}, cl.reconcile_results(b)  # still the first reconciliation
    os.unlink(gate)
    wait_until(lambda: cl.status(b)["records"]["total"] == total, timeout=60, interval=0.2,
               what="B holding all %d records once its fetches go" % total)
    wait_until(lambda: cl.digest(a) == cl.digest(b), timeout=30, what="equal digests")
    wait_until(lambda: cl.reconcile_results(b), timeout=30, what="the reconciliation's result")
    assert cl.reconcile_results(b) == {"ok": 1}, cl.reconcile_results(b)
    # each record crossed once: pushed once, fetched once
    assert cl.metric_sum(b, "renkei_peer_records_sent_total", peer="a") == ONLY_B
    assert cl.metric_sum(a, "renkei_peer_records_received_total", peer="b") == ONLY_B
    assert cl.metric_sum(b, "renkei_peer_records_received_total", peer="a") == ONLY_A
    assert cl.rejections(a) == {} and cl.rejections(b) == {}, (cl.rejections(a), cl.rejections(b))
    b.stop()
    a.stop()


INTERVAL_S = 5


def test_a_long_reconciliation_is_not_followed_at_once_by_another():
    """[gossip] sync_interval runs from the end of a reconciliation. It ran from the start, so one that
    outlasted it (a large repair on a loaded machine) was followed at once by another, which found the
    records of B's last push, acknowledged by A but still in A's writer, missing and pushed them again:
    the 6,000 pushes counted for 5,000 records in the benchmark of docs/benchmarks.md. Here B's fetches
    are held past the interval, so the first reconciliation outlasts it; no second one may end within
    most of an interval after it, and each of B's records is sent once."""
    a, b = cl.own_records_pair(ONLY_A, ONLY_B)
    b.extra += ["gossip.sync_interval=%d" % INTERVAL_S]
    a.start()
    gate = os.path.join(cl.temp_dir(), "fetch-gate")
    with open(gate, "w", encoding="utf-8"):
        pass
    b.start(env={"RENKEI_TEST_FETCH_GATE": gate})
    t_start = time.monotonic()
    total = ONLY_A + ONLY_B
    wait_until(lambda: cl.status(a)["records"]["total"] == total, timeout=60, interval=0.2,
               what="A holding B's %d pushed records while B's fetches are held" % ONLY_B)
    time.sleep(max(0.0, t_start + INTERVAL_S + 1 - time.monotonic()))
    os.unlink(gate)
    wait_until(lambda: cl.reconcile_results(b), timeout=60, interval=0.05, what="the first reconciliation's end")
    t_first = time.monotonic()
    # the next one is due INTERVAL_S after that end; the window allows for a poll seen late on a loaded
    # machine, and a second reconciliation that starts at once ends within it
    while True:
        assert cl.reconcile_results(b) == {"ok": 1}, (time.monotonic() - t_first, cl.reconcile_results(b))
        if time.monotonic() >= t_first + INTERVAL_S - 2:
            break
        time.sleep(0.05)
    wait_until(lambda: cl.reconcile_results(b) == {"ok": 2}, timeout=60, interval=0.2,
               what="the next reconciliation, an interval later")
    assert cl.metric_sum(b, "renkei_peer_records_sent_total", peer="a") == ONLY_B
    assert cl.metric_sum(a, "renkei_peer_records_received_total", peer="b") == ONLY_B
    b.stop()
    a.stop()


if __name__ == "__main__":
    run_tests(globals())
