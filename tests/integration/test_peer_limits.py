"""Limits of the peer listener against strangers (docs/protocol.md, "Limits"): before a connection
has authenticated its frames are small, it must finish the handshake in time, and a source address
may hold only a few such connections. Records bigger than the pre-authentication limit still travel
between members."""

import shutil
import socket
import struct
import threading
import time

import cluster as cl
from rk import rss_kib, run_tests, sample_case, wait_until

HANDSHAKE_LIMIT_S = 10  # LISTEN_HANDSHAKE_MS in daemon/peer_listen.c
# How long to wait for something the node does promptly when idle: a loaded machine (the suite runs
# in parallel) may take many seconds for it. Only waits use it, never a limit the node promises.
SETTLE_S = 60
ATTACKERS = 200
FRAME = 16 << 20
SENT = 12 << 20


def _gauge(node, state):
    return cl.metric_sum(node, "renkei_peer_connections", state=state)


def _attack(port, chunk, out, i):
    """Opens a peer connection, claims a 16 MiB frame, sends 12 MiB of it and stalls until the node
    closes the connection. out[i] = (opened, closed) in time.monotonic() seconds."""
    opened = time.monotonic()
    s = None
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
        s.sendall(b"\0SP\0" + struct.pack(">H", cl.SP_REQ) + b"\0\0")
        s.sendall(struct.pack(">Q", FRAME - 64) + struct.pack(">I", 0x80000001))
        for _ in range(SENT // len(chunk)):
            s.sendall(chunk)
        while s.recv(65536):
            pass  # the node's SP header; then it must close on us
    except OSError:
        pass  # refused or reset: closed too
    finally:
        out[i] = (opened, time.monotonic())
        if s:
            s.close()


def test_stalled_unauthenticated_connections_are_bounded_and_closed():
    c = cl.line(["a", "b"], sync_interval=3600)  # a dials b
    try:
        c.start()
        a, b = c["a"], c["b"]
        cl.wait_connected([a])

        # pushes far above the pre-authentication frame limit (64 KiB) pass between members
        big = [a.publish(sample_case(title="大きな事例%d" % i, summary="長い説明" * 1500)) for i in range(12)]
        for r in big:
            cl.wait_record([b], r["id"], r["version"])

        base = rss_kib(b)
        chunk = b"\x0a" * (1 << 20)
        out = [None] * ATTACKERS
        threads = [threading.Thread(target=_attack, args=(b.port, chunk, out, i), daemon=True) for i in range(ATTACKERS)]
        for t in threads:
            t.start()
        peak = base
        served = None
        deadline = time.monotonic() + HANDSHAKE_LIMIT_S + 5
        while any(t.is_alive() for t in threads):
            assert time.monotonic() < deadline, "attack connections still open after the handshake limit"
            peak = max(peak, rss_kib(b))
            t0 = time.monotonic()
            r = b.get("/v1/status")
            assert r.status == 200, r
            assert time.monotonic() - t0 < 1.0, "the API took %.2fs during the attack" % (time.monotonic() - t0)
            if served is None:
                # the authenticated peer keeps replicating while the strangers hold connections
                rec = a.publish(sample_case(title="攻撃中の公開"))
                cl.wait_record([b], rec["id"], rec["version"], timeout=SETTLE_S)
                served = rec
            time.sleep(0.2)
        for t in threads:
            t.join()
        peak = max(peak, rss_kib(b))

        lives = sorted(closed - opened for opened, closed in out)
        print("RSS %d -> peak %d KiB (+%d KiB); connections closed after %.1fs to %.1fs" %
              (base, peak, peak - base, lives[0], lives[-1]), flush=True)
        assert served is not None
        assert peak - base < 64 * 1024, "RSS rose by %d KiB (from %d KiB)" % (peak - base, base)
        for opened, closed in out:
            assert closed - opened <= HANDSHAKE_LIMIT_S + 3, "a connection lived %.1fs" % (closed - opened)
        # counted just after the connections were closed
        wait_until(lambda: cl.rejections(b, "unauthenticated").get("handshake_timeout", 0) >= 1, timeout=SETTLE_S,
                   what="handshake_timeout counted")
        assert cl.rejections(b, "unauthenticated").get("connection_limit", 0) >= 1
        wait_until(lambda: _gauge(b, "unauthenticated") == 0, timeout=SETTLE_S,
                   what="no unauthenticated connections left")
        assert _gauge(b, "authenticated") == 1
        st = [p for p in cl.peers(b) if p["name"] == "a"][0]
        assert st["state"] == "connected", st
        rec = a.publish(sample_case(title="攻撃の後"))
        cl.wait_record([b], rec["id"], rec["version"], timeout=SETTLE_S)
    finally:
        c.stop()


def test_idle_connection_closed_after_handshake_limit():
    b = cl.Cluster(["b"], []).start()["b"]
    try:
        with cl.RawPeer(b.port, timeout=HANDSHAKE_LIMIT_S + 10) as p:
            t0 = time.monotonic()
            closed = False
            try:
                while p.sock.recv(4096):
                    pass
                closed = True
            except OSError:
                closed = True
            lived = time.monotonic() - t0
        assert closed
        assert HANDSHAKE_LIMIT_S - 1 <= lived <= HANDSHAKE_LIMIT_S + 3, "closed after %.1fs" % lived
        wait_until(lambda: cl.rejections(b, "unauthenticated").get("handshake_timeout", 0) >= 1, timeout=SETTLE_S,
                   what="handshake_timeout counted")
    finally:
        b.stop()


def test_total_connection_cap():
    """At most 512 connections are open at once, whatever their source addresses (20 each from 27
    loopback addresses stays under the per-address cap of 32)."""
    b = cl.Cluster(["b"], []).start()["b"]
    socks = []
    try:
        before = cl.rejections(b, "unauthenticated").get("connection_limit", 0)
        for a in range(27):
            for _ in range(20):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind(("127.0.0.%d" % (a + 2), 0))
                s.settimeout(SETTLE_S)
                s.connect(("127.0.0.1", b.port))
                socks.append(s)
        wait_until(lambda: cl.rejections(b, "unauthenticated").get("connection_limit", 0) - before >= 540 - 512,
                   timeout=SETTLE_S, what="connections over the cap refused")
        # every connection is either refused or counted; none of the refused ones is
        wait_until(lambda: _gauge(b, "unauthenticated") >= 512, timeout=SETTLE_S, what="512 connections counted")
        assert _gauge(b, "unauthenticated") == 512
        assert b.get("/v1/status").status == 200
    finally:
        for s in socks:
            s.close()
    try:
        wait_until(lambda: _gauge(b, "unauthenticated") == 0, timeout=SETTLE_S, what="closed connections freed")
    finally:
        b.stop()


def _stall_frame(p, chunk, stop):
    """On an authenticated RawPeer: claim a frame of the 8 MiB message limit (larger ones are read
    without being held), send 7 MiB of it, then hold."""
    try:
        p.sock.sendall(struct.pack(">Q", 8 << 20) + struct.pack(">I", 0x80000002))
        for _ in range(7):
            if stop.is_set():
                return
            p.sock.sendall(chunk)
    except OSError:
        pass


def test_authenticated_strangers_share_one_input_budget():
    """Any key can finish the handshake, so the frames of authenticated connections are bounded as a
    whole (64 MiB), not only one by one: 24 strangers each holding most of an 8 MiB frame would
    otherwise take 168 MiB."""
    b = cl.Cluster(["b"], []).start()["b"]
    tmp = cl.temp_dir()
    peers = []
    stop = threading.Event()
    try:
        for i in range(24):
            kf, kpub = cl.keypair(tmp, "stranger%d" % i)
            p = cl.RawPeer(b.port, timeout=SETTLE_S)
            p.handshake(kf, kpub, expect_key=b.key)
            peers.append(p)
        wait_until(lambda: _gauge(b, "authenticated") == 24, timeout=SETTLE_S, what="24 strangers authenticated")
        base = rss_kib(b)
        chunk = b"\x0a" * (1 << 20)
        threads = [threading.Thread(target=_stall_frame, args=(p, chunk, stop), daemon=True) for p in peers]
        for t in threads:
            t.start()
        peak = base
        t_end = time.monotonic() + 6
        while time.monotonic() < t_end:
            peak = max(peak, rss_kib(b))
            t0 = time.monotonic()
            assert b.get("/v1/status").status == 200
            assert time.monotonic() - t0 < 1.0
            time.sleep(0.2)
        held = cl.metric_sum(b, "renkei_peer_input_bytes")
        print("24 authenticated strangers: RSS %d -> peak %d KiB (+%d KiB), input held %d bytes" %
              (base, peak, peak - base, held), flush=True)
        assert 0 < held <= 64 << 20, held
        assert peak - base < 80 * 1024, "RSS rose by %d KiB" % (peak - base)
    finally:
        stop.set()
        for p in peers:
            p.close()
        b.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def test_dialer_refuses_a_large_reply_before_the_handshake():
    """A listener that has not proved its key cannot make a dialer hold a large frame: the dialer
    closes the connection on the frame's length, before its body arrives."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(20)
    port = srv.getsockname()[1]
    tmp = cl.temp_dir()
    _, fake_pub = cl.keypair(tmp, "fake")
    a = cl.Cluster(["a"], []).nodes["a"]
    a.extra += ['peer "x".key=%s' % fake_pub, 'peer "x".url=tcp://127.0.0.1:%d' % port]
    try:
        a.start()
        conn, _ = srv.accept()
        conn.settimeout(20)
        try:
            conn.sendall(b"\0SP\0" + struct.pack(">H", cl.SP_REP) + b"\0\0")
            hdr = _recv_exact(conn, 8)
            assert hdr[:4] == b"\0SP\0" and struct.unpack(">H", hdr[4:6])[0] == cl.SP_REQ, hdr
            n = struct.unpack(">Q", _recv_exact(conn, 8))[0]
            rid = _recv_exact(conn, n)[:4]  # the Hello; its request id
            base = rss_kib(a)
            t0 = time.monotonic()
            closed = False
            try:
                conn.sendall(struct.pack(">Q", FRAME - 64) + rid)
                chunk = b"\x0a" * (1 << 20)
                for _ in range(SENT // len(chunk)):
                    conn.sendall(chunk)
                while conn.recv(65536):
                    pass
                closed = True
            except OSError:
                closed = True
            took = time.monotonic() - t0
            grew = rss_kib(a) - base
        finally:
            conn.close()
        print("dialer closed the connection after %.2fs, RSS +%d KiB" % (took, grew), flush=True)
        assert closed and took < 5, took
        assert grew < 4 * 1024, "RSS rose by %d KiB" % grew
        # and it keeps dialing: the next connection comes
        conn, _ = srv.accept()
        conn.close()
    finally:
        a.stop()
        srv.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    run_tests(globals())
