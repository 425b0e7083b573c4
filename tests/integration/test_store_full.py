"""A full store (docs/configuration.md `map_size`): real renkeid nodes on loopback.

Node b, with the smallest map, dials a, which publishes more than b can hold. b shows the failure for
the peer whose records it could not store (`last_sync_result: store_full` in /v1/peers) and in
/v1/status, logs it at most about once a second however often reconciliation retries, and once its
map is raised and it is restarted it catches up by itself to a's digest."""

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster as cl  # noqa: E402
from rk import run_tests, sample_case, wait_until  # noqa: E402

FAILURE_LINE = "failed, nothing stored"


def test_store_full_shown_rate_limited_and_resumes():
    c = cl.Cluster(["a", "b"], [("b", "a")], sync_interval=1, extra={"b": ["node.map_size=1M"]})
    try:
        c.start()
        a, b = c["a"], c["b"]
        cl.wait_connected([b])
        long_text = "地域の製造業で社員がロボット導入を主導した事例。" * 20
        for i in range(1500):
            a.publish(sample_case(title="容量試験 %d" % i, summary=long_text))

        wait_until(lambda: any(p["name"] == "a" and p.get("last_sync_result") == "store_full" for p in cl.peers(b)),
                   timeout=30, interval=0.2, what="store_full for peer a on b")
        st = cl.status(b)
        assert st["last_store_failure"]["code"] == "store_full", st
        assert st["last_store_failure"]["failures"] >= 1, st
        assert cl.status(a)["last_store_failure"] is None

        # reconciliation keeps retrying every second; the log does not grow with it
        time.sleep(6)
        assert any(p["name"] == "a" and p.get("last_sync_result") == "store_full" for p in cl.peers(b)), cl.peers(b)
        with open(b.log_path, encoding="utf-8", errors="replace") as f:
            lines = [ln for ln in f if FAILURE_LINE in ln]
        at = [datetime.datetime.strptime(ln.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() for ln in lines]
        assert len(at) >= 5, lines
        gaps = [y - x for x, y in zip(at, at[1:])]
        assert min(gaps) >= 0.99, gaps  # never two lines within a second
        assert cl.status(b)["last_store_failure"]["failures"] > len(lines), "failures were not retried"
        assert cl.digest(b) != cl.digest(a)

        # more room and a restart: b catches up by itself, and reports ok again
        b.stop()
        b.extra = [o for o in b.extra if not o.startswith("node.map_size=")] + ["node.map_size=256M"]
        b.start()
        wait_until(lambda: cl.digest(b) == cl.digest(a), timeout=60, interval=0.5, what="equal digests")
        wait_until(lambda: any(p["name"] == "a" and p.get("last_sync_result") == "ok" for p in cl.peers(b)),
                   timeout=10, what="ok for peer a on b")
        assert cl.status(b)["last_store_failure"] is None
    finally:
        c.stop()


if __name__ == "__main__":
    run_tests(globals())
