"""Compressed peer transfer (docs/protocol.md, "Compression"): zstd is used only when both sides of a
connection announced it in the handshake, so a node without it (`[gossip] compress = no`, which
neither announces nor accepts compressed messages, as a node without the codec) still converges with
one that has it; compressed frames that are corrupt or expand beyond the message limit are refused
and counted."""

import os
import subprocess

import cluster as cl
from rk import run_tests, sample_case, wait_until

REQ_ZSTD = REP_ZSTD = 8  # PeerRequest.zstd, PeerReply.zstd
HELLO_COMPRESSION = 10   # Hello.compression, HelloReply.compression
ZSTD_BIT = 1


def zstd_cli(args, data):
    """zstd(1) over data. --stream-size makes it declare the content size, which renkei requires."""
    if "-d" not in args:
        args = args + ["--stream-size=%d" % len(data)]
    return subprocess.run(["zstd"] + args, input=data, capture_output=True, check=True, timeout=60).stdout


def request(p, field, msg):
    """PeerRequest{field: msg}; returns (reply field, parsed message), a compressed reply unwrapped."""
    reply = cl.pb_parse(p.request_raw(cl.pb_bytes(field, msg)))
    if list(reply) == [REP_ZSTD]:
        reply = cl.pb_parse(zstd_cli(["-d", "-c"], reply[REP_ZSTD][0]))
    assert len(reply) == 1, reply
    f = next(iter(reply))
    return f, cl.pb_parse(reply[f][0])


def handshake(p, key_file, pub_hex, compression):
    """Hello (announcing `compression`) / HelloReply / Auth / Ack; returns the HelloReply fields."""
    pub = bytes.fromhex(pub_hex)
    nonce = os.urandom(32)
    hello = cl.pb_bytes(1, pub) + cl.pb_bytes(2, nonce) + cl.pb_uint(3, 1) + cl.pb_bytes(4, b"raw")
    if compression:
        hello += cl.pb_uint(HELLO_COMPRESSION, compression)
    f, hr = p.request(cl.REQ_HELLO, hello)
    assert f == cl.REP_HELLO, (f, hr)
    sig = cl.sign_with(key_file, cl.PEER_DOMAIN + b"dialer" + hr[2][0] + hr[1][0] + pub)
    f, ack = p.request(cl.REQ_AUTH, cl.pb_bytes(1, sig))
    assert f == cl.REP_ACK, (f, ack)
    return hr


def publish_some(node, tag, n):
    """n records with long, compressible summaries, so their batches exceed the compression minimum."""
    return [node.publish(sample_case(title="%s の事例 %d" % (tag, i), summary="中小企業のDX推進と人材育成の取組。" * 30))
            for i in range(n)]


def test_mixed_nodes_converge():
    # a has compression and dials b, which has it switched off; c has it and dials a
    c = cl.Cluster(["a", "b", "c"], [("a", "b"), ("c", "a")], sync_interval=2,
                   extra={"b": ["gossip.compress=no"]})
    try:
        c.start()
        a, b, cc = c["a"], c["b"], c["c"]
        cl.wait_connected([a, cc])
        recs = publish_some(a, "a", 40) + publish_some(b, "b", 40) + publish_some(cc, "c", 40)
        for r in recs[::13]:
            cl.wait_record([a, b, cc], r["id"], r["version"], timeout=60)
        wait_until(lambda: cl.digest(a) == cl.digest(b) == cl.digest(cc), timeout=60, what="equal digests")
        assert len(cl.record_set(b)) >= 120
        for n in (a, b, cc):
            bad = {k: v for k, v in cl.rejections(n).items() if k in ("unexpected", "bad_compression", "malformed")}
            assert not bad, "%s counted %s" % (n.name, bad)

        tmp = cl.temp_dir()
        kf, kpub = cl.keypair(tmp, "raw")
        hashes = [bytes.fromhex(r["hash"]) for r in recs[:30]]
        # a, announcing zstd to a dialer that announced it, answers a large Fetch compressed
        with cl.RawPeer(a.port) as p:
            hr = handshake(p, kf, kpub, ZSTD_BIT)
            assert hr.get(HELLO_COMPRESSION) == [ZSTD_BIT], hr
            reply = cl.pb_parse(p.request_raw(cl.pb_bytes(cl.REQ_FETCH, cl.pb_bytes(1, b"".join(hashes)))))
            assert list(reply) == [REP_ZSTD], reply
            frame = reply[REP_ZSTD][0]
            inner = cl.pb_parse(zstd_cli(["-d", "-c"], frame))
            assert list(inner) == [cl.REP_RECORDS], inner
            recs_back = cl.pb_parse(inner[cl.REP_RECORDS][0]).get(1, [])
            assert len(recs_back) == 30
            plain = sum(len(e) for e in recs_back)
            assert len(frame) < plain * 0.7, (len(frame), plain)  # it is worth sending compressed
        # to a dialer that did not announce it, the same Fetch comes back plain
        with cl.RawPeer(a.port) as p:
            hr = handshake(p, kf, kpub, 0)
            assert len(p.fetch(hashes)) == 30
        # b, with compress = no, announces nothing and answers plainly even to a dialer announcing zstd
        with cl.RawPeer(b.port) as p:
            hr = handshake(p, kf, kpub, ZSTD_BIT)
            assert HELLO_COMPRESSION not in hr, hr
            assert len(p.fetch(hashes)) == 30
    finally:
        c.stop()


def test_bad_compressed_requests_are_refused_and_counted():
    c = cl.Cluster(["a", "b"], [], listen=["a", "b"], sync_interval=3600, extra={"b": ["gossip.compress=no"]})
    try:
        c.start()
        a, b = c["a"], c["b"]
        r = publish_some(a, "a", 1)[0]
        tmp = cl.temp_dir()
        kf, kpub = cl.keypair(tmp, "raw")
        name = "unknown-" + kpub[:16]
        fetch = cl.pb_bytes(cl.REQ_FETCH, cl.pb_bytes(1, bytes.fromhex(r["hash"])))

        with cl.RawPeer(a.port) as p:
            # before the handshake, even a well-formed compressed request is refused
            f, e = p.request(REQ_ZSTD, zstd_cli(["-1", "-c"], fetch))
            assert f == cl.REP_ERROR and e[1][0] == b"unauthenticated", (f, e)
            handshake(p, kf, kpub, ZSTD_BIT)
            # a well-formed compressed request is understood
            f, rs = request(p, REQ_ZSTD, zstd_cli(["-1", "-c"], fetch))
            assert f == cl.REP_RECORDS and len(rs.get(1, [])) == 1, (f, rs)
            # the same request without a declared content size (as streamed): refused
            f, e = p.request(REQ_ZSTD, subprocess.run(["zstd", "-1", "-c"], input=fetch, capture_output=True,
                                                      check=True, timeout=60).stdout)
            assert f == cl.REP_ERROR and e[1][0] == b"bad_compression", (f, e)
            # a frame whose content fails its checksum (zstd(1) writes one): corrupt, whatever it decodes to
            good = zstd_cli(["-1", "-c"], fetch)
            assert good[4] & 0x04, "zstd(1) wrote no checksum"
            f, e = p.request(REQ_ZSTD, good[:-1] + bytes([good[-1] ^ 0xFF]))
            assert f == cl.REP_ERROR and e[1][0] == b"bad_compression", (f, e)
            # a valid frame whose content is over the 8 MiB message limit: refused from its header
            zeros = os.path.join(tmp, "zeros")
            with open(zeros, "wb") as fz:
                fz.truncate(16 << 20)
            bomb = subprocess.run(["zstd", "-1", "-c", zeros], capture_output=True, check=True, timeout=60).stdout
            assert len(bomb) < 64 << 10
            f, e = p.request(REQ_ZSTD, bomb)
            assert f == cl.REP_ERROR and e[1][0] == b"too_large", (f, e)
            # a compressed message inside a compressed message
            f, e = p.request(REQ_ZSTD, zstd_cli(["-1", "-c"], cl.pb_bytes(REQ_ZSTD, zstd_cli(["-1", "-c"], fetch))))
            assert f == cl.REP_ERROR and e[1][0] == b"malformed", (f, e)
        rej = cl.rejections(a, name)
        assert rej.get("bad_compression") == 2 and rej.get("too_large") == 1 and rej.get("malformed") == 1, rej
        assert cl.metric_sum(a, "renkei_peer_rejections_total", reason="bad_compression") == 2

        # b does not take compressed messages at all, as a node without the codec
        with cl.RawPeer(b.port) as p:
            handshake(p, kf, kpub, ZSTD_BIT)
            f, e = p.request(REQ_ZSTD, zstd_cli(["-1", "-c"], fetch))
            assert f == cl.REP_ERROR and e[1][0] == b"unexpected", (f, e)
    finally:
        c.stop()


if __name__ == "__main__":
    run_tests(globals())
