"""renkeid's configuration as an operator meets it: --check names the file, line and key of a mistake
and exits non-zero; -o overrides apply on top of the file (including new [peer] sections)."""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rk  # noqa: E402

KEY = "ab" * 32


def write(text):
    fd, path = tempfile.mkstemp(suffix=".ini")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def renkeid(*args):
    return subprocess.run([rk.RENKEID] + list(args), capture_output=True, text=True, timeout=30)


GOOD = "[node]\nname = 桑名市\nkind = region\nprefecture = 24\ndata_dir = %s\n\n[api]\nsocket = %s\n"


def good_config():
    d = tempfile.mkdtemp()
    return write(GOOD % (os.path.join(d, "data"), os.path.join(d, "api.sock")))


def test_check_ok():
    p = renkeid("-c", good_config(), "--check")
    assert p.returncode == 0, p
    assert "configuration OK" in p.stdout


def test_check_errors_name_line_and_key():
    cases = [
        ("kind = regoin\n", "[node] kind", "regoin"),
        ("prefecture = 48\n", "[node] prefecture", "48"),
        ("colour = blue\n", "[node] colour", "unknown key"),
        ("map_size = lots\n", "[node] map_size", "lots"),
    ]
    for line, key, word in cases:
        path = write("[node]\nname = x\ndata_dir = /tmp/x\n" + line + "[api]\nsocket = /tmp/x.sock\n")
        p = renkeid("-c", path, "--check")
        assert p.returncode == 1, (line, p)
        assert "%s:4" % path in p.stderr and key in p.stderr and word in p.stderr, (line, p.stderr)
        assert "configuration OK" not in p.stdout


def test_check_section_errors():
    path = write(GOOD % ("/tmp/d", "/tmp/s.sock") + '\n[peer "kuwana"]\nkey = %s\n' % KEY)
    p = renkeid("-c", path, "--check")
    assert p.returncode == 1 and '[peer "kuwana"] url' in p.stderr and "missing" in p.stderr, p.stderr
    path = write(GOOD % ("/tmp/d", "/tmp/s.sock") + "\n[gossip]\nlisten = http://nope\n")
    p = renkeid("-c", path, "--check")
    assert p.returncode == 1 and "%s:11" % path in p.stderr and "[gossip] listen" in p.stderr, p.stderr
    path = write("[node]\nname = x\n[api]\nsocket = /tmp/s\n")
    p = renkeid("-c", path, "--check")
    assert p.returncode == 1 and "[node] data_dir" in p.stderr, p.stderr
    p = renkeid("-c", "/nonexistent/renkei.ini", "--check")
    assert p.returncode == 1 and "/nonexistent/renkei.ini" in p.stderr


def test_check_bad_key_file():
    d = tempfile.mkdtemp()
    key = os.path.join(d, "node.key")
    with open(key, "w") as f:
        f.write("not a key\n")
    os.chmod(key, 0o600)
    p = renkeid("-c", good_config(), "-o", "node.key_file=" + key, "--check")
    assert p.returncode == 1 and "key_file" in p.stderr, p


def test_usage_errors():
    assert renkeid().returncode == 2
    assert renkeid("-c", good_config(), "--bogus").returncode == 2
    assert renkeid("-c", good_config(), "extra").returncode == 2
    v = renkeid("--version")
    assert v.returncode == 0 and v.stdout.startswith("renkeid ")


def test_overrides():
    path = good_config()
    p = renkeid("-c", path, "-o", "node.kind=galaxy", "--check")
    assert p.returncode == 1 and "-o node.kind=galaxy" in p.stderr and "[node] kind" in p.stderr, p.stderr
    p = renkeid("-c", path, "-o", 'peer "kuwana".key=' + KEY, "-o", 'peer "kuwana".url=tcp://127.0.0.1:7470', "--check")
    assert p.returncode == 0, p.stderr
    p = renkeid("-c", path, "-o", 'peer "kuwana".key=' + KEY, "--check")
    assert p.returncode == 1 and "url" in p.stderr, p.stderr
    p = renkeid("-c", path, "-o", "nonsense", "--check")
    assert p.returncode == 1 and "section.key=value" in p.stderr


def test_overrides_reach_the_running_node():
    n = rk.Node(name="file-name", extra=["node.name=上書き", "node.prefecture=47", "node.kind=theme"]).start()
    st = n.get("/v1/status").json()
    assert st["name"] == "上書き" and st["prefecture"] == "47" and st["kind"] == "theme", st
    assert st["key"] == n.key
    mode = os.stat(n.socket).st_mode & 0o777
    assert mode == 0o660, oct(mode)
    assert n.stop() == 0
    assert not os.path.exists(n.socket)
    # a stale socket file left by a crash is replaced
    n.start()
    n.stop(kill=True)
    assert os.path.exists(n.socket)
    n.start()
    assert n.get("/v1/status").status == 200
    n.stop()


rk.run_tests(globals())
