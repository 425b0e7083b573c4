"""Limits of the local API's HTTP server against hostile clients (docs/api.md, "Limits"): clients that
pipeline requests without reading their responses hold a bounded amount of the daemon's memory, one
at a time and many together, while everyone else is still served promptly."""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rk  # noqa: E402

PIPELINERS = 50
ATTACK_S = 20


def _pipeline_without_reading(path, requests, stop, sent, i):
    """Connects to the API socket and sends the pipelined requests over and over until stop is set,
    never reading a byte of the responses. sent[i] counts the bytes the daemon accepted."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.settimeout(0.5)
        view = memoryview(requests)
        off = 0
        while not stop.is_set():
            try:
                n = s.send(view[off:])
            except socket.timeout:
                continue  # the daemon stopped reading us: that is the point
            sent[i] += n
            off = (off + n) % len(requests)
    except OSError:
        pass  # closed by the daemon: also bounded
    finally:
        s.close()


def test_pipelining_clients_that_never_read_hold_bounded_memory():
    """50 clients pipeline GETs for 20 s and never read: the daemon's RSS rises by less than 64 MiB
    and a normal client is answered within a second throughout (issue 11, done-when 2)."""
    n = rk.Node(name="pipeliners").start(env=rk.without_asan_quarantine())
    for i in range(150):
        n.publish(rk.sample_case(title="読まないクライアント %d" % i))
    # a mix of the common reads, a page of records and an export among them; each request alone is
    # legitimate, and one round of them is about 250 KB of responses
    requests = (b"GET /v1/records HTTP/1.1\r\nHost: x\r\n\r\n"
                + b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n"
                + b"GET /v1/export/records.csv HTTP/1.1\r\nHost: x\r\n\r\n"
                + b"GET /v1/records?limit=5 HTTP/1.1\r\nHost: x\r\n\r\n") * 64
    sizes = [len(n.get(p).body) for p in ("/v1/records", "/v1/status", "/v1/export/records.csv", "/v1/records?limit=5")]
    print("response sizes: %s" % sizes, flush=True)
    base = rk.rss_kib(n)
    stop = threading.Event()
    sent = [0] * PIPELINERS
    threads = [threading.Thread(target=_pipeline_without_reading, args=(n.socket, requests, stop, sent, i),
                                daemon=True) for i in range(PIPELINERS)]
    try:
        for t in threads:
            t.start()
        peak = base
        latencies = []
        t_end = time.monotonic() + ATTACK_S
        while time.monotonic() < t_end:
            peak = max(peak, rk.rss_kib(n))
            t0 = time.monotonic()
            r = n.get("/v1/records?limit=1", timeout=10)
            took = time.monotonic() - t0
            assert r.status == 200, r
            latencies.append(took)
            peak = max(peak, rk.rss_kib(n))
            time.sleep(0.25)
        peak = max(peak, rk.rss_kib(n))
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    print("%d pipelining clients sent %.1f MiB in %d s; RSS %d -> peak %d KiB (+%d KiB); normal client: "
          "%d requests, slowest %.3fs" % (PIPELINERS, sum(sent) / 1048576, ATTACK_S, base, peak, peak - base,
                                           len(latencies), max(latencies)), flush=True)
    assert len(latencies) >= 20, latencies
    assert max(latencies) < 1.0, "a normal request took %.2fs" % max(latencies)
    assert peak - base < 64 * 1024, "RSS rose by %d KiB (from %d KiB)" % (peak - base, base)
    # the daemon let go of the clients and still works
    assert n.get("/v1/status").status == 200
    n.stop()


def _recv_all(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def _status(n):
    """The status of GET /v1/status on a new connection, None if the node closed it first (refused
    connections are closed without reading the request)."""
    try:
        return n.get("/v1/status", timeout=10).status
    except OSError:
        return None


def test_connections_over_the_cap_get_503_and_are_closed():
    """[api] max_connections: the connection over the cap is answered 503 too_many_connections and
    closed, the ones under it are untouched, and a freed place is taken again."""
    n = rk.Node(name="conn-cap", extra=["api.max_connections=8"]).start()
    held = []
    try:
        for _ in range(8):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(n.socket)
            held.append(s)
        # the status request of start() may still be closing: wait until the ninth connection is refused
        def ninth():
            extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            extra.settimeout(10)
            extra.connect(n.socket)
            try:
                return _recv_all(extra)  # closed by the node without a request when refused
            except socket.timeout:
                return None
            finally:
                extra.close()

        data = rk.wait_until(ninth, timeout=30, interval=0.2, what="the ninth connection refused")
        assert data.startswith(b"HTTP/1.1 503 ") and b"too_many_connections" in data, data
        assert _status(n) in (503, None)
        # the held connections still work
        held[0].sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _recv_all(held[0]).startswith(b"HTTP/1.1 200 ")
        held.pop(0).close()
        rk.wait_until(lambda: _status(n) == 200, timeout=10, what="a freed place taken again")
        assert _rejections(n)["503"] >= 2
    finally:
        for s in held:
            s.close()
    assert n.log().count("api.max_connections") == 1, n.log()  # a flood is logged once
    n.stop()


REQUEST_TIMEOUT_S = 30  # REQUEST_TIMEOUT_MS in daemon/http.c


def _raw(n, data, timeout=10):
    """Sends data on a new API connection and returns all the node answers until it closes."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(n.socket)
        s.sendall(data)
        return _recv_all(s)
    finally:
        s.close()


CODES = ("400", "408", "413", "414", "431", "500", "503")


def _rejections(n, metric="renkei_http_rejections_total"):
    """{status: count} of metric by its code label, from one scrape."""
    r = n.get("/metrics")
    assert r.status == 200, r
    out = {c: 0 for c in CODES}
    for ln in r.text.splitlines():
        for c in CODES:
            if ln.startswith(metric + "{") and 'code="%s"' % c in ln:
                out[c] += float(ln.rsplit(" ", 1)[1])
    return out


def _trickle(path, stop, out):
    """A request whose headers never end, one byte a second (slowloris); out gets the node's answer
    and how long after the first byte it came."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(path)
        s.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        t0 = time.monotonic()
        answer = b""
        while not stop.is_set() and time.monotonic() - t0 < REQUEST_TIMEOUT_S + 15:
            try:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
            except socket.timeout:
                try:
                    s.sendall(b"a")
                except OSError:
                    break
        out["answer"], out["took"] = answer, time.monotonic() - t0
    except OSError as e:
        out["error"] = repr(e)
    finally:
        s.close()


def test_rejections_are_counted_by_status():
    """Each refusal of the HTTP server itself is counted by status in renkei_http_rejections_total,
    present at zero from start-up, and not as a routed request."""
    n = rk.Node(name="rejections", extra=["api.max_body=4096"]).start()
    assert _rejections(n) == {c: 0 for c in CODES}
    # the slow ones first: a request that never completes gets 408 after REQUEST_TIMEOUT_S, whether
    # its client goes quiet or keeps sending a byte a second (which must not restart the timer)
    slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    slow.settimeout(REQUEST_TIMEOUT_S + 15)
    slow.connect(n.socket)
    slow.sendall(b"GET /v1/status HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    stop = threading.Event()
    trickled = {}
    trickler = threading.Thread(target=_trickle, args=(n.socket, stop, trickled), daemon=True)
    trickler.start()
    cases = [
        ("400", b"THIS IS NOT HTTP\r\n\r\n", b"invalid_request"),
        ("400", b"GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n", b"invalid_request"),
        ("413", b"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 5000\r\n\r\n" + b"{" * 5000, b"body_too_large"),
        ("414", b"GET /v1/records?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", b"uri_too_long"),
        ("431", b"GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"b" * 40000 + b"\r\n\r\n",
         b"headers_too_large"),
    ]
    want = {c: 0 for c in CODES}
    for code, data, error in cases:
        answer = _raw(n, data)
        assert answer.startswith(b"HTTP/1.1 %s " % code.encode()) and error in answer, (code, answer[:300])
        want[code] += 1
        assert _rejections(n) == want, (code, _rejections(n), want)
    answer = _recv_all(slow)
    took = time.monotonic() - t0
    slow.close()
    assert answer.startswith(b"HTTP/1.1 408 ") and b"request_timeout" in answer, answer[:300]
    assert REQUEST_TIMEOUT_S - 1 <= took <= REQUEST_TIMEOUT_S + 10, took
    trickler.join(timeout=REQUEST_TIMEOUT_S + 20)
    stop.set()
    assert trickled.get("answer", b"").startswith(b"HTTP/1.1 408 "), trickled
    assert REQUEST_TIMEOUT_S - 1 <= trickled["took"] <= REQUEST_TIMEOUT_S + 10, trickled
    want["408"] += 2
    assert _rejections(n) == want, (_rejections(n), want)
    # a rejection is not a routed request
    assert _rejections(n, "renkei_http_requests_total") == {c: 0 for c in CODES}
    n.stop()


def test_expect_continue():
    """Expect: 100-continue gets the interim response before the body is sent, and the request is
    then answered; a body over max_body gets 413 instead, without the 100."""
    n = rk.Node(name="continue", extra=["api.max_body=4096"]).start()
    body = json.dumps(rk.sample_case(title="続行")).encode()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(n.socket)
    s.sendall(b"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\n"
              b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body))
    interim = b""
    while not interim.endswith(b"\r\n\r\n"):
        chunk = s.recv(1)
        assert chunk, interim
        interim += chunk
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n", interim
    s.sendall(body)
    answer = _recv_all(s)
    s.close()
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:300]
    too_big = _raw(n, b"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
    assert too_big.startswith(b"HTTP/1.1 413 ") and b"100 Continue" not in too_big, too_big[:300]
    n.stop()


if __name__ == "__main__":
    rk.run_tests(globals())
