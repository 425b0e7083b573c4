"""The renkei CLI against a real node: keys, publish/get/list/search, offline verification of signed
records (every single-byte change must be caught), --json output, API error reporting, and the sample
data set publishing cleanly on a fresh node."""

import glob
import json
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import rk  # noqa: E402

SAMPLES = sorted(glob.glob(os.path.join(rk.SOURCE_DIR, "config", "samples", "*", "*.json")))

def node():
    return cluster.shared_node("cli-test")


def run(*args, input=None):
    return subprocess.run([rk.RENKEI] + list(args), input=input, capture_output=True, timeout=60)


def write_json(rec):
    return cluster.temp_file(json.dumps(rec, ensure_ascii=False), ".json")


def parse_kv(text):
    """'key   value' lines of the human output."""
    out = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            out[parts[0]] = parts[1].strip()
    return out


def test_keygen_and_pubkey_agree_and_key_is_private():
    d = cluster.temp_dir()
    path = os.path.join(d, "node.key")
    p = run("keygen", "--out", path)
    assert p.returncode == 0, p.stderr
    pub = p.stdout.decode().strip()
    assert len(pub) == 64 and all(c in "0123456789abcdef" for c in pub), pub
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode)
    p2 = run("pubkey", path)
    assert p2.returncode == 0, p2.stderr
    assert p2.stdout.decode().strip() == pub
    # Never overwrites an existing key.
    before = open(path, "rb").read()
    p3 = run("keygen", "--out", path)
    assert p3.returncode == 1 and open(path, "rb").read() == before
    # A second key is a different key.
    p4 = run("keygen", "--out", os.path.join(d, "other.key"))
    assert p4.returncode == 0 and p4.stdout.decode().strip() != pub


def test_usage_errors_exit_2():
    assert run().returncode == 2
    assert run("no-such-command").returncode == 2
    assert run("keygen").returncode == 2
    assert run("list", "--signed").returncode == 2
    assert run("export", "--format", "pdf").returncode == 2
    h = run("publish", "--help")
    assert h.returncode == 0 and b"publish FILE" in h.stdout


def test_every_command_handles_the_shared_options_alike():
    """-h/--help, an unknown option and a missing value go through one parser for every command:
    help exits 0 with the command's usage, the others exit 2 pointing at the command's help."""
    commands = [["keygen"], ["pubkey"], ["verify"], ["codes"], ["new"], ["import"], ["members"],
                ["member", "endorse"], ["key", "rotate"], ["status"], ["peers"], ["publish"], ["get"],
                ["list"], ["search"], ["events"], ["export"], ["stats"], ["regions"], ["web"]]
    for cmd in commands:
        name = cmd[0].encode()
        h = run(*cmd, "--help")
        assert h.returncode == 0 and b"renkei" in h.stdout and name in h.stdout, (cmd, h)
        bad = run(*cmd, "--no-such-option")
        assert bad.returncode == 2 and b"renkei " + name + b" --help" in bad.stderr, (cmd, bad)
    # -s without its value, where the command takes -s
    for cmd in (["members"], ["member", "endorse"], ["key", "rotate"], ["list"], ["import"]):
        bad = run(*cmd, "-s")
        assert bad.returncode == 2, (cmd, bad)
    # an option of another command names itself
    bad = run("get", "--kind", "case", "x")
    assert bad.returncode == 2 and b"--kind" in bad.stderr, bad


def test_publish_get_list_search():
    n = node()
    rec = rk.sample_case(title="ロボットで段取り替えを自動化した樹脂成形の事例", tags=["cli-test-publish"])
    path = write_json(rec)
    p = n.cli("publish", path)
    out = parse_kv(p.stdout.decode())
    assert out["id"].startswith(n.key + ":"), out
    assert int(out["version"]) > 0 and len(out["hash"]) == 64
    rid = out["id"].split(":", 1)[1]
    # The node has it, with the same hash the CLI printed.
    r = n.get("/v1/records/" + out["id"])
    assert r.status == 200 and r.json()["hash"] == out["hash"]

    g = n.cli("get", out["id"]).stdout.decode()
    assert "ロボットで段取り替えを自動化した樹脂成形の事例" in g
    assert "17 石川県" in g  # prefecture shown with its name
    assert out["hash"] in g and n.key in g
    # A bare rid means this node's own record.
    assert "ロボットで段取り替え" in n.cli("get", rid).stdout.decode()

    lst = n.cli("list", "--kind", "case", "--all").stdout.decode()
    assert out["id"] in lst and "石川県" in lst
    srch = n.cli("search", "段取り替え").stdout.decode()
    assert out["id"] in srch
    none = n.cli("search", "存在しない語句ｘｙｚ").stdout.decode()
    assert out["id"] not in none

    # update publishes a newer version; delete leaves it gone from lists.
    rec["case"]["title"] = "ロボットで段取り替えを自動化（改訂）"
    upd = parse_kv(n.cli("update", out["id"], write_json(rec)).stdout.decode())
    assert int(upd["version"]) > int(out["version"])
    assert "改訂" in n.cli("get", out["id"]).stdout.decode()
    n.cli("delete", out["id"])
    assert out["id"] not in n.cli("list", "--all").stdout.decode()


def test_publish_from_stdin():
    n = node()
    rec = rk.sample_case(title="標準入力から登録した事例", tags=["cli-test-stdin"])
    p = n.cli("publish", "-", input=json.dumps(rec, ensure_ascii=False).encode())
    rid = parse_kv(p.stdout.decode())["id"]
    assert n.get("/v1/records/" + rid).json()["case"]["title"] == "標準入力から登録した事例"


def test_signed_record_verifies_and_every_byte_flip_fails():
    n = node()
    res = n.publish(rk.sample_case(title="署名検証用の事例", tags=["cli-test-verify"]))
    d = cluster.temp_dir()
    path = os.path.join(d, "rec.bin")
    n.cli("get", "--signed", "--out", path, res["id"])
    data = open(path, "rb").read()
    # The saved bytes are exactly what the API serves.
    assert data == n.get("/v1/records/%s?format=signed" % res["id"]).body

    ok = run("verify", "--hash", res["hash"], path)
    assert ok.returncode == 0, ok.stderr
    out = ok.stdout.decode()
    assert n.key in out and res["hash"] in out and "case" in out
    assert str(res["version"]) in out

    wrong = run("verify", "--hash", "0" * 64, path)
    assert wrong.returncode == 1 and b"hash" in wrong.stderr

    flipped = os.path.join(d, "flipped.bin")
    survivors = []
    for i in range(len(data)):
        b = bytearray(data)
        b[i] ^= 0x01
        with open(flipped, "wb") as f:
            f.write(b)
        p = run("verify", flipped)
        if p.returncode != 1 or not p.stderr.startswith(b"renkei: "):
            survivors.append((i, p.returncode))
    assert not survivors, "flips not detected at byte positions %r" % survivors[:20]
    # Truncation and trailing garbage are caught too.
    for bad in (data[:-1], data + b"\x00"):
        with open(flipped, "wb") as f:
            f.write(bad)
        assert run("verify", flipped).returncode == 1


def test_json_output_parses():
    n = node()
    res = n.publish(rk.sample_case(title="JSON出力の確認", tags=["cli-test-json"]))
    st = json.loads(n.cli("--json", "status").stdout)
    assert st["key"] == n.key and st["records"]["total"] >= 1
    lst = json.loads(n.cli("--json", "list", "--all").stdout)
    assert res["id"] in [r["id"] for r in lst["records"]]
    one = json.loads(n.cli("get", res["id"], "--json").stdout)
    assert one["hash"] == res["hash"] and one["provenance"]["author"] == n.key
    assert isinstance(json.loads(n.cli("--json", "peers").stdout)["peers"], list)
    assert isinstance(json.loads(n.cli("--json", "events").stdout)["events"], list)
    pub = json.loads(n.cli("--json", "publish", write_json(rk.sample_case(title="JSONで登録"))).stdout)
    assert set(("id", "version", "hash")) <= set(pub)


def test_api_error_reported_with_code_and_exit_1():
    n = node()
    bad = rk.sample_case(industry="not_an_industry")
    p = n.cli("publish", write_json(bad), check=False)
    assert p.returncode == 1, p
    err = p.stderr.decode()
    # The same code the API returns, and the field.
    api = n.request("POST", "/v1/records", bad)
    assert api.status == 400
    code = api.json()["error"]["code"]
    assert err.startswith("renkei: ") and "(%s" % code in err and "case.industry" in err, err
    missing = n.cli("get", n.key + ":no-such-record", check=False)
    assert missing.returncode == 1 and b"renkei: " in missing.stderr
    # Connection failure names the socket.
    p = run("-s", "/nonexistent/renkei.sock", "status")
    assert p.returncode == 1 and b"/nonexistent/renkei.sock" in p.stderr


def test_export_and_stats():
    n = node()
    n.publish(rk.sample_case(title="エクスポート確認の事例", tags=["cli-test-export"]))
    d = cluster.temp_dir()
    out = os.path.join(d, "records.csv")
    n.cli("export", "--format", "csv", "--out", out)
    assert "エクスポート確認の事例" in open(out, encoding="utf-8-sig").read()
    atom = n.cli("export", "--format", "atom").stdout.decode()
    assert "<feed" in atom and "エクスポート確認の事例" in atom
    stats = n.cli("stats").stdout.decode()
    assert "石川県" in stats, stats
    # the taxonomies: each code beside its Japanese label
    lines = stats.splitlines()
    assert any(ln.split()[:2] == ["manufacturing", "製造業"] for ln in lines), stats
    assert any(ln.split()[:2] == ["robotics", "ロボティクス"] for ln in lines), stats


def test_every_sample_publishes_on_a_fresh_node():
    assert len(SAMPLES) >= 25, SAMPLES
    fresh = rk.Node("samples").start()
    ids = []
    for path in SAMPLES:
        with open(path, "rb") as f:
            r = fresh.request("POST", "/v1/records", f.read())
        assert r.status == 201, (path, r)
        ids.append(r.json()["id"])
    assert len(set(ids)) == len(SAMPLES)
    got = json.loads(fresh.cli("--json", "list", "--all", "--limit", "5").stdout)
    assert len(got["records"]) == len(SAMPLES)
    robot = fresh.cli("search", "ロボット").stdout.decode()
    assert "case-ishikawa-jushi" in robot
    ev = fresh.cli("events", "--from", "2021-11-01", "--to", "2021-11-30").stdout.decode()
    assert "北見" in ev and "桑名" in ev and "沖縄" in ev and "2021-10-10" not in ev
    month = fresh.cli("events", "--from", "2023-09-01", "--to", "2023-09-30").stdout.decode()
    assert "2023-09 " in month, month
    fresh.stop()


rk.run_tests(globals())
