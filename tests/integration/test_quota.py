"""Write policy per author ([quota], docs/configuration.md): real renkeid nodes on loopback, with a
small quota and window set by -o so the test is fast.

Node a publishes ten times its own quota: the excess gets 429 `quota` at its own API. Its peers b and
c, which dial a directly and keep a stricter quota, refuse what a stored beyond theirs (counted as
`quota`, not stored there), and once their window has passed, reconciliation fetches the refused
records again and every node reaches the same digest."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster as cl  # noqa: E402
from rk import run_tests, sample_case, wait_until  # noqa: E402

A_QUOTA = 10      # new versions per window at a
A_WINDOW = 60     # long enough that a's 100 publishes fall in one window however slow the machine
PEER_QUOTA = 2    # at b and c
PEER_WINDOW = 12  # seconds; the refused records are admitted once this old


def authored_by(node, author_hex):
    return [r for r in cl.record_set(node) if r[0].startswith(author_hex)]


def test_publisher_over_quota_rejected_everywhere_then_converges():
    c = cl.Cluster(["a", "b", "c"], [("b", "a"), ("c", "a")], sync_interval=1, extra={
        "a": ["quota.versions_per_window=%d" % A_QUOTA, "quota.window=%d" % A_WINDOW],
        "b": ["quota.versions_per_window=%d" % PEER_QUOTA, "quota.window=%d" % PEER_WINDOW],
        "c": ["quota.versions_per_window=%d" % PEER_QUOTA, "quota.window=%d" % PEER_WINDOW],
    })
    try:
        c.start()
        a, b, cc = c["a"], c["b"], c["c"]
        cl.wait_connected([b, cc])

        # a publishes ten times its quota: the excess is refused at its own API, clearly
        codes = []
        first_publish = time.time()
        for i in range(10 * A_QUOTA):
            r = a.request("POST", "/v1/records", sample_case(title="割当試験 %d" % i))
            codes.append(r.status)
            if r.status == 429:
                err = r.json()["error"]
                assert err["code"] == "quota", err
                assert "versions" in err["message"], err
            else:
                assert r.status == 201, r
        assert codes.count(201) == A_QUOTA, codes
        assert codes[:A_QUOTA] == [201] * A_QUOTA, codes
        assert cl.metric_sum(a, "renkei_rejections_total", reason="quota", source="local") == 9 * A_QUOTA
        assert len(authored_by(a, a.key)) == A_QUOTA

        # each peer stores its own quota of them and refuses the rest, counted as quota for peer a
        for n in (b, cc):
            wait_until(lambda: cl.metric_sum(n, "renkei_rejections_total", reason="quota") >= A_QUOTA - PEER_QUOTA,
                       timeout=PEER_WINDOW / 2, what="quota rejections on %s" % n.name)
            assert cl.rejections(n, "a").get("quota", 0) >= A_QUOTA - PEER_QUOTA, cl.peers(n)
            held = authored_by(n, a.key)
            assert len(held) <= PEER_QUOTA, held

        # once the window has passed, reconciliation brings every node to the same digest
        wait_until(lambda: cl.digest(b) == cl.digest(a) and cl.digest(cc) == cl.digest(a),
                   timeout=PEER_WINDOW + 30, interval=0.2, what="equal digests")
        assert time.time() - first_publish >= PEER_WINDOW - 0.5, "refused records were stored within the window"
        for n in (b, cc):
            assert len(authored_by(n, a.key)) == A_QUOTA
    finally:
        c.stop()


def test_own_publishes_bounded_by_records_per_author():
    c = cl.Cluster(["solo"], [], extra={"solo": ["quota.records_per_author=3"]})
    try:
        c.start()
        n = c["solo"]
        recs = [n.publish(sample_case(title="件数 %d" % i)) for i in range(3)]
        r = n.request("POST", "/v1/records", sample_case(title="件数 over"))
        assert r.status == 429 and r.json()["error"]["code"] == "quota", r
        assert "records" in r.json()["error"]["message"], r
        # updating a stored record adds none, so it is still allowed
        r = n.request("PUT", "/v1/records/" + recs[0]["id"], sample_case(title="更新"))
        assert r.status in (200, 201), r
        assert len(authored_by(n, n.key)) == 3
    finally:
        c.stop()


if __name__ == "__main__":
    run_tests(globals())
