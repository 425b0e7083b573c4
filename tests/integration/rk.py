"""Shared harness for renkei integration tests: start real renkeid processes on loopback and talk to
their Unix-socket API. Every node gets its own temporary directory; everything is killed and removed
on exit, and every wait is bounded."""

import atexit
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

RENKEID = os.environ.get("RENKEID", "build/renkeid")
RENKEI = os.environ.get("RENKEI", "build/renkei")
SOURCE_DIR = os.environ.get("RENKEI_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

_nodes = []


def _cleanup():
    for n in list(_nodes):
        n.stop(kill=True)
        shutil.rmtree(n.dir, ignore_errors=True)


atexit.register(_cleanup)


_ports_given = set()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port():
    """A loopback TCP port that is free right now and not handed out before by this process.

    Chosen below the kernel's ephemeral range: a port the kernel picked with bind(0) is also where
    it places the outgoing connections of nodes already running, so between choosing a port and the
    node binding it, a peer connection could take it ("Address in use" with many nodes)."""
    low = _ephemeral_low()
    if low > 12000:
        for _ in range(200):
            port = random.randrange(10000, low)
            if port in _ports_given:
                continue
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _ports_given.add(port)
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _ports_given.add(port)
    return port


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def text(self):
        return self.body.decode("utf-8")

    def __repr__(self):
        return "Response(%d, %r)" % (self.status, self.body[:300])


class Node:
    """One renkeid with its own data dir, socket and (optionally) gossip port.

    extra: list of "section.key=value" overrides passed with -o."""

    def __init__(self, name="testnode", kind="region", prefecture="01", gossip=False, extra=None, config_text=None):
        self.dir = tempfile.mkdtemp(prefix="rk-%s-" % "".join(c for c in name if c.isascii() and c.isalnum())[:12])
        self.name = name
        self.socket = os.path.join(self.dir, "api.sock")
        self.port = free_port() if gossip else None
        self.url = "tcp://127.0.0.1:%d" % self.port if gossip else None
        self.config = os.path.join(self.dir, "renkei.ini")
        self.extra = list(extra or [])
        self.proc = None
        self.log_path = os.path.join(self.dir, "renkeid.log")
        self.key_file = os.path.join(self.dir, "node.key")
        if config_text is None:
            config_text = "[node]\nname = %s\nkind = %s\nprefecture = %s\ndata_dir = %s\nkey_file = %s\n\n[api]\nsocket = %s\n" % (
                name, kind, prefecture, os.path.join(self.dir, "data"), self.key_file, self.socket)
            if gossip:
                config_text += "\n[gossip]\nlisten = %s\n" % self.url
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(config_text)
        # The key is made up front so other nodes can name this one in their rosters.
        out = subprocess.run([RENKEI, "keygen", "--out", self.key_file], check=True, capture_output=True, text=True, timeout=30)
        self.key = out.stdout.strip().split()[-1]
        _nodes.append(self)

    def args(self):
        a = [RENKEID, "-c", self.config]
        for o in self.extra:
            a += ["-o", o]
        return a

    def start(self, timeout=20, env=None):
        """Starts the daemon and waits for its API; env: variables added to its environment for this
        start only (test-only switches such as RENKEI_TEST_NO_RANGES), the test's own left as it is."""
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args(), stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **env) if env else None)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("renkeid exited with %s:\n%s" % (self.proc.returncode, self.log()))
            try:
                if self.request("GET", "/v1/status", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("renkeid did not come up in %ss:\n%s" % (timeout, self.log()))

    def stop(self, kill=False, timeout=20):
        if not self.proc or self.proc.poll() is not None:
            return None
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(timeout=timeout)
        self.logf.close()
        return rc

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-6000:]
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, timeout=30):
        conn = UnixHTTPConnection(self.socket, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body, ensure_ascii=False).encode("utf-8")
            elif isinstance(body, str):
                body = body.encode("utf-8")
            h = {"Content-Type": "application/json"} if body is not None else {}
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def publish(self, record):
        r = self.request("POST", "/v1/records", record)
        assert r.status == 201, r
        return r.json()

    def cli(self, *args, input=None, check=True):
        p = subprocess.run([RENKEI, "-s", self.socket] + list(args), input=input, capture_output=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("renkei %s failed (%d): %s" % (args, p.returncode, p.stderr.decode()))
        return p


def preload(shim):
    """LD_PRELOAD for a process: the shim (a test library, tests/common), after the sanitizer runtime
    when the shim is built with one (ASan must come first in the list of libraries)."""
    libs = []
    out = subprocess.run(["ldd", shim], capture_output=True, text=True, timeout=30).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0].startswith("libasan") and len(parts) >= 3:
            libs.append(parts[2])
    return ":".join(libs + [os.path.abspath(shim)])


def without_asan_quarantine():
    """The environment for Node.start(env=...) of a daemon whose RSS is measured: under
    AddressSanitizer (CI's second build) freed memory waits in a 256 MiB quarantine that RSS would
    count, so the daemon runs without it; the other ASAN_OPTIONS stay."""
    asan = os.environ.get("ASAN_OPTIONS")
    return {"ASAN_OPTIONS": (asan + ":" if asan else "") + "quarantine_size_mb=0:thread_local_quarantine_size_kb=0"}


def query(path, **params):
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


def rss_kib(node):
    """The resident memory of the node's renkeid (VmRSS), in KiB."""
    with open("/proc/%d/status" % node.proc.pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    raise AssertionError("no VmRSS for %s" % node.name)


def wait_until(pred, timeout=20, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def sample_case(**over):
    rec = {
        "kind": "case",
        "case": {
            "title": "品質管理担当者をロボット導入リーダーに",
            "summary": "樹脂食器のOEMメーカーが社員をリスキリングし、ロボットと自社ブランドのEC販売を立ち上げた。",
            "prefecture": "17",
            "industry": "manufacturing",
            "dx_level": "new_offering",
            "skills": ["robotics", "digital_marketing"],
            "tags": ["リスキリング"],
        },
    }
    rec["case"].update(over)
    return rec


class Runner:
    """Tiny test runner: each test_* function runs once; the last line is 'N passed, N failed'."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def run(self, funcs):
        only = sys.argv[1:] or None
        for f in funcs:
            if only and f.__name__ not in only:
                continue
            t0 = time.time()
            try:
                f()
                self.passed += 1
                print("PASS %s (%.1fs)" % (f.__name__, time.time() - t0), flush=True)
            except Exception:
                import traceback
                self.failed += 1
                print("FAIL %s" % f.__name__, flush=True)
                traceback.print_exc()
                for n in _nodes:
                    if n.proc is not None:
                        print("---- log of %s ----\n%s" % (n.name, n.log()))
        print("%d passed, %d failed" % (self.passed, self.failed))
        sys.exit(1 if self.failed else 0)


def run_tests(namespace):
    Runner().run([v for k, v in sorted(namespace.items()) if k.startswith("test_") and callable(v)])
