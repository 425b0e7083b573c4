"""Local API of one real renkeid over its Unix socket: publish, read, update, delete, filters, search,
events, the change feed with long-poll, bad input, and /metrics."""

import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rk  # noqa: E402

_node = None


def node():
    global _node
    if _node is None:
        _node = rk.Node(name="api-test", prefecture="17", extra=["api.max_body=4096"]).start()
    return _node


def counts():
    return node().get("/v1/status").json()["records"]


def ids(resp):
    return sorted(r["id"] for r in resp.json()["records"])


def event(title, starts, ends, **over):
    body = {"title": title, "event_type": "seminar", "starts_at": starts, "ends_at": ends, "format": "online",
            "prefecture": "24"}
    body.update(over)
    return {"kind": "event", "event": body}


def assert_error(r, status, code, field=None):
    assert r.status == status, r
    e = r.json()["error"]
    assert e["code"] == code, e
    assert e["message"], e
    if field is not None:
        assert e.get("field") and field in e["field"], e
    return e


def test_a_publish_and_get():
    n = node()
    r = n.request("POST", "/v1/records", rk.sample_case())
    assert r.status == 201, r
    out = r.json()
    assert set(["id", "rid", "version", "hash"]) <= set(out), out
    assert out["id"] == "%s:%s" % (n.key, out["rid"])
    assert re.fullmatch(r"[0-9a-f]{32}", out["rid"]), out
    assert re.fullmatch(r"[0-9a-f]{64}", out["hash"]), out
    assert r.headers["location"] == "/v1/records/" + out["id"]
    got = n.get("/v1/records/" + out["id"])
    assert got.status == 200, got
    rec = got.json()
    assert rec["case"]["title"] == rk.sample_case()["case"]["title"]
    prov = rec["provenance"]
    assert prov["author"] == n.key and prov["node"] == "api-test"
    assert prov["version"] == out["version"] and prov["hash"] == out["hash"]
    assert re.fullmatch(r"[0-9a-f]{128}", prov["signature"])
    # a bare rid means one of our own records; the percent-encoded colon works too
    assert n.get("/v1/records/" + out["rid"]).json()["provenance"]["hash"] == out["hash"]
    assert n.get("/v1/records/" + out["id"].replace(":", "%3A")).status == 200
    # an explicit rid, then the same rid again: conflict
    r = n.request("POST", "/v1/records", dict(rk.sample_case(), rid="ishikawa-2023"))
    assert r.status == 201 and r.json()["rid"] == "ishikawa-2023", r
    assert_error(n.request("POST", "/v1/records", dict(rk.sample_case(), rid="ishikawa-2023")), 409, "conflict", "rid")
    assert_error(n.get("/v1/records/nope"), 404, "not_found")


def test_b_update_and_delete():
    n = node()
    first = n.publish(rk.sample_case(title="更新前"))
    r = n.request("PUT", "/v1/records/" + first["id"], rk.sample_case(title="更新後"))
    assert r.status == 200, r
    upd = r.json()
    assert upd["version"] > first["version"] and upd["hash"] != first["hash"]
    rec = n.get("/v1/records/" + first["id"]).json()
    assert rec["case"]["title"] == "更新後" and rec["provenance"]["version"] == upd["version"]
    # a record fetched with GET can be sent back as the body of a PUT
    r = n.request("PUT", "/v1/records/" + first["id"], rec)
    assert r.status == 200 and r.json()["version"] > upd["version"], r
    # not ours: refused, whether or not such a record exists
    other = "ab" * 32 + ":" + first["rid"]
    assert_error(n.request("PUT", "/v1/records/" + other, rk.sample_case()), 403, "forbidden")
    assert_error(n.request("DELETE", "/v1/records/" + other), 403, "forbidden")
    assert_error(n.request("PUT", "/v1/records/missing-rid", rk.sample_case()), 404, "not_found")
    # delete: a tombstone, then 410, and gone from list and search
    before = counts()
    r = n.request("DELETE", "/v1/records/" + first["id"])
    assert r.status == 200, r
    d = r.json()
    assert d["deleted"] is True and d["version"] > upd["version"] and d["id"] == first["id"]
    assert_error(n.get("/v1/records/" + first["id"]), 410, "gone")
    assert_error(n.request("PUT", "/v1/records/" + first["id"], rk.sample_case()), 410, "gone")
    assert_error(n.request("DELETE", "/v1/records/" + first["id"]), 410, "gone")
    after = counts()
    assert after["case"] == before["case"] - 1 and after["tombstone"] == before["tombstone"] + 1, (before, after)
    listed = n.get(rk.query("/v1/records", limit=1000)).json()["records"]
    assert first["id"] not in [x["id"] for x in listed]
    found = n.get(rk.query("/v1/records", q="更新後", limit=1000)).json()["records"]
    assert first["id"] not in [x["id"] for x in found]


CASES = [
    dict(title="石川樹脂工業: 品質管理からロボット導入へ", summary="樹脂食器のOEM。社員のリスキリングでロボットとEC。",
         prefecture="17", industry="manufacturing", dx_level="new_offering", skills=["robotics", "digital_marketing"],
         tags=["リスキリング"], target_layers=["employee"]),
    dict(title="広島県 リスキリング推進企業応援プロジェクト", summary="ITパスポート受験補助と宣言制度。AI活用も。",
         prefecture="34", industry="public_service", dx_level="culture", skills=["it_passport"], tags=["宣言"],
         target_layers=["owner"]),
    dict(title="SAGA Smart Samurai", summary="4か月のAI・プログラミング講座。", prefecture="41",
         industry="education", dx_level="efficiency", skills=["ai", "programming"], tags=["講座"],
         target_layers=["job_seeker"]),
    dict(title="印刷業のAI作業時間予測", summary="マーケティング部長がＡＩで印刷作業時間を予測し月180時間削減。",
         prefecture="13", industry="manufacturing", dx_level="efficiency", skills=["ai", "data_analysis"],
         tags=["ai"], target_layers=["manager"]),
]


def test_c_filters_and_search():
    n = node()
    pub = [n.publish(rk.sample_case(**c)) for c in CASES]
    ev = n.publish(event("DX寺子屋", "2031-05-10T13:00:00+09:00", "2031-05-10T16:00:00+09:00"))
    ours = set(p["id"] for p in pub)

    def only(**params):
        params.setdefault("limit", 1000)
        r = n.get(rk.query("/v1/records", **params))
        assert r.status == 200, r
        return set(ids(r)) & (ours | {ev["id"]})

    assert only(kind="event") == {ev["id"]}
    assert only(kind="case") == ours
    assert only(prefecture="41") == {pub[2]["id"]}
    assert only(industry="manufacturing") == {pub[0]["id"], pub[3]["id"]}
    assert only(industry="E") == {pub[0]["id"], pub[3]["id"]}  # the JSIC letter
    assert only(dx_level="efficiency") == {pub[2]["id"], pub[3]["id"]}
    assert only(skill="ai") == {pub[2]["id"], pub[3]["id"]}
    assert only(skill="it_passport") == {pub[1]["id"]}
    assert only(audience="owner") == {pub[1]["id"]}
    assert only(industry="manufacturing", skill="ai") == {pub[3]["id"]}
    assert only(author=n.key, prefecture="34") == {pub[1]["id"]}
    assert only(q="ロボット") == {pub[0]["id"]}
    assert pub[0]["id"] in only(q="石川樹脂工業")
    ai = [only(q=v) for v in ("ＡＩ", "ai", "AI")]
    assert ai[0] == ai[1] == ai[2] and {pub[2]["id"], pub[3]["id"]} <= ai[0], ai
    # pagination: every record exactly once, pages no larger than the limit
    seen, cursor = [], None
    for _ in range(100):
        params = {"limit": 2, "kind": "case"}
        if cursor:
            params["cursor"] = cursor
        page = n.get(rk.query("/v1/records", **params)).json()
        assert len(page["records"]) <= 2
        seen += [r["id"] for r in page["records"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and ours <= set(seen)
    assert_error(n.get(rk.query("/v1/records", colour="red")), 400, "unknown_parameter", "colour")
    assert_error(n.get(rk.query("/v1/records", industry="space")), 400, "invalid_parameter", "industry")
    assert_error(n.get(rk.query("/v1/records", limit="0")), 400, "invalid_parameter", "limit")
    assert_error(n.get(rk.query("/v1/records", limit="1001")), 400, "invalid_parameter", "limit")
    assert_error(n.get(rk.query("/v1/records", prefecture="48")), 400, "invalid_parameter", "prefecture")


def test_d_events():
    n = node()
    a = n.publish(event("中間報告会", "2030-12-22T18:00:00+09:00", "2030-12-22T20:00:00+09:00"))
    b = n.publish(event("フィールドワーク 北見", "2030-11-16T09:00:00+09:00", "2030-11-18T17:00:00+09:00",
                        event_type="fieldwork_tour", format="onsite", prefecture="01"))
    c = n.publish(event("九月のセミナー", "2030-09-01T00:00:00+09:00", "2030-09-30T23:59:59+09:00",
                        date_precision="month", format="hybrid"))
    d = n.publish(event("検討会", "2031-01-24T14:00:00+09:00", "2031-01-24T16:00:00+09:00"))
    mine = {a["id"], b["id"], c["id"], d["id"]}

    def ev(**params):
        r = n.get(rk.query("/v1/events", limit=1000, **params))
        assert r.status == 200, r
        return [e["id"] for e in r.json()["events"] if e["id"] in mine]

    assert ev(**{"from": "2030-01-01", "to": "2031-12-31"}) == [c["id"], b["id"], a["id"], d["id"]]
    assert ev(**{"from": "2030-11-17", "to": "2030-12-22"}) == [b["id"], a["id"]]
    # the end of a day is 24:00 JST; 2030-12-22T18:00 JST is still on the 22nd
    assert ev(**{"from": "2030-12-22", "to": "2030-12-22"}) == [a["id"]]
    assert ev(**{"from": "2030-12-23", "to": "2030-12-31"}) == []
    assert ev(**{"from": "2030-09-15", "to": "2030-09-15"}) == [c["id"]]  # inside the month
    assert ev(**{"from": "2030-12-22T09:30:00Z", "to": "2030-12-22T10:30:00Z"}) == [a["id"]]
    assert ev(**{"from": "2030-01-01", "to": "2031-12-31", "prefecture": "01"}) == [b["id"]]
    assert ev(**{"from": "2030-01-01", "to": "2031-12-31", "format": "hybrid"}) == [c["id"]]
    # default from = now: all four lie in the future
    assert set(ev()) == mine
    assert_error(n.get(rk.query("/v1/events", **{"from": "yesterday"})), 400, "invalid_parameter", "from")
    assert_error(n.get(rk.query("/v1/events", format="carrier-pigeon")), 400, "invalid_parameter", "format")


def test_e_changes_and_long_poll():
    n = node()
    start = n.get("/v1/changes?limit=1000").json()
    after = start["next"]
    pubs = [n.publish(rk.sample_case(title="変更フィード %d" % i)) for i in range(5)]
    page1 = n.get(rk.query("/v1/changes", after=after, limit=3)).json()
    assert len(page1["changes"]) == 3 and page1["next"] == page1["changes"][-1]["seq"]
    page2 = n.get(rk.query("/v1/changes", after=page1["next"], limit=3)).json()
    got = page1["changes"] + page2["changes"]
    assert [c["id"] for c in got] == [p["id"] for p in pubs]
    assert [c["hash"] for c in got] == [p["hash"] for p in pubs]
    assert all(c["kind"] == "case" and c["deleted"] is False for c in got)
    seqs = [c["seq"] for c in got]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    tail = page2["next"]
    assert n.get(rk.query("/v1/changes", after=tail)).json() == {"changes": [], "next": tail}
    # long-poll: answered about as soon as another thread publishes
    result = {}

    def poll():
        t0 = time.time()
        result["resp"] = n.get(rk.query("/v1/changes", after=tail, wait=10), timeout=30)
        result["t"] = time.time()
        result["t0"] = t0

    th = threading.Thread(target=poll)
    th.start()
    time.sleep(0.5)
    published_at = time.time()
    p = n.publish(rk.sample_case(title="ロングポール"))
    th.join(15)
    assert not th.is_alive()
    r = result["resp"]
    assert r.status == 200, r
    assert [c["id"] for c in r.json()["changes"]] == [p["id"]]
    assert result["t"] - published_at < 1.0, result["t"] - published_at
    # a delete appears as a change with deleted = true
    n.request("DELETE", "/v1/records/" + p["id"])
    ch = n.get(rk.query("/v1/changes", after=r.json()["next"])).json()["changes"]
    assert ch[-1]["id"] == p["id"] and ch[-1]["deleted"] is True and ch[-1]["kind"] == "tombstone"
    # an expiring wait returns an empty list
    last = n.get("/v1/status").json()["last_seq"]
    t0 = time.time()
    r = n.get(rk.query("/v1/changes", after=last, wait=1))
    assert r.status == 200 and r.json()["changes"] == [] and 0.9 <= time.time() - t0 < 5
    # a client that gives up on a long-poll does not hurt the node
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(n.socket)
    s.sendall(("GET /v1/changes?after=%d&wait=30 HTTP/1.1\r\nHost: x\r\n\r\n" % last).encode())
    time.sleep(0.2)
    s.close()
    n.publish(rk.sample_case(title="after abandoned poll"))
    assert n.get("/v1/status").status == 200
    assert_error(n.get(rk.query("/v1/changes", wait=61)), 400, "invalid_parameter", "wait")


def test_f_bad_input():
    n = node()
    before = counts()
    seq = n.get("/v1/status").json()["last_seq"]
    e = assert_error(n.request("POST", "/v1/records", '{"kind": "case", '), 400, "invalid_json")
    assert "position" in e["message"] or "column" in e["message"], e
    assert_error(n.request("POST", "/v1/records", "[1, 2]"), 400, "invalid_json")
    assert_error(n.request("POST", "/v1/records", ""), 400, "invalid_json")
    bad = rk.sample_case()
    bad["case"]["title"] = 42
    assert_error(n.request("POST", "/v1/records", bad), 400, "wrong_type", "case.title")
    assert_error(n.request("POST", "/v1/records", rk.sample_case(industry="space_mining")), 400, "invalid_enum",
                 "case.industry")
    assert_error(n.request("POST", "/v1/records", rk.sample_case(skills=["ai", "telepathy"])), 400, "invalid_enum",
                 "case.skills")
    missing = rk.sample_case()
    del missing["case"]["title"]
    assert_error(n.request("POST", "/v1/records", missing), 400, "missing_field", "title")
    assert_error(n.request("POST", "/v1/records", {"kind": "galaxy"}), 400, "invalid_enum", "kind")
    raw = json.dumps(rk.sample_case(), ensure_ascii=False).encode("utf-8").replace("ロボット".encode(), b"\xff\xfe")
    assert_error(n.request("POST", "/v1/records", raw), 400, "invalid_utf8")
    # the forms a lenient decoder would take: an encoded surrogate, an overlong "/", past U+10FFFF
    for bad_bytes in (b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"):
        raw = json.dumps(rk.sample_case(), ensure_ascii=False).encode("utf-8").replace("ロボット".encode(), bad_bytes)
        assert_error(n.request("POST", "/v1/records", raw), 400, "invalid_utf8")
    # outside a string: not JSON whatever the bytes
    assert_error(n.request("POST", "/v1/records", b'{"kind": "case"} \xff'), 400, "invalid_utf8")
    big = rk.sample_case(summary="あ" * 3000)  # 9 KB of UTF-8 > max_body 4096
    r = n.request("POST", "/v1/records", big)
    assert_error(r, 413, "body_too_large")
    assert_error(n.get("/v1/nothing-here"), 404, "not_found")
    r = n.request("DELETE", "/v1/status")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, HEAD"
    r = n.request("PATCH", "/v1/records")
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["allow"] == "GET, HEAD, POST"
    # a malformed request line gets a 400 and the connection closes; the node keeps serving
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(n.socket)
    s.sendall(b"THIS IS NOT HTTP\r\n\r\n")
    s.settimeout(5)
    assert s.recv(100).startswith(b"HTTP/1.1 400")
    s.close()
    assert counts() == before
    assert n.get("/v1/status").json()["last_seq"] == seq


def recv_all(s):
    """Everything s receives until the server closes it (10 s at most between reads); closes s."""
    s.settimeout(10)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def raw_get(n, target):
    """GET target (bytes, sent as they are) on a connection of its own: (status, JSON body)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(n.socket)
    s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = recv_all(s)
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)  # json.loads of bytes: strict UTF-8


def test_f_errors_quote_the_client_in_valid_utf8():
    # an error that quotes what the client sent is still a JSON body with its own status: bytes that
    # are not UTF-8, or a quote cut inside a character, made it a 500 (found by fuzz_http)
    n = node()
    status, body = raw_get(n, b"/v1/export/r\xe6\x9b\xb4\xe5\xbeq")
    assert status == 404 and body["error"]["code"] == "not_found", (status, body)
    assert "r\u66f4??q" in body["error"]["message"], body
    status, body = raw_get(n, b"/\xff\xfe")
    assert status == 404 and body["error"]["code"] == "not_found", (status, body)
    long_name = urllib.parse.quote("北" * 200).encode()
    status, body = raw_get(n, b"/v1/records?industry=" + long_name)
    assert status == 400 and body["error"]["field"] == "industry", (status, body)
    status, body = raw_get(n, b"/v1/records?author=" + long_name)
    assert status == 400 and body["error"]["field"] == "author", (status, body)
    assert body["error"]["message"].startswith('"北北'), body


def test_f_pipelining():
    n = node()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(n.socket)
    body = json.dumps(rk.sample_case(title="パイプライン")).encode()
    reqs = (b"GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n"
            + b"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body
            + b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    s.sendall(reqs)
    data = recv_all(s)
    statuses = re.findall(rb"HTTP/1\.1 (\d{3})", data)
    assert statuses == [b"200", b"201", b"404"], data[:500]


LINE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\["\\n])*",?)*\})? '
                  r'(-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')


def metrics():
    r = node().get("/metrics")
    assert r.status == 200 and r.headers["content-type"].startswith("text/plain"), r
    vals = {}
    for line in r.text.splitlines():
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        assert LINE.match(line), "not Prometheus text: %r" % line
        k, v = line.rsplit(" ", 1)
        vals[k] = float(v)
    return vals


def test_g_metrics():
    n = node()
    m0 = metrics()
    n.publish(rk.sample_case(title="メトリクス"))
    n.request("POST", "/v1/records", "{broken")
    m1 = metrics()

    def get(m, k):
        return m.get(k, 0.0)

    assert get(m1, 'renkei_publishes_total{op="create"}') == get(m0, 'renkei_publishes_total{op="create"}') + 1
    assert get(m1, 'renkei_ingest_total{source="local"}') > get(m0, 'renkei_ingest_total{source="local"}')
    k = 'renkei_http_requests_total{route="/v1/records",code="400"}'
    assert get(m1, k) == get(m0, k) + 1
    h = 'renkei_http_request_duration_seconds_count{route="/v1/records"}'
    assert get(m1, h) >= get(m0, h) + 2
    inf = 'renkei_http_request_duration_seconds_bucket{route="/v1/records",le="+Inf"}'
    assert get(m1, inf) == get(m1, h)
    text = n.get("/metrics").text
    assert "# TYPE renkei_http_request_duration_seconds histogram" in text
    assert "# TYPE renkei_publishes_total counter" in text


def test_g_record_cache():
    """A record's JSON is kept by version: the response built from it is byte for byte the one rendered
    first, is counted as a hit, and never outlives its version (an update or a deletion is seen)."""
    n = node()
    first = n.publish(rk.sample_case(title="キャッシュ前", prefecture="47"))
    path = "/v1/records/" + first["id"]
    m0 = metrics()
    rendered, kept = n.get(path), n.get(path)
    assert rendered.status == kept.status == 200 and rendered.body == kept.body, (rendered, kept)
    assert rendered.headers["content-type"] == "application/json" and rendered.body.endswith(b"}\n")
    m1 = metrics()
    hit, miss = 'renkei_record_cache_total{result="hit"}', 'renkei_record_cache_total{result="miss"}'
    assert m1.get(hit, 0) >= m0.get(hit, 0) + 1 and m1.get(miss, 0) >= m0.get(miss, 0) + 1, (m0, m1)
    assert 0 < m1["renkei_record_cache_bytes"] <= 4 << 20 and m1["renkei_record_cache_entries"] >= 1, m1
    listing = rk.query("/v1/records", prefecture="47", limit=5)
    a, b = n.get(listing), n.get(listing)
    assert a.status == b.status == 200 and a.body == b.body and a.body.startswith(b'{"records":['), (a, b)
    assert first["id"] in ids(a)
    # a new version is a new hash: the kept JSON of the old one is never served for it
    r = n.request("PUT", path, rk.sample_case(title="キャッシュ後", prefecture="47"))
    assert r.status == 200, r
    assert n.get(path).json()["case"]["title"] == "キャッシュ後"
    assert [x["case"]["title"] for x in n.get(listing).json()["records"] if x["id"] == first["id"]] == ["キャッシュ後"]
    # and a deleted record is gone although its last version was kept
    assert n.request("DELETE", path).status == 200
    assert_error(n.get(path), 410, "gone")
    assert first["id"] not in ids(n.get(listing))


def test_h_exports_delegate():
    n = node()
    pub = n.publish(rk.sample_case(title="公開の事例"))
    loc = n.publish(dict(rk.sample_case(title="地域限定の事例"), visibility="local"))
    r = n.get("/v1/export/feed.json")
    assert r.status == 200 and r.headers["content-type"].startswith("application/feed+json"), r
    urls = json.dumps(r.json())
    assert pub["rid"] in urls and loc["rid"] not in urls
    etag = r.headers["etag"]
    assert r.headers.get("last-modified")
    again = n.get("/v1/export/feed.json", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b"" and again.headers["etag"] == etag
    assert n.get("/v1/export/events.ics").headers["content-type"].startswith("text/calendar")
    assert n.get("/v1/stats").status == 200 and n.get("/v1/regions").status == 200
    assert_error(n.get("/v1/export/feed.rss"), 404, "not_found")
    assert_error(n.request("POST", "/v1/export/feed.atom", "{}"), 405, "method_not_allowed")
    assert n.get("/v1/peers").json() == {"peers": []}


def test_i_group_and_tcp():
    import http.client
    port = rk.free_port()
    n = rk.Node(name="grouped", extra=["api.group=nogroup", "api.tcp=127.0.0.1:%d" % port]).start()
    import grp
    assert os.stat(n.socket).st_gid == grp.getgrnam("nogroup").gr_gid
    # over the socket the caller is identified (root, or a member of the group, may publish)
    if os.getuid() == 0 or grp.getgrnam("nogroup").gr_gid in os.getgroups():
        assert n.request("POST", "/v1/records", rk.sample_case()).status == 201
    else:
        assert_error(n.request("POST", "/v1/records", rk.sample_case()), 403, "forbidden")
    # over TCP nobody can be identified: without a web session (test_web_access.py) nothing but the
    # exports answers
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/v1/status")
    r = c.getresponse()
    assert r.status == 401 and json.loads(r.read())["error"]["code"] == "no_session"
    c.request("POST", "/v1/records", body=json.dumps(rk.sample_case()), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    body = json.loads(r.read())
    assert r.status == 401 and body["error"]["code"] == "no_session", body
    c.close()
    n.stop()


def read_pipelined_responses(f, n):
    """Reads n HTTP/1.1 responses framed by Content-Length from the file f; returns their statuses."""
    statuses = []
    for _ in range(n):
        status = f.readline()
        assert status.startswith(b"HTTP/1.1 "), status
        length = None
        while True:
            line = f.readline()
            assert line, "connection closed in the headers"
            if line == b"\r\n":
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        assert length is not None
        assert len(f.read(length)) == length
        statuses.append(int(status.split()[1]))
    return statuses


def records_list_served(n):
    total = 0
    for line in n.get("/metrics").text.splitlines():
        if line.startswith('renkei_http_requests_total{route="/v1/records",'):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def test_j_client_that_does_not_read():
    """A client that pipelines requests and does not read the responses holds a bounded amount of the
    daemon's memory: after about 1 MiB of unsent responses its later requests wait until it reads."""
    n = rk.Node(name="slow-reader").start()
    for i in range(40):
        n.publish(rk.sample_case(title="読まないクライアント %d" % i, summary="説明文、" * 1500))
    one = n.get("/v1/records?limit=40")
    assert one.status == 200 and len(one.body) > 200 * 1024, len(one.body)
    before = records_list_served(n)
    pipelined = 200  # about 50 MB of responses if all were rendered at once
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(n.socket)
    s.sendall(b"GET /v1/records?limit=40 HTTP/1.1\r\nHost: x\r\n\r\n" * pipelined)
    time.sleep(1.5)
    served_while_unread = records_list_served(n) - before
    # the unsent-bytes bound (1 MiB) plus what the two socket buffers hold: a handful of responses
    assert 1 <= served_while_unread <= 20, served_while_unread
    assert n.get("/v1/status").status == 200  # everyone else is still served
    s.settimeout(30)
    f = s.makefile("rb")
    assert read_pipelined_responses(f, pipelined) == [200] * pipelined
    f.close()
    s.close()
    assert records_list_served(n) - before == pipelined
    n.stop()


def test_k_shutdown_with_a_client_that_does_not_read():
    """SIGTERM while a client leaves a large response unread: the daemon still exits, cleanly, after
    the ten-second drain."""
    n = rk.Node(name="stop-unread").start()
    for i in range(40):
        n.publish(rk.sample_case(title="停止時の未読 %d" % i, summary="説明文、" * 1500))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(n.socket)
    s.sendall(b"GET /v1/export/records.csv HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.5)
    t0 = time.time()
    rc = n.stop(timeout=30)
    took = time.time() - t0
    s.close()
    assert rc == 0, (rc, n.log())
    assert 8 <= took <= 20, took
    assert "still busy" in n.log(), n.log()


def test_l_fast_publishing_stays_within_clock_skew():
    """Publishing faster than 1,000 records a second must not push versions into the future: with
    node.clock_skew = 1 s, strictly increasing millisecond versions would soon be further ahead than
    that and the node would reject its own records as clock_skew."""
    n = rk.Node(name="fast-publisher", extra=["node.clock_skew=1"]).start()
    conns, per_conn = 16, 250
    body = json.dumps(rk.sample_case(title="速い公開")).encode()

    def post(i):
        b = body.replace(b'"kind": "case"', ('"kind": "case", "rid": "fast-%d"' % i).encode())
        return (b"POST /v1/records HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(b)).encode() + b"\r\n\r\n" + b)

    results = [None] * conns

    def run(c):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(n.socket)
        s.settimeout(60)
        s.sendall(b"".join(post(c * per_conn + i) for i in range(per_conn)))
        f = s.makefile("rb")
        results[c] = read_pipelined_responses(f, per_conn)
        f.close()
        s.close()

    t0 = time.time()
    threads = [threading.Thread(target=run, args=(c,)) for c in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    took = time.time() - t0
    statuses = [st for r in results for st in (r or [])]
    assert len(statuses) == conns * per_conn, len(statuses)
    assert statuses.count(201) == len(statuses), {st: statuses.count(st) for st in set(statuses)}
    versions = [r["version"] for r in n.get("/v1/records?limit=100").json()["records"]]
    assert max(versions) <= time.time() * 1000 + 1000, (max(versions), time.time() * 1000)
    print("  %d publishes in %.2f s" % (len(statuses), took))
    n.stop()


rk.run_tests(globals())
