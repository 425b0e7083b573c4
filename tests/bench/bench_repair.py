#!/usr/bin/env python3
"""Repair benchmark: two renkeid processes on loopback that hold a common set and differ by a few
records each, started as peers; measures the time until both show the same digests and the bytes
that crossed the TCP connection between them.

    python3 tests/bench/bench_repair.py [N=100000] [--build build-bench] [--only-a 10000] [--only-b 5000]
        [--runs 1] [--timeout 600] [--keep] [--compress yes|no] [--cache DIR] [--timeline]

This is the 1% case of DESIGN.md between real daemons (the in-process bench_sync measures the
reconciliation alone): node A holds N common records plus ONLY_A of its own, node B the same N plus
ONLY_B of its own. Every record has a random version within the year before the preparation, so the
differences are spread over the whole set, the hard case for range-based reconciliation. The sets
are prepared once with bench_fill (common records and A's own signed by A's key, B's own by B's) and
cached in /tmp/rk-repair-cache-N-ONLY_A-ONLY_B; each run copies the two data directories, so runs
start from the same state.

A run starts A, waits for its API, then starts B, which dials A (A lists B as a member, B lists A as
a peer). B reconciles on connect, fetches what it lacks and pushes what A lacks; A then stores the
pushed records. The script polls both nodes' /v1/status every 20 ms and stops when both digests
(public and members' set: count and fingerprint) are equal and hold N + ONLY_A + ONLY_B records.
Times run from B's start. Bytes are the TCP payload both ways on B's connections to A's port (ss
-ti: bytes_sent and bytes_received; NNG's framing included, TCP/IP headers not), sampled at every
poll and summed over connections; "differing records" are the envelopes of the ONLY_A + ONLY_B
records as bench_fill sealed them.

--timeline prints, every 0.25 s of a run and when it ends, each node's record count, the records
it received from its peer and sent to it (B's fetches and pushes; on A, the pushes it took and the
fetches it answered), its writer's queue (renkei_writer_queue: submitted, not yet stored), its
reconciliations, and the CPU seconds its writer and verifier threads have used
(/proc/PID/task/*/stat); then the writers' CPU per record they stored, a cost per record that does
not depend on the machine's load, and when each node's records received, sent and stored began and
stopped moving: what dominates a repair, and whether the two directions overlap.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from rk import UnixHTTPConnection, free_port  # noqa: E402


def run(args, **kw):
    return subprocess.run(args, check=True, **kw)


def fill(build, data, key, n, first, seed):
    out = run([os.path.join(build, "tests/bench/bench_fill"), "--first", str(first), "--seed", str(seed), data, key,
               str(n), "64"], capture_output=True, text=True).stdout
    m = re.search(r"average envelope, (\d+) bytes\)", out)
    if not m:
        raise RuntimeError("bench_fill printed no byte count:\n" + out)
    return int(m.group(1))


def prepare(build, cache, n, only_a, only_b):
    """The two data directories and keys, made once per (N, ONLY_A, ONLY_B)."""
    meta_path = os.path.join(cache, "meta.json")
    if os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            return json.load(f)
    shutil.rmtree(cache, ignore_errors=True)
    os.makedirs(cache)
    t0 = time.monotonic()
    print("preparing %d common records in %s" % (n, cache), flush=True)
    common = os.path.join(cache, "common")
    a_key, b_key = os.path.join(cache, "a.key"), os.path.join(cache, "b.key")
    fill(build, common, a_key, n, 0, 1)
    for side in ("a-data", "b-data"):
        run(["cp", "-r", "--sparse=always", common, os.path.join(cache, side)])
    shutil.rmtree(common)
    bytes_a = fill(build, os.path.join(cache, "a-data"), a_key, only_a, n, 2)
    bytes_b = fill(build, os.path.join(cache, "b-data"), b_key, only_b, n + only_a, 3)
    meta = {"n": n, "only_a": only_a, "only_b": only_b, "bytes_a": bytes_a, "bytes_b": bytes_b}
    with open(meta_path, "w", encoding="utf-8") as f:
        json.dump(meta, f)
    print("prepared in %.1f s" % (time.monotonic() - t0), flush=True)
    return meta


def pubkey(build, key_file):
    return run([os.path.join(build, "renkei"), "pubkey", key_file], capture_output=True, text=True).stdout.strip().split()[-1]


def status(sock):
    conn = UnixHTTPConnection(sock, timeout=10)
    try:
        conn.request("GET", "/v1/status")
        r = conn.getresponse()
        body = r.read()
        return json.loads(body) if r.status == 200 else None
    except OSError:
        return None
    finally:
        conn.close()


def metrics(sock):
    conn = UnixHTTPConnection(sock, timeout=10)
    try:
        conn.request("GET", "/metrics")
        return conn.getresponse().read().decode("utf-8", "replace")
    except OSError:
        return ""
    finally:
        conn.close()


def thread_cpu(pid):
    """{thread name: CPU seconds (user + system)} of a process's threads, summed by name."""
    out, tick = {}, os.sysconf("SC_CLK_TCK")
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for task in tasks:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, task), encoding="utf-8") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def metric_value(text, name):
    """The sum of a metric's samples in a /metrics text (0 when it has none)."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and line[len(name):len(name) + 1] in (" ", "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def timeline_row(now, sock, proc, flow):
    """What --timeline prints of one node: records, records received and sent, the writer's queue,
    reconciliations, thread CPU. flow ({counter: [first change, last change]} in seconds) is updated
    with when the records received and sent began and stopped moving."""
    m = metrics(sock)
    cpu = thread_cpu(proc.pid)
    counts = {"received": metric_value(m, "renkei_peer_records_received_total"),
              "sent": metric_value(m, "renkei_peer_records_sent_total"), "records": metric_value(m, "renkei_records")}
    for k, v in counts.items():
        seen = flow.setdefault(k, [None, None, v])
        if v != seen[2]:
            seen[0] = now if seen[0] is None else seen[0]
            seen[1], seen[2] = now, v
    return ("%6.2f s records %7d received %6d sent %6d queue %5d reconciliations %d writer %.2f s verifiers %.2f s"
            % (now, counts["records"], counts["received"], counts["sent"], metric_value(m, "renkei_writer_queue"),
               metric_value(m, "renkei_reconcile_total"), cpu.get("renkei-writer", 0.0),
               cpu.get("renkei-verify", 0.0)), cpu.get("renkei-writer", 0.0))


def flow_summary(flow):
    """When a node's records received (fetched by B, pushed to A), sent and stored began and stopped
    moving, as far as the 0.25 s rows show."""
    parts = []
    for k in ("received", "sent", "records"):
        first, last, value = flow.get(k, (None, None, 0))
        if first is not None:
            parts.append("%s %d from %.2f s to %.2f s" % (k, value, first, last))
    return "; ".join(parts) or "nothing moved"


SS_SOCKET = re.compile(r"^\S")


def tcp_bytes(port):
    """{local address: (bytes_sent, bytes_received)} for the established connections to port."""
    out = subprocess.run(["ss", "-tinH", "state", "established", "( dport = :%d )" % port], capture_output=True,
                         text=True, timeout=10).stdout
    conns, current = {}, None
    for line in out.splitlines():
        if SS_SOCKET.match(line):
            fields = line.split()
            current = fields[2] if len(fields) >= 4 else line
            conns.setdefault(current, [0, 0])
            continue
        if current is None:
            continue
        sent = re.search(r"\bbytes_sent:(\d+)", line)
        recv = re.search(r"\bbytes_received:(\d+)", line)
        if sent:
            conns[current][0] = int(sent.group(1))
        if recv:
            conns[current][1] = int(recv.group(1))
    return {k: tuple(v) for k, v in conns.items()}


def config(name, data, key, sock, extra):
    # The common records and A's own are all A's: past 1,000,000 they exceed the default records per
    # author, and a node refuses the rest (quota); the benchmark measures the repair, not the quota.
    return ("[node]\nname = %s\nkind = region\ndata_dir = %s\nkey_file = %s\nmap_size = 64G\nlog_level = warn\n\n"
            "[api]\nsocket = %s\n\n[quota]\nrecords_per_author = 0\nversions_per_window = 0\n\n%s"
            % (name, data, key, sock, extra))


def start(build, work, name, cfg_text):
    cfg = os.path.join(work, name + ".ini")
    with open(cfg, "w", encoding="utf-8") as f:
        f.write(cfg_text)
    log = open(os.path.join(work, name + ".log"), "ab")
    return subprocess.Popen([os.path.join(build, "renkeid"), "-c", cfg], stdout=log, stderr=subprocess.STDOUT)


def stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)


def digests(st):
    d = st["digest"]
    return (d["public"]["count"], d["public"]["fingerprint"], d["members"]["count"], d["members"]["fingerprint"])


def compress_line(compress):
    """The [gossip] compress line for --compress, or nothing (older builds do not know the key)."""
    return "compress = %s\n" % compress if compress else ""


def one_run(build, cache, meta, timeout, keep, compress=None, timeline=False):
    work = tempfile.mkdtemp(prefix="rk-repair-")
    pa = pb = None
    try:
        for side in ("a", "b"):
            run(["cp", "-r", "--sparse=always", os.path.join(cache, side + "-data"), os.path.join(work, side + "-data")])
            shutil.copy(os.path.join(cache, side + ".key"), os.path.join(work, side + ".key"))
            os.chmod(os.path.join(work, side + ".key"), 0o600)
        # The copies are dirty pages until written back; without this the nodes' first durable
        # commits would write back gigabytes that a real node's store never holds dirty.
        os.sync()
        key_a, key_b = pubkey(build, os.path.join(work, "a.key")), pubkey(build, os.path.join(work, "b.key"))
        port = free_port()
        sock_a, sock_b = os.path.join(work, "a.sock"), os.path.join(work, "b.sock")
        pa = start(build, work, "a", config("bench-a", os.path.join(work, "a-data"), os.path.join(work, "a.key"), sock_a,
                                            "[gossip]\nlisten = tcp://127.0.0.1:%d\n%s\n[member \"bench-b\"]\nkey = %s\n"
                                            % (port, compress_line(compress), key_b)))
        deadline = time.monotonic() + 120
        st_a = None
        while st_a is None:
            if pa.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("node A did not come up")
            time.sleep(0.05)
            st_a = status(sock_a)
        expect = meta["n"] + meta["only_a"] + meta["only_b"]
        if st_a["records"]["total"] != meta["n"] + meta["only_a"]:
            raise RuntimeError("node A holds %d records" % st_a["records"]["total"])

        t0 = time.monotonic()
        pb = start(build, work, "b", config("bench-b", os.path.join(work, "b-data"), os.path.join(work, "b.key"), sock_b,
                                            "[gossip]\n%s\n[peer \"bench-a\"]\nkey = %s\nurl = tcp://127.0.0.1:%d\n"
                                            % (compress_line(compress), key_a, port)))
        up = None
        seen = {}
        deadline = t0 + timeout
        cpu0 = {"A": thread_cpu(pa.pid).get("renkei-writer", 0.0)}
        next_row = t0
        flows = {"A": {}, "B": {}}
        while True:
            if pb.poll() is not None:
                raise RuntimeError("node B exited")
            for k, v in tcp_bytes(port).items():
                old = seen.get(k, (0, 0))
                seen[k] = (max(old[0], v[0]), max(old[1], v[1]))
            st_b = status(sock_b)
            now = time.monotonic()
            if st_b is not None:
                if up is None:
                    up = now - t0
                st_a = status(sock_a)
                if st_a is not None and digests(st_a) == digests(st_b) and st_b["records"]["total"] == expect:
                    break
            if timeline and now >= next_row:
                for name, sock, proc in (("A", sock_a, pa), ("B", sock_b, pb)):
                    print("  %s %s" % (name, timeline_row(now - t0, sock, proc, flows[name])[0]), flush=True)
                next_row = now + 0.25
            if now > deadline:
                raise RuntimeError("no equal digests after %d s" % timeout)
            time.sleep(0.02)
        secs = now - t0
        for k, v in tcp_bytes(port).items():
            old = seen.get(k, (0, 0))
            seen[k] = (max(old[0], v[0]), max(old[1], v[1]))
        sent = sum(v[0] for v in seen.values())
        received = sum(v[1] for v in seen.values())
        if timeline:
            for name, sock, proc, stored in (("A", sock_a, pa, meta["only_b"]), ("B", sock_b, pb, meta["only_a"])):
                row, writer = timeline_row(now - t0, sock, proc, flows[name])
                print("  %s %s (end)" % (name, row))
                print("  %s writer CPU per record stored: %.1f us" % (name, (writer - cpu0.get(name, 0.0)) / stored * 1e6))
                print("  %s %s" % (name, flow_summary(flows[name])))
        m = metrics(sock_b)
        shown = ("renkei_reconcile_total", "renkei_peer_records_", "renkei_peer_busy_total",
                 "renkei_peer_push_paced_total")
        rec = [line for line in m.splitlines() if line.startswith(shown)]
        return {"seconds": secs, "b_up": up, "b_to_a": sent, "a_to_b": received, "connections": len(seen),
                "metrics_b": rec}
    finally:
        stop(pb)
        stop(pa)
        if keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("n", nargs="?", type=int, default=100000)
    ap.add_argument("--build", default="build-bench")
    ap.add_argument("--only-a", type=int, default=10000)
    ap.add_argument("--only-b", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--compress", choices=("yes", "no"), help="[gossip] compress on both nodes (default: the node's)")
    ap.add_argument("--timeline", action="store_true", help="print both nodes' progress and writer CPU")
    ap.add_argument("--cache", help="where the prepared sets are kept (default /tmp/rk-repair-cache-N-ONLY_A-ONLY_B);"
                    " a store format change needs a new one")
    a = ap.parse_args()
    for b in ("renkeid", "renkei", "tests/bench/bench_fill"):
        if not os.access(os.path.join(a.build, b), os.X_OK):
            sys.exit("bench_repair: %s/%s is missing; build %s first" % (a.build, b, a.build))
    cache = a.cache or "/tmp/rk-repair-cache-%d-%d-%d" % (a.n, a.only_a, a.only_b)
    meta = prepare(a.build, cache, a.n, a.only_a, a.only_b)
    differing = meta["bytes_a"] + meta["bytes_b"]
    times = []
    for i in range(a.runs):
        r = one_run(a.build, cache, meta, a.timeout, a.keep, a.compress, a.timeline)
        times.append(r["seconds"])
        total = r["b_to_a"] + r["a_to_b"]
        print("run %d: equal digests %.3f s after B's start (B's API up at %.3f s); %d common, %d only on A, %d only on B"
              % (i + 1, r["seconds"], r["b_up"], a.n, a.only_a, a.only_b))
        print("  bytes on the wire: %d (B to A %d, A to B %d, %d connection(s)); differing records %d bytes; ratio %.3f"
              % (total, r["b_to_a"], r["a_to_b"], r["connections"], differing, total / differing))
        for line in r["metrics_b"]:
            print("  B " + line)
        sys.stdout.flush()
    if len(times) > 1:
        print("median %.3f s over %d runs" % (statistics.median(times), len(times)))


if __name__ == "__main__":
    main()
