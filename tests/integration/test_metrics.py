"""/metrics of a real renkeid: promtool (Debian's prometheus package) accepts the exposition of a
fresh node, every metric docs/api.md lists for a node without gossip is there from start-up, and the
gauges follow what the node holds (records by kind and visibility, the LMDB map, peers, build)."""

import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rk  # noqa: E402

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$")


def samples(text):
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        m = SAMPLE.match(line)
        assert m, line
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def scrape(n):
    r = n.get("/metrics")
    assert r.status == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4"), r
    return r.body


def promtool_ok(body):
    p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert p.returncode == 0, (p.stdout.decode(), p.stderr.decode())


def documented_metrics():
    with open(os.path.join(rk.SOURCE_DIR, "docs", "api.md"), encoding="utf-8") as f:
        text = f.read()
    section = text[text.index("## `GET /metrics`"):]
    section = section[:section.index("\n## ", 5)] if "\n## " in section[5:] else section
    names = set()
    for line in section.splitlines():
        if line.startswith("| `renkei_"):
            names.update(re.findall(r"`(renkei_[a-z_]+)`", line.split("|")[1]))
    return names


def test_fresh_node_passes_promtool_with_every_metric_at_zero():
    n = rk.Node(name="fresh").start()
    body = scrape(n)
    promtool_ok(body)
    s = samples(body.decode())
    names = {k.split("{")[0] for k in s}
    families = {re.sub(r"_(bucket|sum|count)$", "", x) for x in names}
    gossip_only = {"renkei_peer_records_sent_total", "renkei_peer_records_received_total",
                   "renkei_peer_rejections_total", "renkei_reconcile_total", "renkei_reconcile_seconds",
                   "renkei_peer_connections", "renkei_peer_input_bytes", "renkei_peer_busy_total",
                   "renkei_peer_push_paced_total", "renkei_catchup_records_total"}
    missing = documented_metrics() - gossip_only - families
    assert not missing, missing
    for source in ("local", "peer"):
        assert s['renkei_ingest_total{source="%s"}' % source] == 0, s
    for op in ("create", "update", "delete"):
        assert s['renkei_publishes_total{op="%s"}' % op] == 0
    assert s["renkei_rejections_total"] == 0 and s["renkei_store_errors_total"] == 0
    assert s["renkei_commit_batch_items_total"] == 0 and s["renkei_commit_duration_seconds_count"] == 0
    for kind in ("case", "event", "region", "tombstone"):
        assert s['renkei_records{kind="%s"}' % kind] == 0
    assert s["renkei_peers_connected"] == 0 and s['renkei_build_info{version="0.1.0"}'] == 1
    assert 0 < s["renkei_store_map_used_bytes"] < s["renkei_store_map_size_bytes"] == 1 << 30, s


def test_gauges_follow_the_store():
    n = rk.Node(name="gauges", extra=["node.map_size=64M"]).start()
    ids = []
    for vis in ("public", "public", "network", "local"):
        rec = rk.sample_case(title="事例 " + vis)
        rec["visibility"] = vis
        ids.append(n.publish(rec)["id"])
    ev = {"kind": "event", "visibility": "public",
          "event": {"title": "セミナー", "event_type": "seminar", "starts_at": "2030-10-10T13:00:00+09:00",
                    "ends_at": "2030-10-10T15:00:00+09:00", "format": "online", "prefecture": "01"}}
    n.publish(ev)
    r = n.request("DELETE", "/v1/records/" + ids[0])
    assert r.status in (200, 204), r
    body = scrape(n)
    promtool_ok(body)
    s = samples(body.decode())
    assert s['renkei_records{kind="case"}'] == 3 and s['renkei_records{kind="event"}'] == 1, s
    assert s['renkei_records{kind="tombstone"}'] == 1
    # the deleted public case stays public as a tombstone
    assert s['renkei_records_by_visibility{visibility="public"}'] == 3, s
    assert s['renkei_records_by_visibility{visibility="network"}'] == 1
    assert s['renkei_records_by_visibility{visibility="local"}'] == 1
    assert s["renkei_store_map_size_bytes"] == 64 << 20
    assert s['renkei_publishes_total{op="create"}'] == 5 and s['renkei_publishes_total{op="delete"}'] == 1
    assert s['renkei_ingest_total{source="local"}'] == 6


def test_peer_gauges_and_metrics_of_a_federated_node():
    from cluster import Cluster
    c = Cluster(["kitami", "national"], [("kitami", "national")]).start()

    def connected(name):
        s = samples(scrape(c[name]).decode())
        return s.get("renkei_peers_connected") == 1 and s.get("renkei_peers") == 1

    rk.wait_until(lambda: connected("kitami") and connected("national"), timeout=30, what="both peers connected")
    body = scrape(c["national"])
    promtool_ok(body)
    families = {re.sub(r"_(bucket|sum|count)$", "", k.split("{")[0]) for k in samples(body.decode())}
    assert {"renkei_peer_connections", "renkei_reconcile_total", "renkei_peer_records_received_total"} <= families
    c.stop(["kitami"])
    rk.wait_until(lambda: samples(scrape(c["national"]).decode()).get("renkei_peers_connected") == 0, timeout=30,
                  what="the peer's departure seen")


rk.run_tests(globals())
