"""Exports of a real renkeid, read back with the parsers subscribers use: feedparser for Atom,
icalendar for the calendar, the csv module for the CSV, json for JSON Feed. Also paging (next links
followed to the end), the calendar keeping future events under a limit, public_url in every link,
conditional requests (ETag / Last-Modified), /v1/stats after publish, update and delete, and
/v1/regions."""

import csv
import datetime
import glob
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rk  # noqa: E402

import feedparser  # noqa: E402
import openpyxl  # noqa: E402
import rdflib  # noqa: E402
from icalendar import Calendar  # noqa: E402

JST = datetime.timezone(datetime.timedelta(hours=9))


def node(name="全国事務局"):
    return rk.Node(name=name, kind="national", prefecture="13").start()


def case(title, pref="17", vis="public", **over):
    r = rk.sample_case(title=title, prefecture=pref, **over)
    r["visibility"] = vis
    return r


def event(title, starts, ends, vis="public", **over):
    ev = {"title": title, "event_type": "seminar", "starts_at": starts, "ends_at": ends, "format": "online",
          "prefecture": "01"}
    ev.update(over)
    return {"kind": "event", "visibility": vis, "event": ev}


def publish(n, rec):
    out = n.publish(rec)
    time.sleep(0.005)  # distinct versions (ms clock) so "newest first" has one right answer
    return out


def test_atom_filter_order_and_visibility():
    n = node()
    a = publish(n, case("加賀市の樹脂食器 <OEM> & ロボット"))
    publish(n, case("広島県の宣言制度", pref="34"))
    b = publish(n, case("能登の水産加工DX", industry="fisheries"))
    publish(n, case("ネットワーク限定の事例", vis="network"))
    publish(n, case("ローカル限定の事例", vis="local"))
    publish(n, event("石川の公開セミナー", "2030-10-10T13:00:00+09:00", "2030-10-10T16:30:00+09:00", prefecture="17"))

    r = n.get(rk.query("/v1/export/feed.atom", prefecture="17", kind="case"))
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("application/atom+xml"), r.headers
    f = feedparser.parse(r.body)
    assert not f.bozo, f.bozo_exception
    ids = [e.id for e in f.entries]
    assert ids == ["urn:renkei:%s:%s" % (n.key, x["rid"]) for x in (b, a)], ids
    assert f.entries[1].title == "加賀市の樹脂食器 <OEM> & ロボット", f.entries[1].title
    # no entry links into the node's API, which the reverse proxy does not expose
    assert not any(link.get("rel") == "alternate" for link in f.entries[0].get("links", [])), f.entries[0]
    assert b"/v1/records/" not in r.body
    assert f.entries[0].author == "全国事務局", f.entries[0].get("author")
    terms = {t.term for t in f.entries[0].tags}
    assert {"case", "17", "fisheries", "robotics"} <= terms, terms
    assert f.feed.title == "renkei: 全国事務局"

    # the unfiltered feed: every public record, no network or local one
    r = n.get("/v1/export/feed.atom")
    f = feedparser.parse(r.body)
    titles = [e.title for e in f.entries]
    assert len(titles) == 4, titles
    assert "ネットワーク限定の事例" not in titles and "ローカル限定の事例" not in titles
    assert "ネットワーク限定".encode() not in r.body and "ローカル限定".encode() not in r.body

    # bad requests change nothing and say what is wrong
    r = n.get("/v1/export/feed.atom?colour=red")
    assert r.status == 400 and r.json()["error"]["code"] == "unknown_parameter", r
    r = n.get("/v1/export/feed.atom?prefecture=99")
    assert r.status == 400, r
    r = n.get("/v1/export/feed.atom?limit=10001")
    assert r.status == 400, r
    r = n.get("/v1/export/feed.xml")
    assert r.status == 404, r


def test_calendar_parses_with_icalendar():
    n = node()
    timed = publish(n, event("オンライン交流会；三地域と専門人材16名, 第1回", "2030-10-10T13:00:00+09:00",
                             "2030-10-10T16:30:00+09:00", summary="北見・桑名・沖縄\n16名の専門人材が参加",
                             status="scheduled", application_url="https://example.jp/apply"))
    tour = publish(n, event("北見フィールドワーク", "2030-11-16T00:00:00+09:00", "2030-11-18T23:59:59+09:00",
                            date_precision="day", format="onsite",
                            venue={"name": "サテライトオフィス北見", "address": "北海道北見市"}))
    off = publish(n, event("中間報告会（中止）", "2030-12-22T18:00:00+09:00", "2030-12-22T20:00:00+09:00",
                           status="cancelled"))
    publish(n, event("会員限定の検討会", "2030-12-23T18:00:00+09:00", "2030-12-23T20:00:00+09:00", vis="network"))
    publish(n, case("カレンダーに出ない事例"))

    r = n.get(rk.query("/v1/export/events.ics", **{"from": "2030-01-01"}))
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/calendar"), r.headers
    for line in r.body.split(b"\r\n"):
        assert len(line) <= 75, line
    cal = Calendar.from_ical(r.body)
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Tokyo"
    assert [str(c["TZID"]) for c in cal.walk("VTIMEZONE")] == ["Asia/Tokyo"]
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {"%s@%s" % (x["rid"], n.key) for x in (timed, tour, off)}, set(events)

    e = events["%s@%s" % (timed["rid"], n.key)]
    start, end = e.decoded("DTSTART"), e.decoded("DTEND")
    assert start == datetime.datetime(2030, 10, 10, 13, 0, tzinfo=JST), start
    assert end == datetime.datetime(2030, 10, 10, 16, 30, tzinfo=JST), end
    assert start.utcoffset() == datetime.timedelta(hours=9)
    assert e["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert str(e["SUMMARY"]) == "オンライン交流会；三地域と専門人材16名, 第1回"
    assert "北見・桑名・沖縄\n16名の専門人材が参加" in str(e["DESCRIPTION"])
    assert str(e["STATUS"]) == "CONFIRMED"
    assert str(e["URL"]) == "https://example.jp/apply"

    e = events["%s@%s" % (tour["rid"], n.key)]
    assert e.decoded("DTSTART") == datetime.date(2030, 11, 16)
    assert e.decoded("DTEND") == datetime.date(2030, 11, 19)  # exclusive: the day after the last day
    assert str(e["SUMMARY"]) == "北見フィールドワーク"
    assert str(e["LOCATION"]) == "サテライトオフィス北見, 北海道北見市"

    e = events["%s@%s" % (off["rid"], n.key)]
    assert str(e["STATUS"]) == "CANCELLED"
    assert str(e["SUMMARY"]) == "中間報告会（中止）"

    # a window that ends before the tour leaves it out
    r = n.get(rk.query("/v1/export/events.ics", **{"from": "2030-01-01", "to": "2030-11-01"}))
    cal = Calendar.from_ical(r.body)
    assert [str(x["SUMMARY"]) for x in cal.walk("VEVENT")] == ["オンライン交流会；三地域と専門人材16名, 第1回"]


def test_csv_round_trips_public_records():
    n = node()
    tricky = publish(n, case("加賀市, 石川樹脂工業", summary='社長は「"倍増"」と言った,\r\n次の行も\n残る'))
    plain = publish(n, case("SAGA Smart Samurai", pref="41"))
    ev = publish(n, event("DX寺子屋", "2030-05-01T10:00:00+09:00", "2030-05-01T12:00:00+09:00", prefecture="24"))
    publish(n, case("ネットワーク限定", vis="network"))
    publish(n, case("ローカル限定", vis="local"))

    r = n.get("/v1/export/records.csv")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("text/csv"), r.headers
    assert r.body.startswith(b"\xef\xbb\xbf")
    text = r.body[3:].decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [row["id"] for row in rows] == [ev["id"], plain["id"], tricky["id"]], [row["id"] for row in rows]
    by_id = {row["id"]: row for row in rows}
    t = by_id[tricky["id"]]
    assert t["title"] == "加賀市, 石川樹脂工業"
    assert t["summary"] == '社長は「"倍増"」と言った,\r\n次の行も\n残る', repr(t["summary"])
    assert t["prefecture"] == "17" and t["prefecture_name"] == "石川県"
    assert t["industry"] == "manufacturing" and t["dx_level"] == "new_offering"
    assert t["skills"] == "robotics; digital_marketing"
    assert t["author_node"] == "全国事務局"
    assert by_id[plain["id"]]["prefecture_name"] == "佐賀県"
    e = by_id[ev["id"]]
    assert e["kind"] == "event" and e["starts_at"] == "2030-05-01T10:00:00+09:00" and e["prefecture_name"] == "三重県"
    assert e["format"] == "online" and e["event_type"] == "seminar"

    r = n.get("/v1/export/records.csv?kind=case&prefecture=41")
    rows = list(csv.DictReader(io.StringIO(r.body[3:].decode("utf-8"), newline="")))
    assert [row["id"] for row in rows] == [plain["id"]]


def test_json_feed_required_fields():
    n = node()
    for i in range(3):
        publish(n, case("事例%d" % i))
    publish(n, case("非公開", vis="network"))
    r = n.get("/v1/export/feed.json")
    assert r.status == 200, r
    assert r.headers["content-type"].startswith("application/feed+json"), r.headers
    j = r.json()
    assert j["version"] == "https://jsonfeed.org/version/1.1"
    assert j["title"] == "renkei: 全国事務局"
    assert [it["title"] for it in j["items"]] == ["事例2", "事例1", "事例0"]
    for it in j["items"]:
        assert it["id"].startswith("urn:renkei:%s:" % n.key)
        assert it["content_text"] and it["date_modified"] and it["authors"][0]["name"] == "全国事務局"
        assert "case" in it["tags"] and "17" in it["tags"]
    assert len(n.get("/v1/export/feed.json?limit=2").json()["items"]) == 2


def test_conditional_requests():
    n = node()
    publish(n, case("最初の事例"))
    r1 = n.get("/v1/export/feed.atom")
    etag = r1.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"'), etag
    lm = r1.headers["last-modified"]
    assert lm.endswith(" GMT"), lm

    r = n.get("/v1/export/feed.atom", headers={"If-None-Match": etag})
    assert r.status == 304 and r.body == b"", r
    assert r.headers["etag"] == etag
    r = n.get("/v1/export/feed.atom", headers={"If-None-Match": 'W/"other", ' + etag})
    assert r.status == 304, r
    r = n.get("/v1/export/feed.atom", headers={"If-Modified-Since": lm})
    assert r.status == 304, r
    # other parameters are another resource with another validator
    r = n.get("/v1/export/feed.atom?prefecture=17", headers={"If-None-Match": etag})
    assert r.status == 200 and r.headers["etag"] != etag, r

    publish(n, case("次の事例"))
    r = n.get("/v1/export/feed.atom", headers={"If-None-Match": etag})
    assert r.status == 200, r
    assert r.headers["etag"] != etag
    assert len(feedparser.parse(r.body).entries) == 2
    for path in ("/v1/export/feed.json", "/v1/export/events.ics", "/v1/export/records.csv"):
        first = n.get(path)
        assert first.status == 200 and first.headers.get("etag"), (path, first)
        assert n.get(path, headers={"If-None-Match": first.headers["etag"]}).status == 304, path


def csv_rows(body):
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(body[3:].decode("utf-8"), newline="")))


def local_path(url, base):
    """The API path of an absolute export link (which must start with the node's base)."""
    assert url.startswith(base + "/v1/export/"), (url, base)
    return url[len(base):]


def test_every_record_exactly_once_through_paging():
    base = "https://renkei.example.jp/kitami"
    n = rk.Node(name="全国事務局", kind="national", prefecture="13", extra=["api.public_url=" + base + "/"]).start()
    published = set()
    for i in range(250):
        published.add(n.publish(case("公開事例%03d" % i, pref="%02d" % (i % 47 + 1)))["rid"])
        if i % 25 == 0:  # hidden records interleaved with the public ones
            n.publish(case("会員限定%03d" % i, vis="network"))
            n.publish(case("ローカル%03d" % i, vis="local"))
    want = {"urn:renkei:%s:%s" % (n.key, rid) for rid in published}

    # the CSV is complete by default: 250 rows, nothing hidden, nothing cut
    r = n.get("/v1/export/records.csv")
    assert r.status == 200, r
    rows = csv_rows(r.body)
    assert len(rows) == 250, len(rows)
    assert {row["id"].split(":")[1] for row in rows} == published
    assert "renkei-truncated" not in r.headers and "link" not in r.headers, r.headers
    # a limited CSV says it was cut and where the rest is; the pages together are the whole
    seen, path, pages = [], "/v1/export/records.csv?limit=100", 0
    while path:
        r = n.get(path)
        assert r.status == 200, r
        seen += [row["id"] for row in csv_rows(r.body)]
        pages += 1
        m = re.match(r"<([^>]+)>; rel=\"next\"", r.headers.get("link", ""))
        assert (m is not None) == (r.headers.get("renkei-truncated") == "true"), r.headers
        path = local_path(m.group(1), base) if m else None
    assert pages == 3 and len(seen) == 250 and len(set(seen)) == 250, (pages, len(seen))

    # Atom: follow rel="next" (RFC 5005) from the first page to the last
    ids, path, pages = [], "/v1/export/feed.atom?limit=60", 0
    while path:
        r = n.get(path)
        assert r.status == 200, r
        f = feedparser.parse(r.body)
        assert not f.bozo, f.bozo_exception
        ids += [e.id for e in f.entries]
        pages += 1
        nxt = [link.href for link in f.feed.links if link.rel == "next"]
        path = local_path(nxt[0], base) if nxt else None
    assert pages == 5, pages
    assert len(ids) == 250 and set(ids) == want, (len(ids), len(set(ids)))

    # JSON Feed: follow next_url
    ids, path, pages = [], "/v1/export/feed.json?limit=100", 0
    while path:
        r = n.get(path)
        assert r.status == 200, r
        j = r.json()
        ids += [it["id"] for it in j["items"]]
        pages += 1
        path = local_path(j["next_url"], base) if "next_url" in j else None
    assert pages == 3 and len(ids) == 250 and set(ids) == want, (pages, len(ids))
    for r in (n.get("/v1/export/feed.atom?limit=10000"), n.get("/v1/export/feed.json?limit=10000")):
        assert "会員限定".encode() not in r.body and "ローカル".encode() not in r.body

    r = n.get("/v1/export/feed.atom?cursor=zz")
    assert r.status == 400 and r.json()["error"]["field"] == "cursor", r


def test_calendar_limit_keeps_the_soonest_future_events():
    n = node()
    now = datetime.datetime.now(JST).replace(hour=10, minute=0, second=0, microsecond=0)
    future = []
    for d in range(1, 31):
        t = now - datetime.timedelta(days=d)
        publish(n, event("過去%02d" % d, t.isoformat(), (t + datetime.timedelta(hours=2)).isoformat()))
    for d in range(1, 31):
        t = now + datetime.timedelta(days=d)
        future.append(publish(n, event("今後%02d" % d, t.isoformat(), (t + datetime.timedelta(hours=2)).isoformat())))
    r = n.get("/v1/export/events.ics?limit=10")
    assert r.status == 200, r
    cal = Calendar.from_ical(r.body)
    got = sorted(str(e["SUMMARY"]) for e in cal.walk("VEVENT"))
    assert got == ["今後%02d" % d for d in range(1, 11)], got
    assert str(cal.get("X-RENKEI-TRUNCATED")) == "TRUE" and r.headers.get("renkei-truncated") == "true"
    # room left over goes to the latest past events, never the oldest
    r = n.get("/v1/export/events.ics?limit=33")
    got = sorted(str(e["SUMMARY"]) for e in Calendar.from_ical(r.body).walk("VEVENT"))
    assert got == sorted(["今後%02d" % d for d in range(1, 31)] + ["過去01", "過去02", "過去03"]), got
    # by default all 60 are there (within the 180-day look-back) and nothing is said to be cut
    r = n.get("/v1/export/events.ics")
    cal = Calendar.from_ical(r.body)
    assert len(cal.walk("VEVENT")) == 60 and "X-RENKEI-TRUNCATED" not in cal
    assert "renkei-truncated" not in r.headers


ABSOLUTE = re.compile(rb"https?://[^\s\"'<>\\]+")
# vocabularies and format identifiers, which are names rather than links
VOCABULARIES = (b"http://www.w3.org/", b"https://jsonfeed.org/version/", b"http://purl.org/dc/", b"https://schema.org",
                b"http://schema.org", b"http://xmlns.com/foaf/", b"http://www.iana.org/assignments/media-types/",
                b"http://id.loc.gov/vocabulary/")


def test_public_url_prefixes_every_link():
    base = "https://renkei.example.jp/kitami"
    n = rk.Node(name="北見市", extra=["api.public_url=" + base]).start()
    for i in range(3):
        publish(n, case("事例%d" % i))
    for i in range(3):
        publish(n, event("イベント%d" % i, "2030-10-1%dT13:00:00+09:00" % i, "2030-10-1%dT15:00:00+09:00" % i))
    for name in ("feed.atom?limit=2", "feed.json?limit=2", "events.ics", "records.csv?limit=2", "catalog.jsonld",
                 "events.jsonld", "records.xlsx?limit=2"):
        r = n.get("/v1/export/" + name)
        assert r.status == 200, (name, r)
        links = [u for u in ABSOLUTE.findall(r.body) if not u.startswith(VOCABULARIES)]
        if name.startswith(("feed", "catalog")):
            assert links, name  # self and next, or the catalog's datasets and distributions
        for u in links:
            assert u == base.encode() or u.startswith(base.encode() + b"/"), (name, u)
        assert b"127.0.0.1" not in r.body and b"localhost" not in r.body, name
        if "link" in r.headers:
            assert r.headers["link"].startswith("<" + base + "/v1/export/"), r.headers["link"]
    j = n.get("/v1/export/feed.json?limit=2&kind=case").json()
    assert j["feed_url"] == base + "/v1/export/feed.json?limit=2&kind=case", j["feed_url"]
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(j["next_url"]).query)
    assert q["limit"] == ["2"] and q["kind"] == ["case"] and q["cursor"], j["next_url"]


def test_spreadsheet_keeps_formulas_and_codes_as_text():
    n = node()
    inj = publish(n, case("=1+1", pref="01", summary="@SUM(A1:A9)", tags=["+81", "-1"]))
    plain = publish(n, case("普通の事例", pref="47"))
    # the xlsx, read by a spreadsheet engine: every cell a string, exactly as published
    r = n.get("/v1/export/records.xlsx")
    assert r.status == 200, r
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    ws = openpyxl.load_workbook(io.BytesIO(r.body)).active
    rows = list(ws.iter_rows(values_only=False))
    header = [c.value for c in rows[0]]
    by_id = {}
    for row in rows[1:]:
        cells = dict(zip(header, row))
        by_id[cells["id"].value] = cells
    assert set(by_id) == {inj["id"], plain["id"]}, set(by_id)
    t = by_id[inj["id"]]
    assert t["title"].value == "=1+1" and t["title"].data_type == "s", (t["title"].value, t["title"].data_type)
    assert t["summary"].value == "@SUM(A1:A9)" and t["summary"].data_type == "s"
    assert t["prefecture"].value == "01" and t["prefecture"].data_type == "s", t["prefecture"].value
    assert t["tags"].value == "+81; -1"
    assert by_id[plain["id"]]["prefecture"].value == "47"
    # the CSV neutralises the same fields (OWASP) and quotes every field, code included
    r = n.get("/v1/export/records.csv")
    rows = {row["id"]: row for row in csv_rows(r.body)}
    assert rows[inj["id"]]["title"] == "'=1+1" and rows[inj["id"]]["summary"] == "'@SUM(A1:A9)"
    assert rows[inj["id"]]["prefecture"] == "01"
    assert b'"01"' in r.body and b",=1+1" not in r.body


DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")


def test_dcat_catalog_for_ckan():
    base = "https://renkei.example.jp/kitami"
    n = rk.Node(name="北見市", extra=["api.public_url=" + base]).start()
    publish(n, case("公開の事例"))
    publish(n, case("会員限定の事例", vis="network"))
    publish(n, event("公開セミナー", "2030-10-10T13:00:00+09:00", "2030-10-10T15:00:00+09:00"))
    r = n.get("/v1/export/catalog.jsonld")
    assert r.status == 200 and r.headers["content-type"] == "application/ld+json", r
    assert "会員限定".encode() not in r.body
    g = rdflib.Graph().parse(data=r.body, format="json-ld")
    catalogs = list(g.subjects(rdflib.RDF.type, DCAT.Catalog))
    assert [str(c) for c in catalogs] == [base + "/v1/export/catalog.jsonld"], catalogs
    datasets = list(g.objects(catalogs[0], DCAT.dataset))
    assert len(datasets) == 2, datasets  # case and event; no region record, so no region dataset
    formats = {}
    for d in datasets:
        assert (d, rdflib.RDF.type, DCAT.Dataset) in g
        assert g.value(d, DCT.title) and g.value(d, DCT.modified)
        kind = str(d).rsplit("#", 1)[1]
        formats[kind] = {}
        for dist in g.objects(d, DCAT.distribution):
            assert (dist, rdflib.RDF.type, DCAT.Distribution) in g
            url = str(g.value(dist, DCAT.downloadURL))
            assert url == str(g.value(dist, DCAT.accessURL)) and url.startswith(base + "/v1/export/"), url
            formats[kind][str(g.value(dist, DCT["format"]))] = url
    assert set(formats["case"]) == {"CSV", "XLSX", "Atom", "JSON"}, formats
    assert set(formats["event"]) == {"CSV", "XLSX", "Atom", "JSON", "ICS", "JSON-LD"}, formats
    # every distribution is served, with the media type the catalog gives
    for kind, fmts in formats.items():
        for fmt, url in fmts.items():
            got = n.get(url[len(base):])
            assert got.status == 200, (kind, fmt, url, got)
    assert formats["case"]["CSV"] == base + "/v1/export/records.csv?kind=case"


def test_schema_org_events():
    n = node()
    publish(n, event("公開セミナー", "2030-10-10T13:00:00+09:00", "2030-10-10T15:00:00+09:00", status="cancelled",
                     application_url="https://example.jp/apply", fee_yen=1000))
    publish(n, event("視察ツアー", "2030-11-16T00:00:00+09:00", "2030-11-18T23:59:59+09:00", date_precision="day",
                     format="onsite", venue={"name": "サテライトオフィス北見", "address": "北海道北見市"}))
    publish(n, event("報告会", "2030-09-01T00:00:00+09:00", "2030-09-30T23:59:59+09:00", date_precision="month"))
    publish(n, event("会員限定", "2030-09-02T10:00:00+09:00", "2030-09-02T11:00:00+09:00", vis="network"))
    r = n.get("/v1/export/events.jsonld?from=2030-01-01")
    assert r.status == 200 and r.headers["content-type"] == "application/ld+json", r
    doc = r.json()
    assert doc["@context"] == "https://schema.org"
    ev = {e["name"]: e for e in doc["@graph"]}
    assert set(ev) == {"公開セミナー", "視察ツアー", "報告会"}, set(ev)
    for e in ev.values():
        assert e["@type"] == "Event" and e["@id"].startswith("urn:renkei:%s:" % n.key)
    s = ev["公開セミナー"]
    assert s["eventStatus"] == "https://schema.org/EventCancelled"
    assert s["startDate"] == "2030-10-10T13:00:00+09:00" and s["endDate"] == "2030-10-10T15:00:00+09:00"
    assert s["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert s["location"]["@type"] == "VirtualLocation"
    assert s["offers"]["price"] == "1000" and s["offers"]["priceCurrency"] == "JPY"
    t = ev["視察ツアー"]
    assert (t["startDate"], t["endDate"]) == ("2030-11-16", "2030-11-18"), t
    assert t["location"]["name"] == "サテライトオフィス北見" and t["location"]["address"]["addressRegion"] == "北海道"
    assert ev["報告会"]["startDate"] == "2030-09"
    # it is RDF too: rdflib reads it (schema.org's context is not fetched; the IRIs are checked)
    g = rdflib.Graph().parse(data=r.body.replace(b'"https://schema.org"', b'{"@vocab": "https://schema.org/"}'),
                             format="json-ld")
    assert len(list(g.subjects(rdflib.RDF.type, rdflib.URIRef("https://schema.org/Event")))) == 3


def test_readme_tour_calendar_has_the_sample_events():
    """The README's tour: the sample events (2021-2023) are older than the 180-day look-back, so the
    plain calendar is empty, and `export --format ics --all` is the one with every sample event."""
    n = node()
    samples = sorted(glob.glob(os.path.join(rk.SOURCE_DIR, "config", "samples", "*", "event-*.json")))
    assert len(samples) >= 9, samples
    titles = set()
    for path in samples:
        n.cli("publish", path)
        with open(path, encoding="utf-8") as f:
            titles.add(json.load(f)["event"]["title"])
    out = os.path.join(n.dir, "events.ics")
    n.cli("export", "--format", "ics", "--all", "--out", out)
    with open(out, "rb") as f:
        cal = Calendar.from_ical(f.read())
    got = {str(e["SUMMARY"]) for e in cal.walk("VEVENT")}
    # month-precision events carry their note after the title
    assert all(any(g.startswith(t) for g in got) for t in titles) and len(got) == len(titles), (titles, got)
    assert "X-RENKEI-TRUNCATED" not in cal
    p = n.cli("export", "--format", "ics")
    assert Calendar.from_ical(p.stdout).walk("VEVENT") == []
    p = n.cli("export", "--format", "ics", "--from", "2021-11-01", "--to", "2021-12-31")
    got = sorted(str(e["SUMMARY"]) for e in Calendar.from_ical(p.stdout).walk("VEVENT"))
    assert len(got) == 4 and all("Co-LEAD" in g for g in got), got
    p = n.cli("export", "--format", "jsonld", "--all")
    assert len(json.loads(p.stdout)["@graph"]) == len(titles)
    p = n.cli("export", "--format", "csv", "--from", "2021-11-01", check=False)
    assert p.returncode == 2 and b"--from" in p.stderr, p
    p = subprocess.run([rk.RENKEI, "-s", n.socket, "export", "--format", "csv", "--from", "2021-11-01"],
                       capture_output=True, timeout=60, env=dict(os.environ, LANG="ja_JP.UTF-8", LC_ALL="ja_JP.UTF-8"))
    assert p.returncode == 2 and "イベントの期間" in p.stderr.decode(), p.stderr.decode()


def test_head_answers_every_get_route_with_its_headers_and_no_body():
    n = node()
    rec = publish(n, case("HEADで確かめる事例"))
    publish(n, event("HEADのセミナー", "2030-10-10T13:00:00+09:00", "2030-10-10T15:00:00+09:00"))
    stable = ["/v1/export/feed.atom", "/v1/export/feed.json", "/v1/export/events.ics", "/v1/export/records.csv",
              "/v1/export/records.xlsx", "/v1/export/events.jsonld", "/v1/export/catalog.jsonld",
              "/v1/export/feed.atom?limit=1", "/v1/records", "/v1/records/" + rec["id"], "/v1/events?from=2030-01-01",
              "/v1/changes", "/v1/peers", "/v1/regions"]
    for path in stable:
        g = n.get(path)
        h = n.request("HEAD", path)
        assert g.status == 200 and h.status == 200, (path, g.status, h.status)
        assert h.body == b"", (path, h.body[:80])
        for k in ("content-type", "content-length", "etag", "last-modified", "link", "renkei-truncated"):
            assert h.headers.get(k) == g.headers.get(k), (path, k, h.headers.get(k), g.headers.get(k))
        assert int(h.headers["content-length"]) == len(g.body), path
    # these change from one request to the next (uptime, counters), so only their shape is compared
    for path in ("/v1/status", "/v1/stats", "/metrics"):
        g, h = n.get(path), n.request("HEAD", path)
        assert h.status == g.status == 200 and h.body == b"", path
        assert h.headers["content-type"] == g.headers["content-type"] and int(h.headers["content-length"]) > 0, path
    # conditional HEAD, as feed checkers send it
    etag = n.get("/v1/export/feed.atom").headers["etag"]
    h = n.request("HEAD", "/v1/export/feed.atom", headers={"If-None-Match": etag})
    assert h.status == 304 and h.body == b"", h
    # a method the route lacks still names HEAD among the allowed ones
    r = n.request("POST", "/v1/export/feed.atom")
    assert r.status == 405 and r.headers["allow"] == "GET, HEAD", r.headers
    r = n.request("HEAD", "/v1/nothing")
    assert r.status == 404 and r.body == b"", r


def kinds(n):
    s = n.get("/v1/stats")
    assert s.status == 200, s
    return s.json()


def check_consistent(s):
    by_pref = s["by_prefecture"]
    assert len(by_pref) == 48 and by_pref[-1]["code"] == "unknown"
    for k in ("case", "event", "region"):
        assert s["by_kind"][k] == sum(p[k] for p in by_pref), (k, s["by_kind"], by_pref)
    assert s["total"] == sum(s["by_kind"].values())


def pref(s, code):
    return next(p for p in s["by_prefecture"] if p["code"] == code)


def test_stats_follow_publish_update_delete():
    n = node()
    s = kinds(n)
    assert s["total"] == 0 and s["by_kind"]["case"] == 0
    check_consistent(s)
    a = publish(n, case("公開の事例"))
    publish(n, case("会員向けの事例", vis="network", pref="34"))
    publish(n, case("ローカルの事例", vis="local"))
    publish(n, event("未来のセミナー", "2031-01-10T13:00:00+09:00", "2031-01-10T15:00:00+09:00"))
    publish(n, event("過去のセミナー", "2021-01-10T13:00:00+09:00", "2021-01-10T15:00:00+09:00"))
    s = kinds(n)
    check_consistent(s)
    assert s["by_kind"] == {"case": 2, "event": 2, "region": 0}, s["by_kind"]
    assert s["by_visibility"] == {"public": 3, "network": 1}, s["by_visibility"]
    assert pref(s, "17")["case"] == 1 and pref(s, "34")["case"] == 1
    assert s["upcoming_events"]["total"] == 1 and s["upcoming_events"]["by_prefecture"]["01"] == 1
    assert s["by_industry"]["manufacturing"] == 2 and s["by_skill"]["robotics"] == 2
    assert sum(s["by_month"].values()) == 4

    # an update that moves a case from 石川 to 鳥取 moves the count, not the total
    body = case("公開の事例（更新）", pref="31")
    r = n.request("PUT", "/v1/records/" + a["id"], body)
    assert r.status in (200, 201), r
    s = kinds(n)
    check_consistent(s)
    assert s["by_kind"]["case"] == 2
    assert pref(s, "17")["case"] == 0 and pref(s, "31")["case"] == 1

    r = n.request("DELETE", "/v1/records/" + a["id"])
    assert r.status in (200, 201, 204), r
    s = kinds(n)
    check_consistent(s)
    assert s["by_kind"]["case"] == 1 and pref(s, "31")["case"] == 0
    assert n.get("/v1/stats?kind=case").status == 400


def test_regions_directory():
    n = node()
    publish(n, {"kind": "region", "region": {"name": "北見市", "node_kind": "region", "prefecture": "01",
                                             "coordinating_organisation": "北見市商工観光部"}})
    publish(n, case("事例"))
    r = n.get("/v1/regions")
    assert r.status == 200, r
    regions = r.json()["regions"]
    assert len(regions) == 1, regions
    g = regions[0]
    assert g["key"] == n.key and g["name"] == "北見市" and g["roster_name"] == "全国事務局"
    assert g["kind"] == "region" and g["prefecture"] == "01" and g["prefecture_name"] == "北海道"
    assert g["records"] == 2 and g["last_record_version"].endswith("Z")


rk.run_tests(globals())
