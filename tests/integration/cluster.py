"""Helpers for federation tests on top of rk.py: start several renkeid nodes with rosters and peer
links, compare what they store, and speak the peer protocol directly from Python (RawPeer) to send
hand-made or hostile messages to a node's peer port.

A link (a, b) means node a dials node b; b must listen. Every node's roster lists every other node of
the cluster as a member unless `members` says otherwise, so records travel over several hops."""

import atexit
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from rk import Node, sample_case, wait_until

SP_REQ = 0x30
SP_REP = 0x31
PEER_DOMAIN = b"renkei-peer-auth-v1\0"


class Cluster:
    def __init__(self, names, links, listen=None, members=None, sync_interval=2, extra=None):
        """names: node names (ASCII). links: [(dialer, listener)]. listen: names that listen (default:
        every name that is the target of a link, plus all when None). members: {name: [trusted names]}
        (default: all others). extra: {name: [overrides]}."""
        self.names = list(names)
        self.links = list(links)
        listeners = set(listen) if listen is not None else set(self.names)
        for _, b in self.links:
            listeners.add(b)
        self.nodes = {}
        for n in self.names:
            ov = ["gossip.sync_interval=%d" % sync_interval, "node.log_level=info"]
            ov += (extra or {}).get(n, [])
            self.nodes[n] = Node(n, gossip=n in listeners, extra=ov)
        for n in self.names:
            node = self.nodes[n]
            trusted = members.get(n, [m for m in self.names if m != n]) if members else [m for m in self.names if m != n]
            dials = [b for a, b in self.links if a == n]
            for m in self.names:
                if m == n:
                    continue
                other = self.nodes[m]
                if m in dials:
                    node.extra += ['peer "%s".key=%s' % (m, other.key), 'peer "%s".url=%s' % (m, other.url)]
                elif m in trusted:
                    node.extra += ['member "%s".key=%s' % (m, other.key)]

    def __getitem__(self, name):
        return self.nodes[name]

    def start(self, names=None):
        for n in names or self.names:
            self.nodes[n].start()
        return self

    def stop(self, names=None):
        for n in names or self.names:
            self.nodes[n].stop()

    def running(self):
        return [self.nodes[n] for n in self.names if self.nodes[n].proc and self.nodes[n].proc.poll() is None]


_shared_nodes = {}
_temp_dir = None


def shared_node(name):
    """One node per name for the whole test file, started on first use: for tests that only add
    records and so need no fresh node of their own."""
    if name not in _shared_nodes:
        _shared_nodes[name] = Node(name).start()
    return _shared_nodes[name]


def _temp_root():
    global _temp_dir
    if _temp_dir is None:
        _temp_dir = tempfile.mkdtemp(prefix="rk-test-files-")
        atexit.register(shutil.rmtree, _temp_dir, True)
    return _temp_dir


def temp_dir():
    """A new directory, removed at exit."""
    return tempfile.mkdtemp(dir=_temp_root())


def temp_file(data, suffix):
    """A new file holding data (bytes, or text written as UTF-8), removed at exit."""
    fd, path = tempfile.mkstemp(suffix=suffix, dir=_temp_root())
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def line(names, **kw):
    """A line: each node dials the next."""
    return Cluster(names, [(names[i], names[i + 1]) for i in range(len(names) - 1)], **kw)


def get_record(node, rid):
    r = node.get("/v1/records/" + rid)
    return r.json() if r.status == 200 else None


def has_version(node, rid, version):
    r = get_record(node, rid)
    return r is not None and int(r.get("version", 0)) == int(version)


def wait_record(nodes, rid, version, timeout=20):
    for n in nodes:
        wait_until(lambda: has_version(n, rid, version), timeout=timeout, what="%s at version %s on %s" % (rid, version, n.name))


def record_set(node, visibility=None):
    """The node's current records as a sorted list of (id, version, hash), all pages."""
    out = []
    cursor = None
    for _ in range(1000):
        path = "/v1/records?limit=500" + ("&cursor=" + cursor if cursor else "")
        r = node.get(path)
        assert r.status == 200, r
        body = r.json()
        items = body.get("records", body.get("items", [])) if isinstance(body, dict) else body
        for it in items:
            out.append((it["id"], int(it["version"]), it["hash"]))
        cursor = body.get("next_cursor") or body.get("cursor") if isinstance(body, dict) else None
        if not cursor:
            break
    return sorted(out)


def status(node):
    r = node.get("/v1/status")
    assert r.status == 200, r
    return r.json()


def digest(node):
    """What must agree between synced nodes: the status digest when the node reports one, else the
    listed record set."""
    st = status(node)
    for k in ("digest", "set_digest", "digests"):
        if k in st:
            return st[k]
    return record_set(node)


def peers(node):
    r = node.get("/v1/peers")
    assert r.status == 200, r
    body = r.json()
    return body.get("peers", body) if isinstance(body, dict) else body


def rejections(node, peer_prefix=None):
    """{reason: count} summed over the node's peers (optionally those whose name starts with prefix)."""
    total = {}
    for p in peers(node):
        if peer_prefix and not p["name"].startswith(peer_prefix):
            continue
        for k, v in (p.get("rejections") or {}).items():
            total[k] = total.get(k, 0) + v
    return total


def members(node):
    """GET /v1/members."""
    r = node.get("/v1/members")
    assert r.status == 200, r
    return r.json()


def member_entry(node, key):
    """The roster's entry for key on node, or None."""
    for m in members(node)["members"]:
        if m["key"] == key:
            return m
    return None


def metric_sum(node, name, **labels):
    r = node.get("/metrics")
    assert r.status == 200, r
    s = 0.0
    for ln in r.text.splitlines():
        if not ln.startswith(name + "{") and not ln.startswith(name + " "):
            continue
        if all('%s="%s"' % (k, v) in ln for k, v in labels.items()):
            s += float(ln.rsplit(" ", 1)[1])
    return s


def publish_many(node, tag, n):
    """Publishes n sample cases titled after tag, eight at a time."""
    with ThreadPoolExecutor(max_workers=8) as ex:
        list(ex.map(lambda i: node.publish(sample_case(title="%s の事例 %d" % (tag, i))), range(n)))


def own_records_pair(only_a, only_b):
    """Nodes a (listening, with b as a member) and b, each holding records of its own published while
    no peer was configured; both stopped, and b.extra names a as its peer for the next start."""
    a = Node("a", gossip=True, extra=["gossip.sync_interval=600", "node.log_level=info"])
    b = Node("b", extra=["gossip.sync_interval=600", "node.log_level=info"])
    a.extra += ['member "b".key=%s' % b.key]
    for node, tag, n in ((a, "A", only_a), (b, "B", only_b)):
        node.start()
        publish_many(node, tag, n)
        node.stop()
    b.extra += ['peer "a".key=%s' % a.key, 'peer "a".url=%s' % a.url]
    return a, b


def reconcile_results(node):
    """{result: count} of renkei_reconcile_total on node, summed over peers."""
    out = {}
    for ln in node.get("/metrics").text.splitlines():
        if ln.startswith("renkei_reconcile_total{"):
            result = ln.split('result="', 1)[1].split('"', 1)[0]
            out[result] = out.get(result, 0) + int(float(ln.rsplit(" ", 1)[1]))
    return out


# ---- protobuf, just enough for the peer messages ------------------------------------------------------

def _varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_bytes(field, data):
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def pb_uint(field, v):
    return _varint(field << 3) + _varint(v)


def _read_varint(data, i):
    """(value, index after it) of the varint at data[i]."""
    v = s = 0
    while True:
        b = data[i]
        i += 1
        v |= (b & 0x7F) << s
        s += 7
        if not b & 0x80:
            return v, i


def _fields_with_offsets(data):
    """[(field, wire type, start, value start, end)] of the top-level fields."""
    out = []
    i = 0
    while i < len(data):
        start = i
        key, i = _read_varint(data, i)
        f, wt = key >> 3, key & 7
        vs = i
        if wt == 0:
            _, i = _read_varint(data, i)
        elif wt == 2:
            n, vs = _read_varint(data, i)
            i = vs + n
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.append((f, wt, start, vs, i))
    return out


def pb_parse(data):
    """{field: [values]}; length-delimited values are bytes, varints ints."""
    out = {}
    for f, wt, _, vs, end in _fields_with_offsets(data):
        out.setdefault(f, []).append(_read_varint(data, vs)[0] if wt == 0 else data[vs:end])
    return out


def bump_version(envelope, delta=1000):
    """A SignedRecord whose record bytes claim a newer version but keep the old signature: a forgery
    that passes every ingest check before the signature."""
    env = pb_parse(envelope)
    rec, sig = env[1][0], env[2][0]
    for f, wt, start, vs, end in _fields_with_offsets(rec):
        if f == 3 and wt == 0:
            old = pb_parse(rec[start:end])[3][0]
            new = _varint(old + delta)
            assert len(new) == end - vs
            rec = rec[:vs] + new + rec[end:]
            break
    else:
        raise ValueError("no version field")
    return pb_bytes(1, rec) + pb_bytes(2, sig)


# PeerRequest / PeerReply oneof field numbers (proto/renkei.proto)
REQ_HELLO, REQ_AUTH, REQ_ANNOUNCE, REQ_FETCH, REQ_PUSH, REQ_POLL, REQ_RECONCILE = 1, 2, 3, 4, 5, 6, 7
REP_HELLO, REP_ACK, REP_FETCH, REP_RECORDS, REP_ANNOUNCE, REP_RECONCILE, REP_ERROR = 1, 2, 3, 4, 5, 6, 7


def sign_with(key_file, data):
    """Ed25519 over data with a PEM PKCS#8 key (what `renkei keygen` writes), via the openssl CLI."""
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(data)
        path = f.name
    try:
        p = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", key_file, "-in", path],
                           capture_output=True, check=True, timeout=30)
        return p.stdout
    finally:
        os.unlink(path)


class RawPeer:
    """A peer-protocol client over a plain TCP socket: NNG's SP framing done by hand (8-byte header
    exchange, then each message as a 64-bit big-endian length and the body; a request body starts with
    a 4-byte request id with the high bit set, which the reply echoes). A context manager: `with
    RawPeer(port) as p:` closes the connection however the block ends."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.sendall(b"\0SP\0" + struct.pack(">H", SP_REQ) + b"\0\0")
        hdr = self._recv_exact(8)
        assert hdr[:4] == b"\0SP\0" and struct.unpack(">H", hdr[4:6])[0] == SP_REP, hdr
        self.next_id = 0x80000001

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed by the node")
            buf += chunk
        return bytes(buf)

    def send_frame(self, body):
        self.sock.sendall(struct.pack(">Q", len(body)) + body)

    def recv_frame(self):
        n = struct.unpack(">Q", self._recv_exact(8))[0]
        return self._recv_exact(n)

    def request_raw(self, payload):
        rid = self.next_id
        self.next_id += 1
        self.send_frame(struct.pack(">I", rid) + payload)
        while True:
            body = self.recv_frame()
            if struct.unpack(">I", body[:4])[0] == rid:
                return body[4:]

    def request(self, field, msg):
        """Sends PeerRequest{field: msg}; returns (reply field, parsed reply message)."""
        reply = pb_parse(self.request_raw(pb_bytes(field, msg)))
        assert len(reply) == 1, reply
        f = next(iter(reply))
        return f, pb_parse(reply[f][0])

    def handshake(self, key_file, pub_hex, expect_key=None):
        """Hello / HelloReply / Auth / Ack with the key in key_file."""
        pub = bytes.fromhex(pub_hex)
        nonce = os.urandom(32)
        f, hr = self.request(REQ_HELLO, pb_bytes(1, pub) + pb_bytes(2, nonce) + pb_uint(3, 1) + pb_bytes(4, b"raw"))
        assert f == REP_HELLO, (f, hr)
        lkey, lnonce = hr[1][0], hr[2][0]
        if expect_key:
            assert lkey.hex() == expect_key
        sig = sign_with(key_file, PEER_DOMAIN + b"dialer" + lnonce + lkey + pub)
        f, ack = self.request(REQ_AUTH, pb_bytes(1, sig))
        assert f == REP_ACK, (f, ack)
        return lkey

    def fetch(self, hashes):
        f, rs = self.request(REQ_FETCH, pb_bytes(1, b"".join(hashes)))
        assert f == REP_RECORDS, (f, rs)
        return rs.get(1, [])

    def push(self, envelopes):
        return self.request(REQ_PUSH, b"".join(pb_bytes(1, e) for e in envelopes))

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def fetch_envelope(node, hash_hex, key_file, pub_hex):
    """The exact SignedRecord bytes a node stores for hash, read over its peer port."""
    with RawPeer(node.port) as p:
        p.handshake(key_file, pub_hex)
        recs = p.fetch([bytes.fromhex(hash_hex)])
        return recs[0] if recs else None


def keypair(directory, name):
    """A node key made with `renkei keygen`: (path, public hex)."""
    from rk import RENKEI
    path = os.path.join(directory, name + ".key")
    out = subprocess.run([RENKEI, "keygen", "--out", path], check=True, capture_output=True, text=True, timeout=30)
    return path, out.stdout.strip().split()[-1]


def wait_connected(nodes, timeout=20):
    """Until every peer each node dials reports the connected state."""
    for n in nodes:
        wait_until(lambda: all(p["state"] == "connected" for p in peers(n) if p.get("direction") in ("out", "both")),
                   timeout=timeout, what="dialed peers of %s connected" % n.name)


def wait_all(pred, nodes, timeout=30, what="condition"):
    for n in nodes:
        wait_until(lambda: pred(n), timeout=timeout, what="%s on %s" % (what, n.name))


def settle(seconds):
    time.sleep(seconds)
