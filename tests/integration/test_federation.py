"""Federation: real renkeid nodes on loopback replicate over the NNG peer transport (docs/protocol.md).

Each test builds its own small network with cluster.py, waits with bounded timeouts, and asserts
what a broken transport would get wrong: multi-hop push, rejection of non-members' records, healing
after a restart, catch-up by reconciliation alone, a dial-only node, visibility rules, and hostile
input on the peer port."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cluster as cl  # noqa: E402
from rk import Node, run_tests, sample_case, wait_until  # noqa: E402


def _stopped(c):
    c.stop()


def test_line_push_update_delete():
    c = cl.line(["a", "b", "c", "d", "e"], sync_interval=3600)
    try:
        c.start()
        a, e = c["a"], c["e"]
        cl.wait_connected(c.running())
        rec = a.publish(sample_case(title="ライン伝播テスト"))
        cl.wait_record([c[n] for n in "bcde"], rec["id"], rec["version"], timeout=20)
        got = cl.get_record(e, rec["id"])
        assert got["hash"] == rec["hash"], (got, rec)
        # an update follows it
        r = a.request("PUT", "/v1/records/" + rec["id"], sample_case(title="更新版"))
        assert r.status in (200, 201), r
        v2 = r.json()
        assert int(v2["version"]) > int(rec["version"])
        cl.wait_record([e], rec["id"], v2["version"], timeout=20)
        assert cl.get_record(e, rec["id"])["case"]["title"] == "更新版"
        # and so does a delete
        r = a.request("DELETE", "/v1/records/" + rec["id"])
        assert r.status in (200, 201, 204), r
        gone = a.get("/v1/records/" + rec["id"]).status
        assert gone != 200
        wait_until(lambda: e.get("/v1/records/" + rec["id"]).status == gone, timeout=20, what="delete at e")
        # a sent record is counted on the sender and the receiver side
        sent = sum(p["records_sent"] for p in cl.peers(a))
        assert sent >= 1, cl.peers(a)
    finally:
        _stopped(c)


def test_non_member_records_rejected():
    c = cl.line(["a", "b", "c", "d", "e"], sync_interval=2)
    rogue = None
    try:
        c.start()
        cc = c["c"]
        # The rogue trusts c and dials it; nobody lists the rogue, so its records have an unknown author.
        rogue = Node("rogue", gossip=True, extra=['peer "c".key=%s' % cc.key, 'peer "c".url=%s' % cc.url,
                                                  "gossip.sync_interval=1"])
        rogue.start()
        ids = [rogue.publish(sample_case(title="なりすまし %d" % i))["id"] for i in range(3)]
        wait_until(lambda: sum(cl.rejections(cc, "unknown-").values()) >= 3, timeout=20,
                   what="rejections of the rogue's records at c")
        rej = cl.rejections(cc, "unknown-")
        assert any("author" in k or "roster" in k or "member" in k for k in rej), rej
        assert cl.metric_sum(cc, "renkei_peer_rejections_total") >= 3
        entry = [p for p in cl.peers(cc) if p["name"].startswith("unknown-")]
        assert entry and entry[0]["member"] is False, entry
        time.sleep(3)  # a reconciliation round or more
        for n in c.running():
            for i in ids:
                assert n.get("/v1/records/" + i).status == 404, (n.name, i)
        # the network itself still works
        rec = c["a"].publish(sample_case(title="正規の記録"))
        cl.wait_record([c["e"]], rec["id"], rec["version"], timeout=20)
    finally:
        if rogue:
            rogue.stop()
        _stopped(c)


def test_restart_heals_partition():
    names = ["a", "b", "c", "d", "e"]
    c = cl.line(names, sync_interval=2)
    try:
        c.start()
        warm = c["a"].publish(sample_case(title="前"))
        cl.wait_record([c["e"]], warm["id"], warm["version"])
        c.stop(["c"])
        left = [c["a"].publish(sample_case(title="西 %d" % i)) for i in range(3)]
        right = [c["e"].publish(sample_case(title="東 %d" % i)) for i in range(3)]
        cl.wait_record([c["b"]], left[-1]["id"], left[-1]["version"])
        cl.wait_record([c["d"]], right[-1]["id"], right[-1]["version"])
        assert c["e"].get("/v1/records/" + left[0]["id"]).status == 404  # really partitioned
        c.start(["c"])
        for r in left + right:
            cl.wait_record([c[n] for n in names], r["id"], r["version"], timeout=30)
        ref = cl.digest(c["a"])
        wait_until(lambda: all(cl.digest(c[n]) == ref for n in names), timeout=30, what="identical digests")
        assert len(cl.record_set(c["c"])) == 7
    finally:
        _stopped(c)


def test_new_node_catches_up_by_reconciliation():
    c = cl.Cluster(["a", "b", "c", "f"], [("a", "b"), ("b", "c"), ("f", "c")], sync_interval=3600)
    try:
        c.start(["a", "b", "c"])
        recs = []
        for i in range(30):
            n = c[["a", "b", "c"][i % 3]]
            recs.append(n.publish(sample_case(title="既存 %d" % i)))
        for r in recs:
            cl.wait_record([c["c"]], r["id"], r["version"])
        # f starts after everything was published: push never announced these to it
        c.start(["f"])
        want = cl.record_set(c["c"])
        assert len(want) == 30
        wait_until(lambda: cl.record_set(c["f"]) == want, timeout=30, what="f caught up")

        def peer_c():
            return [p for p in cl.peers(c["f"]) if p["name"] == "c"][0]

        # the records come as catch-up ranges; the reconciliation that follows them ends a little later
        wait_until(lambda: peer_c()["last_sync_result"] is not None, timeout=30, what="f's reconciliation with c")
        res = peer_c()
        assert res["last_sync_result"] == "ok", res
        assert res["records_received"] >= 30, res
    finally:
        _stopped(c)


def test_dial_only_node_sends_and_receives():
    # n has no listen address; it only dials b. Long sync interval: only push can deliver in time.
    c = cl.Cluster(["a", "b", "c", "n"], [("a", "b"), ("b", "c"), ("n", "b")], listen=["a", "b", "c"],
                   sync_interval=3600)
    try:
        c.start()
        assert c["n"].port is None
        wait_until(lambda: any(p["name"] == "b" and p["state"] == "connected" for p in cl.peers(c["n"])),
                   timeout=20, what="n connected to b")
        time.sleep(0.5)
        out = c["n"].publish(sample_case(title="NATの内側から"))
        cl.wait_record([c["a"], c["c"]], out["id"], out["version"], timeout=15)
        inc = c["c"].publish(sample_case(title="NATの内側へ"))
        cl.wait_record([c["n"]], inc["id"], inc["version"], timeout=15)
    finally:
        _stopped(c)


def test_visibility_local_and_network():
    # b is a member of a; x dials a but a does not list x, so x gets only the public set.
    c = cl.Cluster(["a", "b", "x"], [("b", "a"), ("x", "a")], listen=["a"], members={"a": ["b"], "b": ["a", "x"], "x": ["a", "b"]},
                   sync_interval=1)
    try:
        c.start()
        a, b, x = c["a"], c["b"], c["x"]
        wait_until(lambda: any(p["name"] == "a" and p["state"] == "connected" for p in cl.peers(x)), timeout=20,
                   what="x connected")
        pub = a.publish(dict(sample_case(title="公開"), visibility="public"))
        net = a.publish(dict(sample_case(title="会員限定"), visibility="network"))
        loc = a.publish(dict(sample_case(title="ローカル"), visibility="local"))
        bloc = b.publish(dict(sample_case(title="bのローカル"), visibility="local"))
        cl.wait_record([b, x], pub["id"], pub["version"])
        cl.wait_record([b], net["id"], net["version"])
        time.sleep(4)  # several reconciliation rounds in both directions
        assert x.get("/v1/records/" + net["id"]).status == 404, "network record reached a non-member"
        for n in (b, x):
            assert n.get("/v1/records/" + loc["id"]).status == 404, "local record left its node (%s)" % n.name
        for n in (a, x):
            assert n.get("/v1/records/" + bloc["id"]).status == 404, "b's local record left b (%s)" % n.name
        xs = [p for p in cl.peers(x) if p["name"] == "a"][0]
        assert xs["last_sync_result"] in ("ok", "not_a_member"), xs
        # the non-member cannot even ask for the network record by hash
        tmp = cl.temp_dir()
        kf, kpub = cl.keypair(tmp, "outsider")
        with cl.RawPeer(a.port) as p:
            p.handshake(kf, kpub, expect_key=a.key)
            assert p.fetch([bytes.fromhex(net["hash"]), bytes.fromhex(loc["hash"])]) == []
            assert len(p.fetch([bytes.fromhex(pub["hash"])])) == 1
        # and neither can an unauthenticated connection
        with cl.RawPeer(a.port) as p:
            assert p.fetch([bytes.fromhex(net["hash"])]) == []
            assert len(p.fetch([bytes.fromhex(pub["hash"])])) == 1
    finally:
        _stopped(c)


def test_hostile_input_on_peer_port():
    c = cl.line(["a", "c"], sync_interval=3600)
    z = Node("z", gossip=True)  # an author nobody trusts
    try:
        c.start()
        z.start()
        a, cc = c["a"], c["c"]
        tmp = cl.temp_dir()
        kf, kpub = cl.keypair(tmp, "raw")
        name = "unknown-" + kpub[:16]
        zrec = z.publish(sample_case(title="部外者"))
        zenv = cl.fetch_envelope(z, zrec["hash"], kf, kpub)
        v1 = a.publish(sample_case(title="版1"))
        env1 = cl.fetch_envelope(a, v1["hash"], kf, kpub)
        assert env1 and zenv
        r = a.request("PUT", "/v1/records/" + v1["id"], sample_case(title="版2"))
        v2 = r.json()
        cl.wait_record([cc], v1["id"], v2["version"])
        env2 = cl.fetch_envelope(a, v2["hash"], kf, kpub)
        forged = cl.bump_version(env2)  # claims a newer version under v2's signature

        before = cl.rejections(cc)
        with cl.RawPeer(cc.port) as p:
            f, err = p.request(cl.REQ_HELLO, b"")  # empty Hello: bad lengths
            assert f == cl.REP_ERROR, (f, err)
            rep = cl.pb_parse(p.request_raw(b"\xff\xff\xff\xff\x0f garbage"))
            assert cl.REP_ERROR in rep, rep
            hello_msg = cl.pb_bytes(1, bytes.fromhex(kpub)) + cl.pb_bytes(2, os.urandom(32)) + cl.pb_uint(3, 1)
            hello = cl.pb_bytes(cl.REQ_HELLO, hello_msg)
            rep = cl.pb_parse(p.request_raw(hello[:-7]))  # truncated
            assert cl.REP_ERROR in rep, rep
            rep = cl.pb_parse(p.request_raw(b"\0" * (9 << 20)))  # over the 8 MiB message limit
            assert cl.REP_ERROR in rep and cl.pb_parse(rep[cl.REP_ERROR][0])[1][0] == b"too_large", rep
            # a forged handshake signature
            f, hr = p.request(cl.REQ_HELLO, hello_msg)
            assert f == cl.REP_HELLO
            f, err = p.request(cl.REQ_AUTH, cl.pb_bytes(1, b"\x01" * 64))
            assert f == cl.REP_ERROR and err[1][0] == b"bad_signature", err
            # a push before authenticating is refused
            f, err = p.push([env1])
            assert f == cl.REP_ERROR and err[1][0] == b"unauthenticated", err
        after = cl.rejections(cc)
        for reason in ("malformed", "too_large", "bad_signature", "unauthenticated", "bad_field"):
            assert after.get(reason, 0) > before.get(reason, 0), (reason, before, after)

        # authenticated, but pushing a replayed old version, a forged record and an unknown author
        with cl.RawPeer(cc.port) as p:
            p.handshake(kf, kpub, expect_key=cc.key)
            f, ack = p.push([env1, forged, zenv])
            assert f == cl.REP_ACK, (f, ack)
        wait_until(lambda: sum(cl.rejections(cc, name).values()) >= 3, timeout=20, what="ingest rejections at c")
        rej = cl.rejections(cc, name)
        for reason in ("stale_version", "bad_signature", "not_member"):
            assert rej.get(reason, 0) >= 1, (reason, rej)
        assert cl.get_record(cc, v1["id"])["hash"] == v2["hash"]  # the replay changed nothing
        assert cc.get("/v1/records/" + zrec["id"]).status == 404

        # a connection that keeps sending garbage is closed
        closed = False
        with cl.RawPeer(cc.port) as p:
            try:
                for _ in range(20):
                    p.request_raw(b"\x0a\xff")
            except (ConnectionError, OSError):
                closed = True
        assert closed, "node kept a connection that sent 20 bad messages"

        # the node keeps serving its API and its peers
        assert cc.get("/v1/status").status == 200
        rec = a.publish(sample_case(title="まだ動く"))
        cl.wait_record([cc], rec["id"], rec["version"], timeout=15)
        assert cl.metric_sum(cc, "renkei_peer_rejections_total", reason="malformed") >= 1
    finally:
        z.stop()
        _stopped(c)


if __name__ == "__main__":
    run_tests(globals())
