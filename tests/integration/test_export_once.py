"""An export asked for by several clients at the same time is rendered once (lib/spool.c's single
flight): the requests that arrive while it is being rendered wait for it and share its spool file.
Counted by renkei_export_renders_total; every client gets the same bytes, Content-Length and ETag,
byte for byte the body a later lone request gets, and each body still reads with a real parser."""

import csv
import io
import os
import socket
import sys
import threading
import xml.etree.ElementTree as ET
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import rk  # noqa: E402

CLIENTS = 6
CASES = 600
TEXT = "地域のDX人材を育てる連携事業の報告です。" * 40
# each summary ends in 2,000 random hex digits, so that the workbook does not compress below the size
# that goes through the spool (64 KiB): records.csv is about 2.7 MB, records.xlsx about 0.7 MB
SUMMARIES = [TEXT + os.urandom(1000).hex() for _ in range(CASES)]

_shared = {}


def node():
    if "n" not in _shared:
        n = rk.Node(name="export-once", kind="national", prefecture="13",
                    extra=["quota.versions_per_window=0"]).start()

        def work(k):
            for i in range(k, CASES, 4):
                n.publish(rk.sample_case(title="一度だけ作る書き出し %d" % i, summary=SUMMARIES[i]))
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        _shared["n"] = n
    return _shared["n"]


def _head(n, path):
    """Sends GET path on a connection of its own and reads the status line and headers only: the
    body stays unread, so the spool file stays held, until _body."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(n.socket)
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, data
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (ln.split(":", 1) for ln in lines[1:])}
    return s, lines[0], headers, rest


def _body(s, headers, rest):
    want = int(headers["content-length"])
    data = rest
    while len(data) < want:
        chunk = s.recv(1 << 20)
        assert chunk, (len(data), want)
        data += chunk
    s.close()
    return data


def _at_once(n, path):
    """CLIENTS requests for path sent together; every status and headers are read before any body."""
    barrier = threading.Barrier(CLIENTS)
    heads, errors = [None] * CLIENTS, []

    def one(i):
        try:
            barrier.wait(timeout=30)
            heads[i] = _head(n, path)
        except Exception as e:  # reported below with the others
            errors.append(repr(e))
    threads = [threading.Thread(target=one, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return [(status, headers, _body(s, headers, rest)) for s, status, headers, rest in heads]


def _same_export(a, b):
    """Byte for byte, but for a workbook, whose docProps/core.xml holds the second it was written:
    then every other member of the zip, byte for byte."""
    if not a.startswith(b"PK"):
        return a == b
    with zipfile.ZipFile(io.BytesIO(a)) as za, zipfile.ZipFile(io.BytesIO(b)) as zb:
        names = sorted(za.namelist())
        return names == sorted(zb.namelist()) and all(
            za.read(m) == zb.read(m) for m in names if m != "docProps/core.xml")


def _check_once(path, name, parse):
    n = node()
    before = cluster.metric_sum(n, "renkei_export_renders_total", export=name)
    answers = _at_once(n, path)
    renders = cluster.metric_sum(n, "renkei_export_renders_total", export=name) - before
    for status, headers, body in answers:
        assert status.endswith(" 200 OK"), status
        assert headers["etag"] == answers[0][1]["etag"], headers
        assert body == answers[0][2], (len(body), len(answers[0][2]))
    body = answers[0][2]
    assert len(body) > 256 << 10, len(body)  # large enough to go through the spool
    assert renders == 1, "%s rendered %d times for %d requests at once" % (name, renders, CLIENTS)
    # what a lone request renders afterwards (the spool file is gone by now)
    r = n.get(path)
    assert r.status == 200 and _same_export(r.body, body), (r.status, len(r.body), len(body))
    assert cluster.metric_sum(n, "renkei_export_renders_total", export=name) - before == 2
    parse(body)


def _csv_rows(body):
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == CASES and sorted(r["summary"] for r in rows) == sorted(SUMMARIES), len(rows)


def _xlsx_rows(body):
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert z.testzip() is None
        sheet = z.read("xl/worksheets/sheet1.xml")
    assert ET.fromstring(sheet) is not None and sheet.count(b"<row ") == CASES + 1


def _atom_entries(body):
    feed = ET.fromstring(body)
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == CASES, len(entries)


def test_csv_asked_for_at_once_is_rendered_once():
    _check_once("/v1/export/records.csv", "records.csv", _csv_rows)


def test_xlsx_asked_for_at_once_is_rendered_once():
    _check_once("/v1/export/records.xlsx", "records.xlsx", _xlsx_rows)


def test_atom_page_asked_for_at_once_is_rendered_once():
    _check_once("/v1/export/feed.atom?limit=10000", "feed.atom", _atom_entries)


rk.run_tests(globals())
