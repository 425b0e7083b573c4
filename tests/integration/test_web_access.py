"""Access to the web page's TCP listener ([api] tcp): without a session only the login page, the
page's static files and the public exports answer; a foreign Host is refused (DNS rebinding); a
cross-origin text/plain POST publishes nothing; a login token works once; state changes need the
session, this node's Origin and the CSRF token; bodies must be JSON; every response carries the CSP;
the Unix socket API is unchanged."""

import http.client
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rk  # noqa: E402

API_PATHS = ["/v1/status", "/v1/records", "/v1/records/x", "/v1/events", "/v1/changes", "/v1/peers",
             "/v1/stats", "/v1/regions", "/v1/codes", "/metrics", "/v1/web/session", "/v1/nothing"]


def start_node(extra=()):
    port = rk.free_port()
    n = rk.Node(name="webnode", prefecture="17", extra=["api.tcp=127.0.0.1:%d" % port] + list(extra)).start()
    n.tcp_port = port
    return n


def tcp(n, method, path, body=None, headers=None, host=None):
    c = http.client.HTTPConnection("127.0.0.1", n.tcp_port, timeout=20)
    try:
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        h = {"Host": host if host is not None else "127.0.0.1:%d" % n.tcp_port}
        h.update(headers or {})
        if body is not None:
            body = body.encode("utf-8") if isinstance(body, str) else body
            h["Content-Length"] = str(len(body))
        for k, v in h.items():
            c.putheader(k, v)
        c.endheaders(body)
        r = c.getresponse()
        return rk.Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        c.close()


def login(n):
    """Runs `renkei web` and trades its URL for a session; returns (cookie header, csrf)."""
    out = n.cli("web").stdout.decode()
    url = [w for w in out.split() if w.startswith("http://")][0]
    assert url.startswith("http://127.0.0.1:%d/login?token=" % n.tcp_port), out
    path = url[len("http://127.0.0.1:%d" % n.tcp_port):]
    r = tcp(n, "GET", path)
    assert r.status == 303 and r.headers["location"] == "/", r
    cookie = r.headers["set-cookie"]
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in cookie, cookie
    pair = cookie.split(";")[0]
    s = tcp(n, "GET", "/v1/web/session", headers={"Cookie": pair})
    assert s.status == 200, s
    return pair, s.json()["csrf"], path


def assert_web_headers(r):
    csp = r.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, r.headers
    assert r.headers.get("x-frame-options") == "DENY", r.headers


def count_records(n):
    return len(n.get("/v1/records").json()["records"])


def test_without_session_only_login_assets_and_exports():
    n = start_node()
    n.publish(rk.sample_case())
    for p in API_PATHS:
        r = tcp(n, "GET", p)
        assert r.status == 401 and r.json()["error"]["code"] == "no_session", (p, r)
        assert_web_headers(r)
    for method, p in [("POST", "/v1/records"), ("PUT", "/v1/records/x"), ("DELETE", "/v1/records/x"),
                      ("POST", "/v1/web/logout"), ("POST", "/v1/web/login")]:
        r = tcp(n, method, p, body=json.dumps(rk.sample_case()), headers={"Content-Type": "application/json"})
        assert r.status == 401, (method, p, r)
    # the public exports, the login page and the page's files answer
    r = tcp(n, "GET", "/v1/export/feed.json")
    assert r.status == 200 and r.json()["items"], r
    assert_web_headers(r)
    r = tcp(n, "GET", "/login")
    assert r.status == 200 and "renkei web" in r.text and r.headers["content-type"].startswith("text/html"), r
    assert_web_headers(r)
    for asset in ("/app.js", "/app.css", "/login.css"):
        assert tcp(n, "GET", asset).status == 200, asset
    # the page itself sends a browser without a session to the login page
    r = tcp(n, "GET", "/")
    assert r.status == 303 and r.headers["location"] == "/login", r
    n.stop()


def test_foreign_host_refused():
    n = start_node()
    cookie, csrf, _ = login(n)
    for host in ("evil.example", "evil.example:%d" % n.tcp_port, "127.0.0.1:1", "127.0.0.1", ""):
        for p in ("/v1/export/feed.json", "/login", "/v1/status"):
            r = tcp(n, "GET", p, host=host, headers={"Cookie": cookie})
            assert r.status == 403 and r.json()["error"]["code"] == "host_not_allowed", (host, p, r)
            assert_web_headers(r)
    # localhost on the listener's port is the same listener (an SSH tunnel's usual name)
    assert tcp(n, "GET", "/v1/status", host="localhost:%d" % n.tcp_port, headers={"Cookie": cookie}).status == 200
    n.stop()


def test_public_url_host_allowed():
    n = start_node(["api.public_url=https://renkei.example.jp/ishikawa"])
    assert tcp(n, "GET", "/v1/export/feed.json", host="renkei.example.jp").status == 200
    assert tcp(n, "GET", "/v1/export/feed.json", host="other.example.jp").status == 403
    n.stop()


def test_cross_origin_text_plain_post_publishes_nothing():
    n = start_node()
    before = count_records(n)
    evil = {"Origin": "http://evil.example", "Content-Type": "text/plain"}
    r = tcp(n, "POST", "/v1/records", body=json.dumps(rk.sample_case()), headers=evil)
    assert r.status == 401, r
    # even with a live session cookie (SameSite=Strict keeps it from other sites, but not by design
    # alone): a foreign Origin, a missing CSRF token or a non-JSON body are each refused
    cookie, csrf, _ = login(n)
    body = json.dumps(rk.sample_case())
    r = tcp(n, "POST", "/v1/records", body=body, headers=dict(evil, Cookie=cookie))
    assert r.status == 403 and r.json()["error"]["code"] == "cross_site", r
    r = tcp(n, "POST", "/v1/records", body=body, headers=dict(evil, Cookie=cookie, **{"X-CSRF-Token": csrf}))
    assert r.status == 403 and r.json()["error"]["code"] == "cross_site", r
    own = {"Origin": "http://127.0.0.1:%d" % n.tcp_port, "Cookie": cookie}
    r = tcp(n, "POST", "/v1/records", body=body, headers=dict(own, **{"Content-Type": "application/json"}))
    assert r.status == 403 and r.json()["error"]["field"] == "X-CSRF-Token", r
    r = tcp(n, "POST", "/v1/records", body=body,
            headers=dict(own, **{"Content-Type": "application/json", "X-CSRF-Token": "0" * 64}))
    assert r.status == 403, r
    r = tcp(n, "POST", "/v1/records", body=body, headers=dict(own, **{"Content-Type": "text/plain", "X-CSRF-Token": csrf}))
    assert r.status == 415 and r.json()["error"]["code"] == "unsupported_media_type", r
    r = tcp(n, "POST", "/v1/records", body=body, headers=dict(own, **{"X-CSRF-Token": csrf}))
    assert r.status == 415, r
    assert count_records(n) == before
    # the same request done right publishes, and so do PUT and DELETE
    ok = dict(own, **{"Content-Type": "application/json; charset=utf-8", "X-CSRF-Token": csrf})
    r = tcp(n, "POST", "/v1/records", body=body, headers=ok)
    assert r.status == 201, r
    rid = r.json()["rid"]
    assert count_records(n) == before + 1
    upd = rk.sample_case(title="更新したタイトル")
    assert tcp(n, "PUT", "/v1/records/" + rid, body=json.dumps(upd), headers=ok).status == 200
    r = tcp(n, "DELETE", "/v1/records/" + rid, headers=dict(own, **{"X-CSRF-Token": csrf}))
    assert r.status == 200, r
    assert count_records(n) == before
    n.stop()


def test_login_token_works_once():
    n = start_node()
    cookie, csrf, path = login(n)
    again = tcp(n, "GET", path)
    assert again.status == 403 and "set-cookie" not in again.headers, again
    assert "renkei web" in again.text
    made_up = tcp(n, "GET", "/login?token=" + "ab" * 32)
    assert made_up.status == 403 and "set-cookie" not in made_up.headers
    # the token route belongs to the socket: over TCP, even with a session, it does not exist
    r = tcp(n, "POST", "/v1/web/login", body="{}", headers={
        "Cookie": cookie, "Origin": "http://127.0.0.1:%d" % n.tcp_port, "X-CSRF-Token": csrf,
        "Content-Type": "application/json"})
    assert r.status == 404, r
    # logging out ends the session
    r = tcp(n, "POST", "/v1/web/logout", headers={
        "Cookie": cookie, "Origin": "http://127.0.0.1:%d" % n.tcp_port, "X-CSRF-Token": csrf})
    assert r.status == 200 and "Max-Age=0" in r.headers["set-cookie"], r
    assert tcp(n, "GET", "/v1/status", headers={"Cookie": cookie}).status == 401
    n.stop()


def test_head_does_not_spend_a_login_token():
    n = start_node()
    out = n.cli("web").stdout.decode()
    url = [w for w in out.split() if w.startswith("http://")][0]
    path = url[len("http://127.0.0.1:%d" % n.tcp_port):]
    h = tcp(n, "HEAD", path)
    assert h.status == 200 and h.body == b"" and "set-cookie" not in h.headers, h
    r = tcp(n, "GET", path)
    assert r.status == 303 and "set-cookie" in r.headers, r
    n.stop()


def test_socket_api_unchanged():
    n = start_node()
    r = n.get("/v1/status")
    assert r.status == 200 and "content-security-policy" not in r.headers, r
    rec = n.publish(rk.sample_case())  # no Origin, no CSRF, no cookie: the socket is the authority
    assert n.get("/v1/records/" + rec["rid"]).status == 200
    assert n.request("POST", "/v1/records", "{}", headers={"Content-Type": "text/plain"}).status == 400
    # the web page's routes do not exist on the socket, except the one that hands out logins
    for p in ("/", "/login", "/app.js", "/v1/web/session"):
        assert n.get(p).status == 404, p
    assert n.get("/v1/codes").json()["industry"]
    n.stop()


def test_web_without_tcp_listener():
    n = rk.Node(name="notcp").start()
    p = n.cli("web", check=False)
    assert p.returncode == 1 and b"api.tcp" in p.stderr, p
    n.stop()


rk.run_tests(globals())
