"""renkeid's configuration as an operator meets it: --check names the file, line and key of a mistake
and exits non-zero; -o overrides apply on top of the file (including new [peer] sections)."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as cl  # noqa: E402
import rk  # noqa: E402

KEY = "ab" * 32


def write(text):
    """A configuration file holding text, removed at exit."""
    return cl.temp_file(text, ".ini")


def renkeid(*args):
    return subprocess.run([rk.RENKEID] + list(args), capture_output=True, text=True, timeout=30)


GOOD = "[node]\nname = 桑名市\nkind = region\nprefecture = 24\ndata_dir = %s\n\n[api]\nsocket = %s\n"


def good_config():
    d = cl.temp_dir()
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
    d = cl.temp_dir()
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


def check_lines(text):
    """Runs --check on text; returns (exit code, stdout, the stderr lines)."""
    p = renkeid("-c", write(text), "--check")
    return p.returncode, p.stdout, [l for l in p.stderr.splitlines() if l.strip()]


def test_check_rejects_what_the_dialer_cannot_use():
    """Issue 11: each of these passed --check, then the peer stayed "connecting" with nothing logged."""
    d = cl.temp_dir()
    base = GOOD % (os.path.join(d, "data"), os.path.join(d, "api.sock"))  # 8 lines
    for url, word in [("tcp://127.0.0.1:x5", "port"), ("tcp://127.0.0.1:99999", "port"),
                      ("tcp://127.0.0.1", "no port"), ("tcp://127.0.0.1:0", "port")]:
        text = base + '\n[peer "kuwana"]\nkey = %s\nurl = %s\n' % (KEY, url)
        rc, out, err = check_lines(text)
        assert rc == 1 and "configuration OK" not in out, (url, out, err)
        assert any(':12: [peer "kuwana"] url:' in l and url in l and word in l for l in err), (url, err)
    rc, out, err = check_lines(base + "\n[gossip]\nlisten = tcp://0.0.0.0:7470, tcp://0.0.0.0:65536\n")
    assert rc == 1 and any(":11: [gossip] listen:" in l and "65536" in l for l in err), err


def test_check_reports_every_error_with_its_line():
    text = ("[node]\nname = x\nkind = regoin\ndata_dir = /tmp/x\nprefecture = 99\n"  # lines 1-5
            "[api]\nsocket = /tmp/x.sock\nmax_body = huge\n"                            # 6-8
            '[peer "a"]\nkey = %s\nurl = tcp://h:x5\n' % KEY)                           # 9-11
    rc, out, err = check_lines(text)
    assert rc == 1, err
    for want in [":3: [node] kind:", ":5: [node] prefecture:", ":8: [api] max_body:", ':11: [peer "a"] url:']:
        assert sum(want in l for l in err) == 1, (want, err)
    # a failed url is not reported a second time as missing
    assert not any("missing" in l for l in err), err
    # required keys that are absent name the line of their section, or say there is none
    rc, out, err = check_lines("[node]\nname = x\n[gossip]\nlisten = tls+tcp://:7470\n")
    assert rc == 1
    path_free = [l.split(": ", 1)[1] for l in err]
    assert "[node] data_dir: required key is missing" in "\n".join(l for l in err if ":2: " in l), err
    assert any("[api] socket" in l and "no [api] section" in l for l in err), err
    assert any(":4: [gossip] tls_cert:" in l for l in err) and any(":4: [gossip] tls_key:" in l for l in err), err
    assert all(l.startswith("renkeid: ") for l in err) and len(path_free) == 4, err


def test_check_data_dir_and_key_file_against_the_system():
    d = cl.temp_dir()
    a_file = os.path.join(d, "a-file")
    with open(a_file, "w") as f:
        f.write("x")
    sock = os.path.join(d, "api.sock")
    # data_dir under a regular file cannot be created; one that is a file is not a directory
    for data_dir, word in [(os.path.join(a_file, "data"), "is not a directory"), (a_file, "not a directory")]:
        rc, out, err = check_lines(GOOD % (data_dir, sock))
        assert rc == 1 and any(":5: [node] data_dir:" in l and word in l for l in err), (data_dir, err)
    # a key_file that is a directory (it used to pass --check)
    key_dir = os.path.join(d, "keys")
    os.mkdir(key_dir)
    text = GOOD % (os.path.join(d, "data"), sock) + "key_file = %s\n" % key_dir
    text = text.replace("[api]\nsocket = %s\n" % sock, "") + "[api]\nsocket = %s\n" % sock
    rc, out, err = check_lines(text)
    assert rc == 1 and any("[node] key_file:" in l and "a directory" in l for l in err), err
    assert any(":7: [node] key_file:" in l for l in err), err
    # a key_file whose directory does not exist cannot be created at start
    text = text.replace("key_file = %s" % key_dir, "key_file = %s" % os.path.join(d, "nowhere", "node.key"))
    rc, out, err = check_lines(text)
    assert rc == 1 and any(":7: [node] key_file:" in l and "does not exist" in l for l in err), err
    # --check changes nothing: neither data_dir nor a probe file is left behind
    rc, out, err = check_lines(GOOD % (os.path.join(d, "data"), sock))
    assert rc == 0 and out.strip() == "configuration OK", (out, err)
    assert not os.path.exists(os.path.join(d, "data"))
    os.mkdir(os.path.join(d, "data"))
    rc, out, err = check_lines(GOOD % (os.path.join(d, "data"), sock))
    assert rc == 0 and os.listdir(os.path.join(d, "data")) == [], (err, os.listdir(os.path.join(d, "data")))


def test_check_unresolvable_host_is_a_warning():
    d = cl.temp_dir()
    text = GOOD % (os.path.join(d, "data"), os.path.join(d, "api.sock"))
    text += '\n[peer "far"]\nkey = %s\nurl = tcp://no-such-host.invalid:7470\n' % KEY
    rc, out, err = check_lines(text)
    assert rc == 0 and "configuration OK (1 warning)" in out, (out, err)
    assert len(err) == 1 and ':12: [peer "far"] url: warning:' in err[0] and "no-such-host.invalid" in err[0], err


def test_check_own_key_and_tls_files():
    d = cl.temp_dir()
    key = os.path.join(d, "node.key")
    g = subprocess.run([rk.RENKEI, "keygen", "--out", key], capture_output=True, text=True, timeout=30)
    assert g.returncode == 0, g
    pub = g.stdout.strip().split()[-1]
    assert len(pub) == 64, g.stdout
    base = GOOD % (os.path.join(d, "data"), os.path.join(d, "api.sock"))  # 8 lines
    # a [member] with the node's own key: the start would refuse it, --check names its line
    text = base.replace("[api]", "key_file = %s\n[api]" % key) + '\n[member "me"]\nkey = %s\n' % pub
    rc, out, err = check_lines(text)
    assert rc == 1 and any(':12: [member "me"] key:' in l and "own public key" in l for l in err), err
    # TLS files: a directory, and a file that is not PEM, each named with the [gossip] line
    not_pem = os.path.join(d, "cert.txt")
    with open(not_pem, "w") as f:
        f.write("hello\n")
    text = base + "\n[gossip]\nlisten = tls+tcp://127.0.0.1:7470\ntls_cert = %s\ntls_key = %s\n" % (not_pem, d)
    rc, out, err = check_lines(text)
    assert rc == 1, err
    assert any(":12: [gossip] tls_cert:" in l and "not a PEM file" in l for l in err), err
    assert any(":13: [gossip] tls_key:" in l and "not a regular file" in l for l in err), err


def test_example_configuration_is_valid_and_complete():
    """config/single.ini, the commented example, passes --check and shows every documented key."""
    src = os.environ.get("RENKEI_SOURCE_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    example = os.path.join(src, "config", "single.ini")
    d = cl.temp_dir()
    p = renkeid("-c", example, "-o", "node.data_dir=" + os.path.join(d, "data"),
                "-o", "node.key_file=" + os.path.join(d, "node.key"), "-o", "api.socket=" + os.path.join(d, "s"),
                "--check")
    assert p.returncode == 0 and "configuration OK" in p.stdout, (p.stdout, p.stderr)
    with open(os.path.join(src, "docs", "configuration.md"), encoding="utf-8") as f:
        documented = set()
        for line in f:
            if line.startswith("| `"):
                documented.update(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    with open(example, encoding="utf-8") as f:
        shown = set(re.findall(r"^;?\s*([a-z_]+)\s*=", f.read(), re.M))
    assert documented and documented <= shown, sorted(documented - shown)


def test_start_errors_name_the_line():
    """A configured value that fails only at start (here the socket's directory is a file) is logged
    with the line that set it, as --check reports its errors."""
    d = cl.temp_dir()
    a_file = os.path.join(d, "a-file")
    with open(a_file, "w") as f:
        f.write("x")
    path = write(GOOD % (os.path.join(d, "data"), os.path.join(a_file, "api.sock")))
    p = subprocess.run([rk.RENKEID, "-c", path], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p
    assert "%s:8: [api] socket:" % path in p.stderr, p.stderr


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
