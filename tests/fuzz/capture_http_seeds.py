"""Captures every request tests/integration/test_api.py sends to the daemon, as raw bytes, into the
seed corpus of fuzz_http (tests/fuzz/corpus/fuzz_http/), one file per connection.

Run from the source tree after a build (the tests start build/renkeid):

    /usr/bin/python3 tests/fuzz/capture_http_seeds.py

It runs test_api.py in this process with the Unix-socket sends recorded, so what is captured is
exactly what the tests write, pipelined requests and malformed ones included (requests made by the
`renkei` CLI, a separate program, are not). A seed is a 0 byte (fuzz_http: parse the rest as one
read) followed by one connection's bytes. Connections that differ only in numbers and ids (the 16
connections of 250 publishes each in test_l, say) give one seed: the first of that shape. Seeds are
named by their SHA-256, so running it again adds nothing twice and leaves the seeds found by fuzzing
alone.
"""

import hashlib
import os
import re
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus", "fuzz_http")

sent = {}  # id(socket) -> bytearray of what it sent to an API socket
shapes = set()  # what the seeds written so far look like with numbers and ids blanked
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
        seed = b"\0" + bytes(data)
        name = hashlib.sha256(seed).hexdigest()[:16]
        with open(os.path.join(OUT, "test_api-" + name), "wb") as f:
            f.write(seed)
    return _close(sock)


def main():
    os.makedirs(OUT, exist_ok=True)
    os.chdir(SOURCE)
    socket.socket.connect = _connect(socket.socket.connect)
    socket.socket.send = send
    socket.socket.sendall = sendall
    socket.socket.close = close
    sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
    import rk
    import test_api
    try:
        rk.run_tests(vars(test_api))
    except SystemExit as e:
        if e.code:
            sys.exit("test_api.py failed; the seeds may be incomplete")
    print("%d seeds in %s" % (len(os.listdir(OUT)), OUT))


if __name__ == "__main__":
    main()
