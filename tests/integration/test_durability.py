"""Kill -9 at a random moment loses no acknowledged publish: several threads publish in a loop, the
daemon is SIGKILLed, restarted, and every record that got a 201 must be there with the same hash.
Five rounds on the same data directory."""

import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rk  # noqa: E402

ROUNDS = 5
THREADS = 4


def publisher(n, acked, stop, tid):
    i = 0
    while not stop.is_set():
        i += 1
        try:
            r = n.request("POST", "/v1/records", rk.sample_case(title="耐久 %d-%d" % (tid, i)), timeout=10)
        except Exception:
            return  # the daemon died under us; anything unacknowledged may be lost
        if r.status == 201:
            out = r.json()
            acked.append((out["id"], out["hash"]))
        elif r.status >= 500:
            return


def test_kill9_loses_no_acknowledged_publish():
    random.seed()
    n = rk.Node(name="durable")
    acked = []
    for rnd in range(ROUNDS):
        n.start()
        stop = threading.Event()
        threads = [threading.Thread(target=publisher, args=(n, acked, stop, t)) for t in range(THREADS)]
        for t in threads:
            t.start()
        time.sleep(random.uniform(0.3, 1.5))
        n.stop(kill=True)
        stop.set()
        for t in threads:
            t.join(20)
        n.start()
        missing = []
        for rid, h in acked:
            r = n.get("/v1/records/" + rid)
            if r.status != 200 or r.json()["provenance"]["hash"] != h:
                missing.append((rid, h, r.status))
        assert not missing, "round %d: %d acknowledged records lost, e.g. %r" % (rnd, len(missing), missing[:3])
        st = n.get("/v1/status").json()
        assert st["records"]["case"] >= len(acked), (st, len(acked))
        n.stop()
    assert len(acked) > 20, "too few publishes to mean anything: %d" % len(acked)


rk.run_tests(globals())
