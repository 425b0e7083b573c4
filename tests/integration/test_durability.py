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


def test_store_full_is_a_clear_error_and_loses_nothing():
    n = rk.Node(name="full", extra=["node.map_size=1M"]).start()
    acked = []
    full = None
    for i in range(2000):
        r = n.request("POST", "/v1/records", rk.sample_case(title="満杯 %d" % i, summary="長い説明。" * 300))
        if r.status == 201:
            acked.append(r.json())
            continue
        full = r
        break
    assert full is not None, "a 1 MiB map never filled up"
    assert full.status == 507 and full.json()["error"]["code"] == "store_full", full
    assert acked, "nothing fitted at all"
    # the node keeps serving reads, every acknowledged record is intact, and a restart changes nothing
    st = n.get("/v1/status").json()
    assert st["records"]["case"] == len(acked), (st, len(acked))
    n.stop()
    n.start()
    for a in acked:
        r = n.get("/v1/records/" + a["id"])
        assert r.status == 200 and r.json()["provenance"]["hash"] == a["hash"]
    n.stop()


rk.run_tests(globals())
