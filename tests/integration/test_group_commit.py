"""Group commit with a separate flush (daemon/writer.c): every acknowledged publish was covered by a
disk flush made after its commit, one flush may cover several commits, and concurrent publishes share
commits. Counted through /metrics, never timed."""

import os
import re
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rk  # noqa: E402

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


def counters(n):
    r = n.get("/metrics")
    assert r.status == 200, r
    out = {}
    for line in r.text.splitlines():
        m = SAMPLE.match(line)
        if m and not line.startswith("#"):
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out["renkei_commit_duration_seconds_count"], out["renkei_store_flushes_total"]


def test_each_lone_publish_is_flushed_before_its_answer():
    n = rk.Node(name="flush1").start()
    commits0, flushes0 = counters(n)
    assert commits0 == 0 and flushes0 == 0
    for i in range(12):
        n.publish(rk.sample_case(title="一件ずつ %d" % i))
        commits, flushes = counters(n)
        # one at a time: each publish is its own commit, answered only after a flush of its own
        assert commits == i + 1 and flushes == i + 1, (i, commits, flushes)
    n.stop()


def test_concurrent_publishes_share_commits_and_flushes():
    n = rk.Node(name="flushN").start()
    threads, per = 32, 8
    acked, errors = [], []

    def publisher(t):
        for i in range(per):
            r = n.request("POST", "/v1/records", rk.sample_case(title="同時 %d-%d" % (t, i)))
            if r.status == 201:
                acked.append(r.json())
            else:
                errors.append(r)

    ts = [threading.Thread(target=publisher, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert not errors, errors[:3]
    assert len(acked) == threads * per
    commits, flushes = counters(n)
    assert 1 <= flushes <= commits, (commits, flushes)
    assert commits < threads * per, "32 publishes in flight at once were committed one by one"
    # what was acknowledged is in the store after a kill without a clean shutdown
    n.stop(kill=True)
    n.start()
    for a in acked:
        r = n.get("/v1/records/" + a["id"])
        assert r.status == 200 and r.json()["provenance"]["hash"] == a["hash"], (a, r)
    n.stop()


rk.run_tests(globals())
