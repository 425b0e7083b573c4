"""Captures every request tests/integration/test_api.py and test_export.py send to the daemon, as raw
bytes, into the seed corpus of fuzz_http (tests/fuzz/corpus/fuzz_http/), one file per connection, and
writes the hand-made seeds below: the query strings of the exports and the searches that the tests
do not send, bad ones included, and requests on the TCP listener.

Run from the source tree after a build (the tests start build/renkeid):

    /usr/bin/python3 tests/fuzz/capture_http_seeds.py

It runs the two test files in this process with the Unix-socket sends recorded, so what is captured is
exactly what the tests write, pipelined requests and malformed ones included (requests made by the
`renkei` CLI, a separate program, are not). A seed is a 0 byte (fuzz_http: parse the rest as one
read, on the Unix socket; 0x80: the same on the TCP listener) followed by one connection's bytes. Connections that differ only in numbers and ids (the 16
connections of 250 publishes each in test_l, say) give one seed: the first of that shape. Seeds are
named by their SHA-256, so running it again adds nothing twice and leaves the seeds found by fuzzing
alone.
"""

import hashlib
import importlib
import os
import re
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus", "fuzz_http")

sent = {}  # id(socket) -> bytearray of what it sent to an API socket
shapes = set()  # what the seeds written so far look like with numbers and ids blanked
prefix = ["test_api"]  # the test file running: the seeds' names start with it
_send, _sendall, _close = socket.socket.send, socket.socket.sendall, socket.socket.close


def _record(sock, data, n=None):
    if sock.family == socket.AF_UNIX and id(sock) in sent:
        sent[id(sock)] += bytes(memoryview(data)[: len(data) if n is None else n])


def _connect(orig):
    def connect(sock, address):
        r = orig(sock, address)
        if sock.family == socket.AF_UNIX and str(address).endswith(".sock"):
            sent[id(sock)] = bytearray()
        return r
    return connect


def send(sock, data, *a):
    n = _send(sock, data, *a)
    _record(sock, data, n)
    return n


def sendall(sock, data, *a):
    r = _sendall(sock, data, *a)
    _record(sock, data)
    return r


def close(sock):
    data = sent.pop(id(sock), None)
    shape = re.sub(rb"[0-9a-f]*[0-9][0-9a-f]*", b"0", bytes(data or b""))
    if data and shape not in shapes:
        shapes.add(shape)
        write_seed(prefix[0], b"\0" + bytes(data))
    return _close(sock)


def write_seed(kind, seed):
    name = hashlib.sha256(seed).hexdigest()[:16]
    with open(os.path.join(OUT, kind + "-" + name), "wb") as f:
        f.write(seed)


KEY = "ab" * 32
# Query strings the tests do not send: every parameter of every export and search at its edges.
QUERIES = [
    "/v1/records?kind=event&prefecture=17&industry=manufacturing&dx_level=new_offering&skill=robotics"
    "&audience=sme&q=%E5%8C%97%20%E6%B5%B7&limit=1000&cursor=" + "0" * 95,
    "/v1/records?kind=tombstone", "/v1/records?kind=", "/v1/records?prefecture=48", "/v1/records?prefecture=1",
    "/v1/records?industry=Z&skill=telepathy", "/v1/records?author=" + KEY, "/v1/records?author=" + KEY[:63] + "g",
    "/v1/records?author=%E5%85%A8%E5%9B%BD", "/v1/records?limit=0", "/v1/records?limit=1001",
    "/v1/records?limit=-1", "/v1/records?limit=1e3", "/v1/records?limit=99999999999999999999",
    "/v1/records?cursor=" + "f" * 96, "/v1/records?q=&q=%E3%83%AD%E3%83%9C", "/v1/records?q=%FF%FE",
    "/v1/records?Limit=5", "/v1/records?limit=5&limit=7&kind=case&kind=region", "/v1/records?&&=&a", "/v1/records?%",
    "/v1/records?q=a+b%2Bc%00d",
    "/v1/events?from=2030-01-01&to=2030-12-31&prefecture=17&format=online&open_scope=local&limit=3",
    "/v1/events?from=2030-02-30", "/v1/events?from=2030-12-31&to=2030-01-01",
    "/v1/events?from=2030-10-10T13:00:00%2B09:00&to=2030-10-10T13:00:00Z", "/v1/events?from=9999-12-31T23:59:60Z",
    "/v1/events?to=0000-01-01", "/v1/events?format=hybrid&open_scope=nationwide", "/v1/events?format=signed",
    "/v1/changes?after=0&limit=1&wait=0", "/v1/changes?after=18446744073709551615", "/v1/changes?after=18446744073709551616",
    "/v1/changes?wait=61", "/v1/changes?after=-1", "/v1/changes?after=+1", "/v1/changes?limit=",
    "/v1/records/r0?format=signed", "/v1/records/r0?format=json", "/v1/records/r0?format=xml",
    "/v1/records/" + KEY + ":r0", "/v1/records/" + KEY + ":", "/v1/records/%2F..%2Fx", "/v1/records/a%00b",
    "/v1/records/" + "x" * 600,
    "/v1/export/feed.atom?kind=case&prefecture=17&industry=E&q=%E3%83%AD%E3%83%9C&limit=1&cursor=00ff",
    "/v1/export/feed.json?limit=10000", "/v1/export/feed.json?limit=10001", "/v1/export/feed.json?cursor=XYZ",
    "/v1/export/records.csv?kind=region&limit=20000", "/v1/export/records.xlsx?q=%22%3C%3E%26",
    "/v1/export/events.ics?kind=case", "/v1/export/events.ics?from=2030-01-01&to=2029-01-01",
    "/v1/export/events.ics?from=2030-10-10&to=2030-10-11&format=online&open_scope=nationwide&limit=1",
    "/v1/export/events.jsonld?from=2030-01-01T00:00:00%2B09:00", "/v1/export/catalog.jsonld?x=1",
    "/v1/export/feed.atom?q=", "/v1/export/feed.atom?limit=+5", "/v1/export/nothing.txt",
    "/v1/export/feed.atom/extra", "/v1/export/", "/v1/stats", "/v1/stats?x", "/v1/regions",
]
# Conditional requests as feed readers send them.
CONDITIONALS = [
    b"If-None-Match: *\r\n", b'If-None-Match: W/"0123", "4567"\r\n', b'If-None-Match: "unterminated\r\n',
    b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n", b"If-Modified-Since: yesterday\r\n",
]
# The TCP listener: the web page's routes, and the API's, which its gate lets through or not.
TCP = ["/", "/login", "/login?token=" + "a" * 43, "/app.js", "/v1/web/session", "/v1/status", "/%2e%2e/etc/passwd"]


def request(target, method="GET", headers=b""):
    return method.encode() + b" " + target.encode() + b" HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n"


def hand_made():
    for q in QUERIES:
        write_seed("hand", b"\0" + request(q))
    for h in CONDITIONALS:
        write_seed("hand", b"\0" + request("/v1/export/feed.atom", headers=h) + request("/v1/stats", "HEAD"))
    for t in TCP:
        write_seed("hand", b"\x80" + request(t) + request(t, "POST"))
    write_seed("hand", b"\0" + request("/v1/web/logout", "POST") + request("/v1/records", "OPTIONS"))


def main():
    os.makedirs(OUT, exist_ok=True)
    os.chdir(SOURCE)
    socket.socket.connect = _connect(socket.socket.connect)
    socket.socket.send = send
    socket.socket.sendall = sendall
    socket.socket.close = close
    sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
    # each test file runs its tests as it is imported, and exits with their result
    for module in ("test_api", "test_export"):
        prefix[0] = module
        try:
            importlib.import_module(module)
        except SystemExit as e:
            if e.code:
                sys.exit("%s.py failed; the seeds may be incomplete" % module)
    hand_made()
    print("%d seeds in %s" % (len(os.listdir(OUT)), OUT))


if __name__ == "__main__":
    main()
